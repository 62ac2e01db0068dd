"""Lee (2009) bounds: brute force with sorted arrays, weights as replicated rows, planted selection,
the Imbens-Manski critical value, and interval coverage in a small simulation."""
from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

from credit_recovery.estimation.lee_bounds import imbens_manski_critical_value, lee_bounds, lee_bounds_interval


def _brute(y1_obs, y0_obs, n1, n0):
    """Lee's bounds with integer trimming: drop k of the treated's sorted observed outcomes."""
    q1, q0 = len(y1_obs) / n1, len(y0_obs) / n0
    assert q1 >= q0
    k = round((q1 - q0) / q1 * len(y1_obs))
    s = np.sort(y1_obs)
    return s[: len(s) - k].mean() - y0_obs.mean(), s[k:].mean() - y0_obs.mean()


def test_unweighted_bounds_equal_brute_force_trimming():
    """100 treated with 80 observed, 100 controls with 60 observed: p = 0.25, 20 of 80 trimmed."""
    rng = np.random.default_rng(1)
    y1, y0 = rng.normal(1, 1, 100), rng.normal(0, 1, 100)
    y1[80:], y0[60:] = np.nan, np.nan
    b = lee_bounds(np.r_[y1, y0], np.r_[np.ones(100), np.zeros(100)])
    lo, hi = _brute(y1[:80], y0[:60], 100, 100)
    assert (b.lower, b.upper) == pytest.approx((lo, hi), rel=1e-12)
    assert b.trimmed_arm == "treated" and b.trim_share == pytest.approx(0.25)
    assert b.lower < np.nanmean(y1) - np.nanmean(y0) < b.upper


def test_control_arm_trimmed_when_it_responds_more():
    """Swapping the arms (and the sign of the outcome) mirrors the bounds."""
    rng = np.random.default_rng(2)
    y = rng.normal(size=300)
    t = (np.arange(300) < 150).astype(int)
    y[(t == 1) & (np.arange(300) % 3 == 0)] = np.nan  # treated respond less
    b = lee_bounds(y, t)
    mirror = lee_bounds(-y, 1 - t)
    assert b.trimmed_arm == "control" and mirror.trimmed_arm == "treated"
    assert (b.lower, b.upper) == pytest.approx((mirror.lower, mirror.upper), rel=1e-12)


def test_integer_weights_are_replicated_rows():
    rng = np.random.default_rng(3)
    n = 120
    y = rng.normal(size=n)
    t = (rng.uniform(size=n) < 0.5).astype(int)
    y[rng.uniform(size=n) < np.where(t == 1, 0.1, 0.3)] = np.nan
    w = rng.integers(1, 4, size=n).astype(float)
    rep = np.repeat(np.arange(n), w.astype(int))
    a, b = lee_bounds(y, t, w), lee_bounds(y[rep], t[rep])
    assert (a.lower, a.upper, a.trim_share) == pytest.approx((b.lower, b.upper, b.trim_share), rel=1e-12)


def test_no_differential_response_gives_the_difference_in_means():
    y = np.array([1.0, 2.0, np.nan, 4.0, 0.0, np.nan, 1.0, 3.0])
    t = np.array([1, 1, 1, 1, 0, 0, 0, 0])
    b = lee_bounds(y, t)
    assert b.lower == b.upper == pytest.approx(np.mean([1, 2, 4]) - np.mean([0, 1, 3]))
    assert b.trim_share == 0 and b.trimmed_arm == ""


def _planted(rng, n=4000, effect=0.3):
    """Monotone selection not at random: the treated answer more, and the extra answerers have high Y(1)."""
    y0 = rng.normal(size=n)
    y1 = y0 + effect
    t = (rng.uniform(size=n) < 0.5).astype(int)
    u = rng.uniform(size=n)
    r0 = u < 0.6 + 0.2 * (y0 > 0)  # responds under control
    r1 = r0 | (u < 0.95)  # monotone: whoever responds under control responds under treatment
    y = np.where(t == 1, np.where(r1, y1, np.nan), np.where(r0, y0, np.nan))
    return y, t, effect


def test_planted_selection_bounds_hold_the_effect_the_complete_case_misses():
    y, t, effect = _planted(np.random.default_rng(4), n=200_000)
    b = lee_bounds(y, t)
    naive = np.nanmean(y[t == 1]) - np.nanmean(y[t == 0])
    assert abs(naive - effect) > 0.05
    assert b.lower < effect < b.upper


def test_imbens_manski_critical_value_runs_from_two_to_one_sided():
    assert imbens_manski_critical_value(0.0, 1.0) == pytest.approx(stats.norm.ppf(0.975), abs=1e-9)
    assert imbens_manski_critical_value(50.0, 1.0) == pytest.approx(stats.norm.ppf(0.95), abs=1e-6)
    c = imbens_manski_critical_value(0.5, 0.4)
    assert stats.norm.cdf(c + 0.5 / 0.4) - stats.norm.cdf(-c) == pytest.approx(0.95, abs=1e-9)


def test_interval_covers_the_planted_effect_in_a_small_simulation():
    """60 districts of 1,500 (seeded): the Imbens-Manski interval holds the effect in at least 90%."""
    rng = np.random.default_rng(5)
    hits = []
    for _ in range(60):
        y, t, effect = _planted(rng, n=1500)
        b = lee_bounds_interval(y, t, reps=99, seed=int(rng.integers(1 << 30)))
        assert b.ci_low <= b.lower <= b.upper <= b.ci_high
        hits.append(b.ci_low <= effect <= b.ci_high)
    assert np.mean(hits) >= 0.9


def test_cluster_bootstrap_and_errors():
    y, t, _ = _planted(np.random.default_rng(6), n=600)
    clusters = np.arange(600) // 30
    a = lee_bounds_interval(y, t, clusters=clusters, reps=49, seed=1)
    b = lee_bounds_interval(y, t, clusters=clusters, reps=49, seed=1)
    assert a == b and a.se_lower > 0
    with pytest.raises(ValueError, match="each arm"):
        lee_bounds(np.array([1.0, np.nan]), np.array([1, 0]))


def test_lee_bounds_table_on_a_matched_sample_and_its_public_rows():
    """The table driver: one row per outcome, match weights used (equal to replicated rows), arms named,
    and the public rows drop an outcome with fewer observed students than the minimum in an arm."""
    import pandas as pd

    from credit_recovery.specs.attrition_bounds import LEE_COLUMNS, lee_bounds_table, public_lee_bounds

    y, t, _ = _planted(np.random.default_rng(7), n=400)
    w = np.where(t == 1, 1.0, 1 + (np.arange(400) % 3))
    sparse = np.full(400, np.nan)
    sparse[np.flatnonzero(t == 1)[:30]] = 1.0
    sparse[np.flatnonzero(t == 0)[:5]] = 0.0
    m = pd.DataFrame({"online": t, "weights": w, "score": y, "rare": sparse, "school": np.arange(400) // 20})
    tab = lee_bounds_table(m, ["score", "rare"], cluster="school", reps=19, seed=3)
    assert list(tab.columns) == LEE_COLUMNS and list(tab["outcome"]) == ["score", "rare"]
    direct = lee_bounds(y, t, w)
    assert (tab.at[0, "lower"], tab.at[0, "upper"]) == pytest.approx((direct.lower, direct.upper), rel=1e-12)
    assert tab.at[0, "trimmed_arm"] == "online" and tab.at[0, "ci_low"] <= tab.at[0, "lower"]
    assert list(public_lee_bounds(tab, 10)["outcome"]) == ["score"]
