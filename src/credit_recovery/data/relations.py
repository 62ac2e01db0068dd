"""Contract rules across columns and tables: foreign keys and cross-field rules.

These stay hand-written (vectorized pandas, numpy and Arrow) rather than
pandera checks: foreign keys and the recovery links look rows up in another
table (or another row of the same table), which a pandera schema of one table
does not express; and pandera's DataFrame-wide checks report one failure case
per cell of *every* column of a failing row, so a rule broken across a
million-row table would build a failure list of tens of millions of cells.
Each rule here yields one row mask and is reported, like the schema rules, as
table, column(s), rule, number of rows and example rows.

A rule is checked only when the columns it needs are present (a missing
column is reported once, as such). A missing value never breaks a rule here
(non-null rules are the schemas' job).
"""
from __future__ import annotations

from typing import Mapping

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from credit_recovery.data.contract import TABLES
from credit_recovery.data.failures import FailureCollector

__all__ = ["check_foreign_keys", "check_cross_field_rules", "lookup"]

_RECOVERY_TARGET_MARK = "F"
_PASSING_MARKS = ("A", "B", "C", "D")
_SUBMISSIONS = ("quiz_submitted", "test_submitted")
_CREDIT_TOLERANCE = 1e-9

Tables = Mapping[str, pd.DataFrame]


def _key_index(df: pd.DataFrame, cols: tuple[str, ...]) -> pd.Index:
    if len(cols) == 1:
        return pd.Index(df[cols[0]])
    return pd.MultiIndex.from_arrays([df[c] for c in cols])


def lookup(child: pd.DataFrame, child_cols, parent: pd.DataFrame, parent_cols) -> np.ndarray:
    """Position of each child row's key in ``parent`` (-1 if absent or null; first match if repeated)."""
    if len(child_cols) == 1 and len(child) and len(parent):
        # single column: hash lookup in Arrow, no Python objects per row
        c = pa.array(child[child_cols[0]], from_pandas=True)
        p = pa.array(parent[parent_cols[0]], from_pandas=True)
        if c.type == p.type:
            idx = pc.index_in(c, value_set=p, skip_nulls=True)
            return idx.fill_null(-1).to_numpy(zero_copy_only=False).astype(np.int64)
    pkey = _key_index(parent, tuple(parent_cols))
    keep = ~pkey.duplicated()
    pos_parent = np.flatnonzero(keep)
    pkey = pkey[keep]
    ckey = _key_index(child, tuple(child_cols))
    pos = pkey.get_indexer(ckey)
    res = np.where(pos >= 0, pos_parent[np.clip(pos, 0, None)] if len(pos_parent) else -1, -1)
    nulls = np.zeros(len(child), dtype=bool)
    for col in child_cols:
        nulls |= child[col].isna().to_numpy()
    res[nulls] = -1
    return res


def _take(s: pd.Series, pos: np.ndarray) -> pd.Series:
    """``s`` at positions ``pos`` (missing where pos == -1), index 0..n-1."""
    found = pos >= 0
    out = s.iloc[np.where(found, pos, 0)].reset_index(drop=True) if len(s) else \
        pd.Series([pd.NA] * len(pos), dtype=s.dtype)
    return out.mask(~found)


def _eq(a: pd.Series, b: pd.Series) -> np.ndarray:
    """Elementwise equality, missing counts as not equal."""
    r = a.reset_index(drop=True) == b.reset_index(drop=True)
    return r.fillna(False).to_numpy(dtype=bool)


def _is(s: pd.Series, value: str) -> np.ndarray:
    """``s == value``, missing counts as not equal."""
    return (s == value).fillna(False).to_numpy(dtype=bool)


def _has(tables: Tables, name: str, *cols: str) -> bool:
    return name in tables and all(c in tables[name].columns for c in cols)


def check_foreign_keys(tables: Tables, out: FailureCollector) -> None:
    """Every foreign key of the contract points at an existing row (a missing key is not checked)."""
    for name, spec in TABLES.items():
        if name not in tables:
            continue
        child = tables[name]
        for fk in spec.foreign_keys:
            parent = tables.get(fk.table)
            if parent is None or not all(c in child.columns for c in fk.columns) \
                    or not all(c in parent.columns for c in fk.ref_columns):
                continue
            pos = lookup(child, fk.columns, parent, fk.ref_columns)
            has_key = np.ones(len(child), dtype=bool)
            for c in fk.columns:
                has_key &= child[c].notna().to_numpy()
            target = f"{fk.table}.{', '.join(fk.ref_columns)}"
            out.mask(name, fk.columns,
                     f"foreign key: {fk.description} (no matching {target})",
                     has_key & (pos < 0), child, list(spec.key) + list(fk.columns))


def _attendance_rule(t: Tables, out: FailureCollector) -> None:
    if _has(t, "student_years", "days_absent", "days_enrolled"):
        d = t["student_years"]
        bad = (d["days_absent"] > d["days_enrolled"]).fillna(False).to_numpy(dtype=bool)
        out.mask("student_years", ("days_absent", "days_enrolled"),
                 "days_absent must not exceed days_enrolled", bad, d,
                 ["student_id", "school_year", "days_enrolled", "days_absent"])


