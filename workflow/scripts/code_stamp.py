"""Rule code_stamp: the package's source files and their SHA-256 (the stamp's name carries their hash)."""
from credit_recovery.shared.script_io import start_log
from credit_recovery.disclosure.provenance import package_sources_text

log = start_log(snakemake.log[0])
text = package_sources_text()
with open(snakemake.output[0], "w", encoding="utf-8") as fh:
    fh.write(text)
log.info("%d package files", text.count("\n"))
