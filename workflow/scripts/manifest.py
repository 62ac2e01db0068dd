"""Rule manifest: provenance of the run (code, config, data checksums, packages, which rule made each file)."""
import datetime as dt
from pathlib import Path

from credit_recovery.shared.script_io import start_log, write_json
from credit_recovery.disclosure.provenance import build_manifest

log = start_log(snakemake.log[0])
config = snakemake.params.config
public_rules = snakemake.params.public_rules
public = Path("results/public")
outputs = {}
for path in sorted(p for p in public.rglob("*") if p.is_file()):
    # files no rule declares (sidecars written beside a figure) are credited to the figure's rule
    rule = public_rules.get(path.as_posix())
    if rule is None:
        twin = next((k for k in public_rules if Path(k).with_suffix("") == path.with_suffix("")), None)
        rule = f"{public_rules[twin]} (sidecar)" if twin else "not made by the workflow"
    outputs[path.as_posix()] = rule
inputs = {f"source:{p}": p for p in sorted(snakemake.input.source)}
inputs.update({f"data/{p.name}": p for p in sorted(Path(snakemake.input.data).glob("*.parquet"))})
inputs.update({"reports.validity_matrix": p for p in snakemake.input.validity})  # the reports' validity matrix
logs = sorted(Path("results/logs").glob("*.log"))
started = min((p.stat().st_mtime for p in logs), default=None)
manifest = build_manifest(config=config, input_files=inputs, outputs=outputs,
                          seeds={"simulation": config["simulation"]["seed"], "matching": config["matching"]["seed"]},
                          started=started, ended=dt.datetime.now(dt.timezone.utc).timestamp(),
                          repo_dir=snakemake.params.repo)
write_json(manifest, snakemake.output[0])
log.info("manifest: %d inputs, %d public files", len(inputs), len(outputs))
