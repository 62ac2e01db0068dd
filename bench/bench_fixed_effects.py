"""Benchmark: fixed-effects outcome model at "paper scale".

    .venv/bin/python bench/bench_fixed_effects.py [--students 60000] [--repeats 3] [--wild-reps 999]

Panel: 60,000 students x 5 years = 300,000 student-years, 12 schools x 7
years (school^year fixed effects, 84 levels), student fixed effects, 5
regressors, clusters = schools (12, few clusters).

Timed in the same run:
  A. credit_recovery.fit_fixed_effects, cov_type="clustered" (CR1)
  B. linearmodels AbsorbingLS(...).fit(cov_type="clustered", debiased=True)
     on the same data (the absorber used before the exact one)
  E. pyfixest feols(..., vcov={"CRV1": "school"}) on the same model, if pyfixest
     is installed (it is not a dependency; `pip install pyfixest` to compare):
     the first call (numba compilation) and the median of warm calls
  C. credit_recovery.fit_fixed_effects, cov_type="wild" (WCR, B = --wild-reps,
     Webb weights, p-value and CI by test inversion for one coefficient)
  D. statsmodels OLS with dummy variables (LSDV) + cluster covariance on a
     subsample of 1,500 students, against A on the same subsample
Prints medians over repeats, ratios, and the largest coefficient difference
between the implementations (checks that they fit the same model).
"""
from __future__ import annotations

import argparse
import statistics
import time

import numpy as np
import pandas as pd
import statsmodels.api as sm
from linearmodels.iv.absorbing import AbsorbingLS

from credit_recovery.estimation.fixed_effects import fit_fixed_effects

try:  # optional: only for the comparison E
    import pyfixest
except ImportError:
    pyfixest = None

FORMULA = "y ~ x1 + x2 + x3 + x4 + x5 | student + school^year"
X = ["x1", "x2", "x3", "x4", "x5"]


def make_panel(n_students: int, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    n_years, n_schools, n_cal_years = 5, 12, 7
    student = np.repeat(np.arange(n_students), n_years)
    start = rng.integers(0, n_cal_years - n_years + 1, n_students)
    year = (start[:, None] + np.arange(n_years)[None, :]).ravel()
    home = rng.integers(0, n_schools, n_students)
    school = home[student].copy()
    movers = rng.random(student.size) < 0.05  # some students change school
    school[movers] = rng.integers(0, n_schools, movers.sum())
    xs = rng.normal(size=(student.size, 5)) + 0.3 * rng.normal(size=n_students)[student][:, None]
    y = (xs @ np.array([-0.2, 0.1, 0.05, 0.0, 0.3]) + rng.normal(size=n_students)[student]
         + 0.2 * rng.normal(size=(n_schools, n_cal_years))[school, year]
         + 0.3 * rng.normal(size=n_schools)[school] * rng.normal(size=student.size)
         + rng.normal(size=student.size))
    df = pd.DataFrame(xs, columns=X)
    df["y"] = y
    df["student"] = student
    df["school"] = school
    df["year"] = year
    return df


def timeit(fn, repeats: int):
    times, out = [], None
    for _ in range(repeats):
        t0 = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times), out


def linearmodels_fit(df: pd.DataFrame):
    sy = df["school"].astype(np.int64) * 100 + df["year"].astype(np.int64)
    absorb = pd.DataFrame({"student": pd.Categorical(df["student"]), "sy": pd.Categorical(sy)})
    mod = AbsorbingLS(df["y"], df[X], absorb=absorb)
    return mod.fit(cov_type="clustered", clusters=df["school"].to_numpy(), debiased=True, use_cache=False)


def lsdv_fit(df: pd.DataFrame):
    sy = (df["school"].astype(str) + "_" + df["year"].astype(str))
    d = pd.concat([df[X], pd.get_dummies(df["student"].astype(str), dtype=float),
                   pd.get_dummies(sy, drop_first=True, dtype=float)], axis=1)
    return sm.OLS(df["y"].to_numpy(), d.to_numpy()).fit(cov_type="cluster", cov_kwds={"groups": df["school"].to_numpy()})


