"""Tests for credit_recovery.engagement.sessions and .features.

The module keeps a plain pandas reference implementation of the session and
feature definitions (``reference_sessionize``, ``reference_features``); the
DuckDB implementation must give identical sessions on hypothesis-generated
logs. ``bench/bench_engagement.py`` reuses the reference as its pandas
baseline.
"""
from __future__ import annotations

import datetime as dt
import inspect

import numpy as np
import pandas as pd
import pytest

EVENT_CODES = {"login": 0, "logout": 1, "click": 2, "activity_completed": 3, "quiz_submitted": 4,
               "test_submitted": 5}
US_PER_MIN = 60_000_000


# --------------------------------------------------------------------------------------------
# pandas reference implementation (independent of the SQL)
# --------------------------------------------------------------------------------------------
def _in_school_day(ts_utc: pd.Series, timezone, start, end, weekdays, holidays) -> pd.Series:
    local = ts_utc.dt.tz_convert(timezone)
    tod = local.dt.hour * 60 + local.dt.minute + local.dt.second / 60 + local.dt.microsecond / 6e7
    h0, m0 = map(int, start.split(":"))
    h1, m1 = map(int, end.split(":"))
    ok = local.dt.day_of_week.isin(list(weekdays)) & (tod >= h0 * 60 + m0) & (tod < h1 * 60 + m1)
    if holidays:
        hol = {pd.Timestamp(h).date() for h in holidays}
        ok &= ~local.dt.date.isin(hol)
    return ok.astype(bool)


def reference_sessionize(events: pd.DataFrame, *, session_gap_minutes=30, idle_threshold_minutes=5,
                         timezone="America/Chicago", school_day_start="07:30", school_day_end="15:30",
                         weekdays=(0, 1, 2, 3, 4), holidays=(), pass_mark=60,
                         deduplicate="event_id") -> pd.DataFrame:
    """Sessions by the documented definitions, in plain pandas."""
    ev = pd.DataFrame({
        "student_id": events["student_id"].astype(str),
        "course_record_id": events["course_record_id"].astype(str),
        "event_id": events["event_id"].astype("int64"),
        "ts": pd.to_datetime(events["timestamp"], utc=True).dt.as_unit("us"),
        "event_type": events["event_type"].astype(str),
        "score": events["score"].astype("float64"),
    })
    has_sy = "school_year" in events.columns
    if has_sy:
        ev["school_year"] = events["school_year"].astype("int64").to_numpy()
    ev["t"] = ev["ts"].astype("int64")
    ev["code"] = ev["event_type"].map(EVENT_CODES).fillna(6).astype(int)
    # duplicates: rows sharing an event_id -> keep the earliest (then type, score, student-course);
    # 'exact': only copies with the same student-course, event_id and time
    ev = ev.sort_values(["event_id", "t", "code", "score", "student_id", "course_record_id"],
                        na_position="last", kind="mergesort")
    if deduplicate == "event_id":
        ev = ev.drop_duplicates("event_id", keep="first")
    else:
        ev = ev.drop_duplicates(["student_id", "course_record_id", "event_id", "t"], keep="first")
    ev = ev.sort_values(["student_id", "course_record_id", "t", "event_id"], kind="mergesort")
    key = [ev["student_id"], ev["course_record_id"]]
    g = ev.groupby(key, sort=False)
    gap = ev["t"] - g["t"].shift(1)
    prev = g["event_type"].shift(1)
    new = gap.isna() | (ev["event_type"] == "login") | (prev == "logout") | (gap > session_gap_minutes * US_PER_MIN)
    ev["session_number"] = new.astype(int).groupby(key).cumsum()
    idle_us = idle_threshold_minutes * US_PER_MIN
    gap0 = gap.where(~new, 0).astype("int64")
    ev["active_us"] = np.minimum(gap0, idle_us)
    ev["idle_us"] = np.maximum(gap0 - idle_us, 0)
    ev["is_activity"] = ev["event_type"] == "activity_completed"
    ev["is_quiz"] = ev["event_type"] == "quiz_submitted"
    ev["is_test"] = ev["event_type"] == "test_submitted"
    ev["is_passed"] = ev["is_test"] & (ev["score"] >= pass_mark)
    keys = ["student_id", "course_record_id", "session_number"]
    agg = {"t0": ("t", "min"), "t1": ("t", "max"), "n_events": ("t", "size"),
           "active_us": ("active_us", "sum"), "idle_us": ("idle_us", "sum"),
           "activities": ("is_activity", "sum"), "quizzes": ("is_quiz", "sum"), "tests": ("is_test", "sum"),
           "tests_passed": ("is_passed", "sum")}
    s = ev.groupby(keys, sort=True).agg(**agg).reset_index()
    out = s[["student_id", "course_record_id"]].copy()
    if has_sy:
        sy = ev.groupby(["student_id", "course_record_id"])["school_year"].min()
        out["school_year"] = sy.reindex(pd.MultiIndex.from_frame(s[["student_id", "course_record_id"]])).to_numpy()
    out["session_number"] = s["session_number"].astype("int64")
    out["start"] = pd.to_datetime(s["t0"], unit="us", utc=True)
    out["end"] = pd.to_datetime(s["t1"], unit="us", utc=True)
    out["n_events"] = s["n_events"].astype("int64")
    out["span_minutes"] = (s["t1"] - s["t0"]) / US_PER_MIN
    out["active_minutes"] = s["active_us"] / US_PER_MIN
    out["idle_minutes"] = s["idle_us"] / US_PER_MIN
    for c in ("activities", "quizzes", "tests", "tests_passed"):
        out[c] = s[c].astype("int64")
    out["in_school_day"] = _in_school_day(out["start"], timezone, school_day_start, school_day_end,
                                          weekdays, holidays or ()).to_numpy()
    return out.reset_index(drop=True)


