"""The sensitivity rule's tables: matched-set differences, E-value scales, the planted confounder's strength, and the
brief's sentences."""
import re

import numpy as np
import pandas as pd
import pytest
import yaml

from credit_recovery.data.cohort import build_cohort
from credit_recovery.data.imputation import impute_missing
from credit_recovery.estimation.fixed_effects import fit_fixed_effects
from credit_recovery.estimation.sensitivity import (e_value, omitted_variable_bias, partial_r2, robustness_value,
                                                    rosenbaum_gamma)
from credit_recovery.reporting.sensitivity import hidden_bias_sentences, mentor_bias_sentences
from credit_recovery.shared.estimate_schema import estimate_row, estimates_frame
from credit_recovery.specs.coding import covariate_design
from credit_recovery.specs.drivers import match_cohort, numeric_covariates, run_models
from credit_recovery.specs.mentor import within_school_att_weights
from credit_recovery.specs.sensitivity import (CLASSROOM, SENSITIVITY_COLUMNS, SENSITIVITY_KEY, comparison_group,
                                               design_rows, mentor_scale, outcome_scale, pair_differences,
                                               public_sensitivity, run_sensitivity, sensitivity_rows)
from credit_recovery.synthetic.generator import simulate_district
from credit_recovery.truth.montecarlo import scenario_settings

CONFIG = yaml.safe_load(open("config.yaml"))


def test_pair_differences_equal_a_loop_over_matched_sets():
    units = pd.DataFrame({"y": [1.0, 2.0, 0.5, np.nan, 3.0, 4.0, 1.5]})
    pairs = pd.DataFrame({"treated": [0, 0, 1, 1, 5, 6], "control": [2, 3, 2, 4, 3, 2]})
    got = pair_differences(units, pairs, "y")
    expected = []
    for t, g in pairs.groupby("treated"):
        yc = units.loc[g["control"], "y"].dropna()
        if np.isfinite(units.at[t, "y"]) and len(yc):
            expected.append(units.at[t, "y"] - yc.mean())
    assert np.allclose(got, expected) and len(got) == 3  # treated 5 has only a missing control


def test_outcome_scale_tells_rates_from_measurements():
    w = pd.Series([1.0, 1.0, 2.0, 0.0])
    assert outcome_scale(pd.Series([0.0, 1.0, 1.0, 1.0]), w) == ("rd", pytest.approx(0.75))
    kind, sd = outcome_scale(pd.Series([1.0, 2.0, 4.0, 100.0]), w)
    m = (1 + 2 + 8) / 4
    assert kind == "smd" and sd == pytest.approx(np.sqrt(((1 - m) ** 2 + (2 - m) ** 2 + 2 * (4 - m) ** 2) / 4))


def _matched_district(scenario, seed):
    """A medium district of a Monte Carlo scenario, its cohort, the propensity table and the match (as the pipeline)."""
    res = simulate_district(scenario_settings(CONFIG, scenario, seed, "medium"), None, CONFIG.get("cohort"))
    cohort = build_cohort(res.tables, CONFIG.get("cohort")).cohort
    data, _, m = match_cohort(cohort, CONFIG["matching"])
    return res, cohort, data, m


@pytest.fixture(scope="module")
def confounded():
    """A medium district of the confounding scenario (U moves take-up and outcomes), matched as the pipeline does."""
    res, cohort, data, m = _matched_district("confounding", 1)
    mopt = CONFIG["matching"]
    md = m.data.copy()
    u = res.unit_effects.drop_duplicates("failed_record_id").set_index("failed_record_id")["hidden_u"]
    md["hidden_u"] = u.reindex(md["failed_record_id"]).to_numpy()
    opts = {**CONFIG["models"], "cov_type": "clustered"}
    _, mc = impute_missing(md, mopt["covariates"])
    est, _ = run_models(cohort, md, ["math", "credits"], numeric_covariates(md, mc), replace=True, options=opts,
                        design_covariates=mc)
    table, bench = run_sensitivity(md, data, m.pairs, est, mopt, opts, CONFIG["sensitivity"])
    return {"matched": md, "table": table[table["sample"] == "matched_fe"].set_index("outcome"), "all": table,
            "bench": bench, "estimates": est, "units": data,
            "pairs": m.pairs, "covariates": list(dict.fromkeys([*mc, *CONFIG["models"]["adjust_for"]]))}


