"""Matched-sample ATT: parity with lm + sandwich on lalonde, planted truth, brute force."""
from __future__ import annotations


import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings, strategies as st

from credit_recovery.estimation.att import RankDeficientError, estimate_att
from credit_recovery.shared.estimate_schema import ESTIMATE_COLUMNS
from credit_recovery.design.matching import match

from lalonde_reference import COVS, REF, SPECS, load_lalonde


@pytest.fixture(scope="module")
def lalonde() -> pd.DataFrame:
    return load_lalonde()


@pytest.fixture(scope="module")
def att_ref() -> pd.DataFrame:
    return pd.read_csv(REF / "att.csv", keep_default_na=False)


@pytest.mark.parametrize("spec", sorted(SPECS))
@pytest.mark.parametrize("adjust", [False, True])
def test_lalonde_matches_r(lalonde, att_ref, spec, adjust):
    kw = SPECS[spec]
    m = match(lalonde, "treat", "ps", **kw)
    replace = kw.get("replace", False)
    row = estimate_att(m.data, "re78", "treat", COVS if adjust else None, replace=replace)
    assert list(row.columns) == list(ESTIMATE_COLUMNS) and len(row) == 1
    r = att_ref[(att_ref.spec == spec) & ((att_ref.covariates != "none") == adjust)].iloc[0]
    assert row["estimate"].iloc[0] == pytest.approx(float(r.estimate), rel=1e-8)
    assert row["std_error"].iloc[0] == pytest.approx(float(r.std_error), rel=1e-4)
    assert row["n"].iloc[0] == int(r.n)
    assert row["estimand"].iloc[0] == "ATT"
    # lm(re78 ~ treat, weights)'s df.residual without covariates; the g-computation ATT is no single coefficient
    assert (row["residual_df"].isna().iloc[0] if adjust else row["residual_df"].iloc[0] == int(r.n) - 2)
    if not replace:
        assert row["n_clusters"].iloc[0] == int(r.n_clusters)
        assert row["cov_type"].iloc[0].startswith("cluster(subclass), CR1")
    else:
        assert row["cov_type"].iloc[0].startswith("HC3")


def test_cov_type_validation_and_missing_subclass(lalonde):
    m = match(lalonde, "treat", "ps", replace=True)
    with pytest.raises(ValueError, match="allowed values are"):
        estimate_att(m.data, "re78", "treat", cov_type="CR2")
    with pytest.raises(ValueError, match="missing values"):
        estimate_att(m.data, "re78", "treat", cov_type="CR1")


def _brute_cr1(y, t, w, cl):
    """Textbook CR1 for the treatment coefficient, loops over clusters."""
    X = np.column_stack([np.ones_like(y), t])
    W = np.diag(w)
    A = np.linalg.inv(X.T @ W @ X)
    b = A @ X.T @ W @ y
    e = y - X @ b
    meat = np.zeros((2, 2))
    groups = sorted(set(cl))
    for g in groups:
        idx = [i for i in range(len(y)) if cl[i] == g]
        u = sum(w[i] * e[i] * X[i] for i in idx)
        meat += np.outer(u, u)
    n, k, G = len(y), 2, len(groups)
    V = G / (G - 1) * (n - 1) / (n - k) * A @ meat @ A
    return b[1], np.sqrt(V[1, 1])


