"""validate_tables: a corpus of broken extracts, each named precisely in the error."""
from __future__ import annotations

import re

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pandera.config import config_context as pandera_config
from pandera.config import get_config_global as get_pandera_config
from pandera.config import set_config as set_pandera_config

from credit_recovery import DataValidationError, read_extract, validate_tables
from credit_recovery.data.contract import TABLES
from credit_recovery.data.failures import FAILURE_COLUMNS, FailureCollector
from credit_recovery.data.schemas import (NOT_EMPTY_RULE, allowed_rule, contract_schema, range_rule,
                                          record_schema_failures)
from extract_factory import tiny_extract, write_raw


def failures_of(tables) -> pd.DataFrame:
    with pytest.raises(DataValidationError) as ei:
        validate_tables(tables)
    f = ei.value.failures
    assert tuple(f.columns) == FAILURE_COLUMNS
    msg = str(ei.value)
    # every failure appears in the message with its table, column(s), rule and count
    for r in f.itertuples():
        rows = f"{r.n_rows} row{'s' if r.n_rows != 1 else ''}"
        assert f"table {r.table!r}, column(s) {r.column or '-'}: {r.rule} -- {rows}" in msg
        for line in str(r.examples).split("\n"):
            assert line in msg
    return f


VIA = pytest.mark.parametrize("via", ["memory", "csv", "parquet"])


def through(t: dict, via: str, tmp_path) -> dict:
    """The tables as given, or written as CSV/parquet files and read back with read_extract."""
    if via == "memory":
        return t
    write_raw(t, tmp_path / via, via)
    return read_extract(tmp_path / via)


def one(f: pd.DataFrame, table: str, column: str, rule: str) -> pd.Series:
    hit = f[(f["table"] == table) & (f["column"] == column) & f["rule"].str.contains(rule, regex=False)]
    assert len(hit) == 1, f"no single failure {table}.{column} {rule!r} in\n{f[['table', 'column', 'rule']]}"
    return hit.iloc[0]


def test_valid_tiny_extract_passes():
    rep = validate_tables(tiny_extract())
    assert rep.ok and rep.failures.empty
    s = rep.summary()
    assert s.set_index("table")["n_rows"].to_dict() == {
        "students": 6, "student_years": 12, "mentors": 2, "course_records": 10, "platform_events": 18, "calendar": 3,
        "diplomas": 1, "assignments": 0}
    assert (s["n_failures"] == 0).all()
    assert "satisfies" in rep.message()


def test_calendar_is_optional_and_other_tables_required():
    t = tiny_extract()
    del t["calendar"]
    assert validate_tables(t).ok
    del t["diplomas"]
    assert validate_tables(t).ok
    t["diplomas"] = pd.DataFrame({"student_id": pd.Series([], dtype=str), "school_year": pd.Series([], dtype="Int64")})
    assert validate_tables(t).ok  # optional tables may be empty (no graduates yet)
    del t["mentors"]
    f = failures_of(t)
    one(f, "mentors", "", "required table missing")


def test_diploma_in_a_year_the_student_was_not_enrolled():
    t = tiny_extract()
    t["diplomas"] = pd.DataFrame({"student_id": ["S03", "S01"], "school_year": [2015, 2016]})
    r = one(failures_of(t), "diplomas", "student_id, school_year", "foreign key")
    assert r["n_rows"] == 1 and "S01" in r["examples"]
    t["diplomas"] = pd.DataFrame({"student_id": ["S03", "S03"], "school_year": [2015, 2014]})
    assert one(failures_of(t), "diplomas", "student_id", "unique")["n_rows"] == 2


def test_missing_column():
    t = tiny_extract()
    t["student_years"] = t["student_years"].drop(columns=["grade"])
    f = failures_of(t)
    r = one(f, "student_years", "grade", "required column missing")
    assert r["n_rows"] == 12 and "columns present: student_id, school_year" in r["examples"]


@VIA
def test_events_for_unknown_students(via, tmp_path):
    t = tiny_extract()
    t["platform_events"].loc[[3, 10], "student_id"] = "S99"
    f = failures_of(through(t, via, tmp_path))
    r = one(f, "platform_events", "student_id", "foreign key: events belong to known students")
    assert r["n_rows"] == 2
    assert "(no matching students.student_id)" in r["rule"]
    assert r["examples"].split("\n") == ["row 4: event_id=1003, student_id='S99'",
                                         "row 11: event_id=1010, student_id='S99'"]
    # and the event no longer matches the student of its course record
    assert one(f, "platform_events", "student_id, course_record_id", "student of its course record")["n_rows"] == 2