def _with_u(c, y):
    design, names = covariate_design(c["matched"], c["covariates"], absorbed=("school_id", "school_year"))
    rhs = " + ".join(names)
    fit = {"weights": "weights", "cov_type": "unadjusted"}
    long = fit_fixed_effects(design, f"{y} ~ online + {rhs} + hidden_u | school_id^school_year", **fit)
    treat = fit_fixed_effects(design[long.used], f"online ~ {rhs} + hidden_u | school_id^school_year", **fit)
    r2y = partial_r2(long.params["hidden_u"] / long.std_errors["hidden_u"], long.df["hidden_u"])
    r2d = partial_r2(treat.params["hidden_u"] / treat.std_errors["hidden_u"], treat.df["hidden_u"])
    return float(long.params["online"]), r2d, r2y


@pytest.mark.parametrize("outcome", ["math", "credits"])
def test_at_the_planted_confounders_strength_the_adjustment_gives_the_estimate_with_it(confounded, outcome):
    """The sensitivity table's t and dof, with U's partial R2, move the matched FE estimate exactly to the estimate
    a researcher who observed U would get (the planted confounder, hidden from the extract)."""
    row = confounded["table"].loc[outcome]
    with_u, r2d, r2y = _with_u(confounded, outcome)
    se = row["estimate"] / row["t_unadjusted"]
    assert omitted_variable_bias(abs(se), row["dof"], r2d, r2y) == pytest.approx(abs(row["estimate"] - with_u),
                                                                                 rel=1e-6)


def test_the_table_flags_credits_as_fragile_and_math_as_robust_to_the_planted_confounder(confounded):
    """U explains 15% of take-up: both of its partial R2 exceed the credits estimate's robustness value (it could
    erase it, and it moves it by 0.06 credits), while the math estimate's RV is far above U's tie to math scores."""
    t = confounded["table"]
    _, r2d, r2y = _with_u(confounded, "credits")
    assert min(r2d, r2y) > t.at["credits", "rv"]
    _, r2d, r2y = _with_u(confounded, "math")
    assert min(r2d, r2y) < t.at["math", "rv"] and t.at["math", "rv"] > 0.1
    assert t.at["math", "rosenbaum_gamma"] > 1.1 and t.at["math", "e_value_ci"] > 1.3  # significant, Gamma 1.16


def test_a_refit_that_differs_from_the_reported_estimate_stops(confounded):
    est = confounded["estimates"].copy()
    est.loc[est["sample"] == "matched_fe", "estimate"] += 0.01
    with pytest.raises(ValueError, match="covariates differ"):
        run_sensitivity(confounded["matched"], confounded["units"], confounded["pairs"], est, CONFIG["matching"],
                        CONFIG["models"], CONFIG["sensitivity"])


def test_public_rows_and_the_briefs_sentences(confounded):
    t = confounded["table"].reset_index()
    assert len(public_sensitivity(t, 10)) == len(t) and len(public_sensitivity(t, 10 ** 6)) == 0
    text = hidden_bias_sentences(t, confounded["bench"])
    shown = t[(t["rv_alpha"] > 0) & ((t["ci_low"] > 0) | (t["ci_high"] < 0))]
    assert ("math score" in text) == ("math" in set(shown["outcome"]))
    spans = re.findall(r'data-source="(sensitivity(?:_benchmarks)?)"', text)
    assert spans.count("sensitivity") == 2 * len(shown) and spans.count("sensitivity_benchmarks") == 3 * len(shown)
    assert hidden_bias_sentences(t.assign(rv_alpha=0.0), confounded["bench"]) == ""