def reference_features(sessions: pd.DataFrame, course_records: pd.DataFrame | None = None,
                       timezone="America/Chicago") -> pd.DataFrame:
    """Student-course features by the documented definitions, in plain pandas."""
    s = sessions.copy()
    s["d0"] = s["start"].dt.tz_convert(timezone).dt.date
    s["d1"] = s["end"].dt.tz_convert(timezone).dt.date
    rows = []
    for (sid, cid), grp in s.groupby(["student_id", "course_record_id"], sort=True):
        dates = set()
        for d0, d1 in zip(grp["d0"], grp["d1"]):
            d = d0
            while d <= d1:
                dates.add(d)
                d += dt.timedelta(days=1)
        span = grp["span_minutes"].sum()
        active = grp["active_minutes"].sum()
        idle = grp["idle_minutes"].sum()
        acts = int(grp["activities"].sum())
        row = {"student_id": sid, "course_record_id": cid}
        if "school_year" in s.columns:
            row["school_year"] = int(grp["school_year"].iloc[0])
        row.update({
            "n_sessions": len(grp), "n_events": int(grp["n_events"].sum()),
            "total_span_minutes": span, "total_active_minutes": active, "total_idle_minutes": idle,
            "idle_share": idle / span if span > 0 else 0.0,
            "activities": acts, "active_days": len(dates),
            "activities_per_day": acts / len(dates),
            "minutes_per_activity": span / acts if acts > 0 else np.nan,
            "activities_per_active_hour": acts / (active / 60) if active > 0 else np.nan,
            "share_outside_school_day": float((~grp["in_school_day"]).mean()),
            "days_to_completion": float((max(grp["d1"]) - min(grp["d0"])).days),
            "quizzes": int(grp["quizzes"].sum()), "tests_attempted": int(grp["tests"].sum()),
            "tests_passed": int(grp["tests_passed"].sum()),
        })
        rows.append(row)
    out = pd.DataFrame(rows)
    if course_records is not None:
        cr = course_records.set_index("course_record_id")
        ids = out["course_record_id"]
        if "school_year" not in out.columns:
            out.insert(2, "school_year", cr["school_year"].reindex(ids).to_numpy())
        out.insert(list(out.columns).index("n_sessions"), "subject", cr["subject"].reindex(ids).astype(str).to_numpy())
        enr = pd.to_datetime(cr["enrolled_date"].reindex(ids)).to_numpy()
        com = pd.to_datetime(cr["completed_date"].reindex(ids)).to_numpy()
        out["days_to_completion"] = (com - enr) / np.timedelta64(1, "D")
    return out


