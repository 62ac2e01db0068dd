"""Rule manifest: provenance of the run (code, config, data checksums, packages, which rule made each file)."""
import datetime as dt
from pathlib import Path

from credit_recovery.pipeline import start_log, write_json
from credit_recovery.provenance import build_manifest

PUBLIC_RULES = {
    "figures/cohort_flow": "cohort",
    "figures/love_plot": "balance",
    "figures/propensity_overlap": "balance",
    "estimates.csv": "report",
    "brief.html": "report",
}

log = start_log(snakemake.log[0])
config = snakemake.params.config
public = Path("results/public")
outputs = {}
for path in sorted(public.rglob("*")):
    if path.is_file():
        rel = path.relative_to(public).as_posix()
        outputs[str(path)] = next((rule for prefix, rule in PUBLIC_RULES.items() if rel.startswith(prefix)), "unknown")
inputs = {f"data/{p.name}": p for p in sorted(Path(snakemake.input.data).glob("*.parquet"))}
logs = sorted(Path("results/logs").glob("*.log"))
started = min((p.stat().st_mtime for p in logs), default=None)
manifest = build_manifest(config=config, input_files=inputs, outputs=outputs,
                          seeds={"simulation": config["simulation"]["seed"], "matching": config["matching"]["seed"]},
                          started=started, ended=dt.datetime.now(dt.timezone.utc).timestamp(), repo_dir=".")
write_json(manifest, snakemake.output[0])
