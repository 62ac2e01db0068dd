"""Assembly of the district extract: recovery attempts, course records and the contract tables.

Every failed course of an episode is a recovery attempt in the fall of the
recovery year (online or classroom, by the episode's delivery). An online
attempt's platform events come from
:func:`~credit_recovery.synthetic.events.platform_events`; its realized idle
share enters its recovery chance, and its end date is the local date of its
last event. Recovery course records follow the regular ones; ids are assigned
in that order (regular records in (school_year, student) order, then recovery
attempts).
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from credit_recovery.data.cohort import analytic_units
from credit_recovery.data.contract import PROGRAM_MODELS, TABLES
from credit_recovery.data.extract_io import coerce_tables
from credit_recovery.synthetic.events import platform_events
from credit_recovery.synthetic.outcomes import recovery_marks
from credit_recovery.synthetic.world import World

__all__ = ["recovery_attempts", "online_attempt_events", "recovery_records", "course_records", "contract_tables",
           "episodes_in_cohort"]


def recovery_attempts(w: World) -> tuple[pd.DataFrame, pd.DataFrame]:
    """One row per failed course of every episode (``rec``) and, aligned with it, its episode's row (``e``).

    ``rec`` holds ``episode``, ``slot`` (the failed slot), the shared uniforms
    ``V``, ``mark_u`` and ``withdraw_u``, ``is_index``, ``online``,
    ``student_id``, ``school_year``, ``school_idx``, ``sy_prev``,
    ``sy_next``, ``type_code``, ``mentor_id`` (online only) and the drawn
    ``enrolled_date``.
    """
    ep, st = w.episodes, w.students
    rec = ep[["episode", "failed_slots", "V_courses", "mark_u", "withdraw_u"]].explode(
        ["failed_slots", "V_courses", "mark_u", "withdraw_u"])
    rec = rec.rename(columns={"failed_slots": "slot", "V_courses": "V"})
    rec["slot"] = rec["slot"].astype(int)
    for c in ("V", "mark_u", "withdraw_u"):
        rec[c] = rec[c].astype(float)
    rec = rec.reset_index(drop=True)
    e = ep.iloc[rec["episode"].to_numpy()].reset_index(drop=True)
    rec["is_index"] = rec["slot"].to_numpy() == e["index_slot"].to_numpy()
    rec["online"] = e["online"].to_numpy()
    rec["student_id"] = st["student_id"].to_numpy()[e["st"].to_numpy()]
    rec["school_year"] = e["school_year"].to_numpy()
    rec["school_idx"] = e["school_idx"].to_numpy()
    rec["sy_prev"] = e["sy_prev"].to_numpy()
    rec["sy_next"] = e["sy_next"].to_numpy()
    rec["type_code"] = e["type_code"].to_numpy()
    rec["program_code"] = e["program_code"].to_numpy()
    rec["mentor_id"] = np.where(rec["online"], w.mentors["mentor_id"].to_numpy()[e["mentor_idx"].to_numpy()], None)
    yr = rec["school_year"].to_numpy()
    rec["enrolled_date"] = pd.to_datetime((yr - 1).astype(str).astype(object) + "-09-03") + pd.to_timedelta(
        w.rng.integers(0, 35, len(rec)), unit="D")
    return rec, e


def online_attempt_events(w: World, rec: pd.DataFrame, e: pd.DataFrame,
                          n_regular: int) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """Platform events of the online attempts; their idle share and last event go into ``rec``.

    Adds to ``rec`` ``idle_share`` (realized for online attempts, the type's
    expectation otherwise) and ``last_ts``. Returns the online attempts (with
    the ``course_record_id`` they will get after the ``n_regular`` regular
    records), the events and the per-attempt event statistics.
    """
    online_rec = rec[rec["online"]].copy()
    # ids: regular records first, in (school_year, student) order, then recovery attempts
    online_rec["course_record_id"] = [f"CR{n_regular + i + 1:08d}" for i in online_rec.index]
    events, ev_stats = platform_events(w, online_rec[["student_id", "course_record_id", "type_code",
                                                      "enrolled_date", "school_year"]].reset_index(drop=True))
    idle_real = np.full(len(rec), np.nan)
    idle_real[online_rec.index.to_numpy()] = ev_stats["idle_share"].to_numpy()
    last_ts = pd.Series(pd.NaT, index=rec.index, dtype="datetime64[ns]")
    last_ts.loc[online_rec.index] = ev_stats["last_ts"].to_numpy()
    rec["last_ts"] = last_ts
    rec["idle_share"] = np.where(rec["online"], idle_real, e["idle_expected"].to_numpy())
    return online_rec, events, ev_stats


def recovery_records(w: World, rec: pd.DataFrame, regular: pd.DataFrame, recovered: np.ndarray,
                     online_rec: pd.DataFrame) -> pd.DataFrame:
    """Course records of the recovery attempts (same columns as the regular records).

    A recovered course's passing letter depends on the delivery (through a
    shared uniform); an unrecovered one is withdrawn (W, more often online) or
    failed (F).
    """
    yr = rec["school_year"].to_numpy()
    last_ts = rec["last_ts"]
    # marks of recovery attempts: passing letter depends on delivery (shared uniforms)
    mark = recovery_marks(recovered, rec["mark_u"].to_numpy(), rec["withdraw_u"].to_numpy(),
                          rec["online"].to_numpy(bool), w.settings["recovery_course"])
    withdrawn = mark == "W"
    comp = np.where(rec["online"], last_ts.dt.strftime("%Y-%m-%d").to_numpy(dtype=object),
                    yr.astype(str).astype(object) + "-01-20")
    # an online course's end date is the local date of its last event
    if len(online_rec):
        local_last = (pd.DatetimeIndex(last_ts.loc[online_rec.index].to_numpy()).tz_localize("UTC")
                      .tz_convert(w.engagement["timezone"]).strftime("%Y-%m-%d"))
        comp[online_rec.index.to_numpy()] = np.asarray(local_last, dtype=object)
    comp = np.where(withdrawn, None, comp)
    failed_ids_slot = rec["slot"].to_numpy()
    return pd.DataFrame({
        "sy": rec["sy_next"].to_numpy(), "slot": -1, "student_id": rec["student_id"].to_numpy(),
        "school_year": yr, "school_id": w.school_ids[rec["school_idx"].to_numpy()], "term": "fall",
        "course_name": regular["course_name"].to_numpy()[rec["sy_prev"].to_numpy() * 12 + failed_ids_slot],
        "subject": regular["subject"].to_numpy()[rec["sy_prev"].to_numpy() * 12 + failed_ids_slot],
        "attempt": "recovery", "recovers_slot": rec["sy_prev"].to_numpy() * 12 + failed_ids_slot,
        "delivery": np.where(rec["online"], "online", "classroom"), "mentor_id": rec["mentor_id"].to_numpy(),
        "program_model": np.where(rec["online"], np.array(PROGRAM_MODELS, dtype=object)[rec["program_code"].to_numpy()],
                                  None),
        "enrolled_date": rec["enrolled_date"].dt.strftime("%Y-%m-%d").to_numpy(dtype=object),
        "completed_date": comp, "mark": mark, "credits_attempted": 0.5,
        "credits_earned": np.where(recovered, 0.5, 0.0),
    })


def course_records(regular: pd.DataFrame, recovery: pd.DataFrame, rec: pd.DataFrame,
                   online_rec: pd.DataFrame) -> pd.DataFrame:
    """All course records with their ids; the recovery attempts' ids go into ``rec``.

    Adds ``course_record_id`` and ``failed_record_id`` (the recovered
    record) to ``rec``.
    """
    n_regular = len(regular)
    courses = pd.concat([regular, recovery], ignore_index=True)
    courses["course_record_id"] = [f"CR{i + 1:08d}" for i in range(len(courses))]
    rec_ids = courses["course_record_id"].to_numpy()
    courses["recovers_record_id"] = np.where(courses["recovers_slot"].to_numpy() >= 0,
                                             rec_ids[np.maximum(courses["recovers_slot"].to_numpy(), 0)], None)
    assert (courses["course_record_id"].to_numpy()[n_regular:][rec["online"].to_numpy()]
            == online_rec["course_record_id"].to_numpy()).all()
    rec["course_record_id"] = rec_ids[n_regular:]
    rec["failed_record_id"] = courses["recovers_record_id"].to_numpy()[n_regular:]
    return courses


def contract_tables(w: World, student_years: pd.DataFrame, courses: pd.DataFrame,
                    events: pd.DataFrame, diplomas: pd.DataFrame | None = None,
                    assignments: pd.DataFrame | None = None) -> dict[str, pd.DataFrame]:
    """The input tables of the data contract, as a district extract holds them.

    Only students with an observed student-year are listed; events are sorted
    by time and numbered; ``diplomas`` and ``assignments`` (optional tables) are added when given.
    """
    st = w.students
    students = pd.DataFrame({
        "student_id": st["student_id"].to_numpy(), "gender": st["gender"].to_numpy(),
        "race_ethnicity": st["race_ethnicity"].to_numpy(), "grade9_year": st["grade9_year"].to_numpy(),
    })
    students = students[students["student_id"].isin(set(student_years["student_id"]))].reset_index(drop=True)
    mentors = w.mentors[["mentor_id", "school_id", "certified_subject", "instructionally_supportive"]].copy()
    courses_out = _contract_courses(courses)
    events = events.sort_values(["timestamp", "course_record_id"], kind="stable").reset_index(drop=True)
    events.insert(0, "event_id", np.arange(1, len(events) + 1, dtype=np.int64))
    tables = {
        "students": students,
        "student_years": student_years,
        "mentors": mentors,
        "course_records": courses_out,
        "platform_events": events,
    }
    if diplomas is not None:
        tables["diplomas"] = diplomas.sort_values("student_id", kind="stable").reset_index(drop=True)
    if assignments is not None:
        tables["assignments"] = assignments
    return coerce_tables({k: v[TABLES[k].column_names] for k, v in tables.items()})


def _contract_courses(courses: pd.DataFrame) -> pd.DataFrame:
    """The contract's columns of the course records, dates parsed (before coercion)."""
    courses_out = courses[list(TABLES["course_records"].column_names)].copy()
    courses_out["enrolled_date"] = pd.to_datetime(courses_out["enrolled_date"])
    courses_out["completed_date"] = pd.to_datetime(courses_out["completed_date"])
    return courses_out


def episodes_in_cohort(w: World, courses: pd.DataFrame, rec: pd.DataFrame) -> np.ndarray:
    """Whether each episode (row of ``w.episodes``) is a unit of the analytic cohort.

    The cohort's units depend on the course records only, so this is known before the outcomes
    are drawn; it is the ``in_cohort`` that :func:`~credit_recovery.synthetic.planted_truth.planted_truth`
    derives later from the finished tables.
    """
    table = coerce_tables({"course_records": _contract_courses(courses)[TABLES["course_records"].column_names]})
    units = analytic_units(table)
    keys = set(zip(units["student_id"], units["recovery_record_id"]))
    index = rec[rec["is_index"]]
    assert (index["episode"].to_numpy() == w.episodes["episode"].to_numpy()).all()
    return np.array([(a, b) in keys for a, b in zip(index["student_id"], index["course_record_id"])], dtype=bool)
