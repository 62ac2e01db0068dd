"""Subgroup estimates in a small Monte Carlo: family-wise error over true-null subgroups, coverage of subgroup truths.

Run from the project root:

    PYTHONPATH=docs/results .venv/bin/python docs/results/subgroup_monte_carlo.py null medium 600 650 OUT.csv
    PYTHONPATH=docs/results .venv/bin/python docs/results/subgroup_monte_carlo.py heterogeneous medium 600 630 OUT.csv

``null`` is the default district with every online-recovery effect set to 0 (no heterogeneity: every subgroup
hypothesis is a true null); other names are the config's Monte Carlo scenarios. Each seed runs the pipeline's
``models_subgroups`` design (:func:`credit_recovery.specs.subgroups.run_subgroups`, the config's wild cluster
bootstrap with 999 Webb draws) and scores every row against its subgroup truth over its own sample. Writes one
row per seed x outcome x subgroup and prints, per outcome, the family-wise error rate (share of seeds with any
subgroup rejected at 5%) with the Romano-Wolf, Holm and unadjusted p-values, and the coverage of the subgroup
truths. Quoted in docs/subgroups.md.
"""
import sys

import pandas as pd
import yaml

from credit_recovery.specs.subgroups import run_subgroups
from credit_recovery.truth.comparison import truth_vs_estimates
from district import matched_district  # docs/results/district.py

cfg = yaml.safe_load(open("config.yaml"))
NULL = {f"ocr_{y}": 0.0 for y in ("math", "reading", "credits", "gpa", "credit_recovered")}
cfg["monte_carlo"]["scenarios"]["null"] = {"effects": NULL}
sc, scale, a, b, out = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), sys.argv[5]
rows = []
for seed in range(a, b):
    res, cohort, data, m = matched_district(cfg, sc, seed, scale)
    est, samples, table = run_subgroups(data, cfg["matching"], cfg["models"], cfg["subgroups"])
    comp = truth_vs_estimates(est, samples, res.unit_effects)[["outcome", "subgroup", "truth", "covers"]]
    rows.append(table.merge(comp, on=["outcome", "subgroup"]).assign(seed=seed, scenario=sc, scale=scale))
    print(seed, flush=True)
d = pd.concat(rows, ignore_index=True)
d.to_csv(out, index=False)
fam = d.groupby(["outcome", "seed"]).agg(rw=("p_fwer", lambda p: (p <= 0.05).any()),
                                         holm=("p_holm", lambda p: (p <= 0.05).any()),
                                         raw=("p_value", lambda p: (p <= 0.05).any()))
print(sc, scale, f"{d['seed'].nunique()} seeds")
print(fam.groupby("outcome").mean().round(3).assign(
    cover=d.groupby("outcome")["covers"].mean().round(3), bias=(d["estimate"] - d["truth"]).groupby(d["outcome"]).mean().round(4)))
