"""Rule experiment: ITT and complier effects of a randomized study, with its checks."""
import pandas as pd

from credit_recovery import read_extract
from credit_recovery.shared.script_io import start_log, write_csv, write_parquet
from credit_recovery.specs.experiment import run_experiment

log = start_log(snakemake.log[0])
tables = read_extract(snakemake.input.data)
out = run_experiment(tables["assignments"], pd.read_parquet(snakemake.input.cohort),
                     pd.read_parquet(snakemake.input.ledger), snakemake.params.experiment)
write_parquet(out["units"], snakemake.output.units)
for name in ("excluded", "estimates", "first_stage", "compliance", "balance", "joint_test", "attrition"):
    write_csv(out[name], getattr(snakemake.output, name))
log.info("experiment: %d randomized units analysed, %d excluded, %d estimates", len(out["units"]),
         len(out["excluded"]), len(out["estimates"]))
