"""Response weights for outcomes missing at random (design.response) and the response-weighted matched FE estimate.

References: the response model against a brute-force weighted maximum-likelihood fit (scipy), the weights
against planted truth (a simulated population whose nonrespondents we know), and on a seeded synthetic
district with covariate-dependent attrition against the planted unit effects.
"""
import numpy as np
import pandas as pd
import pytest
from scipy.optimize import minimize
from scipy.special import expit

from credit_recovery.design.response import full_rank_columns, response_probability, response_weights
from credit_recovery.specs.estimands import REGISTRY


def _population(n=20000, seed=7):
    """Y nonlinear in x with an effect that varies with x; R missing at random given x and the arm."""
    rng = np.random.default_rng(seed)
    x = rng.normal(size=n)
    g = rng.choice(["a", "b", "c"], size=n)
    d = (rng.random(n) < expit(0.3 * x)).astype(int)
    y = 1 + x + 0.5 * x ** 2 + d * (0.5 + 0.5 * x) + rng.normal(0, 1, n)
    r = rng.random(n) < expit(1.0 + (0.3 - 1.5 * d) * x + 0.4 * (g == "b"))
    return pd.DataFrame({"x": x, "g": g, "online": d, "y_full": y, "y": np.where(r, y, np.nan),
                         "weights": rng.uniform(0.5, 2.0, n)})


def test_response_probability_equals_a_brute_force_weighted_logistic_fit_in_each_arm():
    df = _population(n=3000, seed=3)
    r = df["y"].notna().to_numpy()
    p = response_probability(df, r, ["x", "g"], "online", "weights")
    for arm in (0, 1):
        sub = df[df["online"] == arm]
        X = np.column_stack([np.ones(len(sub)), sub["x"], sub["g"] == "b", sub["g"] == "c"]).astype(float)
        rr, w = r[df["online"] == arm].astype(float), sub["weights"].to_numpy()

        def nll(b):
            eta = X @ b
            return -np.sum(w * (rr * eta - np.logaddexp(0, eta)))

        b = minimize(nll, np.zeros(4), method="BFGS", options={"gtol": 1e-10}).x
        np.testing.assert_allclose(p[df["online"] == arm], expit(X @ b), atol=1e-6)


def test_response_weights_restore_each_arms_mean_where_complete_case_does_not():
    df = _population()
    a = response_weights(df, "y", ["x"], "online", None, trim=0.0)
    resp = df["y"].notna()
    assert (a[~resp] == 0).all()
    for arm in (0, 1):
        m = df["online"] == arm
        full, cc = df.loc[m, "y_full"].mean(), df.loc[m & resp, "y"].mean()
        rw = np.average(df.loc[m & resp, "y"], weights=a[m & resp])
        se = df.loc[m, "y_full"].std() / np.sqrt(m.sum())
        assert abs(rw - full) < 4 * se, (arm, rw, full)
        if arm == 1:  # the treated arm loses its high-x units: complete case is far off
            assert abs(cc - full) > 15 * se, (cc, full)
        # stabilized: the weights sum to about the arm's number of respondents (the weighted sample keeps its size)
        assert a[m].sum() == pytest.approx((m & resp).sum(), rel=0.03)


def test_an_arm_without_missing_outcomes_keeps_weight_one_and_trim_caps_the_weights():
    df = _population(n=2000, seed=5)
    df.loc[df["online"] == 0, "y"] = df.loc[df["online"] == 0, "y_full"]
    a = response_weights(df, "y", ["x", "g"], "online", "weights", trim=0.2)
    assert (a[df["online"] == 0] == 1.0).all()
    on = (df["online"] == 1) & df["y"].notna()
    rbar = np.average(df.loc[df["online"] == 1, "y"].notna(), weights=df.loc[df["online"] == 1, "weights"])
    assert a[on].max() <= rbar / 0.2 + 1e-12
    with pytest.raises(ValueError, match="trim"):
        response_weights(df, "y", ["x"], trim=0.5)


def test_full_rank_columns_drops_constant_and_collinear_columns_in_order():
    X = pd.DataFrame({"(Intercept)": 1.0, "a": [1.0, 2, 3, 4], "b": [0.0, 0, 0, 0], "c": [2.0, 4, 6, 8],
                      "d": [1.0, 0, 1, 1]})
    assert full_rank_columns(X) == ["(Intercept)", "a", "d"]


# ---- on the synthetic district ----------------------------------------------------------------------

ATTRITION = {"base": 0.05, "online_extra": 0.10, "covariate": "absence_rate_pre", "online_slope": 1.5}


