"""Sensitivity to hidden bias: robustness values (sensemakr's Darfur example), E-values (VanderWeele and Ding's
published examples), Rosenbaum bounds (scipy's signed-rank test at Gamma = 1 and brute-force enumeration)."""
import itertools
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings, strategies as st
from scipy import stats

from credit_recovery.estimation.sensitivity import (e_value, e_value_rr, ovb_benchmark_bounds, partial_r2,
                                                    robustness_value, rosenbaum_bounds, rosenbaum_gamma,
                                                    signed_rank_statistic)

DARFUR = Path(__file__).parent / "reference" / "sensemakr" / "darfur.csv"
COVS = ["age", "farmer_dar", "herder_dar", "pastvoted", "hhsize_darfur", "female"]


def _ols(y, x):
    coef, *_ = np.linalg.lstsq(x, y, rcond=None)
    resid = y - x @ coef
    dof = len(y) - np.linalg.matrix_rank(x)
    cov = resid @ resid / dof * np.linalg.pinv(x.T @ x)
    return coef, np.sqrt(np.diag(cov)), dof


@pytest.fixture(scope="module")
def darfur():
    d = pd.read_csv(DARFUR)
    villages = pd.get_dummies(d["village"], drop_first=True, dtype=float)
    x_out = np.column_stack([np.ones(len(d)), d["directlyharmed"], d[COVS], villages])
    coef, se, dof = _ols(d["peacefactor"].to_numpy(float), x_out)
    x_tr = np.column_stack([np.ones(len(d)), d[COVS], villages])
    coef_d, se_d, dof_d = _ols(d["directlyharmed"].to_numpy(float), x_tr)
    female_y, female_d = 2 + COVS.index("female"), 1 + COVS.index("female")
    return {"est": coef[1], "se": se[1], "dof": dof, "t_female_y": coef[female_y] / se[female_y],
            "t_female_d": coef_d[female_d] / se_d[female_d], "dof_d": dof_d}


def test_darfur_robustness_values_equal_sensemakr(darfur):
    t, dof = darfur["est"] / darfur["se"], darfur["dof"]
    assert dof == 783 and darfur["est"] == pytest.approx(0.09731581928495897, rel=1e-10)
    # published (Cinelli and Hazlett 2020): partial R2 2.2%, RV 13.9%, RV at alpha 0.05 7.6%
    assert round(100 * partial_r2(t, dof), 1) == 2.2
    assert round(100 * robustness_value(t, dof), 1) == 13.9
    assert round(100 * robustness_value(t, dof, alpha=0.05), 1) == 7.6
    # PySensemakr 0.0.8 on the same data (tests/reference/sensemakr/README.md)
    assert partial_r2(t, dof) == pytest.approx(0.02187309334111082, rel=1e-9)
    assert robustness_value(t, dof) == pytest.approx(0.13877635, rel=1e-7)
    assert robustness_value(t, dof, alpha=0.05) == pytest.approx(0.07625797, rel=1e-6)


@pytest.mark.parametrize("kd, r2dz, r2yz, adj, adj_se", [
    (1, 0.009164286675047728, 0.1246409230363712, 0.07522027121445382, 0.021873327743756985),
    (2, 0.018328573350095457, 0.249324064199978, 0.05291517238445768, 0.020350062077963464),
    (3, 0.027492860025143187, 0.3740504710380986, 0.03039602346416191, 0.01867006481709215),
])
def test_darfur_female_benchmark_bounds_equal_sensemakr(darfur, kd, r2dz, r2yz, adj, adj_se):
    b = ovb_benchmark_bounds(darfur["est"], darfur["se"], darfur["dof"],
                             partial_r2(darfur["t_female_d"], darfur["dof_d"]),
                             partial_r2(darfur["t_female_y"], darfur["dof"]), kd=kd)
    assert b["r2dz_x"] == pytest.approx(r2dz, rel=1e-8) and b["r2yz_dx"] == pytest.approx(r2yz, rel=1e-8)
    assert b["adjusted_estimate"] == pytest.approx(adj, rel=1e-8)
    assert b["adjusted_se"] == pytest.approx(adj_se, rel=1e-8)
    assert round(b["adjusted_estimate"], 4) == {1: 0.0752, 2: 0.0529, 3: 0.0304}[kd]  # published table


