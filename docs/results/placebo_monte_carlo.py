"""Placebo outcomes in a small Monte Carlo: the matched FE design on the year-before-failure outcomes.

Run from the project root: `.venv/bin/python docs/results/placebo_monte_carlo.py default medium 500 530`
(and `confounding`); prints per placebo outcome the mean estimate, its SD and the share of intervals covering 0
(clustered SEs, for speed; the pipeline's headline uses the wild cluster bootstrap). Quoted in docs/sensitivity.md.
"""
import sys

import pandas as pd
import yaml

from credit_recovery.data.imputation import impute_missing
from credit_recovery.specs.drivers import numeric_covariates, run_models
from district import matched_district  # docs/results/district.py

cfg = yaml.safe_load(open("config.yaml"))
sc, scale, a, b = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
rows = []
for seed in range(a, b):
    res, cohort, data, m = matched_district(cfg, sc, seed, scale)
    mopt = cfg["matching"]
    _, mc = impute_missing(m.data, mopt["covariates"])
    opts = {**cfg["models"], "cov_type": "clustered"}
    est, _ = run_models(cohort, m.data, ["math"], numeric_covariates(m.data, mc), replace=True, options=opts, design_covariates=mc)
    for r in est[est.estimand_id.str.startswith("placebo")].itertuples():
        rows.append({"seed": seed, "outcome": r.outcome, "estimate": r.estimate, "covers0": r.ci_low <= 0 <= r.ci_high})
d = pd.DataFrame(rows)
print(sc, scale, d.groupby("outcome").agg(mean=("estimate", "mean"), sd=("estimate", "std"), cover=("covers0", "mean"), n=("seed", "size")).round(3))
