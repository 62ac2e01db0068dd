"""The optional assignments table (issue 14): a randomized extract validates; a block with one arm, a student
assigned twice, a failure that is not the student's failed course, or a draw after the recovery course fails
with the table, columns, rule and examples named."""
from __future__ import annotations

import pandas as pd
import pytest

from credit_recovery import DataValidationError, validate_tables
from credit_recovery.data.extract_io import coerce_tables
from extract_factory import tiny_extract


def _with_assignments(rows: list[dict]) -> dict[str, pd.DataFrame]:
    t = tiny_extract()
    t["assignments"] = coerce_tables({"assignments": pd.DataFrame(rows)})["assignments"]
    return t


def _failed_records(t: dict[str, pd.DataFrame]) -> pd.DataFrame:
    c = t["course_records"]
    rec = c[c["attempt"] == "recovery"][["recovers_record_id", "enrolled_date"]]
    f = c[(c["attempt"] == "original") & (c["mark"] == "F")]
    return f.merge(rec, left_on="course_record_id", right_on="recovers_record_id", how="left",
                   suffixes=("", "_recovery")).drop_duplicates("student_id")


@pytest.fixture(scope="module")
def valid_rows() -> list[dict]:
    f = _failed_records(tiny_extract())
    assert len(f) >= 2, "the tiny extract needs two students with a failed course"
    arms = ["online", "classroom"] * len(f)
    return [{"student_id": r.student_id, "failed_record_id": r.course_record_id, "block": "S1",
             "assigned_arm": arms[i], "assignment_date": pd.Timestamp(r.enrolled_date_recovery) - pd.Timedelta(days=7)
             if pd.notna(r.enrolled_date_recovery) else pd.Timestamp(r.enrolled_date)}
            for i, r in enumerate(f.itertuples())]


def test_a_valid_randomization_passes(valid_rows):
    report = validate_tables(_with_assignments(valid_rows))
    assert report.summary().set_index("table").loc["assignments", "n_rows"] == len(valid_rows)


def _fails(rows, *needles):
    with pytest.raises(DataValidationError) as err:
        validate_tables(_with_assignments(rows))
    text = str(err.value)
    assert "assignments" in text
    for n in needles:
        assert n in text
    return text


def test_a_block_with_one_arm_fails(valid_rows):
    rows = [dict(r) for r in valid_rows]
    rows[0]["block"] = "lonely"
    _fails(rows, "every randomization block must have both arms", "lonely")


def test_a_student_assigned_twice_fails(valid_rows):
    rows = [dict(r) for r in valid_rows] + [dict(valid_rows[0], assigned_arm="classroom")]
    _fails(rows, "student_id", valid_rows[0]["student_id"])


def test_a_draw_after_the_recovery_course_fails(valid_rows):
    rows = [dict(r) for r in valid_rows]
    rows[0]["assignment_date"] = pd.Timestamp("2099-01-01")
    _fails(rows, "assignment_date must be on or before the enrolment")


def test_the_failed_record_must_be_the_students_failed_course(valid_rows):
    rows = [dict(r) for r in valid_rows]
    rows[0]["failed_record_id"] = valid_rows[1]["failed_record_id"]
    _fails(rows, "failed (mark F) original attempt of the same student")
