"""Specifications of the models rules: options, helpers, and each estimator against a brute-force reference."""
import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm
from hypothesis import given, settings
from hypothesis import strategies as st

from credit_recovery.shared.config import defaults
from credit_recovery.specs.coding import covariate_design
from credit_recovery.specs.drivers import matched_estimates
from credit_recovery.specs.ipw import generalized_propensity, three_way_ipw_estimates
from credit_recovery.specs.matched import matched_fe_estimates
from credit_recovery.specs.mentor import course_test_stats, mentor_estimates
from credit_recovery.specs.options import fe_options, resolve_model_options

CL = {"cov_type": "clustered"}


def test_options_validated_in_one_place():
    assert resolve_model_options(None) == defaults("models")
    with pytest.raises(ValueError, match=r"allowed values are \['wild', 'clustered', 'cr2'\]"):
        resolve_model_options({"cov_type": "HC9"})
    with pytest.raises(ValueError, match="unknown models option"):
        resolve_model_options({"colour": "red"})


@settings(max_examples=40, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 4), st.sampled_from(["test_submitted", "quiz_submitted", "click"]),
                          st.one_of(st.none(), st.floats(0, 100))), min_size=1, max_size=40),
       st.floats(0, 100))
def test_course_test_stats_equals_brute_force(events, pass_mark):
    ev = pd.DataFrame(events, columns=["rec", "event_type", "score"])
    ev["course_record_id"] = "CR" + ev["rec"].astype(str)
    out = course_test_stats(ev, pass_mark).set_index("course_record_id")
    for cid in ev["course_record_id"].unique():
        tests = [s for c, t, s in zip(ev["course_record_id"], ev["event_type"], ev["score"])
                 if c == cid and t == "test_submitted"]
        passed = sum(1 for s in tests if s is not None and not np.isnan(s) and s >= pass_mark)
        assert out.loc[cid, "tests_taken"] == len(tests)
        assert out.loc[cid, "tests_passed"] == passed
        if tests:
            assert out.loc[cid, "test_pass_rate"] == pytest.approx(passed / len(tests))
        else:
            assert np.isnan(out.loc[cid, "test_pass_rate"])


def test_covariate_design_dummies_and_absorbed():
    d = pd.DataFrame({"x": [1.0, 2, 3, 4], "c": ["a", "b", "b", "c"], "k": [5.0] * 4, "school_id": list("ABAB"),
                      "flag": [True, False, True, True]})
    out, names = covariate_design(d, ["x", "c", "k", "school_id", "flag"], absorbed=["school_id"])
    assert names == ["x", "cov_c_b", "cov_c_c", "flag"]  # constant k dropped, school absorbed
    assert out["cov_c_b"].tolist() == [0, 1, 1, 0]


def test_fe_options_are_the_fit_settings_of_the_models_section():
    opt = resolve_model_options({"cov_type": "cr2", "seed": 7})
    assert fe_options(opt) == {"cov_type": "cr2", "bootstrap_reps": int(opt["bootstrap_reps"]),
                               "bootstrap_weights": opt["bootstrap_weights"], "seed": 7}


def _matched_frame(n=1200, effect=-0.3, seed=0):
    rng = np.random.default_rng(seed)
    school = rng.integers(0, 12, n)
    year = rng.integers(2012, 2016, n)
    x = rng.normal(size=n)
    cat = rng.choice(["a", "b", "c"], n)
    online = (rng.random(n) < 1 / (1 + np.exp(-(0.8 * x + 0.2 * school / 12)))).astype(int)
    y = (effect * online + 0.5 * x + 0.3 * (cat == "b") + 0.1 * school + 0.05 * (year - 2012)
         + rng.normal(0, 0.5, n))
    return pd.DataFrame({"student_id": [f"S{i}" for i in range(n)], "recovery_record_id": [f"R{i}" for i in range(n)],
                         "online": online, "school_id": [f"SCH{s}" for s in school], "school_year": year, "x": x,
                         "cat": cat, "math": y, "weights": rng.choice([1.0, 2.0], n)})


