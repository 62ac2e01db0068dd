"""Cohort construction and the exclusion ledger."""
import pandas as pd
import pytest
from hypothesis import given, settings, strategies as st

from credit_recovery import build_cohort
from credit_recovery.data.cohort import COURSE_STATUSES, STUDENT_YEAR_STATUSES, cohort_units


@pytest.fixture(scope="module")
def tables(tiny_district):
    return tiny_district.tables


@pytest.fixture(scope="module")
def result(tables):
    return build_cohort(tables)


def test_every_input_record_is_kept_or_excluded_once(tables, result):
    led = result.ledger
    cr, sy = tables["course_records"], tables["student_years"]
    assert (led["table"] == "course_records").sum() == len(cr)
    assert (led["table"] == "student_years").sum() == len(sy)
    assert not led.duplicated(["table", "record_id"]).any()
    assert set(led.loc[led["table"] == "course_records", "record_id"]) == set(cr["course_record_id"])
    assert led["status"].isin(list(COURSE_STATUSES) + list(STUDENT_YEAR_STATUSES)).all()
    assert led["reason"].notna().all()


def test_ledger_counts_add_up_to_the_cohort(result):
    counts = result.ledger_counts().set_index(["table", "status"])["n"]
    n = len(result.cohort)
    assert counts[("course_records", "cohort_index_failure")] == n
    assert counts[("course_records", "cohort_index_recovery")] == n
    assert counts[("student_years", "cohort_baseline_year")] == n
    assert counts[("student_years", "cohort_outcome_year")] == n
    assert counts.groupby(level="table").sum().sum() == len(result.ledger)


def test_one_unit_per_student_with_consistent_treatment(tables, result):
    c = result.cohort
    assert c["student_id"].is_unique
    cr = tables["course_records"].set_index("course_record_id")
    assert (cr.loc[c["recovery_record_id"], "delivery"].to_numpy() == c["delivery"].to_numpy()).all()
    assert (c["online"].astype(bool).to_numpy() == (c["delivery"] == "online").to_numpy(bool)).all()
    assert (cr.loc[c["failed_record_id"], "mark"] == "F").all()
    assert (c["school_year"] == c["baseline_year"] + 1).all()
    # online units have mentors, classroom units none
    assert c.loc[c["online"] == 1, "mentor_id"].notna().all()
    assert c.loc[c["online"] == 0, "mentor_id"].isna().all()


def test_baseline_comes_before_outcomes(tables, result):
    sy = tables["student_years"].set_index(["student_id", "school_year"])
    c = result.cohort
    gpa_base = sy.loc[list(zip(c["student_id"], c["baseline_year"])), "gpa"].to_numpy()
    pd.testing.assert_series_equal(pd.Series(gpa_base, name="gpa_pre"), c["gpa_pre"].rename("gpa_pre"),
                                   check_dtype=False)


def test_placebo_outcomes_are_the_year_before_the_failure(tables, result):
    """math_pre2, reading_pre2 and gpa_pre2: the student's values of baseline_year - 1 (missing if not enrolled),
    z-scores standardized within grade and year like the other scores."""
    from credit_recovery.data.cohort import standardize_scores
    sy = tables["student_years"].copy()
    z = standardize_scores(sy)
    sy = sy.assign(math_z=z["math_z"], reading_z=z["reading_z"]).set_index(["student_id", "school_year"])
    c = result.cohort
    key = pd.MultiIndex.from_arrays([c["student_id"], c["baseline_year"] - 1])
    for col, src in (("math_pre2", "math_z"), ("reading_pre2", "reading_z"), ("gpa_pre2", "gpa")):
        expected = sy[src].reindex(key).to_numpy()
        pd.testing.assert_series_equal(pd.Series(expected, name=col), c[col].reset_index(drop=True),
                                       check_dtype=False)
    assert c["gpa_pre2"].notna().any() and c["gpa_pre2"].isna().any()  # first observed years have none


def test_flow_counts_add_up(result):
    f = result.flow
    assert f.loc[0, "n"] - f.loc[0, "excluded"] == f.loc[1, "n"]
    assert f.loc[1, "n"] - f.loc[1, "excluded"] == f.loc[2, "n"]
    assert f.loc[2, "n"] - f.loc[2, "excluded"] == f.loc[3, "n"]
    assert f.loc[3, "n"] - f.loc[3, "excluded"] == f.loc[4, "n"] == len(result.cohort)
    assert f.loc[5, "n"] + f.loc[6, "n"] == len(result.cohort)


def test_flow_public_suppresses_small_counts(result):
    pub = result.flow_public(min_cell_size=10**9)
    assert all(isinstance(v, str) and v.startswith("<") for v in pub["n"] if v)


@settings(max_examples=15, deadline=None)
@given(drop=st.lists(st.integers(min_value=0, max_value=10**6), max_size=40))
def test_ledger_is_complete_on_random_subsets(tables, drop):
    """Property: whatever records a district omits, every remaining record gets exactly one status."""
    cr = tables["course_records"]
    keep = ~cr.index.isin([d % len(cr) for d in drop])
    sub = dict(tables)
    sub_cr = cr[keep]
    # keep recovery links valid (a district extract could not point at a missing record)
    sub_cr = sub_cr[sub_cr["recovers_record_id"].isna() | sub_cr["recovers_record_id"].isin(sub_cr["course_record_id"])]
    sub["course_records"] = sub_cr.reset_index(drop=True)
    res = build_cohort(sub)
    led = res.ledger
    assert (led["table"] == "course_records").sum() == len(sub_cr)
    assert led["status"].ne("").all()
    assert (led["status"] == "cohort_index_recovery").sum() == len(res.cohort)
    units = cohort_units(sub)
    assert units["online_offered"].sum() == len(res.cohort)
    no_option = led[(led["table"] == "course_records") & (led["status"] == "no_online_option")]
    assert len(no_option) == 2 * (~units["online_offered"]).sum()  # the index failure and recovery of each


def test_units_in_school_years_without_online_recovery_are_excluded_with_a_reason(tables, result):
    """Availability: classroom retakers where the school offered no online recovery that year are no controls."""
    cr = tables["course_records"]
    online = cr[(cr["attempt"] == "recovery") & (cr["delivery"] == "online")]
    offered = set(zip(online["school_id"], online["school_year"]))
    units = cohort_units(tables)
    c = result.cohort
    assert all((s, y) in offered for s, y in zip(c["school_id"], c["school_year"]))
    assert (~units["online_offered"]).sum() > 0 and units["online_offered"].sum() == len(c)
    led = result.ledger
    years = led[(led["table"] == "student_years") & (led["status"] == "no_online_option")]
    assert len(years) > 0 and not led.loc[led["status"] == "no_online_option", "kept"].any()
    f = result.flow.set_index("step")
    assert f.loc["First recovery episode of a student", "excluded"] == (~units["online_offered"]).sum()