@VIA
def test_duplicate_keys(via, tmp_path):
    t = tiny_extract()
    t["students"] = pd.concat([t["students"], t["students"].iloc[[1]]], ignore_index=True)
    sy = t["student_years"]
    sy.loc[1, "school_year"] = 2014  # S01 twice in 2014
    f = failures_of(through(t, via, tmp_path))
    r = one(f, "students", "student_id", "duplicate key")
    assert r["n_rows"] == 2 and r["examples"].startswith("row 2: student_id='S02'\nrow 7: student_id='S02'")
    r = one(f, "student_years", "student_id, school_year", "duplicate key")
    assert r["n_rows"] == 2 and "row 1: student_id='S01', school_year=2014" in r["examples"]


@VIA
def test_scores_outside_their_scale(via, tmp_path):
    t = tiny_extract()
    sy = t["student_years"]
    sy.loc[[0, 5], "math_score"] = [450.0, 99.5]
    sy.loc[2, "gpa"] = 4.3
    t["platform_events"].loc[3, "score"] = 101.0
    f = failures_of(through(t, via, tmp_path))
    r = one(f, "student_years", "math_score", "must be between 100 and 400 scale points")
    assert r["n_rows"] == 2 and "row 1: student_id='S01', school_year=2014, math_score=450" in r["examples"]
    assert "row 6: student_id='S03', school_year=2015, math_score=99.5" in r["examples"]
    assert one(f, "student_years", "gpa", "between 0 and 4 grade points")["n_rows"] == 1
    assert one(f, "platform_events", "score", "between 0 and 100 percent")["n_rows"] == 1


def test_timestamps_without_time_zone_in_memory():
    t = tiny_extract()
    t["platform_events"]["timestamp"] = t["platform_events"]["timestamp"].dt.tz_localize(None)
    f = failures_of(t)
    assert one(f, "platform_events", "timestamp", "timestamp must carry a time zone")["n_rows"] == 18


@VIA
def test_negative_durations(via, tmp_path):
    t = tiny_extract()
    cr = t["course_records"]
    cr.loc[4, "completed_date"] = pd.Timestamp("2014-01-01")  # C005 enrolled 2014-01-27
    f = failures_of(through(t, via, tmp_path))
    r = one(f, "course_records", "enrolled_date, completed_date", "negative duration")
    assert r["n_rows"] == 1
    assert r["examples"] == ("row 5: course_record_id='C005', enrolled_date=2014-01-27T00:00:00, "
                             "completed_date=2014-01-01T00:00:00")


@VIA
def test_broken_recovery_links(via, tmp_path):
    t = tiny_extract()
    cr = t["course_records"]
    cr.loc[1, "recovers_record_id"] = "C999"   # C002 -> missing record
    cr.loc[3, "recovers_record_id"] = "C005"   # C004 (S02) -> S03's passed online attempt
    cr.loc[8, "recovers_record_id"] = np.nan   # C009 recovery without a link
    cr.loc[9, "recovers_record_id"] = "C001"   # C010 is an original attempt
    f = failures_of(through(t, via, tmp_path))
    r = one(f, "course_records", "recovers_record_id", "foreign key: a recovery attempt points at the failed")
    assert r["n_rows"] == 1 and r["examples"] == "row 2: course_record_id='C002', recovers_record_id='C999'"
    assert one(f, "course_records", "recovers_record_id", "original attempt with mark F")["n_rows"] == 1
    assert one(f, "course_records", "recovers_record_id, student_id", "same student")["n_rows"] == 2
    r = one(f, "course_records", "attempt, recovers_record_id", "recovery attempt must name")
    assert r["n_rows"] == 1 and "course_record_id='C009', attempt='recovery', recovers_record_id=<empty>" in r["examples"]
    assert one(f, "course_records", "attempt, recovers_record_id", "original attempt must have an empty")["n_rows"] == 1