def pyfixest_comparison(df: pd.DataFrame, repeats: int, t_a: float, ra) -> None:
    """E: pyfixest's feols on the same model, first (compiling) call and warm median."""
    if pyfixest is None:
        print("E pyfixest: not installed, comparison skipped (pip install pyfixest)")
        return
    d = df.assign(sy=df["school"] * 100 + df["year"])
    fml = "y ~ " + " + ".join(X) + " | student + sy"
    t0 = time.perf_counter()
    pyfixest.feols(fml, data=d, vcov={"CRV1": "school"})
    first = time.perf_counter() - t0
    t_e, re_ = timeit(lambda: pyfixest.feols(fml, data=d, vcov={"CRV1": "school"}), repeats)
    diff = np.max(np.abs(ra.params[X].to_numpy() / re_.coef()[X].to_numpy() - 1))
    print(f"E pyfixest feols CRV1             median {t_e:8.3f} s   ratio A/E {t_a / t_e:6.2f}"
          f"   (first call {first:.3f} s)   max coef rel diff {diff:.2e}")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--students", type=int, default=60_000)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--wild-reps", type=int, default=999)
    ap.add_argument("--sub-students", type=int, default=1_500)
    a = ap.parse_args()

    df = make_panel(a.students)
    print(f"panel: {len(df):,} rows, {df.student.nunique():,} students, "
          f"{df.groupby(['school', 'year']).ngroups} school-years, {df.school.nunique()} school clusters")

    t_a, ra = timeit(lambda: fit_fixed_effects(df, FORMULA, cluster="school", fe_dof="all"), a.repeats)
    t_b, rb = timeit(lambda: linearmodels_fit(df), a.repeats)
    diff = np.max(np.abs(ra.params[X].to_numpy() - rb.params[X].to_numpy()))
    se_rel = np.max(np.abs(ra.std_errors[X].to_numpy() / rb.std_errors[X].to_numpy() - 1))
    print(f"A fit_fixed_effects CR1           median {t_a:8.3f} s")
    print(f"B linearmodels AbsorbingLS CR1    median {t_b:8.3f} s   ratio A/B {t_a / t_b:6.2f}"
          f"   max |coef diff| {diff:.2e}, max SE rel diff {se_rel:.2e}")
    pyfixest_comparison(df, a.repeats, t_a, ra)

    t_c, rc = timeit(lambda: fit_fixed_effects(
        df, FORMULA, cluster="school", cov_type="wild", bootstrap_reps=a.wild_reps,
        bootstrap_weights="webb", bootstrap_terms=["x4"], seed=1), a.repeats)
    print(f"C fit_fixed_effects wild (B={a.wild_reps}, 1 term) median {t_c:8.3f} s   ratio C/A {t_c / t_a:6.2f}"
          f"   p(x4)={rc.pvalues['x4']:.4f} CI=[{rc.ci.loc['x4', 'ci_low']:.4f}, {rc.ci.loc['x4', 'ci_high']:.4f}]"
          f"  (CR1 p(x4)={ra.pvalues['x4']:.4f})")

    sub = df[df["student"] < a.sub_students]
    t_s, rs = timeit(lambda: fit_fixed_effects(sub, FORMULA, cluster="school", fe_dof="all"), a.repeats)
    t_d, rd = timeit(lambda: lsdv_fit(sub), a.repeats)
    diff = np.max(np.abs(rs.params[X].to_numpy() - rd.params[:5]))
    print(f"subsample {len(sub):,} rows ({a.sub_students} students):")
    print(f"A' fit_fixed_effects CR1          median {t_s:8.3f} s")
    print(f"D  statsmodels LSDV + cluster     median {t_d:8.3f} s   ratio D/A' {t_d / t_s:6.1f}"
          f"   max |coef diff| {diff:.2e}")


if __name__ == "__main__":
    main()
