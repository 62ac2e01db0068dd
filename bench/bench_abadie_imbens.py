"""Monte Carlo check of the Abadie-Imbens standard errors for matching on an estimated propensity score.

    PYTHONPATH=src .venv/bin/python bench/bench_abadie_imbens.py [--reps 1000] [--n 2000] [--ratio 1 3]

Design of Abadie and Imbens (2016, section 5): X1, X2 ~ U(-1/2, 1/2), P(W = 1 | X) = logistic(X1 + 2 X2),
Y(0) = 3 X1 - 3 X2 + U0, Y(1) = 5 + 5 X1 + X2 + U1, U ~ N(0, 1). A logit propensity model is fitted,
treated units are matched with replacement to ``ratio`` controls on the logit score
(credit_recovery.design.matching.match) and the ATT is estimated three ways:

* WLS on the matched sample with HC3 (the matching weights taken as fixed),
* Abadie-Imbens (2006), J = 4 (the score taken as known),
* Abadie-Imbens (2006) with the Abadie-Imbens (2016) adjustment for the estimated score.

Prints, per ratio, the Monte Carlo SD of the estimate, the mean of each SE and the coverage of the
population ATT by each 95% interval, with Monte Carlo standard errors.
"""
from __future__ import annotations

import argparse
import time

import numpy as np
import pandas as pd

from credit_recovery.design.matching import match
from credit_recovery.design.propensity import fit_propensity
from credit_recovery.estimation.abadie_imbens import abadie_imbens_att
from credit_recovery.estimation.att import estimate_att
from credit_recovery.shared.model_matrix import design_matrix

COVS = ["x1", "x2"]


def population_att(draws: int = 20_000_000, seed: int = 12345) -> float:
    """E[Y(1) - Y(0) | W = 1] = 5 + E[2 X1 + 4 X2 | W = 1], by weighting with p(X) (chunked draws)."""
    rng = np.random.default_rng(seed)
    num = den = 0.0
    for _ in range(draws // 1_000_000):
        x = rng.uniform(-0.5, 0.5, size=(1_000_000, 2))
        p = 1 / (1 + np.exp(-(x[:, 0] + 2 * x[:, 1])))
        num += float(np.sum(p * (5 + 2 * x[:, 0] + 4 * x[:, 1])))
        den += float(np.sum(p))
    return num / den


def draw(n: int, rng: np.random.Generator) -> pd.DataFrame:
    x = rng.uniform(-0.5, 0.5, size=(n, 2))
    p = 1 / (1 + np.exp(-(x[:, 0] + 2 * x[:, 1])))
    w = (rng.uniform(size=n) < p).astype(int)
    y0 = 3 * x[:, 0] - 3 * x[:, 1] + rng.normal(size=n)
    y1 = 5 + 5 * x[:, 0] + x[:, 1] + rng.normal(size=n)
    return pd.DataFrame({"x1": x[:, 0], "x2": x[:, 1], "w": w, "y": np.where(w == 1, y1, y0)})


def replicate(n: int, ratio: int, rng: np.random.Generator, J: int = 4) -> dict[str, float]:
    """One sample: estimate and the three standard errors."""
    d = draw(n, rng)
    ps = fit_propensity(d, "w", COVS)
    d["ps"], d["lps"] = ps.propensity, ps.logit
    m = match(d, "w", "lps", ratio=ratio, replace=True)
    X = design_matrix(d, COVS, drop_first=True, intercept=True)
    ai = abadie_imbens_att(d, m.pairs, "y", "w", metric="lps", var_matches=J, ps_design=X,
                           propensity="ps", ratio=ratio)
    hc3 = estimate_att(m.data, "y", "w", replace=True).iloc[0]
    return {"estimate": ai.estimate, "se_hc3": float(hc3["std_error"]), "se_ai": float(np.sqrt(ai.variance_ai)),
            "se_ai_adj": ai.std_error, "wls_minus_ai": float(hc3["estimate"]) - ai.estimate}


def summarize(rows: pd.DataFrame, truth: float) -> pd.DataFrame:
    q = 1.959963984540054
    out = {"mc_sd": rows["estimate"].std(ddof=1), "bias": rows["estimate"].mean() - truth}
    for se in ("se_hc3", "se_ai", "se_ai_adj"):
        cov = (np.abs(rows["estimate"] - truth) <= q * rows[se]).mean()
        out[f"mean_{se}"] = rows[se].mean()
        out[f"coverage_{se}"] = cov
    out["coverage_mcse"] = np.sqrt(0.95 * 0.05 / len(rows))
    return pd.Series(out)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--reps", type=int, default=1000)
    ap.add_argument("--n", type=int, default=2000)
    ap.add_argument("--ratio", type=int, nargs="+", default=[1, 3])
    ap.add_argument("--seed", type=int, default=20160301)
    a = ap.parse_args()
    truth = population_att()
    print(f"population ATT = {truth:.5f}; n = {a.n}, {a.reps} replicates")
    for ratio in a.ratio:
        rng = np.random.default_rng([a.seed, ratio])
        start = time.perf_counter()
        rows = pd.DataFrame([replicate(a.n, ratio, rng) for _ in range(a.reps)])
        print(f"\nratio {ratio} ({time.perf_counter() - start:.0f} s); max |WLS - matching estimate| = "
              f"{rows['wls_minus_ai'].abs().max():.2e}")
        print(summarize(rows, truth).to_string(float_format=lambda v: f"{v:.4f}"))


if __name__ == "__main__":
    main()