def assert_sessions_equal(a: pd.DataFrame, b: pd.DataFrame) -> None:
    """Identical sessions: same rows, keys, counts and times; minutes equal to 1e-9."""
    assert list(a.columns) == list(b.columns), (list(a.columns), list(b.columns))
    assert len(a) == len(b)
    a = a.reset_index(drop=True)
    b = b.reset_index(drop=True)
    for c in a.columns:
        if c.endswith("_minutes"):
            np.testing.assert_allclose(a[c].to_numpy(float), b[c].to_numpy(float), rtol=0, atol=1e-9, err_msg=c)
        elif c in ("start", "end"):
            assert (pd.to_datetime(a[c], utc=True) == pd.to_datetime(b[c], utc=True)).all(), c
        else:
            assert a[c].astype(str).tolist() == b[c].astype(str).tolist(), c


def assert_features_equal(a: pd.DataFrame, b: pd.DataFrame) -> None:
    assert list(a.columns) == list(b.columns), (list(a.columns), list(b.columns))
    assert len(a) == len(b)
    for c in a.columns:
        x, y = a[c].reset_index(drop=True), b[c].reset_index(drop=True)
        if pd.api.types.is_float_dtype(x) or pd.api.types.is_float_dtype(y):
            np.testing.assert_allclose(x.to_numpy(float), y.to_numpy(float), rtol=1e-10, atol=1e-9, err_msg=c)
        else:
            assert x.astype(str).tolist() == y.astype(str).tolist(), c


# --------------------------------------------------------------------------------------------
# tests
# --------------------------------------------------------------------------------------------
from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

from credit_recovery import engagement_features, sessionize  # noqa: E402
from credit_recovery.engagement.features import FEATURE_COLUMNS, features_sql  # noqa: E402
from credit_recovery.engagement.options import EngagementConfig  # noqa: E402
from credit_recovery.engagement.sessions import SESSION_COLUMNS, sessions_sql  # noqa: E402
from credit_recovery.shared.config import defaults  # noqa: E402

import duckdb  # noqa: E402

CON = duckdb.connect()  # one connection for the many small hypothesis cases (a new one costs ~0.1 s)
TYPES = list(EVENT_CODES)
# bases near DST changes (US 2014: 9 March, 2 November) and at local midnight / school-day edges
BASES = [pd.Timestamp(x) for x in ("2014-03-09T07:40:00Z", "2014-11-02T05:50:00Z", "2014-03-10T12:20:00Z",
                                   "2014-11-03T21:00:00Z", "2014-01-06T05:55:00Z")]


@st.composite
def event_logs(draw, max_events=40):
    """Small logs with ties, gaps around the thresholds, duplicates and shuffled rows."""
    n_sc = draw(st.integers(1, 3))
    base = draw(st.sampled_from(BASES))
    n = draw(st.integers(1, max_events))
    # gaps in seconds, from tiny to beyond the 30-minute session gap (and exactly 5 and 30 minutes)
    gaps = draw(st.lists(st.one_of(st.integers(0, 400), st.sampled_from([300, 1800, 1801, 299]),
                                   st.integers(1700, 20000)), min_size=n, max_size=n))
    sc = draw(st.lists(st.integers(0, n_sc - 1), min_size=n, max_size=n))
    types = draw(st.lists(st.sampled_from(TYPES + ["click", "click"]), min_size=n, max_size=n))
    scores = draw(st.lists(st.sampled_from([0.0, 59.9, 60.0, 85.0, 100.0]), min_size=n, max_size=n))
    micro = draw(st.lists(st.sampled_from([0, 0, 1, 999_999]), min_size=n, max_size=n))
    t = {}
    rows = []
    for i in range(n):
        k = sc[i]
        t[k] = t.get(k, base) + pd.Timedelta(seconds=gaps[i], microseconds=micro[i])
        typ = types[i]
        rows.append({"event_id": 1000 + i * 7 % (7 * n + 1), "student_id": f"s{k % 2}", "course_record_id": f"c{k}",
                     "timestamp": t[k], "event_type": typ,
                     "score": scores[i] if typ in ("quiz_submitted", "test_submitted") else np.nan})
    df = pd.DataFrame(rows)
    df["event_id"] = np.arange(len(df)) * 3 + 11  # unique ids
    # exact duplicates
    dup = draw(st.lists(st.integers(0, n - 1), max_size=4))
    df = pd.concat([df, df.iloc[dup]], ignore_index=True)
    # a same-id row at a later time (a re-sent event with a wrong clock): the earliest wins
    if draw(st.booleans()):
        j = draw(st.integers(0, n - 1))
        extra = df.iloc[[j]].copy()
        extra["timestamp"] = extra["timestamp"] + pd.Timedelta(minutes=draw(st.integers(0, 90)))
        df = pd.concat([df, extra], ignore_index=True)
    perm = draw(st.permutations(list(range(len(df)))))
    df = df.iloc[list(perm)].reset_index(drop=True)
    df["timestamp"] = pd.to_datetime(df["timestamp"], utc=True).dt.as_unit("us")
    return df


