"""Only pre-treatment adjustment: when each cohort column is measured, and the designs that use them."""
import pandas as pd
import pytest
import yaml

from credit_recovery.data.cohort import build_cohort
from credit_recovery.data.timing import ADJUSTABLE, COHORT_TIMING, TIMINGS, check_adjustment_timing, not_adjustable
from credit_recovery.shared.config import defaults
from credit_recovery.specs.panel import EVENT_TERMS, PRE_COVARIATES, STATIC_TERMS, build_panel


@pytest.fixture(scope="module")
def tables(tiny_district):
    return tiny_district.tables


def test_every_cohort_column_has_a_timing(tables):
    cohort = build_cohort(tables).cohort
    # district: added to each district's cohort in a state study (credit_recovery.data.state.district_cohort)
    assert set(cohort.columns) | {"district"} == set(COHORT_TIMING)
    assert set(COHORT_TIMING.values()) <= set(TIMINGS)


def test_the_configured_designs_adjust_only_for_pre_treatment_columns(repo):
    for config in (yaml.safe_load((repo / "config.yaml").read_text()),
                   {"matching": defaults("matching"), "models": defaults("models")}):
        check_adjustment_timing(config)  # no error
        used = [*config["matching"]["covariates"], *config["matching"]["exact"], *config["models"]["adjust_for"]]
        assert all(COHORT_TIMING[c] in ADJUSTABLE for c in used), not_adjustable(used)
    assert "failed_courses_pre" in defaults("models")["adjust_for"]
    assert all(COHORT_TIMING[c] == "baseline" for c in PRE_COVARIATES)


@pytest.mark.parametrize("key,column,timing", [("models.adjust_for", "episode_courses", "treatment"),
                                               ("matching.covariates", "credits", "outcome"),
                                               ("matching.exact", "mentor_id", "treatment"),
                                               ("matching.covariates", "motivation", "unknown")])
def test_a_post_treatment_covariate_stops_with_its_key_and_timing(key, column, timing):
    section, name = key.split(".")
    config = {"matching": {"covariates": ["math_pre"], "exact": ["school_year"]}, "models": {"adjust_for": []}}
    config[section][name] = [*config[section][name], column]
    with pytest.raises(ValueError, match=rf"{key}: {column} \({timing}\).*Allowed cohort columns: .*failed_courses_pre"):
        check_adjustment_timing(config)


def test_failed_courses_pre_counts_the_failure_years_failed_core_courses(tables):
    cohort = build_cohort(tables).cohort
    cr = tables["course_records"]
    failed = cr[(cr["attempt"] == "original") & (cr["mark"] == "F")
                & cr["subject"].isin(["math", "ela", "science", "social_studies"])]
    n = failed.groupby(["student_id", "school_year"]).size()
    brute = [int(n.get((s, y), 0)) for s, y in zip(cohort["student_id"], cohort["baseline_year"])]
    assert cohort["failed_courses_pre"].tolist() == brute and min(brute) >= 1  # the index failure is one of them


def test_the_panel_controls_only_for_what_precedes_the_treatment(tables):
    cohort = build_cohort(tables).cohort
    panel = build_panel(tables["student_years"], tables["course_records"], cohort)
    assert {"other_recovery", "other_online", "recovery_courses"}.isdisjoint(panel.columns)
    later = panel["event_time"] >= 0
    assert (panel.loc[later, ["earlier_recovery", "earlier_online"]] == 0).all().all()
    assert panel.loc[~later, "earlier_recovery"].sum() >= 0
    # the static model has no failure-year terms (it is fitted without that year); the event study never
    # regresses an outcome's failure-year value on itself
    assert not any(t.endswith("_m1") for t in STATIC_TERMS) and "online_m1" not in STATIC_TERMS
    assert {"gpa_pre_m1", "credits_pre_m1"} <= set(EVENT_TERMS)
    pd.testing.assert_series_equal(panel.loc[panel["event_time"] == 0, "failed_courses_pre_0"].reset_index(drop=True),
                                   (panel.loc[panel["event_time"] == 0, "student_id"]
                                    .map(cohort.set_index("student_id")["failed_courses_pre"])
                                    - cohort["failed_courses_pre"].mean()).reset_index(drop=True),
                                   check_names=False)


def test_the_workflow_stops_before_any_job_on_a_post_treatment_covariate(tmp_path, run_snakemake, tiny_config):
    cfg = {**tiny_config, "models": {**tiny_config.get("models", {}), "adjust_for": ["episode_courses"]}}
    out = run_snakemake(tmp_path, cfg, "-n", check=False)
    assert out.returncode != 0
    assert "models.adjust_for: episode_courses (treatment)" in out.stdout + out.stderr
