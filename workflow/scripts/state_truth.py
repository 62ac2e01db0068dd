"""Rule state_truth (synthetic state): every district's and the pooled estimates against their truths, and
the coverage of the designed intervals per district."""
import pandas as pd

from credit_recovery.shared.script_io import start_log, write_csv
from credit_recovery.truth.state import coverage_summary, state_truth

log = start_log(snakemake.log[0])
parts = {d: pd.read_csv(f, keep_default_na=False, na_values=[""])
         for d, f in zip(snakemake.params.districts, snakemake.input.districts)}
table = state_truth(parts, pd.read_csv(snakemake.input.pooled, keep_default_na=False, na_values=[""]))
summary = coverage_summary(table)
write_csv(table, snakemake.output.table)
write_csv(summary, snakemake.output.summary)
log.info("coverage of the designed intervals:\n%s", summary.to_string(index=False))