PARAMS = st.fixed_dictionaries({
    "session_gap_minutes": st.sampled_from([30, 10, 45.5]),
    "idle_threshold_minutes": st.sampled_from([5, 0, 2.5, 10]),
    "timezone": st.sampled_from(["America/Chicago", "America/New_York", "UTC", "Asia/Kolkata"]),
    "school_day_start": st.sampled_from(["07:30", "00:00"]),
    "school_day_end": st.sampled_from(["15:30", "23:59"]),
    "holidays": st.sampled_from([(), ("2014-03-10",), ("2014-11-03", "2014-01-06")]),
    "deduplicate": st.sampled_from(["event_id", "exact"]),
})


@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(events=event_logs(), params=PARAMS)
def test_sessions_match_pandas_reference(events, params):
    got = sessionize(events, con=CON, **params)
    want = reference_sessionize(events, **params)
    assert list(got.columns) == [c for c in SESSION_COLUMNS if c != "school_year"]
    assert_sessions_equal(got, want)
    # properties
    assert (got[["span_minutes", "active_minutes", "idle_minutes"]] >= 0).all().all()
    np.testing.assert_allclose(got["active_minutes"] + got["idle_minutes"], got["span_minutes"], atol=1e-9)
    if params["deduplicate"] == "event_id":
        assert got["n_events"].sum() == events["event_id"].nunique()
    else:
        assert got["n_events"].sum() == len(events.drop_duplicates(
            ["student_id", "course_record_id", "event_id", "timestamp"]))
    assert (got["idle_minutes"] <= got["span_minutes"]).all()
    assert (got["active_minutes"] <= got["n_events"].clip(lower=1).sub(1) * params["idle_threshold_minutes"] + 1e-9).all()
    # row order and duplicated rows do not matter
    again = sessionize(events.iloc[::-1].reset_index(drop=True), con=CON, **params)
    assert_sessions_equal(got, again)


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(events=event_logs())
def test_features_match_pandas_reference(events):
    sessions = sessionize(events, con=CON)
    got = engagement_features(sessions, con=CON)
    want = reference_features(sessions)
    assert list(got.columns) == [c for c in FEATURE_COLUMNS if c not in ("school_year", "subject")]
    assert_features_equal(got, want)
    assert (got["idle_share"].between(0, 1)).all()
    assert got["n_sessions"].sum() == len(sessions)


def _ev(rows, sc=("s1", "c1")):
    rows = [tuple(r) + (np.nan,) * (4 - len(r)) for r in rows]
    df = pd.DataFrame(rows, columns=["event_id", "timestamp", "event_type", "score"])
    df["score"] = df["score"].astype("float64")
    df["student_id"], df["course_record_id"] = sc
    df["timestamp"] = pd.to_datetime(df["timestamp"], utc=True)
    return df


