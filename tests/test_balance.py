"""Balance tables: parity with MatchIt summary() on lalonde, properties, plots."""
from __future__ import annotations


import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings, strategies as st

from credit_recovery.design.balance import (
    BALANCE_COLUMNS,
    balance_before_after,
    balance_table,
    wwc_class,
)
from credit_recovery.design.plots import love_plot, overlap_plot
from credit_recovery.design.matching import match

from lalonde_reference import COVS as LALONDE_COVS
from lalonde_reference import REF, SPECS, load_lalonde

COVS = ["distance"] + LALONDE_COVS
STATS = ["mean_treated", "mean_control", "smd", "var_ratio", "ecdf_mean", "ecdf_max"]


@pytest.fixture(scope="module")
def lalonde() -> pd.DataFrame:
    return load_lalonde("distance")


def _compare(ours: pd.DataFrame, ref: pd.DataFrame) -> None:
    assert list(ours.index) == list(ref.index)
    np.testing.assert_allclose(ours[STATS].to_numpy(dtype=float), ref[STATS].to_numpy(dtype=float), rtol=1e-4, equal_nan=True)


def test_before_matches_matchit_summary(lalonde):
    tab = balance_table(lalonde, "treat", COVS)
    assert tuple(tab.columns) == BALANCE_COLUMNS
    _compare(tab, pd.read_csv(REF / "balance_before.csv", index_col="term"))


@pytest.mark.parametrize("spec", sorted(SPECS))
def test_after_matches_matchit_summary(lalonde, spec):
    """R's summary() on a matchit object carrying the same matched set."""
    m = match(lalonde, "treat", "distance", **SPECS[spec])
    tab = balance_table(lalonde, "treat", COVS, m.weights)
    _compare(tab, pd.read_csv(REF / f"balance_after_{spec}.csv", index_col="term"))


def test_before_after_and_wwc(lalonde):
    m = match(lalonde, "treat", "distance")
    ba = balance_before_after(lalonde, "treat", COVS, m.weights)
    assert set(ba.columns.get_level_values(0)) == {"before", "after"}
    assert ba[("before", "wwc")]["distance"] == "not satisfied"
    assert wwc_class(0.05) == "satisfied" and wwc_class(-0.2) == "adjustment required"
    assert wwc_class(0.2500001) == "not satisfied" and wwc_class(float("nan")) == ""
    fig = love_plot(ba)
    assert len(fig.axes) == 1
    fig2 = overlap_plot(lalonde["distance"], lalonde["treat"], m.weights)
    assert len(fig2.axes) == 1


def test_zero_sd_guard():
    # no variation among treated in x: falls back to pooled SD, stays finite
    df = pd.DataFrame({"t": [1, 1, 1, 0, 0, 0], "x": [2.0, 2, 2, 1, 3, 5]})
    tab = balance_table(df, "t", ["x"])
    pooled = np.sqrt((0 + ((np.array([1, 3, 5]) - 3.0) ** 2).sum()) / 4)
    assert tab.loc["x", "smd"] == pytest.approx((2 - 3) / pooled)


@settings(max_examples=40, deadline=None)
@given(
    x=st.lists(st.integers(-5, 5), min_size=6, max_size=30),
    t=st.lists(st.booleans(), min_size=6, max_size=30),
    scale=st.floats(0.5, 4.0),
)
def test_uniform_weights_equal_unweighted_and_smd_scale_free(x, t, scale):
    n = min(len(x), len(t))
    df = pd.DataFrame({"t": np.array(t[:n], dtype=int), "x": np.array(x[:n], dtype=float)})
    if df["t"].sum() < 2 or (1 - df["t"]).sum() < 2:
        return
    a = balance_table(df, "t", ["x"])
    b = balance_table(df, "t", ["x"], np.full(n, scale))
    np.testing.assert_allclose(a[STATS].to_numpy(dtype=float), b[STATS].to_numpy(dtype=float), rtol=1e-9, atol=1e-12, equal_nan=True)
    # SMD, variance ratio and eCDF stats are invariant to an affine change of x
    # (0/1 covariates are summarised as binary, MatchIt's convention, so they are left out here)
    if set(df["x"].unique()) <= {0.0, 1.0}:
        return
    c = balance_table(df.assign(x=3 * df["x"] + 7), "t", ["x"])
    for s in ["smd", "var_ratio", "ecdf_mean", "ecdf_max"]:
        np.testing.assert_allclose(float(c.loc["x", s]), float(a.loc["x", s]), rtol=1e-9, atol=1e-12, equal_nan=True)
    assert 0 <= a.loc["x", "ecdf_mean"] <= a.loc["x", "ecdf_max"] <= 1 + 1e-12


def test_constant_within_groups_gives_infinite_smd_not_an_error():
    """Complete separation: constant x in each group, different values; R's division gives Inf."""
    df = pd.DataFrame({"t": [1, 1, 1, 0, 0, 0], "x": [1.0, 1, 1, 2, 2, 2]})
    tab = balance_table(df, "t", ["x"])
    assert tab.loc["x", "smd"] == -np.inf
    assert tab.loc["x", "wwc"] == "not satisfied"
    df2 = pd.DataFrame({"t": [1, 1, 1, 0, 0, 0], "x": [1.0, 2, 3, 2, 2, 2]})
    assert balance_table(df2, "t", ["x"]).loc["x", "var_ratio"] == np.inf
