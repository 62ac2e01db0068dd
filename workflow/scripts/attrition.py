"""Rule attrition: missing outcomes by arm in the cohort and the matched sample, WWC overall and differential attrition."""
import pandas as pd

from credit_recovery.design.attrition import attrition_table
from credit_recovery.shared.script_io import start_log, write_csv

log = start_log(snakemake.log[0])
cohort = pd.read_parquet(snakemake.input.cohort)
matched = pd.read_parquet(snakemake.input.matched)
table = attrition_table(cohort, matched, snakemake.params.outcomes)
write_csv(table, snakemake.output.table)
for r in table.itertuples():
    log.info("%s %s: attrition online %.1f%%, classroom %.1f%%, overall %.1f%%, differential %.1f points (WWC %s / %s)",
             r.sample, r.outcome, r.attrition_online, r.attrition_classroom, r.overall_attrition,
             r.differential_attrition, r.cautious, r.optimistic)