def test_worked_example_by_hand():
    ev = _ev([
        (1, "2014-10-06T14:00:00Z", "login"),
        (2, "2014-10-06T14:02:00Z", "click"),            # gap 2: active 2
        (3, "2014-10-06T14:12:00Z", "activity_completed"),  # gap 10: active 5, idle 5
        (4, "2014-10-06T14:40:00Z", "click"),            # gap 28 (< 30): active 5, idle 23
        (5, "2014-10-06T14:41:00Z", "logout"),           # gap 1
        (6, "2014-10-06T14:42:00Z", "click"),            # after logout: new session
        (7, "2014-10-06T15:12:00Z", "click"),            # gap exactly 30: same session
        (8, "2014-10-06T15:42:01Z", "click"),            # gap 30m01s: new session
        (9, "2014-10-06T15:43:00Z", "login"),            # login: new session
        (10, "2014-10-06T15:44:00Z", "test_submitted", 60.0),
        (11, "2014-10-06T15:45:00Z", "test_submitted", 59.0),
    ])
    s = sessionize(ev)
    assert s["session_number"].tolist() == [1, 2, 3, 4]
    assert s["n_events"].tolist() == [5, 2, 1, 3]
    assert s["span_minutes"].tolist() == [41, 30, 0, 2]
    assert s["active_minutes"].tolist() == [2 + 5 + 5 + 1, 5, 0, 2]
    assert s["idle_minutes"].tolist() == [5 + 23, 25, 0, 0]
    assert s["activities"].tolist() == [1, 0, 0, 0]
    assert s["tests"].tolist() == [0, 0, 0, 2]
    assert s["tests_passed"].tolist() == [0, 0, 0, 1]
    # 14:00Z = 09:00 CDT (Monday): in the school day; 15:43Z = 10:43 CDT
    assert s["in_school_day"].all()
    f = engagement_features(s)
    assert f["n_sessions"].item() == 4
    assert f["idle_share"].item() == pytest.approx(53 / 73)
    assert f["active_days"].item() == 1
    assert f["minutes_per_activity"].item() == pytest.approx(73.0)
    assert f["activities_per_active_hour"].item() == pytest.approx(1 / (20 / 60))
    assert f["share_outside_school_day"].item() == 0.0
    assert f["tests_attempted"].item() == 2 and f["tests_passed"].item() == 1


def test_single_event_is_one_zero_length_session():
    s = sessionize(_ev([(5, "2014-10-06T14:00:00Z", "click")]))
    assert len(s) == 1
    assert s.loc[0, ["n_events", "span_minutes", "active_minutes", "idle_minutes"]].tolist() == [1, 0, 0, 0]
    f = engagement_features(s)
    assert f["idle_share"].item() == 0.0
    assert np.isnan(f["minutes_per_activity"].item())
    assert np.isnan(f["activities_per_active_hour"].item())
    assert f["active_days"].item() == 1 and f["days_to_completion"].item() == 0.0


def test_duplicates_and_out_of_order_rows_are_handled():
    rows = [(1, "2014-10-06T14:00:00Z", "login"), (2, "2014-10-06T14:03:00Z", "click"),
            (3, "2014-10-06T14:03:00Z", "click"), (4, "2014-10-06T14:50:00Z", "click")]
    clean = sessionize(_ev(rows))
    messy = _ev([rows[3], rows[1], rows[0], rows[1], rows[2], rows[0]])
    assert_sessions_equal(sessionize(messy), clean)
    # a same-id row with a later timestamp is dropped: the earliest copy of an event is kept
    late_copy = _ev(rows + [(2, "2014-10-06T15:00:00Z", "click")])
    assert_sessions_equal(sessionize(late_copy), clean)
    # same timestamp, different ids: both kept, ordered by event_id (zero gap)
    assert clean["n_events"].tolist() == [3, 1]


# hand-checked school-day cases across DST and time zones (US DST 2014: 9 March and 2 November)
SCHOOL_DAY_CASES = [
    # (UTC timestamp, time zone, expected, why)
    ("2014-03-07T13:30:00Z", "America/Chicago", True, "Fri 07:30 CST (UTC-6), start inclusive"),
    ("2014-03-07T13:29:59Z", "America/Chicago", False, "Fri 07:29:59 CST"),
    ("2014-03-10T12:30:00Z", "America/Chicago", True, "Mon 07:30 CDT (UTC-5) after spring forward"),
    ("2014-03-10T12:29:00Z", "America/Chicago", False, "Mon 07:29 CDT"),
    ("2014-03-10T20:29:00Z", "America/Chicago", True, "Mon 15:29 CDT"),
    ("2014-03-10T20:30:00Z", "America/Chicago", False, "Mon 15:30 CDT, end exclusive"),
    ("2014-11-03T21:29:00Z", "America/Chicago", True, "Mon 15:29 CST after fall back"),
    ("2014-11-03T21:30:00Z", "America/Chicago", False, "Mon 15:30 CST"),
    ("2014-10-31T20:30:00Z", "America/Chicago", False, "Fri 15:30 CDT (would be 14:30 in CST)"),
    ("2014-03-08T15:00:00Z", "America/Chicago", False, "Saturday"),
    ("2014-03-10T11:30:00Z", "America/New_York", True, "Mon 07:30 EDT"),
    ("2014-03-10T11:30:00Z", "America/Chicago", False, "Mon 06:30 CDT"),
    ("2014-03-10T04:00:00Z", "Asia/Tokyo", True, "Mon 13:00 JST"),
    ("2014-03-10T04:00:00Z", "America/Los_Angeles", False, "Sun 21:00 PDT"),
]


