"""Benchmark: the pipeline's outcome specifications at paper scale.

    .venv/bin/python bench/bench_models.py [--students 60000] [--repeats 3]

Builds a synthetic student-year panel in the shape of ``credit_recovery.specs.panel.build_panel``
(``--students`` ever-recoverers x 5 years = 300,000 student-years at the default, 18 schools,
7 school years, event-time bins, other-episode indicators) and times
``credit_recovery.specs.panel.panel_estimates`` for one outcome (static model + event study:
student and school-by-year fixed effects, tens of thousands of student effects) with
cov_type ``clustered`` (CR1) and ``wild`` (WCR bootstrap, 999 Webb draws, test inversion for
every reported term). Also times the matched school-by-year FE specification on 30,000
matched units with 40 covariates. Prints medians over ``--repeats`` and ratios against the static
model fitted directly with linearmodels ``AbsorbingLS`` in the same run.
"""
from __future__ import annotations

import argparse
import statistics
import time

import numpy as np
import pandas as pd
from linearmodels.iv.absorbing import AbsorbingLS

from credit_recovery.specs.matched import matched_fe_estimates
from credit_recovery.specs.panel import EVENT_TIMES, PRE_COVARIATES, STATIC_TERMS, event_suffix, panel_estimates


def make_panel(n_students: int, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    years = 5
    sid = np.repeat(np.arange(n_students), years)
    start = rng.integers(2011, 2014, n_students)
    year = start[sid] + np.tile(np.arange(years), n_students)
    r = start + rng.integers(1, 4, n_students)
    k = year - r[sid]
    school = rng.integers(0, 18, n_students)[sid]
    u = rng.normal(size=n_students)
    online = (rng.random(n_students) < 1 / (1 + np.exp(-u))).astype(int)
    d = pd.DataFrame({"student_id": sid, "school_id": school, "school_year": year, "event_time": k,
                      "online": online[sid], "recovery_record_id": sid})
    d["math"] = u[sid] - 0.2 * d["online"] * (k == 0) - 0.3 * (k == -1) + rng.normal(0, 0.5, len(d))
    d["other_recovery"] = ((rng.random(len(d)) < 0.05) & (k != 0)).astype(float)
    d["other_online"] = d["other_recovery"] * (rng.random(len(d)) < 0.5)
    d["recovery_courses"] = ((k == 0) * rng.integers(1, 4, len(d)) + d["other_recovery"]).astype(float)
    kb = np.clip(k, EVENT_TIMES[0], EVENT_TIMES[-1])
    for t in EVENT_TIMES:
        d[f"rel_{event_suffix(t)}"] = (kb == t).astype(float)
        d[f"online_{event_suffix(t)}"] = d[f"rel_{event_suffix(t)}"] * d["online"]
    for c in PRE_COVARIATES:  # failure-year covariates (centred) in the recovery and failure years
        x = rng.normal(size=n_students)[sid]
        d[f"{c}_0"], d[f"{c}_m1"] = x * d["rel_0"], x * d["rel_m1"]
    return d


def make_matched(n: int, n_cov: int = 40, seed: int = 1) -> tuple[pd.DataFrame, list[str]]:
    rng = np.random.default_rng(seed)
    d = pd.DataFrame(rng.normal(size=(n, n_cov)), columns=[f"x{j}" for j in range(n_cov)])
    d["online"] = rng.integers(0, 2, n)
    d["school_id"] = rng.integers(0, 18, n)
    d["school_year"] = rng.integers(2012, 2018, n)
    d["math"] = -0.2 * d["online"] + d[["x0", "x1"]].sum(axis=1) + rng.normal(size=n)
    d["weights"] = 1.0
    d["student_id"] = np.arange(n)
    d["recovery_record_id"] = np.arange(n)
    return d, [f"x{j}" for j in range(n_cov)]


def linearmodels_static(panel: pd.DataFrame):
    """The static panel model fitted directly with linearmodels (the absorber we build on)."""
    fe = pd.DataFrame({"student": pd.Categorical(panel["student_id"]),
                       "sy": pd.Categorical(panel["school_id"].astype(str) + "_" + panel["school_year"].astype(str))})
    x = panel[list(STATIC_TERMS)]
    return AbsorbingLS(panel["math"], x.loc[:, x.std() > 0], absorb=fe).fit(
        cov_type="clustered", clusters=panel["school_id"].to_numpy())


def timed(f, repeats):
    out = []
    for _ in range(repeats):
        t = time.perf_counter()
        f()
        out.append(time.perf_counter() - t)
    return statistics.median(out)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--students", type=int, default=60_000)
    ap.add_argument("--repeats", type=int, default=3)
    a = ap.parse_args()
    panel = make_panel(a.students)
    print(f"panel: {len(panel):,} student-years, {a.students:,} students, 18 schools")
    base = timed(lambda: linearmodels_static(panel), a.repeats)
    print(f"baseline: linearmodels AbsorbingLS, static model, clustered: median {base:.2f} s")
    for cov in ("clustered", "wild"):
        opt = {"cov_type": cov, "bootstrap_reps": 999, "bootstrap_weights": "webb"}
        for es in (False, True):
            t = timed(lambda: panel_estimates(panel, ["math"], opt, event_study=es), a.repeats)
            what = "static + event study" if es else "static"
            print(f"panel_estimates ({what}, cov_type={cov}): median {t:.2f} s ({t / base:.1f}x the baseline)")
    matched, covs = make_matched(30_000)
    for cov in ("clustered", "wild"):
        opt = {"cov_type": cov, "bootstrap_reps": 999, "bootstrap_weights": "webb"}
        t = timed(lambda: matched_fe_estimates(matched, ["math"], covs, opt), a.repeats)
        print(f"matched_fe_estimates (30,000 units, 40 covariates, cov_type={cov}): median {t:.2f} s")


if __name__ == "__main__":
    main()
