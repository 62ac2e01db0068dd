"""Rule spec_curve_job: one specification of the specification curve (its id is the wildcard)."""
import pandas as pd

from credit_recovery.shared.config import resolve_options
from credit_recovery.shared.script_io import start_log, write_csv
from credit_recovery.specs.curve import curve_estimates, parse_spec_id
from credit_recovery.specs.options import resolve_model_options

log = start_log(snakemake.log[0])
p = snakemake.params
spec = parse_spec_id(snakemake.wildcards.spec)
rows = curve_estimates(pd.read_parquet(snakemake.input.cohort), spec, p.matching,
                       resolve_options("specification_curve", p.curve)["outcomes"],
                       resolve_model_options(p.models)["adjust_for"])
write_csv(rows, snakemake.output[0])
log.info("%s: %d outcomes", snakemake.wildcards.spec, len(rows))
