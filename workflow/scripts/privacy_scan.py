"""Rule privacy_scan: scan every file under results/public/ for identifiers and small cells; fail the run on any finding.

The whole folder is scanned, not only the files the workflow declares, so files put there by hand (or
by `snakemake --report`) are checked as well.
"""
import sys
from pathlib import Path

import duckdb
import pyarrow.parquet as pq

from credit_recovery.data.contract import IDENTIFIER_COLUMNS
from credit_recovery.shared.script_io import start_log, write_csv
from credit_recovery.disclosure.identifiers import IdentifierIndex
from credit_recovery.disclosure.scanner import PrivacyError, check_public_folder

log = start_log(snakemake.log[0])
# the distinct identifiers of every validated table, read column by column (DuckDB streams the parquet, so
# memory follows the number of identifiers, not of rows: a state's tens of millions of events fit)
con = duckdb.connect()
ids = {}
for path in sorted(Path(snakemake.input.data).glob("*.parquet")):
    for col in sorted(set(pq.read_schema(path).names) & set(IDENTIFIER_COLUMNS) - {"event_id"}):
        rows = con.execute(f"SELECT DISTINCT CAST(\"{col}\" AS VARCHAR) FROM read_parquet('{path}') "
                           f"WHERE \"{col}\" IS NOT NULL").fetchall()
        ids.setdefault(col, set()).update(r[0] for r in rows)
folder = snakemake.params.folder
try:
    findings = check_public_folder(folder, IdentifierIndex(ids), min_cell_size=snakemake.params.min_cell_size)
except PrivacyError as err:
    log.error("privacy check failed: %s is not publishable\n%s", folder, err)
    sys.exit(1)
write_csv(findings, snakemake.output[0])
log.info("privacy scan clean: %s (%d declared public files)", folder, len(snakemake.input.public))
