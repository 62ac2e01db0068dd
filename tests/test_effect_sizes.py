"""Tests for credit_recovery.estimation.effect_sizes against hand-computed WWC examples."""
from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from credit_recovery import hedges_g, improvement_index
from credit_recovery.estimation.effect_sizes import baseline_equivalence, cox_index, hedges_g_se, small_sample_omega


def test_hedges_g_hand_computed():
    # diff 5, s_t 10 (n_t 20), s_c 12 (n_c 25):
    # s_p = sqrt((19*100 + 24*144)/43) = sqrt(5356/43) = 11.16056
    # omega = 1 - 3/(4*45 - 9) = 168/171 = 0.982456; g = 0.982456 * 5 / 11.16056 = 0.44015
    assert small_sample_omega(45) == pytest.approx(168 / 171, rel=1e-12)
    assert hedges_g(5.0, sd_t=10.0, sd_c=12.0, n_t=20, n_c=25) == pytest.approx(0.44015, abs=1e-5)
    # a pooled SD given directly
    assert hedges_g(5.0, 11.16056, n_t=20, n_c=25) == pytest.approx(0.44015, abs=1e-5)
    # Chicago Back on Track algebra scores 272.97 vs 279.62 with an (assumed) SD of 33, N = 1224:
    # omega = 1 - 3/4887 = 0.999386; g = 0.999386 * (-6.65) / 33 = -0.2014
    assert hedges_g(272.97 - 279.62, 33.0, n_t=612, n_c=612) == pytest.approx(-0.2014, abs=1e-4)


def test_cox_index_hand_computed():
    # credit recovered 66% online vs 76% face-to-face (Chicago), n = 612 + 612:
    # ln(.66/.34) - ln(.76/.24) = 0.663294 - 1.152680 = -0.489385; / 1.65 = -0.296597
    # omega = 1 - 3/4887 = 0.999386 -> -0.29642
    assert cox_index(0.66, 0.76, n_t=612, n_c=612) == pytest.approx(-0.29642, abs=1e-5)
    with pytest.raises(ValueError):
        cox_index(1.0, 0.5, n_t=10, n_c=10)


def test_improvement_index():
    # WWC: g = 0.25 -> about +10 percentile points (100*(Phi(0.25) - 0.5) = 9.8706)
    assert improvement_index(0.25) == pytest.approx(9.8706, abs=1e-4)
    assert improvement_index(-0.2) == pytest.approx(-7.9260, abs=1e-4)
    assert improvement_index(0.0) == 0.0
    np.testing.assert_allclose(improvement_index(np.array([0.25, -0.25])), [9.8706, -9.8706], atol=1e-4)


def test_baseline_equivalence_thresholds():
    assert baseline_equivalence(0.05) == "satisfied"
    assert baseline_equivalence(-0.051) == "satisfied with adjustment"
    assert baseline_equivalence(0.25) == "satisfied with adjustment"
    assert baseline_equivalence(0.2501) == "not satisfied"
    assert list(baseline_equivalence([0.0, 0.1, -0.3])) == ["satisfied", "satisfied with adjustment", "not satisfied"]


def test_hedges_g_se_and_errors():
    # sqrt(45/500 + 0.44015**2/90) = sqrt(0.09 + 0.0021526) = 0.30356
    assert hedges_g_se(0.44015, 20, 25) == pytest.approx(0.30356, abs=1e-5)
    with pytest.raises(ValueError, match="either sd"):
        hedges_g(1.0, n_t=5, n_c=5)
    with pytest.raises(ValueError, match="positive"):
        hedges_g(1.0, 0.0, n_t=5, n_c=5)


@settings(max_examples=40, deadline=None)
@given(g=st.floats(-3, 3), n=st.integers(4, 10_000))
def test_properties(g, n):
    # improvement index is odd and within (-50, 50); omega in (0, 1)
    assert improvement_index(g) == pytest.approx(-improvement_index(-g), abs=1e-9)
    assert -50 < improvement_index(g) < 50
    assert 0 < small_sample_omega(n) < 1
    # Cox index is antisymmetric in the groups
    assert cox_index(0.3, 0.6, n_t=n, n_c=n) == pytest.approx(-cox_index(0.6, 0.3, n_t=n, n_c=n))
