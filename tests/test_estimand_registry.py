"""The estimand registry: every reported estimate has an entry, and the knobs flip its assumptions."""
import numpy as np
import pandas as pd
import pytest

from credit_recovery.shared.config import defaults
from credit_recovery.specs.estimands import (ASSUMPTIONS, BROKEN_BY, KNOBS, REGISTRY, assumptions_hold,
                                             broken_knobs, estimand_spec, truth_mask)


def test_every_assumption_and_knob_is_described():
    for spec in REGISTRY.values():
        assert set(spec.assumptions) <= set(ASSUMPTIONS), spec.sample
        assert spec.population and spec.contrast and spec.time
        assert spec.truth_units in ("online", "online_supportive")
    assert set(BROKEN_BY) == set(ASSUMPTIONS)
    assert {k for ks in BROKEN_BY.values() for k in ks} <= set(KNOBS)
    with pytest.raises(KeyError, match="known"):
        estimand_spec("no such sample")


def test_designed_estimators_hold_in_the_default_district_and_the_naive_one_never_does():
    sim = defaults("simulation")
    for sample, spec in REGISTRY.items():
        assert assumptions_hold(sample, sim) == spec.designed or sample == "matched", sample
    assert assumptions_hold("matched", sim)  # unbiased for its ATT, but reported without adjustment
    assert not assumptions_hold("cohort", sim) and broken_knobs("cohort", sim) == ["selection"]


@pytest.mark.parametrize("knob, overlay, broken, intact", [
    ("unobserved_confounding", {"unobserved_confounding": 1.0}, ["matched_fe", "ipw3"], ["online"]),
    ("recovery_year_confounding", {"unobserved_confounding": 1.0}, ["panel", "panel_cs"], ["online"]),
    ("mentor_selection", {"mentor_selection": 1.0}, ["online", "ipw3"], ["matched_fe", "panel"]),
    ("covariate_attrition", {"attrition": {"base": 0.05, "online_extra": 0.1, "online_slope": 1.0}},
     ["matched_fe", "matched", "panel", "panel_cs", "online"], ["matched_rw"]),
    ("attrition_on_proxy", {"attrition": {"base": 0.05, "covariate": "gpa_pre", "slope": 1.0}},
     ["matched_rw"], []),
    ("school_year_shocks", {"school_shocks": {"school_sd": 0.2, "school_year_sd": 0.1}}, ["ipw3", "panel_cs"],
     ["matched_fe", "panel", "online"]),
    # Callaway-Sant'Anna averages unit effects with the estimand's own weights: heterogeneity is no threat
    ("effect_heterogeneity", {"effect_heterogeneity": {"ocr_math": {"math_pre": 0.1}}}, ["matched_fe", "panel"],
     ["matched", "panel_cs"]),
])
def test_a_knob_that_breaks_an_assumption_flips_assumptions_hold(knob, overlay, broken, intact):
    sim = {**defaults("simulation"), **overlay}
    for s in broken:
        assert assumptions_hold(s, defaults("simulation")) and not assumptions_hold(s, sim), s
        assert knob in broken_knobs(s, sim)
    for s in intact:
        assert assumptions_hold(s, sim), s


def test_attrition_at_random_within_arm_breaks_nothing_and_covariate_attrition_needs_a_rate():
    """Differential rates alone (missing completely at random within each arm) leave complete case valid; a
    covariate slope without any attrition is no attrition."""
    for attrition in ({"base": 0.05, "online_extra": 0.3}, {"base": 0.0, "online_extra": 0.0, "online_slope": 2.0}):
        sim = {**defaults("simulation"), "attrition": attrition}
        for sample in ("matched_fe", "matched_rw", "panel", "online"):
            assert assumptions_hold(sample, sim), (sample, attrition)
    exact = {**defaults("simulation"), "attrition": {"base": 0.1, "covariate": "absence_rate_pre", "slope": -1.0}}
    assert assumptions_hold("matched_rw", exact) and not assumptions_hold("matched_fe", exact)


