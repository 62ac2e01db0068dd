"""Rule privacy: scan results/public/ for identifiers and small cells; fail the run on any finding."""
import sys
from pathlib import Path

from credit_recovery import read_extract
from credit_recovery.contract import IDENTIFIER_COLUMNS
from credit_recovery.pipeline import start_log, write_csv
from credit_recovery.privacy import PrivacyError, check_public_folder, scan_public_files

log = start_log(snakemake.log[0])
tables = read_extract(snakemake.input.data)
ids = {}
for name, df in tables.items():
    for col in IDENTIFIER_COLUMNS:
        if col in df.columns and col != "event_id":
            ids.setdefault(col, set()).update(df[col].dropna().astype(str).unique())
folder = Path(snakemake.input.public[0]).parent
try:
    findings = check_public_folder(folder, ids, min_cell_size=snakemake.params.min_cell_size)
except PrivacyError as err:
    log.error("privacy check failed: results/public/ is not publishable\n%s", err)
    sys.exit(1)
write_csv(findings, snakemake.output[0])
log.info("privacy scan clean: %s", folder)