@settings(max_examples=60, deadline=None)
@given(t=st.floats(0.5, 30), dof=st.integers(30, 5000))
def test_a_confounder_as_strong_as_the_robustness_value_removes_the_estimate(t, dof):
    """With both partial R2 equal to RV_1 the omitted-variable bias equals the estimate (se = 1, estimate = t)."""
    rv = robustness_value(t, dof)
    bias = np.sqrt(rv * rv / (1 - rv)) * np.sqrt(dof)
    assert bias == pytest.approx(t, rel=1e-9)
    assert robustness_value(t, dof, alpha=0.05) <= rv + 1e-12
    assert robustness_value(t, dof, q=0.5) <= rv + 1e-12


def test_e_values_of_the_published_examples():
    # VanderWeele and Ding (2017): breastfeeding and infant death, RR 3.9 (95% CI 1.8 to 8.7): 7.2 and 3.0
    e = e_value(3.9, 1.8, 8.7, scale="rr")
    assert e["e_value"] == pytest.approx(3.9 + np.sqrt(3.9 * 2.9))
    assert round(e["e_value"], 2) == 7.26 and round(e["e_value_ci"], 2) == 3.00
    # EValue::evalues.RR(est = 0.80, lo = 0.71, hi = 0.91): 1.81 and 1.43 (the upper limit is nearest the null)
    e = e_value(0.80, 0.71, 0.91, scale="rr")
    assert round(e["e_value"], 2) == 1.81 and round(e["e_value_ci"], 2) == 1.43
    assert e_value(1.3, 0.9, 1.8, scale="rr")["e_value_ci"] == 1.0
    assert e_value_rr(1.0) == 1.0 and e_value_rr(2.0) == pytest.approx(e_value_rr(0.5))


def test_e_values_of_differences_in_sd_units_and_of_risk_differences():
    e = e_value(0.5, scale="smd", se=0.1)  # EValue::evalues.MD: RR = exp(0.91 d), limits exp(0.91 d -+ 1.78 se)
    assert e["rr"] == pytest.approx(np.exp(0.455))
    assert e["e_value_ci"] == pytest.approx(e_value_rr(np.exp(0.455 - 0.178)))
    neg = e_value(-0.5, scale="smd", se=0.1)
    assert neg["e_value"] == pytest.approx(e["e_value"]) and neg["e_value_ci"] == pytest.approx(e["e_value_ci"])
    assert e_value(-0.2, -0.3, -0.1, scale="smd")["e_value_ci"] == pytest.approx(e_value_rr(np.exp(-0.091)))
    rd = e_value(0.1, 0.02, 0.18, scale="rd", baseline=0.5)
    assert rd["rr"] == pytest.approx(1.2) and rd["e_value_ci"] == pytest.approx(e_value_rr(1.04))
    with pytest.raises(ValueError, match="baseline"):
        e_value(0.1, scale="rd")
    with pytest.raises(ValueError, match="below zero"):
        e_value(-0.6, scale="rd", baseline=0.5)


def _brute_force_upper(d, gamma):
    """P(sum_i r_i B_i >= T+) by enumerating all 2^n sign patterns, each pair positive with prob Gamma/(1+Gamma)."""
    t_obs, ranks = signed_rank_statistic(d)
    p = gamma / (1 + gamma)
    total = 0.0
    for signs in itertools.product((0, 1), repeat=len(ranks)):
        s = np.array(signs)
        if ranks[s == 1].sum() >= t_obs - 1e-9:
            total += p ** s.sum() * (1 - p) ** (len(s) - s.sum())
    return total


def test_rosenbaum_bounds_exact_equals_enumeration_with_ties_and_zeros():
    d = np.array([1.2, -0.4, 0.8, 0.8, 2.0, -1.2, 0.3, 0.0, 1.5, 0.4, 0.9, -0.1, 0.7])
    out = rosenbaum_bounds(d, [1, 1.5, 3], method="exact")
    assert (out["n_pairs"] == 12).all()
    for g, p in zip(out["gamma"], out["p_upper"]):
        assert p == pytest.approx(_brute_force_upper(d, g), abs=1e-12)
    assert out["p_lower"].iat[1] == pytest.approx(_brute_force_upper(d, 1 / 1.5), abs=1e-12)


