"""A tiny, valid district extract (all contract tables) for tests.

``tiny_extract()`` returns a fresh dict of DataFrames in the contract dtypes
(as :func:`credit_recovery.read_extract` returns them), rows sorted by key.
It contains original and recovery attempts, classroom and online delivery, a
withdrawal, a failed online recovery, missing test scores and a platform log
with quiz/test scores, so every contract rule has something to bite on.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from credit_recovery.data.contract import TABLES
from credit_recovery.data.extract_io import coerce_tables

__all__ = ["tiny_extract"]


def _students() -> pd.DataFrame:
    return pd.DataFrame({
        "student_id": ["S01", "S02", "S03", "S04", "S05", "S06"],
        "gender": ["F", "M", "F", "X", "M", "F"],
        "race_ethnicity": ["Black", "Hispanic", "White", "Asian", "Other", "Black"],
        "grade9_year": [2014, 2014, 2013, 2014, 2014, 2014],
    })


def _student_years() -> pd.DataFrame:
    rows = []
    for i, (sid, g9) in enumerate(zip(["S01", "S02", "S03", "S04", "S05", "S06"],
                                      [2014, 2014, 2013, 2014, 2014, 2014])):
        for year in (2014, 2015):
            grade = 9 + year - g9
            rows.append({
                "student_id": sid, "school_year": year, "school_id": "H1" if i % 2 == 0 else "H2",
                "grade": grade, "frl": i % 2 == 0, "ell": i == 1, "sped": i == 3,
                "days_enrolled": 178 - i, "days_absent": 3 * i + (year - 2014),
                "math_score": np.nan if (i == 4 and year == 2015) else 200.0 + 10 * i + year - 2014,
                "reading_score": 210.5 + 7 * i if year == 2014 else np.nan,
                "gpa": np.nan if i == 3 and year == 2014 else round(1.5 + 0.4 * i, 2),
                "credits_earned": 5.0 + 0.5 * i,
            })
    return pd.DataFrame(rows)


def _mentors() -> pd.DataFrame:
    return pd.DataFrame({
        "mentor_id": ["M1", "M2"],
        "school_id": ["H1", "H2"],
        "certified_subject": ["math", "none"],
        "instructionally_supportive": [True, False],
    })


def _course_records() -> pd.DataFrame:
    cols = ["course_record_id", "student_id", "school_year", "school_id", "term", "course_name",
            "subject", "attempt", "recovers_record_id", "delivery", "mentor_id", "enrolled_date",
            "completed_date", "mark", "credits_attempted", "credits_earned"]
    rows = [
        ("C001", "S01", 2014, "H1", "fall", "Algebra I", "math", "original", None, "classroom", None,
         "2013-09-03", "2014-01-24", "F", 1.0, 0.0),
        ("C002", "S01", 2014, "H1", "summer", "Algebra I", "math", "recovery", "C001", "online", "M1",
         "2014-06-16", "2014-08-01", "C", 1.0, 1.0),
        ("C003", "S02", 2014, "H2", "fall", "English 9", "ela", "original", None, "classroom", None,
         "2013-09-03", "2014-01-24", "F", 0.5, 0.0),
        ("C004", "S02", 2015, "H2", "fall", "English 9", "ela", "recovery", "C003", "classroom", None,
         "2014-09-02", "2015-01-23", "B", 0.5, 0.5),
        ("C005", "S03", 2014, "H1", "spring", "Biology", "science", "original", None, "online", "M2",
         "2014-01-27", "2014-06-06", "A", 1.0, 1.0),
        ("C006", "S04", 2014, "H2", "fall", "Algebra I", "math", "original", None, "classroom", None,
         "2013-09-03", None, "W", 1.0, 0.0),
        ("C007", "S05", 2015, "H1", "fall", "Geometry", "math", "original", None, "classroom", None,
         "2014-09-02", "2015-01-23", "D", 1.0, 1.0),
        ("C008", "S06", 2014, "H2", "fall", "Algebra I", "math", "original", None, "classroom", None,
         "2013-09-03", "2014-01-24", "F", 1.0, 0.0),
        ("C009", "S06", 2015, "H2", "fall", "Algebra I", "math", "recovery", "C008", "online", "M2",
         "2014-09-02", "2015-01-23", "F", 1.0, 0.0),
        ("C010", "S03", 2015, "H1", "fall", "US History", "social_studies", "original", None, "classroom",
         None, "2014-09-02", "2015-01-23", "B", 1.0, 1.0),
    ]
    return pd.DataFrame(rows, columns=cols)


def _platform_events() -> pd.DataFrame:
    plan = [
        ("S01", "C002", "2014-06-16T09:00:00-05:00"), ("S03", "C005", "2014-02-03T13:30:00-06:00"),
        ("S06", "C009", "2014-09-08T19:45:00-05:00"),
    ]
    kinds = [("login", None), ("click", None), ("activity_completed", None),
             ("quiz_submitted", 80.0), ("test_submitted", 65.5), ("logout", None)]
    rows = []
    eid = 1000
    for sid, cid, start in plan:
        t0 = pd.Timestamp(start)
        for j, (kind, score) in enumerate(kinds):
            stamp = (t0 + pd.Timedelta(minutes=7 * j)).isoformat()
            rows.append({"event_id": eid, "student_id": sid, "course_record_id": cid,
                         "timestamp": stamp, "event_type": kind, "score": score})
            eid += 1
    return pd.DataFrame(rows)


def _calendar() -> pd.DataFrame:
    return pd.DataFrame({"date": ["2013-11-28", "2013-12-25", "2014-04-14"],
                         "description": ["Thanksgiving", "Winter break", None]})


def _diplomas() -> pd.DataFrame:
    return pd.DataFrame({"student_id": ["S03"], "school_year": [2015]})


def tiny_extract() -> dict[str, pd.DataFrame]:
    """A small valid extract of every contract table, in contract dtypes, sorted by key."""
    raw = {
        "students": _students(), "student_years": _student_years(), "mentors": _mentors(),
        "course_records": _course_records(), "platform_events": _platform_events(),
        "calendar": _calendar(), "diplomas": _diplomas(),
    }
    tables = coerce_tables(raw)
    return {name: df.sort_values(list(TABLES[name].key), kind="stable").reset_index(drop=True)
            for name, df in tables.items()}


def write_raw(tables: dict[str, pd.DataFrame], folder, fmt: str) -> None:
    """Write tables as-is (no coercion), so broken values reach the reader."""
    folder.mkdir(parents=True, exist_ok=True)
    for name, df in tables.items():
        if fmt == "csv":
            df.to_csv(folder / f"{name}.csv", index=False)
        else:
            df.to_parquet(folder / f"{name}.parquet", index=False)