@pytest.mark.parametrize("ts,tz,expected,why", SCHOOL_DAY_CASES)
def test_school_day_by_hand(ts, tz, expected, why):
    s = sessionize(_ev([(1, ts, "login")]), timezone=tz)
    assert bool(s["in_school_day"].item()) is expected, why


def test_school_day_uses_local_date_for_weekday_and_holidays():
    # 2014-03-08T01:00Z is Saturday in UTC but Friday 19:00 in Chicago
    ev = _ev([(1, "2014-03-08T01:00:00Z", "login")])
    assert sessionize(ev, school_day_start="18:00", school_day_end="20:00")["in_school_day"].item()
    assert not sessionize(ev, school_day_start="18:00", school_day_end="20:00",
                          holidays=["2014-03-07"])["in_school_day"].item()
    assert sessionize(ev, school_day_start="18:00", school_day_end="20:00",
                      holidays=pd.DataFrame({"date": ["2014-03-08"]}))["in_school_day"].item()
    assert not sessionize(ev, school_day_start="18:00", school_day_end="20:00", weekdays=(0, 1, 2, 3))[
        "in_school_day"].item()


def test_input_time_zone_and_container_do_not_matter():
    import duckdb
    import pyarrow as pa

    ev = _ev([(1, "2014-03-09T07:55:00Z", "login"), (2, "2014-03-09T08:10:00Z", "click"),
              (3, "2014-03-09T09:00:00Z", "activity_completed")])
    want = sessionize(ev)
    local = ev.assign(timestamp=ev["timestamp"].dt.tz_convert("America/Chicago"))
    assert_sessions_equal(sessionize(local), want)
    assert_sessions_equal(sessionize(pa.Table.from_pandas(ev)), want)
    assert_sessions_equal(sessionize(ev, output="arrow").to_pandas(), want)
    con = duckdb.connect()
    con.register("my_events", ev)
    assert_sessions_equal(sessionize("my_events", con=con), want)
    assert_sessions_equal(sessionize(con.sql("SELECT * FROM my_events"), con=con), want)


def test_active_days_count_local_dates_across_midnight():
    # 04:50Z-05:10Z on 6 Jan is 22:50-23:10 CST: one local date, although UTC changes date
    # 05:50Z-06:10Z on 7 Jan is 23:50-00:10 CST: two local dates
    ev = _ev([(1, "2014-01-06T04:50:00Z", "click"), (2, "2014-01-06T05:10:00Z", "click"),
              (3, "2014-01-07T05:50:00Z", "login"), (4, "2014-01-07T06:10:00Z", "activity_completed")])
    f = engagement_features(sessionize(ev))
    assert f["active_days"].item() == 3
    assert f["days_to_completion"].item() == 2.0
    assert f["activities_per_day"].item() == pytest.approx(1 / 3)


def test_school_year_from_events_or_course_records():
    ev = _ev([(1, "2014-10-06T14:00:00Z", "login"), (2, "2014-10-06T14:05:00Z", "activity_completed")])
    cr = pd.DataFrame({"course_record_id": ["c1"], "school_year": [2015], "subject": ["math"],
                       "enrolled_date": ["2014-09-02"], "completed_date": ["2014-12-19"]})
    s1 = sessionize(ev, course_records=cr)
    s2 = sessionize(ev.assign(school_year=2015))
    assert list(s1.columns) == list(SESSION_COLUMNS)
    assert_sessions_equal(s1, s2)
    f = engagement_features(s1, cr)
    assert list(f.columns) == list(FEATURE_COLUMNS)
    assert f["days_to_completion"].item() == 108.0
    assert f["subject"].item() == "math" and f["school_year"].item() == 2015
    want = reference_features(s1.drop(columns="school_year"), cr)
    assert_features_equal(f, want)
    withdrawn = cr.assign(completed_date=[None])
    assert np.isnan(engagement_features(s1, withdrawn)["days_to_completion"].item())


