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
from credit_recovery.estimation.sensitivity import omitted_variable_bias, partial_r2
from credit_recovery.reporting.sensitivity import hidden_bias_sentences
from credit_recovery.specs.coding import covariate_design
from credit_recovery.specs.drivers import match_cohort, numeric_covariates, run_models
from credit_recovery.specs.sensitivity import outcome_scale, pair_differences, public_sensitivity, run_sensitivity
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
    return {"matched": md, "table": table.set_index("outcome"), "bench": bench, "estimates": est, "units": data,
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