def test_matched_fe_equals_lsdv_wls_and_recovers_effect():
    d = _matched_frame()
    est, samples = matched_fe_estimates(d, ["math"], ["x", "cat", "school_id"], CL)
    # brute force: WLS with school-by-year dummies
    X = pd.get_dummies(d[["online", "x"]].assign(cat=d["cat"], sy=d["school_id"] + d["school_year"].astype(str)),
                       columns=["cat", "sy"], drop_first=True, dtype=float)
    ref = sm.WLS(d["math"], sm.add_constant(X), weights=d["weights"]).fit()
    assert est.loc[0, "estimate"] == pytest.approx(ref.params["online"], abs=1e-8)
    assert est.loc[0, "estimand_id"] == "ocr_math" and est.loc[0, "sample"] == "matched_fe"
    assert abs(est.loc[0, "estimate"] + 0.3) < 0.1
    assert len(samples) == est.loc[0, "n"] and set(samples["sample"]) == {"matched_fe"}


def test_matched_fe_drops_a_collinear_covariate_and_its_samples_are_the_rows_used():
    d = _matched_frame(400)
    d["x_copy"] = 3.0 * d["x"]  # collinear with x: dropped by the estimator, never the treatment
    d.loc[:4, "math"] = np.nan  # missing outcome: not in the sample
    est, samples = matched_fe_estimates(d, ["math"], ["x", "x_copy", "cat"], CL)
    ref, ref_samples = matched_fe_estimates(d, ["math"], ["x", "cat"], CL)
    assert est.loc[0, "estimate"] == ref.loc[0, "estimate"] and est.loc[0, "std_error"] == ref.loc[0, "std_error"]
    pd.testing.assert_frame_equal(samples, ref_samples)
    assert len(samples) == est.loc[0, "n"] <= len(d) - 5
    assert not set(samples["student_id"]) & set(d.loc[:4, "student_id"])


