"""Rule privacy_scan: scan every file under results/public/ for identifiers and small cells; fail the run on any finding.

The whole folder is scanned, not only the files the workflow declares, so files put there by hand (or
by `snakemake --report`) are checked as well.
"""
import sys

from credit_recovery import read_extract
from credit_recovery.data.contract import IDENTIFIER_COLUMNS
from credit_recovery.shared.script_io import start_log, write_csv
from credit_recovery.disclosure.identifiers import IdentifierIndex
from credit_recovery.disclosure.scanner import PrivacyError, check_public_folder

log = start_log(snakemake.log[0])
tables = read_extract(snakemake.input.data)
ids = {}
for name, df in tables.items():
    for col in IDENTIFIER_COLUMNS:
        if col in df.columns and col != "event_id":
            ids.setdefault(col, set()).update(df[col].dropna().astype(str).unique())
folder = snakemake.params.folder
try:
    findings = check_public_folder(folder, IdentifierIndex(ids), min_cell_size=snakemake.params.min_cell_size)
except PrivacyError as err:
    log.error("privacy check failed: %s is not publishable\n%s", folder, err)
    sys.exit(1)
write_csv(findings, snakemake.output[0])
log.info("privacy scan clean: %s (%d declared public files)", folder, len(snakemake.input.public))