def test_placebo_outcomes_come_out_null_where_selection_is_on_observables():
    """A medium district of the default scenario (seed 500): the matched FE design on the year-before-failure
    outcomes gives intervals that cover 0 and are narrow enough to see a 0.2 SD difference (30 such districts:
    docs/sensitivity.md)."""
    _, cohort, _, m = _matched_district("default", 500)
    _, mc = impute_missing(m.data, CONFIG["matching"]["covariates"])
    est, samples = run_models(cohort, m.data, ["math"], numeric_covariates(m.data, mc), replace=True,
                              options={**CONFIG["models"], "cov_type": "clustered"}, design_covariates=mc)
    p = est[est["estimand_id"].str.startswith("placebo_")].set_index("outcome")
    assert sorted(p.index) == ["gpa_pre2", "math_pre2", "reading_pre2"]
    assert ((p["ci_low"] <= 0) & (p["ci_high"] >= 0)).all(), p[["estimate", "ci_low", "ci_high"]]
    assert ((p["ci_high"] - p["ci_low"]) < 0.4).all()
    assert (p["estimand"].str.contains("placebo")).all() and set(p["sample"]) == {"matched_fe"}
    assert set(samples.loc[samples["outcome"] == "gpa_pre2", "sample"]) == {"matched_fe"}


# ---------------------------------------------------------------- every designed estimate (not only matched_fe)
def _row(sample, estimator, outcome="math", treatment="online", estimand_id="", estimate=-0.2, se=0.05, n=400,
         residual_df=None, subgroup=""):
    r = estimate_row(outcome=outcome, treatment=treatment, estimand="ATT", estimator=estimator, sample=sample,
                     estimate=estimate, std_error=se, n=n, estimand_id=estimand_id, residual_df=residual_df)
    return {**r, "subgroup": subgroup}


def _constructed_estimates():
    """One row of every kind the selection must keep or leave out."""
    wls = "matched WLS, covariates, school-by-year FE"
    es = "student FE event study, school-by-year FE"
    rows = [
        _row("cohort", "naive difference in means (OLS)", estimand_id="ocr_math", residual_df=998),      # naive
        _row("matched", "nearest-neighbour matching, bias-corrected", estimand_id="ocr_math", estimate=-0.21),
        _row("matched", "nearest-neighbour matching, WLS g-computation", estimand_id="ocr_math"),        # g-comp.
        _row("matched_fe", wls, estimand_id="ocr_math", residual_df=350),
        _row("matched_fe", wls, outcome="math_pre2", estimand_id="placebo_math_pre2", residual_df=300),  # placebo
        _row("matched_sub", wls + ", within subgroup", estimand_id="ocr_math", residual_df=90,
             subgroup="grade_band=9-10"),                                                                 # subgroup
        _row("matched_rw", wls + ", response-weighted", estimand_id="ocr_math", estimate=-0.19, se=0.06,
             residual_df=350),
        _row("panel", "student FE panel, school-by-year FE", treatment="online_0", estimand_id="ocr_math",
             estimate=-0.18, se=0.07, residual_df=1200),
        _row("panel_es", es, treatment="online_m2", estimate=0.01, residual_df=5000),                   # pre-trend
        _row("panel_es", es, treatment="online_0", estimand_id="ocr_math", estimate=-0.2, se=0.03,
             residual_df=5000),
        _row("panel_es", es, treatment="online_p1", estimate=0.02, residual_df=5000),                   # later year
        _row("panel_cs", "Callaway-Sant'Anna, same-cohort classroom comparison", treatment="online_0",
             estimand_id="ocr_math", estimate=-0.19, se=0.04),
        _row("online", "mentor instructionally supportive vs not, school FE", outcome="credit_recovered",
             treatment="supportive", estimand_id="mentor_credit_recovered", estimate=0.08, se=0.03, residual_df=600),
        _row("online", "mentor certified in the subject vs not, school FE", outcome="credit_recovered",
             treatment="certified", estimate=-0.01, se=0.03, residual_df=700),
        _row("ipw3", "three-way IPW (multinomial propensity), ATT weights", outcome="credit_recovered",
             treatment="online_supportive vs online_low", estimand_id="mentor_credit_recovered", estimate=0.07,
             se=0.03, residual_df=900),
        _row("ipw3", "three-way IPW (multinomial propensity), ATT weights", outcome="credit_recovered",
             treatment="online_supportive vs classroom", estimand_id="bot_credit_recovered", estimate=-0.06,
             se=0.02, residual_df=900),
    ]
    return estimates_frame(rows)