def test_recovery_before_failed_attempt():
    t = tiny_extract()
    t["course_records"].loc[3, "school_year"] = 2013  # C004 recovers C003 (2014); 2013 not enrolled either
    f = failures_of(t)
    assert one(f, "course_records", "recovers_record_id, school_year", "same or a later school year")["n_rows"] == 1
    assert one(f, "course_records", "student_id, school_year", "foreign key")["n_rows"] == 1


@VIA
def test_bad_allowed_values(via, tmp_path):
    t = tiny_extract()
    t["course_records"].loc[[0, 2], "delivery"] = "hybrid"
    t["students"].loc[0, "gender"] = "female"
    f = failures_of(through(t, via, tmp_path))
    r = one(f, "course_records", "delivery", "must be one of: classroom, online")
    assert r["n_rows"] == 2 and "row 1: course_record_id='C001', delivery='hybrid'" in r["examples"]
    assert one(f, "students", "gender", "must be one of: F, M, X")["n_rows"] == 1


@VIA
def test_cross_field_rules(via, tmp_path):
    t = tiny_extract()
    sy, cr, ev = t["student_years"], t["course_records"], t["platform_events"]
    sy.loc[0, "days_absent"] = 200                      # > days_enrolled 178
    cr.loc[6, "credits_earned"] = 0.0                   # C007 mark D earns nothing
    cr.loc[5, "completed_date"] = pd.Timestamp("2014-01-24")  # C006 withdrawn with a date
    cr.loc[1, "mentor_id"] = np.nan                     # online without mentor
    cr.loc[0, "mentor_id"] = "M1"                       # classroom with mentor
    cr.loc[2, "credits_earned"] = 1.0                   # C003 0.5 credits attempted, earns 1 with F
    ev.loc[3, "score"] = np.nan                         # quiz without score
    ev.loc[0, "score"] = 50.0                           # login with score
    ev.loc[17, "course_record_id"] = "C001"             # event on a classroom attempt (same student S06? no)
    f = failures_of(through(t, via, tmp_path))
    assert one(f, "student_years", "days_absent, days_enrolled", "must not exceed")["n_rows"] == 1
    assert one(f, "course_records", "mark, credits_earned, credits_attempted", "A-D")["n_rows"] == 2
    assert one(f, "course_records", "credits_earned, credits_attempted", "must not exceed")["n_rows"] == 1
    assert one(f, "course_records", "mark, completed_date", "if and only if mark is W")["n_rows"] == 1
    assert one(f, "course_records", "delivery, mentor_id", "online attempts must have")["n_rows"] == 1
    assert one(f, "course_records", "delivery, mentor_id", "classroom attempts must have an empty")["n_rows"] == 1
    assert one(f, "platform_events", "event_type, score", "must have a score")["n_rows"] == 1
    assert one(f, "platform_events", "event_type, score", "only quiz_submitted")["n_rows"] == 1
    assert one(f, "platform_events", "course_record_id", "online course attempt")["n_rows"] == 1
    assert one(f, "platform_events", "student_id, course_record_id", "student of its course record")["n_rows"] == 1
    assert not f["rule"].str.startswith("foreign key").any()


def test_missing_values_and_unknown_table():
    t = tiny_extract()
    t["course_records"].loc[[0, 1], "term"] = np.nan
    t["studnets"] = t["students"]
    f = failures_of(t)
    assert one(f, "course_records", "term", "must not be empty")["n_rows"] == 2
    assert one(f, "studnets", "", "unknown table")["n_rows"] == 0


def test_all_failures_collected_and_report_mode():
    t = tiny_extract()
    t["students"].loc[0, "gender"] = "?"
    t["student_years"].loc[0, "grade"] = 13
    t["platform_events"].loc[0, "event_type"] = "scroll"
    rep = validate_tables(t, raise_on_failure=False)
    assert not rep.ok
    assert set(rep.failures["table"]) == {"students", "student_years", "platform_events"}
    assert rep.summary().set_index("table")["n_failures"].to_dict()["student_years"] == 1
    with pytest.raises(DataValidationError) as ei:
        rep.raise_if_failed()
    assert ei.value.report is rep and "in 3 places" in str(ei.value)


