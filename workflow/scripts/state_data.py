"""Rule state_data: the state's tables in results/data (every district's validated, prefixed tables stacked
row group by row group; student_years get the district, so scores are standardized within it) and the
districts' input reports in one table."""
import pandas as pd

from credit_recovery.data.extract_io import stack_extracts
from credit_recovery.shared.script_io import start_log, write_csv

log = start_log(snakemake.log[0])
names = snakemake.params.districts
stack_extracts(dict(zip(names, snakemake.input.tables)), snakemake.output.tables,
               district_column={"student_years": "district"})
reports = [pd.read_csv(f).assign(district=d) for d, f in zip(names, snakemake.input.reports)]
write_csv(pd.concat(reports, ignore_index=True), snakemake.output.report)
log.info("state of %d districts stacked in %s", len(names), snakemake.output.tables)
