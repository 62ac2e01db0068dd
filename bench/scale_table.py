"""The scale table of docs/state.md: wall time and peak memory per stage of finished runs.

Every rule writes a Snakemake benchmark file (``results/logs/benchmarks/...tsv``: wall seconds and peak
resident memory of the job). This script groups the jobs of each run into stages and prints, per stage, the
number of jobs, their summed wall time (the work: on one core it is the stage's time), the longest job
(the stage's time when its jobs run side by side on a cluster) and the largest peak memory of a job; then
the run's elapsed time from its Snakemake log and, when given, the machine's peak from a memory log
(lines ``<unix time> <MB used>``, e.g. ``free -m`` sampled every 2 s).

    .venv/bin/python bench/scale_table.py --run default=/tmp/default --run paper=/tmp/paper \\
        --run "10x paper=/tmp/s10:/tmp/s10.mem" --run "20 districts=/tmp/st20"
"""
from __future__ import annotations

import argparse
import re
from datetime import datetime
from pathlib import Path

import pandas as pd

#: Stage of each rule (a state study's per-district rules with their single-district counterparts).
STAGES: dict[str, tuple[str, ...]] = {
    "simulate": ("simulate", "district_simulate"),
    "input checks": ("check_inputs", "district_check_inputs", "state_data"),
    "cohort": ("cohort", "district_cohort", "state_cohort"),
    "sessions": ("sessions", "engagement_years", "district_sessions", "district_engagement_years"),
    "engagement features": ("engagement_features", "district_engagement_features", "state_engagement"),
    "district estimates": ("district_estimates", "district_truth", "state_estimates", "state_truth",
                           "state_truth_pool"),
    "matching and balance": ("propensity", "match", "balance", "attrition"),
    "outcome models": ("models", "models_panel", "models_mentor", "models_subgroups", "estimates",
                       "models_tables", "sensitivity", "truth_comparison"),
    "engagement models": ("typology", "engagement_models", "engagement_figures", "engagement_truth"),
    "reports and disclosure": ("public_estimates", "brief", "appendix", "privacy_scan", "manifest",
                               "code_stamp"),
}
_RULE_OF_FILE = {"sessions": "sessions", "simulate": "district_simulate", "check_inputs": "district_check_inputs",
                 "cohort": "district_cohort", "engagement_years": "district_engagement_years",
                 "engagement_features": "district_engagement_features", "estimates": "district_estimates",
                 "truth": "district_truth"}


def _rule(path: Path, root: Path) -> str:
    parts = path.relative_to(root).with_suffix("").parts
    if parts[0] == "state" and len(parts) >= 3:  # state/<district>/<step>[/school_year=Y]
        return "district_sessions" if parts[2] == "sessions" else _RULE_OF_FILE.get(parts[2], parts[2])
    if parts[0] == "state":
        return parts[1]
    return parts[0]


def run_jobs(folder: Path) -> pd.DataFrame:
    """One row per benchmarked job of a run: rule, stage, wall seconds, peak memory (MB)."""
    root = folder / "results/logs/benchmarks"
    rows = []
    for f in sorted(root.rglob("*.tsv")):
        b = pd.read_csv(f, sep="\t")
        rule = _rule(f, root)
        stage = next((s for s, rules in STAGES.items() if rule in rules), "other")
        rows.append({"rule": rule, "stage": stage, "s": float(b["s"].iloc[-1]),
                     "max_rss": float(pd.to_numeric(b["max_rss"], errors="coerce").iloc[-1])})
    return pd.DataFrame(rows)


def elapsed(folder: Path) -> float:
    """Seconds from the first to the last timestamp of the run's latest Snakemake log."""
    logs = sorted((folder / ".snakemake/log").glob("*.snakemake.log"))
    stamps = re.findall(r"\[(\w{3} \w{3} +\d+ \d\d:\d\d:\d\d \d{4})\]", logs[-1].read_text())
    times = [datetime.strptime(" ".join(s.split()), "%a %b %d %H:%M:%S %Y") for s in stamps]
    return (max(times) - min(times)).total_seconds()


def stage_table(jobs: pd.DataFrame) -> pd.DataFrame:
    g = jobs.groupby("stage", sort=False)
    out = pd.DataFrame({"jobs": g.size(), "work_s": g["s"].sum(), "longest_job_s": g["s"].max(),
                        "peak_mb": g["max_rss"].max()})
    return out.reindex([s for s in [*STAGES, "other"] if s in out.index])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--run", action="append", required=True,
                    help="NAME=FOLDER[:MEMORY_LOG], repeated; FOLDER is the run's --directory")
    args = ap.parse_args()
    for spec in args.run:
        name, rest = spec.split("=", 1)
        folder, _, memlog = rest.partition(":")
        jobs = run_jobs(Path(folder))
        table = stage_table(jobs)
        print(f"\n## {name}: {len(jobs)} jobs, {elapsed(Path(folder)) / 60:.1f} min elapsed, "
              f"{jobs['s'].sum() / 60:.1f} min of job time, largest job {jobs['max_rss'].max() / 1024:.2f} GB")
        if memlog:
            mem = pd.read_csv(memlog, sep=" ", header=None, names=["t", "mb"])
            print(f"machine peak (all processes): {mem['mb'].max() / 1024:.2f} GB")
        print(table.round(1).to_markdown())


if __name__ == "__main__":
    main()
