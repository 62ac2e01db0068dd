"""Rule state_data: the state's tables (every district's validated, prefixed tables stacked) in results/data,
and the districts' input reports in one table."""
import pandas as pd

from credit_recovery import read_extract, write_extract
from credit_recovery.data.state import pool_tables
from credit_recovery.shared.script_io import start_log, write_csv

log = start_log(snakemake.log[0])
names = snakemake.params.districts
tables = pool_tables({d: read_extract(folder) for d, folder in zip(names, snakemake.input.tables)})
write_extract(tables, snakemake.output.tables)
reports = [pd.read_csv(f).assign(district=d) for d, f in zip(names, snakemake.input.reports)]
write_csv(pd.concat(reports, ignore_index=True), snakemake.output.report)
log.info("state of %d districts: %s", len(names), ", ".join(f"{k} ({len(v)} rows)" for k, v in tables.items()))
