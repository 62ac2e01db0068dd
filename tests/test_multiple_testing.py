"""Tests for credit_recovery.estimation.multiple_testing."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from statsmodels.stats.multitest import multipletests

from credit_recovery import holm_adjust
from credit_recovery.estimation.multiple_testing import romano_wolf


def test_holm_hand_example():
    # m = 4: sorted .01,.02,.03,.04 -> 4*.01=.04, 3*.02=.06, 2*.03=.06, 1*.04=.04 -> max-accumulate .04,.06,.06,.06
    np.testing.assert_allclose(holm_adjust([0.03, 0.01, 0.04, 0.02]), [0.06, 0.04, 0.06, 0.06])


@settings(max_examples=40, deadline=None)
@given(st.lists(st.floats(0, 1), min_size=1, max_size=30))
def test_holm_equals_statsmodels(ps):
    ours = holm_adjust(ps)
    ref = multipletests(ps, method="holm")[1]
    np.testing.assert_allclose(ours, ref, rtol=1e-12, atol=1e-15)
    assert np.all(ours >= np.asarray(ps) - 1e-15) and np.all(ours <= 1)


def test_holm_keeps_series_index_and_nan():
    s = pd.Series([0.01, np.nan, 0.04], index=["a", "b", "c"])
    out = holm_adjust(s)
    assert list(out.index) == ["a", "b", "c"] and np.isnan(out["b"])
    np.testing.assert_allclose(out[["a", "c"]], [0.02, 0.04])
    with pytest.raises(ValueError):
        holm_adjust([1.2])


def _romano_wolf_loop(t, tb):
    """Brute force: literal step-down loop."""
    t = np.abs(t)
    tb = np.abs(tb)
    order = sorted(range(len(t)), key=lambda k: -t[k])
    out = np.empty(len(t))
    prev = 0.0
    for s, k in enumerate(order):
        rest = order[s:]
        p = np.mean(tb[:, rest].max(axis=1) >= t[k])
        prev = max(prev, p)
        out[k] = prev
    return out


@settings(max_examples=25, deadline=None)
@given(seed=st.integers(0, 10_000), m=st.integers(1, 6), rho=st.floats(0, 0.95))
def test_romano_wolf_matches_loop_and_bounds(seed, m, rho):
    rng = np.random.default_rng(seed)
    cov = np.full((m, m), rho) + (1 - rho) * np.eye(m)
    tb = rng.multivariate_normal(np.zeros(m), cov, size=400)
    t = rng.normal(size=m) * 2
    rw = romano_wolf(t, tb)
    np.testing.assert_allclose(rw, _romano_wolf_loop(t, tb))
    # at least the single-test bootstrap p-value, at most Bonferroni-style bound of max-|t| test
    single = np.mean(np.abs(tb) >= np.abs(t)[None, :], axis=0)
    assert np.all(rw >= single - 1e-12) and np.all(rw <= 1)
    if m == 1:
        np.testing.assert_allclose(rw, single)


def test_romano_wolf_less_conservative_than_holm_under_correlation():
    rng = np.random.default_rng(0)
    m = 5
    cov = np.full((m, m), 0.9) + 0.1 * np.eye(m)
    tb = rng.multivariate_normal(np.zeros(m), cov, size=4000)
    t = np.array([2.3, 2.2, 2.1, 0.5, 2.4])
    rw = romano_wolf(pd.Series(t, index=list("abcde")), tb)
    single = np.mean(np.abs(tb) >= np.abs(t)[None, :], axis=0)
    holm = holm_adjust(single)
    assert list(rw.index) == list("abcde")
    assert np.all(rw.to_numpy() <= holm + 1e-12)
    with pytest.raises(ValueError, match="shape"):
        romano_wolf(t, tb[:, :3])