@pytest.mark.parametrize("fmt", ["csv", "parquet"])
def test_file_corpus_end_to_end(tmp_path, fmt):
    """Broken files pass read_extract (types parse) but fail validation with row numbers of the file."""
    t = tiny_extract()
    t["platform_events"].loc[[5, 6], "student_id"] = "S77"
    t["course_records"].loc[7, "mark"] = "E"
    t["student_years"] = t["student_years"].drop(columns=["frl"])
    write_raw(t, tmp_path, fmt)
    f = failures_of(read_extract(tmp_path))
    assert one(f, "platform_events", "student_id", "foreign key")["examples"].startswith("row 6: event_id=1005")
    assert one(f, "course_records", "mark", "must be one of: A, B, C, D, F, W")["n_rows"] == 1
    assert one(f, "student_years", "frl", "required column missing")["n_rows"] == 12


def test_in_memory_strings_are_coerced_before_checking():
    t = tiny_extract()
    t["student_years"] = t["student_years"].astype({"grade": "str", "frl": "str", "math_score": "str"})
    t["student_years"].loc[0, "grade"] = "nine"
    rep = validate_tables(t, raise_on_failure=False)
    r = one(rep.failures, "student_years", "grade", "must be an integer")
    assert r["examples"] == "row 1: student_id='S01', school_year=2014, grade='nine'"
    # the unparseable cell is not counted again as missing
    assert not rep.failures["rule"].str.contains("must not be empty").any()
    assert str(rep.tables["student_years"]["frl"].dtype) == "bool"


@settings(max_examples=15, deadline=None)
@given(st.sets(st.integers(0, 17), min_size=0, max_size=18), st.sets(st.integers(0, 5), max_size=5))
def test_counts_match_planted_breakage(bad_events, dropped_students):
    """n_rows equals the number of planted bad rows (brute force over the plan)."""
    t = tiny_extract()
    ev = t["platform_events"]
    idx = sorted(bad_events)
    ev.loc[idx, "event_type"] = "bogus"
    keep = [i for i in range(6) if i not in dropped_students]
    gone = set(t["students"]["student_id"].iloc[sorted(dropped_students)])
    t["students"] = t["students"].iloc[keep].reset_index(drop=True)
    rep = validate_tables(t, raise_on_failure=False)
    f = rep.failures
    expected_orphans = int(t["student_years"]["student_id"].isin(gone).sum())
    got = f[(f["table"] == "student_years") & f["rule"].str.startswith("foreign key")]["n_rows"].sum()
    assert got == expected_orphans
    got = f[(f["table"] == "platform_events") & (f["column"] == "event_type")
            & f["rule"].str.startswith("must be one of")]["n_rows"].sum()
    assert got == len(idx)
    if idx:
        ex = f[(f["column"] == "event_type") & f["rule"].str.startswith("must be one of")]["examples"].iloc[0]
        assert [int(m) for m in re.findall(r"row (\d+):", ex)] == [i + 1 for i in idx[:5]]
    assert rep.ok == (not idx and not expected_orphans and not ev["student_id"].isin(gone).any())


# ---------------------------------------------------------------- the pandera schemas

@pytest.mark.parametrize("name", list(TABLES))
def test_schemas_are_generated_from_the_contract(name):
    spec = TABLES[name]
    schema = contract_schema(spec)
    assert list(schema.columns) == spec.column_names
    assert schema.unique == list(spec.key)
    for col in spec.columns:
        pcol = schema.columns[col.name]
        assert pcol.nullable == col.nullable and pcol.required == (not col.optional)
        errors = [c.error for c in pcol.checks]
        expected = ([NOT_EMPTY_RULE] if col.dtype == "string" and not col.nullable else []) \
            + ([allowed_rule(col)] if col.allowed is not None else []) \
            + ([range_rule(col)] if col.min is not None or col.max is not None else [])
        assert errors == expected, col.name


def test_pandera_settings_cannot_turn_the_checks_off():
    t = tiny_extract()
    t["students"].loc[0, "gender"] = "female"
    with pandera_config(validation_enabled=False, validation_depth="SCHEMA_ONLY"):
        f = failures_of(t)
    assert one(f, "students", "gender", "must be one of: F, M, X")["n_rows"] == 1


@pytest.mark.filterwarnings("ignore:Re-registered pandera backends")
def test_pandera_narwhals_backend_setting_is_restored_and_does_not_hide_duplicates():
    t = tiny_extract()
    t["students"] = pd.concat([t["students"], t["students"].iloc[[1]]], ignore_index=True)
    set_pandera_config(use_narwhals_backend=True)
    try:
        f = failures_of(t)
        assert get_pandera_config().use_narwhals_backend
    finally:
        set_pandera_config(use_narwhals_backend=False)
    assert one(f, "students", "student_id", "duplicate key")["n_rows"] == 2