def test_sql_builders_are_usable_directly():
    ev = _ev([(1, "2014-10-06T14:00:00Z", "login"), (2, "2014-10-06T14:05:00Z", "click")])
    con = duckdb.connect()
    con.execute("SET TimeZone = 'UTC'")
    con.register("events", ev)
    con.execute(f"CREATE TABLE sessions AS {sessions_sql('events')}")
    feats = con.sql(features_sql("sessions")).df()
    assert feats["n_sessions"].item() == 1 and feats["total_span_minutes"].item() == 5.0


@pytest.mark.parametrize("kwargs,match", [
    ({"output": "polars"}, r"output='polars' is not allowed; allowed values are \['pandas', 'arrow', 'relation'\]"),
    ({"session_gap_minutes": 0}, "session_gap_minutes"),
    ({"session_gap_minutes": 2000}, "session_gap_minutes"),
    ({"idle_threshold_minutes": 31}, "idle_threshold_minutes"),
    ({"timezone": "Mars/Olympus"}, "IANA"),
    ({"school_day_start": "7:30"}, "HH:MM"),
    ({"school_day_start": "16:00"}, "before"),
    ({"weekdays": (7,)}, "weekdays"),
    ({"memory_limit": "lots"}, "memory_limit"),
])
def test_invalid_options_are_rejected(kwargs, match):
    ev = _ev([(1, "2014-10-06T14:00:00Z", "login")])
    with pytest.raises(ValueError, match=match):
        sessionize(ev, **kwargs)


def test_missing_columns_are_reported():
    with pytest.raises(ValueError, match="score"):
        sessionize(_ev([(1, "2014-10-06T14:00:00Z", "login")]).drop(columns="score"))
    with pytest.raises(ValueError, match="sessionize"):
        engagement_features(pd.DataFrame({"student_id": ["a"]}))


def test_session_defaults_are_the_config_schema_defaults():
    """One copy of each default: sessionize, the SQL builders and EngagementConfig take the schema's."""
    schema = defaults("engagement")
    params = inspect.signature(sessionize).parameters
    cfg = EngagementConfig()
    for key in ("session_gap_minutes", "idle_threshold_minutes", "timezone", "school_day_start", "school_day_end",
                "pass_mark"):
        assert params[key].default == schema[key], key
        assert getattr(cfg, key) == schema[key], key
    assert inspect.signature(engagement_features).parameters["timezone"].default == schema["timezone"]
    assert inspect.signature(features_sql).parameters["timezone"].default == schema["timezone"]
    assert sessions_sql("events") == sessions_sql("events", EngagementConfig(**{
        k: schema[k] for k in ("session_gap_minutes", "idle_threshold_minutes", "timezone", "pass_mark")}))


def test_config_is_validated_in_one_place():
    cfg = EngagementConfig(weekdays=(4, 0, 0), holidays=["2014-01-01", "2014-01-01"])
    assert cfg.weekdays == (0, 4) and cfg.holidays == (dt.date(2014, 1, 1),)


@settings(max_examples=10, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(events=event_logs(max_events=25), years=st.lists(st.sampled_from([2014, 2015, 2016]), min_size=3, max_size=3))
def test_by_school_year_gives_the_same_sessions(events, years):
    sy = events["course_record_id"].map({"c0": years[0], "c1": years[1], "c2": years[2]})
    ev = events.assign(school_year=sy.astype("int64"))
    one = sessionize(ev, con=CON, by_school_year=False)
    per_year = sessionize(ev, con=CON, by_school_year=True)
    assert list(per_year.columns) == list(SESSION_COLUMNS)
    assert_sessions_equal(per_year, one)
    assert_sessions_equal(per_year, reference_sessionize(ev))
    assert_sessions_equal(sessionize(ev, con=CON, output="arrow").to_pandas(), one)


def test_empty_log_gives_empty_tables():
    ev = _ev([(1, "2014-10-06T14:00:00Z", "login")]).iloc[:0]
    s = sessionize(ev)
    assert len(s) == 0 and list(s.columns) == [c for c in SESSION_COLUMNS if c != "school_year"]
    assert len(engagement_features(s)) == 0