def _course_date_rules(c: pd.DataFrame, out: FailureCollector) -> None:
    key = ["course_record_id"]
    if {"enrolled_date", "completed_date"} <= set(c.columns):
        bad = (c["completed_date"] < c["enrolled_date"]).fillna(False).to_numpy(dtype=bool)
        out.mask("course_records", ("enrolled_date", "completed_date"),
                 "completed_date must not be before enrolled_date (negative duration)", bad, c,
                 key + ["enrolled_date", "completed_date"])
    if {"mark", "completed_date"} <= set(c.columns):
        is_w = _is(c["mark"], "W")
        known = c["mark"].notna().to_numpy()
        no_date = c["completed_date"].isna().to_numpy()
        out.mask("course_records", ("mark", "completed_date"),
                 "completed_date is empty if and only if mark is W (withdrawn)", known & (is_w != no_date), c,
                 key + ["mark", "completed_date"])


def _course_credit_rules(c: pd.DataFrame, out: FailureCollector) -> None:
    if not {"credits_earned", "credits_attempted"} <= set(c.columns):
        return
    key = ["course_record_id"]
    e = c["credits_earned"].to_numpy(dtype="float64", na_value=np.nan)
    a = c["credits_attempted"].to_numpy(dtype="float64", na_value=np.nan)
    with np.errstate(invalid="ignore"):
        out.mask("course_records", ("credits_earned", "credits_attempted"),
                 "credits_earned must not exceed credits_attempted", e > a + _CREDIT_TOLERANCE, c,
                 key + ["credits_attempted", "credits_earned"])
        if "mark" in c.columns:
            passed = c["mark"].isin(_PASSING_MARKS).to_numpy()
            not_passed = c["mark"].isin(("F", "W")).to_numpy()
            bad = (passed & ~(np.abs(e - a) <= _CREDIT_TOLERANCE)) | (not_passed & ~(np.abs(e) <= _CREDIT_TOLERANCE))
            bad &= ~np.isnan(e) & ~np.isnan(a)
            out.mask("course_records", ("mark", "credits_earned", "credits_attempted"),
                     "credits_earned must equal credits_attempted if mark is A-D (passed) "
                     "and be 0 if mark is F or W", bad, c,
                     key + ["mark", "credits_attempted", "credits_earned"])


def _recovery_target_rules(c: pd.DataFrame, out: FailureCollector, show: list[str]) -> None:
    """The record a recovery attempt points at: an original F of the same student, not later."""
    pos = lookup(c, ("recovers_record_id",), c, ("course_record_id",))
    found = pos >= 0
    if "mark" in c.columns:
        tgt_ok = ((_take(c["attempt"], pos) == "original")
                  & (_take(c["mark"], pos) == _RECOVERY_TARGET_MARK)).fillna(False).to_numpy(dtype=bool)
        out.mask("course_records", "recovers_record_id",
                 "recovers_record_id must point at an original attempt with mark F",
                 found & ~tgt_ok, c, show)
    if "student_id" in c.columns:
        same = _eq(_take(c["student_id"], pos), c["student_id"])
        out.mask("course_records", ("recovers_record_id", "student_id"),
                 "recovers_record_id must point at an attempt of the same student",
                 found & ~same, c, show + ["student_id"])
    if "school_year" in c.columns:
        ty = _take(c["school_year"].astype("float64"), pos).to_numpy(dtype="float64", na_value=np.nan)
        y = c["school_year"].to_numpy(dtype="float64", na_value=np.nan)
        with np.errstate(invalid="ignore"):
            bad = found & (y < ty)
        out.mask("course_records", ("recovers_record_id", "school_year"),
                 "a recovery attempt must be in the same or a later school year "
                 "than the failed attempt it retakes", bad, c, show + ["school_year"])


def _recovery_link_rules(c: pd.DataFrame, out: FailureCollector) -> None:
    if not {"attempt", "recovers_record_id"} <= set(c.columns):
        return
    link = c["recovers_record_id"].notna().to_numpy()
    show = ["course_record_id", "attempt", "recovers_record_id"]
    out.mask("course_records", ("attempt", "recovers_record_id"),
             "a recovery attempt must name the failed attempt it retakes in recovers_record_id",
             _is(c["attempt"], "recovery") & ~link, c, show)
    out.mask("course_records", ("attempt", "recovers_record_id"),
             "an original attempt must have an empty recovers_record_id", _is(c["attempt"], "original") & link, c, show)
    if "course_record_id" in c.columns:
        _recovery_target_rules(c, out, show)