def test_per_estimand_knobs_count_only_for_their_estimand():
    sim = {**defaults("simulation"), "effect_heterogeneity": {"ocr_math": {"math_pre": 0.1}},
           "effect_dynamics": {"ocr_reading": [0.5]}}
    assert not assumptions_hold("matched_fe", sim, "ocr_math")
    assert assumptions_hold("matched_fe", sim, "ocr_reading")
    # the static panel compares the recovery year with years before the failure only: lasting effects are no threat
    assert assumptions_hold("panel", sim, "ocr_reading") and assumptions_hold("panel", sim, "ocr_gpa")
    # the planted confounder also moves the recovery-year chance of recovering: time-varying for credits and GPA
    conf = {**defaults("simulation"), "unobserved_confounding": 1.0}
    assert not assumptions_hold("panel", conf, "ocr_credits") and not assumptions_hold("panel", conf, "ocr_gpa")
    assert assumptions_hold("panel", conf, "ocr_math") and assumptions_hold("panel_es", conf, "ocr_reading")
    assert assumptions_hold("panel_cs", conf, "ocr_math") and not assumptions_hold("panel_cs", conf, "ocr_gpa")
    assert assumptions_hold("panel_cs", sim, "ocr_reading")  # effect dynamics: the recovery year is unaffected
    zero = {**defaults("simulation"), "effect_heterogeneity": {"ocr_math": {"math_pre": 0.0}}}
    assert assumptions_hold("matched_fe", zero)


def test_truth_mask_follows_the_registry():
    online, supportive = np.array([1, 1, 0, 0], bool), np.array([1, 0, 1, 0], bool)
    assert truth_mask("matched", online, supportive).tolist() == [True, True, False, False]
    assert truth_mask("online", online, supportive).tolist() == [True, False, False, False]
    assert truth_mask("ipw3", online, supportive).tolist() == [True, False, False, False]


@pytest.mark.slow
def test_every_scored_estimate_of_a_pipeline_run_has_a_registry_entry(tiny_run):
    est = pd.read_csv(tiny_run / "results/models/estimates.csv", keep_default_na=False)
    scored = est[est["estimand_id"].str.match(r"^(ocr|mentor)_")]
    assert len(scored) and set(scored["sample"]) == set(REGISTRY)
    for _, e in scored.iterrows():
        assert e["estimator"] in estimand_spec(e["sample"]).estimators, (e["sample"], e["estimator"])
    truth = pd.read_csv(tiny_run / "results/truth_comparison/truth_vs_estimates.csv", keep_default_na=False)
    assert set(truth["sample"]) <= set(REGISTRY)


def test_large_other_course_credits_effects_leave_the_longrun_truth_incomplete():
    """The simulator's two-year credits and graduation truths hold later recovery at the observed episodes: where the
    credits effect runs through the other courses, the cells of those estimands are not scored as designed."""
    base = defaults("simulation")
    far = {**base, "effects": {**base["effects"], "ocr_credits": -1.0, "ocr_credit_recovered": 0.0}}
    near = {**base, "effects": {**base["effects"], "ocr_credits": -0.3, "ocr_credit_recovered": -0.25}}
    for sample in ("matched", "matched_fe", "panel", "ipw3"):
        assert assumptions_hold(sample, base, "ocr_cum_credits_2y"), sample
        for e in ("ocr_cum_credits_2y", "ocr_graduated"):
            assert not assumptions_hold(sample, far, e) and "other_courses_effect" in broken_knobs(sample, far, e)
            assert assumptions_hold(sample, near, e), (sample, e)
        for e in ("ocr_credits", "ocr_on_track", "ocr_math"):  # their truth has no later-year route
            assert assumptions_hold(sample, far, e), (sample, e)
    assert not assumptions_hold("ipw3", far, "bot_cum_credits_2y")
    # heterogeneous credits effects move some units' failures even at the default mean effects
    het = {**base, "effect_heterogeneity": {"ocr_credits": {"credits_pre": 0.2}}}
    assert not assumptions_hold("matched", het, "ocr_graduated") and assumptions_hold("matched", het, "ocr_credits")
    assert not assumptions_hold("matched", far)  # without an estimand, any estimand's knob counts