def test_blank_text_counts_as_empty_where_a_value_is_required():
    t = tiny_extract()
    t["students"].loc[1, "gender"] = "  "
    t["course_records"].loc[0, "course_name"] = ""
    t["calendar"].loc[0, "description"] = " "  # nullable: a blank description is allowed
    f = failures_of(t)
    r = one(f, "course_records", "course_name", "must not be empty")
    assert r["n_rows"] == 1 and r["examples"] == "row 1: course_record_id='C001', course_name=''"
    assert one(f, "students", "gender", "must not be empty")["n_rows"] == 1
    assert one(f, "students", "gender", "must be one of")["n_rows"] == 1
    assert not (f["table"] == "calendar").any()


def test_missing_key_values_are_reported_as_empty_not_as_duplicates():
    t = tiny_extract()
    t["course_records"].loc[[0, 1], "course_record_id"] = np.nan
    t["student_years"].loc[[2, 3], "school_year"] = pd.NA  # S02 twice with an unknown year
    t["mentors"] = pd.concat([t["mentors"], t["mentors"].iloc[[0]]], ignore_index=True)
    f = failures_of(t)
    assert one(f, "course_records", "course_record_id", "must not be empty")["n_rows"] == 2
    assert one(f, "student_years", "school_year", "must not be empty")["n_rows"] == 2
    assert one(f, "mentors", "mentor_id", "duplicate key")["n_rows"] == 2
    assert f.loc[f["rule"].str.startswith("duplicate key"), "table"].tolist() == ["mentors"]


def test_key_is_not_checked_on_a_partial_key():
    t = tiny_extract()
    t["student_years"] = t["student_years"].drop(columns=["school_year"])
    f = failures_of(t)
    one(f, "student_years", "school_year", "required column missing")
    assert not f["rule"].str.startswith("duplicate key").any()


def test_any_column_twice_is_reported_not_a_crash():
    t = tiny_extract()
    s = t["students"].assign(note="x")
    t["students"] = pd.concat([s, s[["note", "gender"]]], axis=1)
    f = failures_of(t)
    assert one(f, "students", "note", "column appears more than once")["n_rows"] == 6
    assert one(f, "students", "gender", "column appears more than once")["n_rows"] == 6
    assert len(f) == 2


def test_unforeseen_schema_failures_are_reported_as_they_come():
    """A pandera failure the translation does not know is listed with pandera's words, not dropped."""
    spec = TABLES["mentors"]
    df = tiny_extract()["mentors"]
    cases = pd.DataFrame({"column": ["school_id", None], "check": ["str_length(1, 3)", "made_up_check"],
                          "failure_case": ["H1", "x"], "index": [1, None]})
    out = FailureCollector()
    record_schema_failures(cases, spec, df, lambda c: np.zeros(len(df), dtype=bool), out)
    assert [(r["column"], r["rule"], r["n_rows"]) for r in out.rows] == [
        ("school_id", "str_length(1, 3)", 1), ("", "made_up_check", 0)]
    assert out.rows[0]["examples"] == "row 2: mentor_id='M2', school_id='H2'"
    assert out.rows[1]["examples"] == "failure cases: x"


def test_optional_program_model_may_be_left_out_but_is_checked_when_present():
    """course_records.program_model is optional: an extract without it validates; a value outside the
    contract's models, or a model on a classroom attempt, fails with the column and rule named."""
    t = tiny_extract()
    assert "program_model" not in t["course_records"]
    validate_tables(t)
    cr = t["course_records"]
    cr["program_model"] = None
    online = cr.index[(cr["delivery"] == "online") & (cr["attempt"] == "recovery")]
    classroom = cr.index[cr["delivery"] == "classroom"][:2]
    assert len(online) >= 2
    cr.loc[online, "program_model"] = "blended"
    validate_tables(t)
    cr.loc[online[:1], "program_model"] = "hybrid"
    cr.loc[classroom, "program_model"] = "blended"
    with pytest.raises(DataValidationError) as err:
        validate_tables(t)
    text = str(err.value)
    assert "program_model" in text and "hybrid" in text
    assert "only online recovery attempts have a program_model" in text