def test_rosenbaum_bounds_at_gamma_one_are_the_signed_rank_test():
    rng = np.random.default_rng(3)
    d = np.round(rng.normal(0.2, 1, 150), 1)  # rounding makes ties
    out = rosenbaum_bounds(d, [1.0])
    ref = stats.wilcoxon(d, alternative="greater", method="approx", correction=False, zero_method="wilcox")
    assert out["p_upper"].iat[0] == pytest.approx(ref.pvalue, rel=1e-10)
    assert out["p_lower"].iat[0] == pytest.approx(ref.pvalue, rel=1e-10)
    exact = rosenbaum_bounds(d, [1.0, 2.0], method="exact")
    assert np.allclose(exact["p_upper"], rosenbaum_bounds(d, [1.0, 2.0])["p_upper"], atol=0.01)


def test_the_gamma_at_which_significance_is_lost():
    rng = np.random.default_rng(5)
    d = rng.normal(0.5, 1, 200)
    g = rosenbaum_gamma(d, alpha=0.05)
    assert 1 < g < 100
    assert rosenbaum_bounds(d, [g])["p_upper"].iat[0] == pytest.approx(0.05, abs=1e-8)
    grid = rosenbaum_bounds(d, [1, 1.5, 2, 3, 5])
    assert grid["p_upper"].is_monotonic_increasing and grid["p_lower"].is_monotonic_decreasing
    assert rosenbaum_gamma(-d) == 1.0  # no positive effect to lose
    assert rosenbaum_gamma(rng.normal(3, 1, 200), max_gamma=20) == float("inf")


def test_bad_arguments_are_refused():
    with pytest.raises(ValueError, match="q must be positive"):
        robustness_value(2.0, 100, q=0)
    with pytest.raises(ValueError, match="Gamma"):
        rosenbaum_bounds([1.0, 2.0], [0.5])
    with pytest.raises(ValueError, match="finite"):
        rosenbaum_bounds([1.0, np.nan])


@settings(max_examples=25, deadline=None)
@given(seed=st.integers(0, 10_000), gamma=st.floats(-2, 2))
def test_the_omitted_variable_bias_formula_is_the_distance_between_short_and_long_weighted_regressions(seed, gamma):
    """Cinelli-Hazlett's eq. 9 is an identity of least squares (here weighted): no approximation to test against."""
    from credit_recovery.estimation.sensitivity import omitted_variable_bias
    rng = np.random.default_rng(seed)
    n = 300
    x = rng.normal(size=(n, 2))
    z = rng.normal(size=n) + 0.3 * x[:, 0]
    d = (0.5 * x[:, 1] + gamma * z + rng.normal(size=n) > 0).astype(float)
    y = 0.4 * d + x @ [0.3, -0.2] + gamma * z + rng.normal(size=n)
    sw = np.sqrt(rng.uniform(0.2, 3.0, n))  # WLS = OLS on rows scaled by sqrt(w)
    one = np.ones(n)
    short = np.column_stack([one, d, x]) * sw[:, None]
    long = np.column_stack([one, d, x, z]) * sw[:, None]
    (b_s, se_s, dof_s), (b_l, se_l, dof_l) = (_ols(y * sw, m) for m in (short, long))
    b_z = _ols(d * sw, np.column_stack([one, x, z]) * sw[:, None])
    r2yz = partial_r2(b_l[4] / se_l[4], dof_l)
    r2dz = partial_r2(b_z[0][3] / b_z[1][3], b_z[2])
    assert omitted_variable_bias(se_s[1], dof_s, r2dz, r2yz) == pytest.approx(abs(b_s[1] - b_l[1]), rel=1e-8, abs=1e-12)


def test_a_risk_difference_interval_reaching_below_zero_risk_keeps_its_e_value():
    """Only the limit nearest the null counts: a lower limit below -baseline (a tiny district's wide interval) is a
    risk ratio near 0 and does not stop the E-value of the estimate or of the upper limit."""
    e = e_value(-0.3, -0.7, -0.05, scale="rd", baseline=0.5)
    assert e["e_value"] == pytest.approx(e_value_rr(0.4)) and e["e_value_ci"] == pytest.approx(e_value_rr(0.9))
    assert e_value(-0.3, -0.7, 0.1, scale="rd", baseline=0.5)["e_value_ci"] == 1.0
