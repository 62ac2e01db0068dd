"""Rule validate: read the input extract, check it against the data contract, write results/data/."""
import sys

from credit_recovery import DataValidationError, read_extract, validate_tables, write_extract
from credit_recovery.pipeline import start_log, write_csv

log = start_log(snakemake.log[0])
try:
    tables = read_extract(snakemake.params.source)
    report = validate_tables(tables)
except DataValidationError as err:
    log.error("input validation failed; nothing was analysed\n%s", err)
    sys.exit(1)
write_csv(report.summary(), snakemake.output.report)
write_extract(tables, snakemake.output.tables)
log.info("validated %s", ", ".join(f"{k} ({len(v)} rows)" for k, v in tables.items()))
