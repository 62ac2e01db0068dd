"""Rebuild docs/results/validity_matrix.{csv,png} from replicate tables, pooling with earlier summarized rows.

The provenance, docs/results/validity_matrix.json, is written by hand (commits, commands, seeds).

Run from the project root:

    .venv/bin/python docs/results/pool_validity.py RESULTS_DIR [EARLIER_MATRIX SCALE]

``RESULTS_DIR`` holds ``monte_carlo/replicates/<scenario>/<scale>/seeds_*.csv`` (the rule
``monte_carlo_replicate``'s outputs); ``EARLIER_MATRIX`` (optional) is a validity matrix whose ``SCALE`` rows
come from the seeds ``first_seed`` to ``first_seed + R - 1``, just before the new replicates' seeds; its cells
are pooled with the new ones where scenario, scale, estimand, estimator and sample agree (means weighted by
replicates; the bias's Monte Carlo SE from the pooled sums of e and e^2, which RMSE and bias give exactly), and
kept as they are where the new replicates have no such cell. ``assumptions_hold`` is recomputed for every
replicate seed with the current estimand registry (``scenario_settings`` of each seed), so earlier rows follow
the registry of today.
"""
import shutil
import sys
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd
import yaml

from credit_recovery.specs.estimands import assumptions_hold
from credit_recovery.truth.figures import validity_heatmap
from credit_recovery.truth.montecarlo import VALIDITY_COLUMNS, scenario_settings, summarize_replicates, validity_matrix
from credit_recovery.shared.style import save_figure

KEYS = ["scenario", "scale", "estimand_id", "estimator", "sample"]
cfg = yaml.safe_load(open("config.yaml"))
scenarios = list(cfg["monte_carlo"]["scenarios"])


def holds_over(scenario, scale, seeds, sample, estimand_id):
    return all(assumptions_hold(sample, scenario_settings(cfg, scenario, s, scale), estimand_id) for s in seeds)


files = sorted(Path(sys.argv[1]).glob("monte_carlo/replicates/*/*/seeds_*.csv"))
rows = pd.concat([pd.read_csv(p, keep_default_na=False, na_values=[""]) for p in files], ignore_index=True)
settings = {k: scenario_settings(cfg, k[0], k[2], k[1]) for k in
            rows[["scenario", "scale", "seed"]].drop_duplicates().itertuples(index=False, name=None)}
rows["assumptions_hold"] = [assumptions_hold(s, settings[(sc, sl, sd)], e) for s, e, sc, sl, sd in
                            zip(rows["sample"], rows["estimand_id"], rows["scenario"], rows["scale"], rows["seed"])]
new = validity_matrix(summarize_replicates(rows))
seeds = rows.groupby(["scenario", "scale"])["seed"].agg(lambda s: sorted(set(s))).to_dict()
print(f"{len(files)} replicate tables, {rows.groupby(['scenario', 'scale'])['seed'].nunique().to_dict()}")
if len(sys.argv) > 2:
    old = pd.read_csv(sys.argv[2])
    old = old[old["scale"] == sys.argv[3]]
    first = int(cfg["monte_carlo"]["first_seed"])
    for (sc, sl), r0 in old.groupby(["scenario", "scale"])["replicates"].max().items():
        seeds.setdefault((sc, sl), [])  # a world without new replicates keeps its earlier cells
        assert not seeds[(sc, sl)] or min(seeds[(sc, sl)]) == first + r0, f"{sc}/{sl}: seeds do not follow the earlier"
    both = new[new["scale"] == sys.argv[3]].merge(old, on=KEYS, how="outer", suffixes=("", "_old"), indicator=True)
    n1, n0 = both["replicates"].fillna(0), both["replicates_old"].fillna(0)
    n = n1 + n0
    s1 = (n1 * both["bias"].fillna(0) + n0 * both["bias_old"].fillna(0))
    s2 = n1 * both["rmse"].fillna(0) ** 2 + n0 * both["rmse_old"].fillna(0) ** 2
    pooled = both[KEYS].copy()
    pooled["replicates"] = n.astype(int)
    pooled["bias"] = s1 / n
    pooled["bias_mcse"] = np.sqrt(np.maximum(s2 - n * pooled["bias"] ** 2, 0) / (n - 1) / n)
    pooled["rmse"] = np.sqrt(s2 / n)
    for c in ("coverage", "mean_ci_width", "power"):
        pooled[c] = (n1 * both[c].fillna(0) + n0 * both[f"{c}_old"].fillna(0)) / n
    pooled["coverage_mcse"] = np.sqrt(pooled["coverage"] * (1 - pooled["coverage"]) / n)
    # the earlier seeds: the first_seed .. first_seed + R_old - 1 of each world that precede the new ones
    pooled["assumptions_hold"] = [
        holds_over(sc, sl, sorted(set(seeds[(sc, sl)]) | set(range(first, first + int(r0)))), sa, e)
        for sc, sl, e, sa, r0 in zip(pooled["scenario"], pooled["scale"], pooled["estimand_id"], pooled["sample"], n0)]
    new = pd.concat([new[new["scale"] != sys.argv[3]], pooled[VALIDITY_COLUMNS]], ignore_index=True)
order = {s: i for i, s in enumerate(scenarios)}
new = new.sort_values(KEYS, kind="stable")
new = new.sort_values(["scale", "scenario"], key=lambda s: s.map(order) if s.name == "scenario" else s,
                      kind="stable").reset_index(drop=True)
new.to_csv("docs/results/validity_matrix.csv", index=False)
with tempfile.TemporaryDirectory() as tmp:  # only the PNG: validity_matrix.json is the run's provenance
    save_figure(validity_heatmap(new, scenarios=scenarios), f"{tmp}/validity_matrix",
                caption="Validity matrix: 95% CI coverage of each estimator by scenario; a dot marks the cells where "
                        "the estimator's assumptions hold (the estimand registry).",
                alt_text="Heat map of confidence-interval coverage, scenarios in rows and estimand-estimator pairs in "
                         "columns; cells near 0.95 are light, cells far below are dark.")
    shutil.copyfile(f"{tmp}/validity_matrix.png", "docs/results/validity_matrix.png")
print(new.groupby(["scale", "scenario"])["replicates"].max().to_dict())