def _mentor_rules(c: pd.DataFrame, out: FailureCollector) -> None:
    if not {"delivery", "mentor_id"} <= set(c.columns):
        return
    has_m = c["mentor_id"].notna().to_numpy()
    show = ["course_record_id", "delivery", "mentor_id"]
    out.mask("course_records", ("delivery", "mentor_id"), "online attempts must have a mentor_id",
             _is(c["delivery"], "online") & ~has_m, c, show)
    out.mask("course_records", ("delivery", "mentor_id"),
             "classroom attempts must have an empty mentor_id", _is(c["delivery"], "classroom") & has_m, c, show)
    if {"program_model", "attempt"} <= set(c.columns):  # optional column: checked when present
        show = ["course_record_id", "attempt", "delivery", "program_model"]
        out.mask("course_records", ("delivery", "program_model"),
                 "only online recovery attempts have a program_model",
                 c["program_model"].notna().to_numpy() & ~(_is(c["delivery"], "online") & _is(c["attempt"], "recovery")),
                 c, show)


def _score_rules(e: pd.DataFrame, out: FailureCollector) -> None:
    if not {"event_type", "score"} <= set(e.columns):
        return
    sub = e["event_type"].isin(_SUBMISSIONS).to_numpy()
    known = e["event_type"].notna().to_numpy()
    has = e["score"].notna().to_numpy()
    show = ["event_id", "event_type", "score"]
    out.mask("platform_events", ("event_type", "score"),
             "quiz_submitted and test_submitted events must have a score", sub & ~has, e, show)
    out.mask("platform_events", ("event_type", "score"),
             "only quiz_submitted and test_submitted events have a score", known & ~sub & has, e, show)


def _event_course_rules(t: Tables, out: FailureCollector) -> None:
    """An event belongs to an online attempt of the same student."""
    if not (_has(t, "platform_events", "course_record_id") and _has(t, "course_records", "course_record_id")):
        return
    e, c = t["platform_events"], t["course_records"]
    pos = lookup(e, ("course_record_id",), c, ("course_record_id",))
    found = pos >= 0
    if "delivery" in c.columns:
        online = _is(_take(c["delivery"], pos), "online")
        out.mask("platform_events", "course_record_id",
                 "events must belong to an online course attempt (delivery = online)",
                 found & ~online, e, ["event_id", "course_record_id"])
    if "student_id" in c.columns and "student_id" in e.columns:
        same = _eq(_take(c["student_id"], pos), e["student_id"])
        out.mask("platform_events", ("student_id", "course_record_id"),
                 "an event's student_id must be the student of its course record",
                 found & ~same, e, ["event_id", "student_id", "course_record_id"])


def _assignment_rules(t: Tables, out: FailureCollector) -> None:
    """The randomization: a failed original attempt of the same student; both arms in every block; the draw on
    or before the recovery course."""
    a = t["assignments"]
    if {"block", "assigned_arm"} <= set(a.columns):
        arms = a.groupby("block", dropna=False)["assigned_arm"].transform("nunique")
        out.mask("assignments", ("block", "assigned_arm"),
                 "every randomization block must have both arms (online and classroom)",
                 (arms < 2).to_numpy() & a["block"].notna().to_numpy(), a, ["student_id", "block", "assigned_arm"])
    if not (_has(t, "assignments", "failed_record_id", "student_id") and _has(t, "course_records", "course_record_id")):
        return
    c = t["course_records"]
    pos = lookup(a, ("failed_record_id",), c, ("course_record_id",))
    found = pos >= 0
    if {"student_id", "attempt", "mark"} <= set(c.columns):
        ok = _eq(_take(c["student_id"], pos), a["student_id"]) & _is(_take(c["attempt"], pos), "original") \
            & _is(_take(c["mark"], pos), "F")
        out.mask("assignments", ("student_id", "failed_record_id"),
                 "failed_record_id must be a failed (mark F) original attempt of the same student",
                 found & ~ok, a, ["student_id", "failed_record_id"])
    if {"recovers_record_id", "enrolled_date"} <= set(c.columns) and "assignment_date" in a.columns:
        first = c.loc[c["recovers_record_id"].notna()].groupby("recovers_record_id")["enrolled_date"].min()
        enrolled = pd.to_datetime(a["failed_record_id"].map(first))
        late = (pd.to_datetime(a["assignment_date"]) > enrolled).fillna(False).to_numpy(dtype=bool)
        out.mask("assignments", ("assignment_date",),
                 "assignment_date must be on or before the enrolment in the recovery course it assigns",
                 late, a.assign(recovery_enrolled_date=enrolled.dt.date),
                 ["student_id", "failed_record_id", "assignment_date", "recovery_enrolled_date"])


def check_cross_field_rules(tables: Tables, out: FailureCollector) -> None:
    """The contract's cross-field rules (``docs/data-contract.md``, "Cross-field rules")."""
    _attendance_rule(tables, out)
    if "course_records" in tables:
        c = tables["course_records"]
        _course_date_rules(c, out)
        _course_credit_rules(c, out)
        _recovery_link_rules(c, out)
        _mentor_rules(c, out)
    if "platform_events" in tables:
        _score_rules(tables["platform_events"], out)
        _event_course_rules(tables, out)
    if "assignments" in tables:
        _assignment_rules(tables, out)
