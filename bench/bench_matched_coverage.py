"""Monte Carlo: coverage of the matched ATT's intervals with HC3 vs Abadie-Imbens standard errors.

    PYTHONPATH=src .venv/bin/python bench/bench_matched_coverage.py [--reps 30] [--scale medium] [--first-seed 1000]

Each replicate simulates the synthetic district of the default scenario (config.yaml) at ``--scale``,
then runs the pipeline's design in-process (cohort, propensity score, matching with the config's
options) and estimates the unadjusted matched ATT of every outcome with three standard errors:
HC3 on the matched sample (weights taken as fixed), Abadie-Imbens (2006, J = 4) and Abadie-Imbens
with the (2016) estimated-propensity-score adjustment; and the bias-corrected estimator (Abadie-Imbens
2011, on the propensity model's covariates: the pipeline's default) with the unadjusted and adjusted
Abadie-Imbens SE of the outcome (``se_bc``, ``se_bc_adj``) and of its residual (``se_res``,
``se_res_adj``, ``bias_variance="residual"``). Each interval is
compared with the planted truth over the estimate's own sample (truth.comparison). Prints the SD of
the estimation error, the mean SE of each kind and the coverage of each 95% interval, by outcome.
"""
from __future__ import annotations

import argparse
import time

import numpy as np
import pandas as pd
import yaml

from credit_recovery.data.cohort import build_cohort
from credit_recovery.data.imputation import impute_missing
from credit_recovery.design.matching import match
from credit_recovery.design.propensity import fit_propensity
from credit_recovery.estimation.abadie_imbens import abadie_imbens_att
from credit_recovery.shared.model_matrix import design_matrix
from credit_recovery.specs.drivers import estimate_samples, matched_estimates
from credit_recovery.specs.matched_variance import MATCHED_ESTIMATOR
from credit_recovery.synthetic.generator import simulate_district
from credit_recovery.truth.comparison import truth_vs_estimates
from credit_recovery.truth.montecarlo import scenario_settings

Q = 1.959963984540054


def replicate(cfg: dict, seed: int, scale: str) -> pd.DataFrame:
    """One district: per outcome, truth, estimate and the three standard errors."""
    result = simulate_district(scenario_settings(cfg, "default", seed, scale))
    cohort = build_cohort(result.tables).cohort
    mopt = cfg["matching"]
    data, covariates = impute_missing(cohort, mopt["covariates"])
    ps = fit_propensity(data, "online", covariates)
    data["propensity"], data["logit"] = ps.propensity, ps.logit
    m = match(data, "online", mopt["distance"], ratio=mopt["ratio"], replace=mopt["replace"], caliper=mopt["caliper"],
              std_caliper=mopt["std_caliper"], exact=mopt["exact"] or None, order=mopt["order"], seed=mopt["seed"])
    outcomes = cfg["models"]["outcomes"]
    est = matched_estimates(m.data, outcomes, None, replace=True)
    truth = truth_vs_estimates(est, estimate_samples(m.data, outcomes, "matched"), result.unit_effects)
    X = design_matrix(data, covariates, drop_first=True, intercept=True)
    Z = X.drop(columns=X.columns[0]).add_prefix("z_")  # the pipeline's correction covariates
    data = data.join(Z)
    rows = []
    for _, t in truth[truth["estimator"] == MATCHED_ESTIMATOR].iterrows():
        ai = abadie_imbens_att(data, m.pairs, t["outcome"], "online", metric=mopt["distance"], strata=mopt["exact"],
                               ps_design=X, propensity="propensity", ratio=mopt["ratio"])
        bc = abadie_imbens_att(data, m.pairs, t["outcome"], "online", metric=mopt["distance"], strata=mopt["exact"],
                               ps_design=X, propensity="propensity", ratio=mopt["ratio"],
                               bias_adjust=list(Z.columns))
        rs = abadie_imbens_att(data, m.pairs, t["outcome"], "online", metric=mopt["distance"], strata=mopt["exact"],
                               ps_design=X, propensity="propensity", ratio=mopt["ratio"],
                               bias_adjust=list(Z.columns), bias_variance="residual")
        rows.append({"seed": seed, "outcome": t["outcome"], "truth": t["truth"], "wls": t["estimate"],
                     "se_hc3": (t["ci_high"] - t["ci_low"]) / 2 / Q, "estimate": ai.estimate,
                     "se_ai": np.sqrt(ai.variance_ai), "se_ai_adj": ai.std_error,
                     "estimate_bc": bc.estimate, "se_bc": np.sqrt(bc.variance_ai), "se_bc_adj": bc.std_error,
                     "se_res": np.sqrt(rs.variance_ai), "se_res_adj": rs.std_error})
    return pd.DataFrame(rows)


def summarize(rows: pd.DataFrame) -> pd.DataFrame:
    def one(g: pd.DataFrame) -> pd.Series:
        err_wls, err = g["wls"] - g["truth"], g["estimate"] - g["truth"]
        err_bc = g["estimate_bc"] - g["truth"]
        out = {"reps": len(g), "sd_error": err.std(ddof=1), "bias": err.mean(),
               "sd_error_bc": err_bc.std(ddof=1), "bias_bc": err_bc.mean()}
        for se, e in (("se_hc3", err_wls), ("se_ai", err), ("se_ai_adj", err), ("se_bc", err_bc),
                      ("se_bc_adj", err_bc), ("se_res", err_bc), ("se_res_adj", err_bc)):
            out[f"mean_{se}"] = g[se].mean()
            out[f"cover_{se}"] = float((e.abs() <= Q * g[se]).mean())
        return pd.Series(out)
    return rows.groupby("outcome", sort=False)[list(rows.columns)].apply(one)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--reps", type=int, default=30)
    ap.add_argument("--scale", default="medium")
    ap.add_argument("--first-seed", type=int, default=1000)
    ap.add_argument("--config", default="config.yaml")
    ap.add_argument("--out", default=None, help="CSV of the replicate rows")
    a = ap.parse_args()
    with open(a.config, encoding="utf-8") as fh:
        cfg = yaml.safe_load(fh)
    start = time.perf_counter()
    rows = pd.concat([replicate(cfg, s, a.scale) for s in range(a.first_seed, a.first_seed + a.reps)],
                     ignore_index=True)
    if a.out:
        rows.to_csv(a.out, index=False)
    print(f"{a.reps} replicates at scale {a.scale} in {time.perf_counter() - start:.0f} s")
    print(summarize(rows).to_string(float_format=lambda v: f"{v:.4f}"))


if __name__ == "__main__":
    main()