@pytest.fixture(scope="module")
def lossy_matched():
    """A small district whose online takers with more absences lose their scores more often, and whose math
    effect is smaller for them: the matched sample with planted unit effects."""
    from credit_recovery import build_cohort, fit_propensity, match, simulate_district
    from credit_recovery.data.imputation import impute_missing

    sim = simulate_district({"scale": "small", "seed": 11, "attrition": ATTRITION,
                             "effect_heterogeneity": {"ocr_math": {"absence_rate_pre": -0.15}}})
    cohort = build_cohort(sim.tables).cohort
    covs = ["math_pre", "reading_pre", "gpa_pre", "credits_pre", "absence_rate_pre", "grade", "frl", "ell", "sped",
            "gender", "race_ethnicity", "subject", "school_id"]
    data, names = impute_missing(cohort, covs)
    data["logit"] = fit_propensity(data, "online", names).logit
    matched = match(data, "online", "logit", ratio=3, replace=True, caliper=0.1, exact=["school_year"]).data
    ue = sim.unit_effects.rename(columns={"course_record_id": "recovery_record_id"})
    matched = matched.merge(ue[["recovery_record_id", "ocr_math"]].rename(columns={"ocr_math": "tau"}),
                            on="recovery_record_id", how="left", validate="one_to_one")
    return matched, [*names, "failed_courses_pre"], sim.unit_effects


def test_response_weights_recover_the_planted_effect_of_all_online_takers(lossy_matched):
    """Complete case describes the online takers who kept their score (fewer absences, larger effects); the
    response-weighted respondents stand for all of them: planted mean effect and absence rate."""
    matched, covs, _ = lossy_matched
    a = response_weights(matched, "math", covs, "online", "weights", trim=0.05)
    on, resp = matched["online"] == 1, matched["math"].notna()
    everyone, kept = matched.loc[on, "tau"].mean(), matched.loc[on & resp, "tau"].mean()
    weighted = np.average(matched.loc[on & resp, "tau"], weights=a[on & resp])
    assert kept - everyone > 0.015, (kept, everyone)
    assert abs(weighted - everyone) < 0.35 * (kept - everyone), (weighted, kept, everyone)
    absent = matched["absence_rate_pre"]
    gap_cc = absent[on].mean() - absent[on & resp].mean()
    gap_rw = absent[on].mean() - np.average(absent[on & resp], weights=a[on & resp])
    assert gap_cc > 0.008 and abs(gap_rw) < 0.3 * gap_cc, (gap_cc, gap_rw)


def test_matched_rw_rows_and_their_units_include_the_nonrespondents(lossy_matched):
    from credit_recovery.specs.matched import matched_fe_estimates
    from credit_recovery.truth.comparison import truth_vs_estimates

    matched, covs, unit_effects = lossy_matched
    opt = {"cov_type": "clustered"}
    fe, s_fe = matched_fe_estimates(matched, ["math", "credits"], covs, opt)
    rw, s_rw = matched_fe_estimates(matched, ["math", "credits"], covs, opt, response_covariates=covs)
    assert set(rw["sample"]) == {"matched_rw"} and set(fe["sample"]) == {"matched_fe"}
    assert set(rw["estimator"]) <= set(REGISTRY["matched_rw"].estimators)
    # credits are never missing: every weight is 1 and the estimates agree exactly
    c_fe, c_rw = fe.set_index("outcome").loc["credits"], rw.set_index("outcome").loc["credits"]
    assert c_rw["estimate"] == pytest.approx(c_fe["estimate"], abs=1e-12) and c_rw["n"] == c_fe["n"]
    # math: the fit uses the respondents; the estimand's units are everyone in the fit's school-year cells
    m_fe, m_rw = fe.set_index("outcome").loc["math"], rw.set_index("outcome").loc["math"]
    assert m_rw["n"] == m_fe["n"]
    n_on_fe = int(s_fe.query("outcome == 'math'")["online"].sum())
    n_on_rw = int(s_rw.query("outcome == 'math'")["online"].sum())
    lost = int(((matched["online"] == 1) & matched["math"].isna()).sum())
    assert n_on_rw - n_on_fe == pytest.approx(lost, abs=5) and lost > 50
    # so the truth of the response-weighted row is the ATT of all the matched online takers
    tv = truth_vs_estimates(pd.concat([fe, rw]), pd.concat([s_fe, s_rw]), unit_effects).set_index(["sample",
                                                                                                    "outcome"])
    on = matched["online"] == 1
    assert tv.loc[("matched_rw", "math"), "truth"] == pytest.approx(matched.loc[on, "tau"].mean(), abs=0.005)
    assert tv.loc[("matched_fe", "math"), "truth"] == pytest.approx(
        matched.loc[on & matched["math"].notna(), "tau"].mean(), abs=0.005)
