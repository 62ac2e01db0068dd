"""Rule check_inputs: read the input extract, check it against the data contract, write results/data/.

On failure the run stops here with a message naming table, column, rule, row count and example
rows; the failures are also written to results/checks/input_failures.csv (a private folder:
example rows carry identifiers) and results/data/ is not written. In a state study (rule
district_check_inputs, params.district) the validated tables' identifiers are prefixed with the district's
name before they are written (credit_recovery.data.state.namespace_ids).
"""
import sys

from credit_recovery import DataValidationError, read_extract, validate_tables, write_extract
from credit_recovery.data.state import namespace_ids
from credit_recovery.shared.script_io import start_log, write_csv

log = start_log(snakemake.log[0])
try:
    tables = read_extract(snakemake.params.source)
    report = validate_tables(tables, raise_on_failure=False)
    write_csv(report.failures, snakemake.params.failures)
    report.raise_if_failed()
except DataValidationError as err:
    if getattr(err, "failures", None) is not None:
        write_csv(err.failures, snakemake.params.failures)
    log.error("input validation failed; nothing was analysed\n%s", err)
    sys.exit(1)
write_csv(report.summary(), snakemake.output.report)
district = dict(snakemake.params.items()).get("district")
write_extract(namespace_ids(tables, district) if district else tables, snakemake.output.tables)
log.info("validated %s", ", ".join(f"{k} ({len(v)} rows)" for k, v in tables.items()))
