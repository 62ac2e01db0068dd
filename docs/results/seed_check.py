"""Per-district interval check of the seed-check preset, under the current estimand registry.

Run the preset, then this script from the project root:

    snakemake --directory /tmp/seeds --configfile config.yaml workflow/presets/seed_check.yaml --cores 2 monte_carlo
    .venv/bin/python docs/results/seed_check.py /tmp/seeds/results

It recomputes `assumptions_hold` of every replicate row with today's registry (`scenario_settings` of each seed),
runs `truth.validity.interval_check` and writes `docs/results/seed_check.csv`; it prints the totals quoted in
docs/validity.md ("Seed check").
"""
import sys
from pathlib import Path

import pandas as pd
import yaml
from scipy import stats

from credit_recovery.specs.estimands import assumptions_hold
from credit_recovery.truth.montecarlo import scenario_settings
from credit_recovery.truth.validity import designed_rows, interval_check

cfg = yaml.safe_load(open("config.yaml"))
files = sorted(Path(sys.argv[1]).glob("monte_carlo/replicates/*/default/seeds_*.csv"))
rows = pd.concat([pd.read_csv(p, keep_default_na=False, na_values=[""]) for p in files], ignore_index=True)
settings = {}
rows["assumptions_hold"] = [
    assumptions_hold(s, settings.setdefault((sc, sd), scenario_settings(cfg, sc, sd, "default")), e)
    for s, e, sc, sd in zip(rows["sample"], rows["estimand_id"], rows["scenario"], rows["seed"])]
check = interval_check(rows)
check.to_csv("docs/results/seed_check.csv", index=False)
r = designed_rows(rows)
r = r[r["assumptions_hold"].astype(bool) & r["truth"].notna()]
z = (r["estimate"] - r["truth"]).abs() / ((r["ci_high"] - r["ci_low"]) / (2 * stats.norm.ppf(0.975)))
print(check.to_string())
print(f"{len(check)} districts, {check['intervals'].sum()} intervals, {check['covered'].sum()} cover "
      f"({check['covered'].sum() / check['intervals'].sum():.3f}); beyond 2.58 SE: {(z > 2.58).sum()}, "
      f"beyond 3.5 SE: {(z > 3.5).sum()}; districts passing: {check['passes'].sum()}")