def test_matched_estimates_skip_a_rank_deficient_adjusted_design():
    d = _matched_frame(300).assign(subclass=lambda f: np.arange(len(f)) // 2, weights=1.0)
    d["x2"] = 2 * d["x"]
    est = matched_estimates(d, ["math"], ["x", "x2"])
    assert len(est) == 1 and est.loc[0, "estimator"] == "nearest-neighbour matching, WLS"
    assert len(matched_estimates(d, ["math"], ["x"])) == 2


def _online_frame(n=1500, seed=2, effect=0.1):
    rng = np.random.default_rng(seed)
    school = rng.integers(0, 10, n)
    mentor = school * 3 + rng.integers(0, 3, n)
    supportive = (mentor % 3 == 0) | (mentor % 5 == 0)
    y = effect * supportive + 0.2 * school + rng.normal(0, 0.4, n)
    return pd.DataFrame({"student_id": [f"S{i}" for i in range(n)], "recovery_record_id": [f"R{i}" for i in range(n)],
                         "online": 1, "school_id": [f"SCH{s}" for s in school],
                         "mentor_supportive": pd.array(supportive, dtype="boolean"),
                         "mentor_certified": pd.array(rng.random(n) < 0.5, dtype="boolean"),
                         "credit_recovered": (rng.random(n) < 0.6 + effect * supportive).astype(float), "math": y})


def test_mentor_within_school_contrast_is_the_att_over_supportive_takers():
    # effects differ by school and the share of supportive mentors too: the unweighted school-FE
    # regression would weight schools by n p (1 - p); the ATT weights them by their supportive takers
    d = _online_frame()
    gap = d["school_id"].str[3:].astype(int) * 0.05
    d["math"] = d["math"] + gap * d["mentor_supportive"].astype(float)
    est, samples = mentor_estimates(d, ["math", "credit_recovered"], None, CL)
    sup = est[est["treatment"] == "supportive"].set_index("outcome")
    s = d["mentor_supportive"].astype(bool)
    by = d.groupby("school_id")
    tau = by.apply(lambda g: g.loc[g["mentor_supportive"].astype(bool), "math"].mean()
                   - g.loc[~g["mentor_supportive"].astype(bool), "math"].mean())
    n1 = by["mentor_supportive"].sum().astype(float)
    att = float((tau * n1).sum() / n1.sum())
    assert sup.loc["math", "estimate"] == pytest.approx(att, abs=1e-8)
    X = pd.get_dummies(d[["school_id"]], drop_first=True, dtype=float).assign(supportive=s.astype(float))
    ols = sm.OLS(d["math"], sm.add_constant(X)).fit().params["supportive"]
    assert abs(ols - att) > 1e-3  # the variance-weighted average is another number
    assert sup.loc["math", "estimand_id"] == "mentor_math"
    assert sup.loc["math", "estimand"] == "ATT among online takers with a supportive mentor"
    assert est[est["treatment"] == "certified"]["estimand_id"].eq("").all()
    assert set(samples["outcome"]) == {"math", "credit_recovered"}


def test_mentor_test_outcomes_need_test_stats():
    with pytest.raises(ValueError, match="test_stats"):
        mentor_estimates(_online_frame(200), ["tests_taken"], None, CL)


def test_generalized_propensity_sums_to_one_and_matches_mnlogit():
    rng = np.random.default_rng(3)
    d = pd.DataFrame({"x": rng.normal(size=600)})
    d["g"] = np.argmax(np.column_stack([np.zeros(600), 0.5 * d["x"], -0.5 * d["x"]]) + rng.gumbel(size=(600, 3)),
                       axis=1)
    p = generalized_propensity(d, "g", ["x"])
    assert np.allclose(p.sum(axis=1), 1)
    ref = sm.MNLogit(d["g"], sm.add_constant(d[["x"]])).fit(disp=False).predict(sm.add_constant(d[["x"]]))
    assert np.allclose(p.to_numpy(), np.asarray(ref), atol=1e-6)


def test_three_way_ipw_contrasts_equal_weighted_group_means():
    rng = np.random.default_rng(4)
    n = 1500
    school = rng.integers(0, 8, n)
    x = rng.normal(size=n)
    logits = np.column_stack([np.zeros(n), 0.4 * x, -0.3 * x + 0.1])
    g = np.argmax(logits + rng.gumbel(size=(n, 3)), axis=1)
    y = 0.5 * x - 0.2 * (g == 1) - 0.1 * (g == 2) + rng.normal(0, 0.3, n)
    d = pd.DataFrame({"student_id": [f"S{i}" for i in range(n)], "recovery_record_id": [f"R{i}" for i in range(n)],
                      "online": (g > 0).astype(int), "school_id": [f"SCH{s}" for s in school],
                      "school_year": 2014, "x": x,
                      "mentor_supportive": pd.array(np.where(g == 0, pd.NA, g == 2), dtype="boolean"),
                      "math": y})
    est, samples = three_way_ipw_estimates(d, ["math"], ["x"], {"cov_type": "clustered", "ipw_trim": 0.0})
    e = est.set_index("treatment")["estimate"]
    assert set(est["estimand_id"]) == {"bot_math", "mentor_math"}
    # brute force: ATT weights p_2/p_g from the same multinomial model (x, school dummies); group 2 weighs 1
    X = pd.get_dummies(d[["x", "school_id"]], columns=["school_id"], drop_first=True, dtype=float)
    p = np.asarray(sm.MNLogit(g, sm.add_constant(X)).fit(disp=False, maxiter=200).predict(sm.add_constant(X)))
    w = p[:, 2] / p[np.arange(n), g]
    mu = [np.sum(w[g == k] * y[g == k]) / np.sum(w[g == k]) for k in range(3)]
    assert e["online_supportive vs classroom"] == pytest.approx(mu[2] - mu[0], abs=1e-5)
    assert e["online_supportive vs online_low"] == pytest.approx(mu[2] - mu[1], abs=1e-5)
    assert abs(e["online_supportive vs classroom"] + 0.1) < 0.08
    # the plain ATE weights 1/p_g would give another number here: the groups' covariate mixes differ
    w_ate = 1 / p[np.arange(n), g]
    mu_ate = [np.sum(w_ate[g == k] * y[g == k]) / np.sum(w_ate[g == k]) for k in range(3)]
    assert abs((mu_ate[2] - mu_ate[0]) - (mu[2] - mu[0])) > 1e-3
    assert len(samples) == n


def test_three_way_ipw_is_skipped_with_a_warning_when_one_school_is_left():
    rng = np.random.default_rng(5)
    n = 400
    x = rng.normal(size=n)
    g = np.argmax(np.column_stack([np.zeros(n), 0.4 * x, -0.3 * x]) + rng.gumbel(size=(n, 3)), axis=1)
    d = pd.DataFrame({"student_id": [f"S{i}" for i in range(n)], "recovery_record_id": [f"R{i}" for i in range(n)],
                      "online": (g > 0).astype(int), "school_id": "SCH1", "school_year": 2014, "x": x,
                      "mentor_supportive": pd.array(np.where(g == 0, pd.NA, g == 2), dtype="boolean"),
                      "math": rng.normal(size=n)})
    with pytest.warns(UserWarning, match="three-way IPW skipped: its sample has 1 school_id cluster"):
        est, samples = three_way_ipw_estimates(d, ["math"], ["x"], {"cov_type": "wild", "ipw_trim": 0.0})
    assert est.empty and samples.empty