@settings(max_examples=25, deadline=None)
@given(seed=st.integers(0, 10_000), ratio=st.integers(1, 3))
def test_no_covariates_equals_brute_force_cr1(seed, ratio):
    rng = np.random.default_rng(seed)
    n = 60
    df = pd.DataFrame({"t": (rng.uniform(size=n) < 0.3).astype(int), "d": np.round(rng.uniform(size=n), 2)})
    df["y"] = rng.normal(size=n) + df["t"]
    if df["t"].sum() < 3 or (1 - df["t"]).sum() < 3 * ratio:
        return
    m = match(df, "t", "d", ratio=ratio)
    md = m.data
    if md["subclass"].nunique() < 2:
        return
    est, se = _brute_cr1(md["y"].to_numpy(), md["t"].to_numpy(float), md["weights"].to_numpy(), md["subclass"].tolist())
    row = estimate_att(md, "y", "t")
    assert row["estimate"].iloc[0] == pytest.approx(est, rel=1e-10, abs=1e-12)
    assert row["std_error"].iloc[0] == pytest.approx(se, rel=1e-10)
    # the weighted difference in means is the WLS coefficient
    tr = md["t"] == 1
    dm = np.average(md.loc[tr, "y"], weights=md.loc[tr, "weights"]) - np.average(md.loc[~tr, "y"], weights=md.loc[~tr, "weights"])
    assert row["estimate"].iloc[0] == pytest.approx(dm, rel=1e-10, abs=1e-12)


def test_planted_effect_recovered():
    """Selection on x, constant effect 2: matching + adjustment recovers it."""
    rng = np.random.default_rng(7)
    n = 4000
    x = rng.normal(size=n)
    t = (rng.uniform(size=n) < 1 / (1 + np.exp(1.0 - x))).astype(int)
    y = 1 + 3 * x + 2.0 * t + rng.normal(size=n)
    df = pd.DataFrame({"t": t, "x": x, "y": y, "lp": x})
    m = match(df, "t", "lp", caliper=0.1)
    adj = estimate_att(m.data, "y", "t", ["x"])
    unadj = estimate_att(m.data, "y", "t")
    naive = y[t == 1].mean() - y[t == 0].mean()
    assert abs(naive - 2.0) > 1.0  # confounded
    for row in (adj, unadj):
        est, se = row["estimate"].iloc[0], row["std_error"].iloc[0]
        assert abs(est - 2.0) < 4 * se
    assert adj["std_error"].iloc[0] < unadj["std_error"].iloc[0]


def test_rank_deficient_adjusted_design_raises_its_own_error():
    rng = np.random.default_rng(3)
    n = 80
    df = pd.DataFrame({"t": np.r_[np.ones(40), np.zeros(40)], "x": rng.normal(size=n), "y": rng.normal(size=n),
                       "weights": 1.0, "subclass": np.tile(np.arange(40), 2)})
    df["x2"] = 2 * df["x"]
    with pytest.raises(RankDeficientError, match="rank deficient"):
        estimate_att(df, "y", "t", ["x", "x2"])
    assert issubclass(RankDeficientError, ValueError)
    assert len(estimate_att(df, "y", "t", ["x"])) == 1


def test_hc3_unit_alone_in_a_covariate_level_contributes_zero():
    from credit_recovery.estimation.att import _vcov

    # a dummy that is 1 for one unit only gives it leverage 1 and residual 0: HC3's term is 0/0
    rng = np.random.default_rng(4)
    n = 60
    X = np.column_stack([np.ones(n), np.r_[np.ones(20), np.zeros(40)], rng.normal(size=n), np.eye(n)[7]])
    w = rng.uniform(0.5, 2, n)
    y = X[:, :3] @ [0.1, 0.5, 1.0] + rng.normal(size=n)
    beta = np.linalg.solve(X.T @ (X * w[:, None]), X.T @ (w * y))
    V, _ = _vcov(X, y, w, beta, "HC3", None)
    assert np.isfinite(V).all()
    # brute force: sandwich's HC3 over the other units
    bread = np.linalg.inv(X.T @ (X * w[:, None]))
    meat = np.zeros((4, 4))
    for i in range(n):
        if i == 7:
            continue
        h = w[i] * X[i] @ bread @ X[i]
        u = w[i] * (y[i] - X[i] @ beta) * X[i] / (1 - h)
        meat += np.outer(u, u)
    np.testing.assert_allclose(V, bread @ meat @ bread, rtol=1e-10)
