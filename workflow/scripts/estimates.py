"""Rule estimates: gather every stage's tidy estimate rows into results/models/estimates.csv."""
import pandas as pd

from credit_recovery.shared.estimate_schema import collect_estimates
from credit_recovery.shared.script_io import start_log, write_csv, write_parquet

log = start_log(snakemake.log[0])
parts = [pd.read_csv(p, keep_default_na=False, na_values=[""]) for p in snakemake.input.parts]
write_csv(collect_estimates(parts), snakemake.output.estimates)
samples = pd.concat([pd.read_parquet(p) for p in snakemake.input.samples], ignore_index=True)
if "subgroup" in samples.columns:  # only the subgroup estimates' units have one
    samples["subgroup"] = samples["subgroup"].fillna("").astype(str)
write_parquet(samples, snakemake.output.samples)
log.info("%d estimates from %d stages", sum(len(p) for p in parts), len(parts))