def test_the_table_covers_every_designed_whole_sample_estimate_and_nothing_else():
    est = _constructed_estimates()
    got = sensitivity_rows(est)
    kept = list(zip(got["sample"], got["treatment"], got["estimator"].str[:20]))
    assert kept == [("matched", "online", "nearest-neighbour ma"), ("matched_fe", "online", "matched WLS, covaria"),
                    ("matched_rw", "online", "matched WLS, covaria"), ("panel", "online_0", "student FE panel, sc"),
                    ("panel_es", "online_0", "student FE event stu"), ("panel_cs", "online_0", "Callaway-Sant'Anna, "),
                    ("online", "supportive", "mentor instructional"), ("online", "certified", "mentor certified in "),
                    ("ipw3", "online_supportive vs online_low", "three-way IPW (multi"),
                    ("ipw3", "online_supportive vs classroom", "three-way IPW (multi")]
    assert not got["estimand_id"].str.startswith("placebo_").any() and (got["subgroup"] == "").all()
    assert not got.duplicated(list(SENSITIVITY_KEY)).any()
    assert [comparison_group(t) for t in got["treatment"]] == [CLASSROOM] * 6 + [
        "online, not supportive", "online, not certified", "online, not supportive", CLASSROOM]


def test_design_rows_are_the_sensitivity_statistics_applied_by_hand():
    """E-values on the comparison group's scale, RV and RV at 5% from the design's t and the residual df (missing
    without it), Rosenbaum Gamma from the matched sets signed by the row's own estimate."""
    est = sensitivity_rows(_constructed_estimates())
    other = est[est["sample"] != "matched_fe"]
    scales = {(CLASSROOM, "math"): ("smd", 0.9), (CLASSROOM, "credit_recovered"): ("rd", 0.8),
              ("online, not supportive", "credit_recovered"): ("rd", 0.6)}
    sets = {"math": np.array([-0.5, -0.2, 0.1, -0.3, -0.4, 0.05, -0.6, -0.1, -0.25, 0.2, -0.35, -0.15])}
    got = design_rows(other, scales, sets, alpha=0.05)
    assert list(got.columns) == SENSITIVITY_COLUMNS and list(got.index) == list(other.index)
    z = 1.959963984540054
    for i, r in other.iterrows():
        g = got.loc[i]
        t = r["estimate"] / ((r["ci_high"] - r["ci_low"]) / 2 / z)
        assert g["t_design"] == pytest.approx(t, rel=1e-12) and np.isnan(g["t_unadjusted"])
        if pd.notna(r["residual_df"]):
            assert g["dof"] == r["residual_df"]
            assert g["partial_r2"] == pytest.approx(partial_r2(t, r["residual_df"]), rel=1e-12)
            assert g["rv"] == pytest.approx(robustness_value(t, r["residual_df"]), rel=1e-12)
            assert g["rv_alpha"] == pytest.approx(robustness_value(t, r["residual_df"], alpha=0.05), abs=1e-15)
        else:  # bias-corrected matching, Callaway-Sant'Anna: no regression coefficient, no robustness value
            assert g[["dof", "partial_r2", "rv", "rv_alpha"]].isna().all(), r["sample"]
        key = (comparison_group(r["treatment"]), r["outcome"])
        if key not in scales:  # the certified contrast has no scale here: no E-value
            assert np.isnan(g["e_value"]) and g["scale"] == "" and g["scale_group"] == "online, not certified"
            continue
        scale, unit = scales[key]
        ev = (e_value(r["estimate"], r["ci_low"], r["ci_high"], scale="rd", baseline=unit) if scale == "rd" else
              e_value(r["estimate"] / unit, r["ci_low"] / unit, r["ci_high"] / unit, scale="smd"))
        assert (g["e_value"], g["e_value_ci"]) == pytest.approx((ev["e_value"], ev["e_value_ci"]), rel=1e-12)
        assert (g["scale"], g["scale_unit"], g["scale_group"]) == (scale, unit, key[0])
        if r["sample"] in ("matched", "matched_rw"):
            sign = 1 if r["estimate"] >= 0 else -1
            assert g["rosenbaum_gamma"] == pytest.approx(rosenbaum_gamma(sign * sets["math"]), rel=1e-12)
            assert g["n_pairs"] == 12
        else:
            assert np.isnan(g["rosenbaum_gamma"]) and np.isnan(g["n_pairs"])
    reg = got["rv"].notna()
    assert reg.sum() == 7 and (got.loc[reg, "rv_alpha"] <= got.loc[reg, "rv"]).all()


