"""Tests for credit_recovery.estimation.multiple_testing."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from credit_recovery import holm_adjust


def _holm_by_hand(p_values):
    """The former hand-written step-down (kept here as the parity reference)."""
    p = np.asarray(p_values, dtype=float).ravel()
    out = np.full(p.shape, np.nan)
    idx = np.flatnonzero(~np.isnan(p))
    m = idx.size
    if m:
        order = idx[np.argsort(p[idx], kind="stable")]
        adj = np.minimum(1.0, (m - np.arange(m)) * p[order])
        out[order] = np.maximum.accumulate(adj)
    return out


def test_holm_hand_example():
    # m = 4: sorted .01,.02,.03,.04 -> 4*.01=.04, 3*.02=.06, 2*.03=.06, 1*.04=.04 -> max-accumulate .04,.06,.06,.06
    np.testing.assert_allclose(holm_adjust([0.03, 0.01, 0.04, 0.02]), [0.06, 0.04, 0.06, 0.06])


@settings(max_examples=60, deadline=None)
@given(st.lists(st.one_of(st.floats(0, 1), st.just(float("nan")), st.sampled_from([0.01, 0.05, 0.5, 1.0])),
                min_size=0, max_size=30))
def test_holm_equals_the_former_implementation_with_ties_and_nan(ps):
    ours = holm_adjust(ps)
    np.testing.assert_array_equal(ours, _holm_by_hand(ps))
    ok = ~np.isnan(np.asarray(ps, dtype=float))
    assert np.array_equal(np.isnan(ours), ~ok)
    assert np.all(ours[ok] >= np.asarray(ps)[ok]) and np.all(ours[ok] <= 1)


def test_holm_keeps_series_index_and_nan():
    s = pd.Series([0.01, np.nan, 0.04], index=["a", "b", "c"], name="p")
    out = holm_adjust(s)
    assert list(out.index) == ["a", "b", "c"] and out.name == "p" and np.isnan(out["b"])
    np.testing.assert_allclose(out[["a", "c"]], [0.02, 0.04])
    assert np.isnan(holm_adjust([np.nan, np.nan])).all()
    with pytest.raises(ValueError):
        holm_adjust([1.2])