def test_the_mentor_scale_is_the_within_school_att_weighted_comparison_group():
    online = pd.DataFrame({"school_id": ["a"] * 5 + ["b"] * 4 + ["c"] * 2,
                           "supportive": [1, 1, 1, 0, 0, 1, 0, 0, 0, 1, np.nan],
                           "y": [1, 0, 1, 1, 0, 1, 0, 1, 1, 0, 1.0],
                           "x": [2.0, 3, 1, 5, 4, 2, 8, 6, 7, 1, 9]})
    d = online[online["supportive"].notna()]
    w = within_school_att_weights(d, "supportive")  # school c has no non-supportive unit: weight 0
    ctrl = (d["supportive"] == 0).to_numpy()
    assert mentor_scale(online, "supportive", "y") == ("rd", pytest.approx(np.average(d["y"][ctrl], weights=w[ctrl])))
    kind, sd = mentor_scale(online, "supportive", "x")
    m = np.average(d["x"][ctrl], weights=w[ctrl])
    assert kind == "smd" and sd == pytest.approx(np.sqrt(np.average((d["x"][ctrl] - m) ** 2, weights=w[ctrl])))
    assert w[ctrl].tolist() == [1.5, 1.5, 1 / 3, 1 / 3, 1 / 3]
    assert mentor_scale(online, "certified", "y") is None and mentor_scale(online, "supportive", "z") is None


def test_public_rows_drop_estimates_on_few_students_or_sets():
    t = pd.DataFrame({"outcome": ["a", "b", "c", "d"], "n": [500, 8, 500, pd.NA], "n_pairs": [300, np.nan, 5, np.nan]})
    assert public_sensitivity(t, 10)["outcome"].tolist() == ["a", "d"]


def test_the_mentor_sentence_reports_only_what_excludes_zero():
    table = pd.DataFrame([
        {"outcome": "credit_recovered", "sample": "online", "treatment": "supportive", "estimate": 0.08,
         "ci_low": 0.02, "ci_high": 0.14, "rv": 0.073, "rv_alpha": 0.022, "e_value": 1.5, "e_value_ci": 1.23},
        {"outcome": "math", "sample": "online", "treatment": "supportive", "estimate": 0.05, "ci_low": -0.01,
         "ci_high": 0.14, "rv": 0.04, "rv_alpha": 0.0, "e_value": 1.3, "e_value_ci": 1.0},
        {"outcome": "math", "sample": "ipw3", "treatment": "online_supportive vs online_low", "estimate": 0.07,
         "ci_low": 0.01, "ci_high": 0.15, "rv": 0.03, "rv_alpha": 0.01, "e_value": 1.4, "e_value_ci": 1.02}])
    head = table[table["sample"] == "online"][["outcome", "sample", "treatment"]]
    text = mentor_bias_sentences(table, head)
    spans = re.findall(r'data-key="([^"]*)" data-field="([^"]*)"', text)
    assert {f for _, f in spans} == {"rv", "rv_alpha", "e_value", "e_value_ci"} and len(spans) == 4
    assert all("credit_recovered" in k and "online" in k and "supportive" in k for k, _ in spans)
    assert "already indistinguishable from no effect" in text and "math score" in text
    assert "ipw3" not in text
    assert mentor_bias_sentences(table, head.assign(sample="panel")) == ""
