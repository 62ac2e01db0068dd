"""Engagement analytics from online-platform event logs.

Turns the raw ``platform_events`` table (one row per click, log-in, quiz...)
into sessions (:func:`sessionize`) and sessions into one row of engagement
features per student-course (:func:`engagement_features`).

Both functions run as DuckDB SQL (window functions and aggregates), so they
work out of core: the input can be a pandas DataFrame, a pyarrow Table or
Dataset, a DuckDB relation or the name of a table/view in a DuckDB
connection. The SQL itself is available from :func:`sessions_sql` and
:func:`features_sql`, so a pipeline script can stream a parquet dataset
through it (``read_parquet('events/*/*.parquet', hive_partitioning=true)``)
and write parquet without materialising anything in Python. No function in
this module reads or writes files.

The definitions are stated in ``docs/methods.md`` ("Sessions, active and
idle time").
"""
from __future__ import annotations

import datetime as _dt
import itertools
import re
import zoneinfo
from dataclasses import dataclass
from typing import Any, Iterable, Sequence

import duckdb
import numpy as np
import pandas as pd
import pyarrow as pa

__all__ = [
    "EngagementConfig",
    "SESSION_COLUMNS",
    "FEATURE_COLUMNS",
    "sessionize",
    "sessions_sql",
    "engagement_features",
    "features_sql",
]

#: Columns of the session table, in order (``school_year`` only when known).
SESSION_COLUMNS: tuple[str, ...] = (
    "student_id",
    "course_record_id",
    "school_year",
    "session_number",
    "start",
    "end",
    "n_events",
    "span_minutes",
    "active_minutes",
    "idle_minutes",
    "activities",
    "quizzes",
    "tests",
    "tests_passed",
    "in_school_day",
)

#: Columns of the student-course feature table, in order (``school_year`` and
#: ``subject`` only when known).
FEATURE_COLUMNS: tuple[str, ...] = (
    "student_id",
    "course_record_id",
    "school_year",
    "subject",
    "n_sessions",
    "n_events",
    "total_span_minutes",
    "total_active_minutes",
    "total_idle_minutes",
    "idle_share",
    "activities",
    "active_days",
    "activities_per_day",
    "minutes_per_activity",
    "activities_per_active_hour",
    "share_outside_school_day",
    "days_to_completion",
    "quizzes",
    "tests_attempted",
    "tests_passed",
)

_OUTPUTS = ("pandas", "arrow", "relation")
#: Event types in code order (other values get the next code and count only as events).
_EVENT_CODES = ("login", "logout", "click", "activity_completed", "quiz_submitted", "test_submitted")
_DEDUP = ("event_id", "exact")
_DEDUP_SQL = {
    "event_id": """dup_ids AS (SELECT event_id FROM raw GROUP BY event_id HAVING count(*) > 1),
ev1 AS (  -- rows sharing an event_id are one event: keep the earliest (then by type, score, key)
    SELECT * FROM ev ANTI JOIN dup_ids USING (event_id)
    UNION ALL
    SELECT k, event_id, t, et, score FROM (SELECT * FROM ev SEMI JOIN dup_ids USING (event_id))
    QUALIFY row_number() OVER (PARTITION BY event_id ORDER BY t, et, score NULLS LAST, k) = 1
),""",
    "exact": "ev1 AS (SELECT * FROM ev),",
}
_HHMM = re.compile(r"^([01]\d|2[0-3]):([0-5]\d)$")
_US_PER_MIN = 60_000_000


def _check_choice(name: str, value: Any, allowed: Sequence[Any]) -> None:
    if value not in allowed:
        raise ValueError(f"{name}={value!r} is not allowed; choose one of {list(allowed)}")


def _parse_hhmm(name: str, value: str) -> _dt.time:
    m = _HHMM.match(str(value))
    if not m:
        raise ValueError(f"{name}={value!r} must be a 24-hour time 'HH:MM', e.g. '07:30'")
    return _dt.time(int(m.group(1)), int(m.group(2)))


def _holiday_dates(holidays: Any) -> tuple[_dt.date, ...]:
    if holidays is None:
        return ()
    if isinstance(holidays, pd.DataFrame):
        if "date" not in holidays.columns:
            raise ValueError("holidays DataFrame must have a 'date' column (the calendar table)")
        values = holidays["date"]
    else:
        values = holidays
    out = set()
    for v in pd.to_datetime(pd.Series(list(values)), errors="raise"):
        out.add(v.date())
    return tuple(sorted(out))


@dataclass(frozen=True)
class EngagementConfig:
    """Validated parameters of the session and school-day definitions.

    Every string option is checked here, in one place; see :func:`sessionize`
    for the meaning of each field.
    """

    session_gap_minutes: float = 30
    idle_threshold_minutes: float = 5
    timezone: str = "America/Chicago"
    school_day_start: str = "07:30"
    school_day_end: str = "15:30"
    weekdays: tuple[int, ...] = (0, 1, 2, 3, 4)
    holidays: tuple[_dt.date, ...] = ()
    pass_mark: float = 60

    def __post_init__(self) -> None:
        gap = float(self.session_gap_minutes)
        if not (0 < gap < 23 * 60):
            raise ValueError(
                f"session_gap_minutes={self.session_gap_minutes!r} must be > 0 and < 1380 (23 hours)"
            )
        idle = float(self.idle_threshold_minutes)
        if not (0 <= idle <= gap):
            raise ValueError(
                f"idle_threshold_minutes={self.idle_threshold_minutes!r} must be between 0 and "
                f"session_gap_minutes ({gap})"
            )
        try:
            zoneinfo.ZoneInfo(str(self.timezone))
        except (zoneinfo.ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f"timezone={self.timezone!r} is not an IANA time zone name, e.g. 'America/Chicago'") from exc
        start = _parse_hhmm("school_day_start", self.school_day_start)
        end = _parse_hhmm("school_day_end", self.school_day_end)
        if not start < end:
            raise ValueError(f"school_day_start ({self.school_day_start}) must be before school_day_end ({self.school_day_end})")
        wd = tuple(sorted({int(d) for d in self.weekdays}))
        if not wd or any(d < 0 or d > 6 for d in wd):
            raise ValueError(f"weekdays={self.weekdays!r} must be a non-empty set of integers 0 (Monday) to 6 (Sunday)")
        object.__setattr__(self, "weekdays", wd)
        object.__setattr__(self, "holidays", _holiday_dates(self.holidays))
        if not np.isfinite(float(self.pass_mark)):
            raise ValueError(f"pass_mark={self.pass_mark!r} must be a finite number")

    @property
    def gap_us(self) -> int:
        return int(round(float(self.session_gap_minutes) * _US_PER_MIN))

    @property
    def idle_us(self) -> int:
        return int(round(float(self.idle_threshold_minutes) * _US_PER_MIN))


def _connect(con: duckdb.DuckDBPyConnection | None, threads: int | None, memory_limit: str | None,
             temp_directory: str | None = None) -> duckdb.DuckDBPyConnection:
    if con is None:
        con = duckdb.connect()
    con.execute("SET TimeZone = 'UTC'")
    # DuckDB turns an ASOF join with a small estimated left side into a nested-loop join; the
    # estimate after our filters can be far too small (35 M-row blow-up seen on one school year)
    con.execute("SET asof_loop_join_threshold = 0")
    if threads is not None:
        con.execute(f"SET threads = {int(threads)}")
    if memory_limit is not None:
        if not re.match(r"^\s*\d+(\.\d+)?\s*[KMGT]?i?B\s*$", str(memory_limit), re.I):
            raise ValueError(f"memory_limit={memory_limit!r} must look like '3GB' or '512MB'")
        con.execute(f"SET memory_limit = '{memory_limit}'")
    if temp_directory is not None:
        con.execute(f"SET temp_directory = '{temp_directory}'")
    return con


_counter = itertools.count()


def _register(con: duckdb.DuckDBPyConnection, data: Any) -> tuple[str, list[str]]:
    """Make ``data`` visible to ``con`` under a name; return the name and its columns."""
    if isinstance(data, str):
        name = data
        cols = [c[0] for c in con.execute(f"SELECT * FROM {name} LIMIT 0").description]
        return name, cols
    name = f"__cr_engagement_{next(_counter)}"
    if isinstance(data, duckdb.DuckDBPyRelation):
        # a relation belongs to the connection that created it; expose it as a view
        data.create_view(name, replace=True)
        cols = list(data.columns)
        return name, cols
    if isinstance(data, pd.DataFrame):
        # via arrow: DuckDB's pandas scan fails on some layouts (e.g. negative strides after df.iloc[::-1])
        data = pa.Table.from_pandas(data, preserve_index=False)
    con.register(name, data)
    cols = [c[0] for c in con.execute(f"SELECT * FROM {name} LIMIT 0").description]
    return name, cols


def _finish(con: duckdb.DuckDBPyConnection, sql: str, output: str, cleanup: list[str]) -> Any:
    rel = con.sql(sql)
    if output == "relation":
        return rel
    try:
        if output == "arrow":
            return rel.to_arrow_table()
        return _to_pandas(rel)
    finally:
        for name in cleanup:
            con.unregister(name)


def _to_pandas(rel: duckdb.DuckDBPyRelation) -> pd.DataFrame:
    df = rel.df()
    for c in ("student_id", "course_record_id", "subject"):
        if c in df.columns:
            df[c] = df[c].astype("str")
    return df


def _sql_time(t: _dt.time) -> str:
    return f"TIME '{t.strftime('%H:%M:%S')}'"


def _school_day_sql(ts_expr: str, cfg: EngagementConfig) -> str:
    """SQL boolean: local time of ``ts_expr`` (TIMESTAMPTZ) falls in the school day."""
    local = f"timezone('{cfg.timezone}', {ts_expr})"
    start = _parse_hhmm("school_day_start", cfg.school_day_start)
    end = _parse_hhmm("school_day_end", cfg.school_day_end)
    # isodow: Monday = 1 ... Sunday = 7; weekdays use Monday = 0
    days = ", ".join(str(d + 1) for d in cfg.weekdays)
    cond = (f"(isodow({local}) IN ({days}) AND CAST({local} AS TIME) >= {_sql_time(start)} "
            f"AND CAST({local} AS TIME) < {_sql_time(end)}")
    if cfg.holidays:
        dates = ", ".join(f"DATE '{d.isoformat()}'" for d in cfg.holidays)
        cond += f" AND NOT list_contains([{dates}], CAST({local} AS DATE))"
    return cond + ")"


def sessions_sql(source: str, cfg: EngagementConfig | None = None, *, has_school_year: bool = False,
                 course_records: str | None = None, deduplicate: str = "event_id") -> str:
    """The SQL query that turns an event table into sessions.

    Parameters
    ----------
    source : str
        A DuckDB table expression with the ``platform_events`` columns: a
        table or view name, or e.g.
        ``"read_parquet('events/**/*.parquet', hive_partitioning = true)"``.
    cfg : EngagementConfig, optional
        Session and school-day definitions (defaults when omitted).
    has_school_year : bool
        The source has a ``school_year`` column to carry into the output.
    course_records : str, optional
        Table expression of ``course_records``; when given (and the source has
        no ``school_year``) ``school_year`` is joined in by
        ``course_record_id``.
    deduplicate : {'event_id', 'exact'}
        See :func:`sessionize`.

    Returns
    -------
    str
        A single ``SELECT`` statement; run it with ``con.sql(...)``, or wrap it
        in ``COPY (...) TO 'sessions.parquet'``. Run it on a connection with
        ``SET TimeZone = 'UTC'`` and ``SET asof_loop_join_threshold = 0``
        (:func:`sessionize` sets both).

    Notes
    -----
    See :func:`sessionize`.
    """
    cfg = cfg or EngagementConfig()
    if has_school_year:
        sy_raw, sy_key, sy_out, join = "school_year::BIGINT AS school_year, ", "min(school_year) AS school_year, ", "school_year, ", ""
    elif course_records is not None:
        sy_raw, sy_key, sy_out = "", "", "school_year, "
        join = (f"LEFT JOIN (SELECT course_record_id::VARCHAR AS course_record_id, min(school_year)::BIGINT AS school_year "
                f"FROM {course_records} GROUP BY ALL) cr USING (course_record_id)")
    else:
        sy_raw = sy_key = sy_out = join = ""
    _check_choice("deduplicate", deduplicate, _DEDUP)
    dedup = _DEDUP_SQL[deduplicate]
    codes = " ".join(f"WHEN '{e}' THEN {i}" for i, e in enumerate(_EVENT_CODES))
    gap_us, idle_us = cfg.gap_us, cfg.idle_us
    pass_mark = float(cfg.pass_mark)
    start = "make_timestamp(t0)::TIMESTAMPTZ"
    return f"""
WITH raw AS NOT MATERIALIZED (
    SELECT student_id::VARCHAR AS student_id, course_record_id::VARCHAR AS course_record_id, {sy_raw}
           event_id::BIGINT AS event_id, epoch_us("timestamp"::TIMESTAMPTZ) AS t,
           (CASE event_type::VARCHAR {codes} ELSE {len(_EVENT_CODES)} END)::TINYINT AS et,
           score::DOUBLE AS score
    FROM {source}
),
keys AS (  -- one integer key per student-course
    SELECT student_id, course_record_id, {sy_key}
           (row_number() OVER (ORDER BY student_id, course_record_id))::INTEGER AS k
    FROM raw GROUP BY student_id, course_record_id
),
ev AS NOT MATERIALIZED (SELECT k, event_id, t, et, score FROM raw JOIN keys USING (student_id, course_record_id)),
{dedup}
lagged AS (
    SELECT *, t - lag(t) OVER w AS gap, lag(et) OVER w AS prev_et, lag(event_id) OVER w AS prev_id,
           row_number() OVER w AS p
    FROM ev1
    WINDOW w AS (PARTITION BY k ORDER BY t, event_id, et, score)
),
flagged AS (
    SELECT k, t, et, score, gap, p,
           (gap IS NULL OR et = 0 OR prev_et = 1 OR gap > {gap_us}) AS new_session
    FROM lagged
    WHERE NOT coalesce(gap = 0 AND event_id = prev_id, false)  -- an exact duplicate follows its original
),
starts AS (  -- session starts, numbered within the student-course
    SELECT k, p AS p0, row_number() OVER (PARTITION BY k ORDER BY p) AS session_number
    FROM flagged WHERE new_session
),
assigned AS (
    SELECT f.*, s.session_number FROM flagged f ASOF JOIN starts s ON f.k = s.k AND f.p >= s.p0
),
sess AS (
    SELECT k, session_number, min(t) AS t0, max(t) AS t1, count(*) AS n_events,
           sum(CASE WHEN new_session THEN 0 ELSE least(gap, {idle_us}) END)::BIGINT AS active_us,
           sum(CASE WHEN new_session THEN 0 ELSE greatest(gap - {idle_us}, 0) END)::BIGINT AS idle_us,
           count_if(et = 3) AS activities,
           count_if(et = 4) AS quizzes,
           count_if(et = 5) AS tests,
           count_if(et = 5 AND score >= {pass_mark!r}) AS tests_passed
    FROM assigned
    GROUP BY k, session_number
)
SELECT student_id, course_record_id, {sy_out} session_number::BIGINT AS session_number,
       {start} AS "start", make_timestamp(t1)::TIMESTAMPTZ AS "end",
       n_events::BIGINT AS n_events,
       (t1 - t0) / {_US_PER_MIN}.0 AS span_minutes,
       active_us / {_US_PER_MIN}.0 AS active_minutes,
       idle_us / {_US_PER_MIN}.0 AS idle_minutes,
       activities::BIGINT AS activities, quizzes::BIGINT AS quizzes, tests::BIGINT AS tests,
       tests_passed::BIGINT AS tests_passed,
       {_school_day_sql(start, cfg)} AS in_school_day
FROM sess JOIN keys USING (k) {join}
ORDER BY student_id, course_record_id, session_number
"""


def sessionize(
    events: Any,
    *,
    session_gap_minutes: float = 30,
    idle_threshold_minutes: float = 5,
    timezone: str = "America/Chicago",
    school_day_start: str = "07:30",
    school_day_end: str = "15:30",
    weekdays: Iterable[int] = (0, 1, 2, 3, 4),
    holidays: Any = None,
    pass_mark: float = 60,
    deduplicate: str = "event_id",
    by_school_year: bool = True,
    course_records: Any = None,
    con: duckdb.DuckDBPyConnection | None = None,
    threads: int | None = None,
    memory_limit: str | None = None,
    output: str = "pandas",
) -> Any:
    """Split each student-course event stream into sessions.

    Parameters
    ----------
    events : pandas.DataFrame, pyarrow.Table, pyarrow.dataset.Dataset, duckdb relation or str
        The ``platform_events`` table (``event_id``, ``student_id``,
        ``course_record_id``, ``timestamp``, ``event_type``, ``score``;
        optionally ``school_year``), or the name of a table/view in ``con``.
        A relation must belong to ``con`` (pass the connection that made it).
        Time-zone-naive timestamps are read as UTC.
    session_gap_minutes : float
        A gap longer than this (strictly) starts a new session.
    idle_threshold_minutes : float
        The part of a gap beyond this is idle time.
    timezone : str
        IANA time zone of the schools, for the school-day classification.
    school_day_start, school_day_end : str
        School day in local time, ``'HH:MM'``; start inclusive, end exclusive.
    weekdays : iterable of int
        School weekdays, 0 = Monday ... 6 = Sunday.
    holidays : DataFrame with a ``date`` column, or list of dates, optional
        Local dates on which schools are closed (the ``calendar`` table).
    pass_mark : float
        A test submission with ``score >= pass_mark`` counts as passed.
    deduplicate : {'event_id', 'exact'}
        ``'event_id'``: rows sharing an ``event_id`` are one event, the
        earliest copy is kept (by timestamp, then event type, then score).
        ``'exact'`` (faster, for logs whose ``event_id`` is known to be
        unique up to re-delivered copies): only copies with the same
        student-course, ``event_id`` and timestamp are dropped; same-id rows
        at different times stay separate events.
    by_school_year : bool
        When the events have a ``school_year`` column, run one query per
        school year (same result, lower peak memory; with ``'event_id'``
        de-duplication, copies of an event are looked for within a year).
    course_records : DataFrame, relation or str, optional
        Used only to add ``school_year`` when ``events`` has none.
    con : duckdb connection, optional
        Connection to run in (a new in-memory one by default). Its
        ``TimeZone`` is set to UTC and ``asof_loop_join_threshold`` to 0.
    threads, memory_limit : optional
        DuckDB ``threads`` and ``memory_limit`` (e.g. ``'3GB'``) settings.
    output : {'pandas', 'arrow', 'relation'}
        Return type.

    Returns
    -------
    pandas.DataFrame or pyarrow.Table or duckdb relation
        One row per session with :data:`SESSION_COLUMNS`, sorted by
        student, course record and session number. Times are UTC.

    Notes
    -----
    Events of a student-course are ordered by ``(timestamp, event_id)``;
    rows sharing an ``event_id`` are one event (the earliest is kept). Event
    :math:`i` starts a new session when it is the first event, is a
    ``login``, follows a ``logout``, or follows a gap
    :math:`g_i = t_i - t_{i-1} > G` (``session_gap_minutes``). Within a
    session every gap splits into

    .. math:: a_i = \\min(g_i, \\tau), \\qquad d_i = \\max(g_i - \\tau, 0)

    with :math:`\\tau` = ``idle_threshold_minutes``, so active + idle =
    last − first event time of the session (exactly, in integer
    microseconds). A session is in the school day when its first event,
    in local time, falls on a school weekday, not on a holiday, and in
    ``[school_day_start, school_day_end)``.
    """
    _check_choice("output", output, _OUTPUTS)
    _check_choice("deduplicate", deduplicate, _DEDUP)
    cfg = EngagementConfig(session_gap_minutes, idle_threshold_minutes, timezone, school_day_start,
                           school_day_end, tuple(weekdays), holidays, pass_mark)
    con = _connect(con, threads, memory_limit)
    name, cols = _register(con, events)
    missing = [c for c in ("event_id", "student_id", "course_record_id", "timestamp", "event_type", "score")
               if c not in cols]
    if missing:
        raise ValueError(f"events lack the platform_events column(s) {missing}")
    cleanup = [] if isinstance(events, (str, duckdb.DuckDBPyRelation)) else [name]
    cr_name = None
    if course_records is not None and "school_year" not in cols:
        cr_name, _ = _register(con, course_records)
        if not isinstance(course_records, (str, duckdb.DuckDBPyRelation)):
            cleanup.append(cr_name)
    has_sy = "school_year" in cols
    years: list[Any] = []
    if by_school_year and has_sy:
        years = [r[0] for r in con.execute(f"SELECT DISTINCT school_year FROM {name} ORDER BY 1").fetchall()]
    if len(years) <= 1:
        sql = sessions_sql(name, cfg, has_school_year=has_sy, course_records=cr_name, deduplicate=deduplicate)
        return _finish(con, sql, output, cleanup)
    # one query per school year: a course record belongs to one school year, so the sessions are
    # the same; peak memory is that of the largest year (with hive-partitioned parquet, each query
    # reads only its year's files)
    try:
        parts = []
        for y in years:
            cond = "school_year IS NULL" if y is None else f"school_year = {int(y)}"
            sql = sessions_sql(f"(SELECT * FROM {name} WHERE {cond})", cfg, has_school_year=True,
                               deduplicate=deduplicate)
            parts.append(con.sql(sql).to_arrow_table())
    finally:
        for n in cleanup:
            con.unregister(n)
    table = pa.concat_tables(parts).sort_by(
        [("student_id", "ascending"), ("course_record_id", "ascending"), ("session_number", "ascending")])
    if output == "arrow":
        return table
    rel = con.from_arrow(table)
    return rel if output == "relation" else _to_pandas(rel)


def features_sql(source: str, *, timezone: str = "America/Chicago", has_school_year: bool = False,
                 course_records: str | None = None) -> str:
    """The SQL query that turns a session table into student-course features.

    Parameters
    ----------
    source : str
        DuckDB table expression of a session table (:data:`SESSION_COLUMNS`).
    timezone : str
        IANA time zone for local dates (``active_days``, ``days_to_completion``).
    has_school_year : bool
        The session table has a ``school_year`` column.
    course_records : str, optional
        Table expression of ``course_records`` (``course_record_id``,
        ``enrolled_date``, ``completed_date``; ``school_year`` and ``subject``
        when present are carried along).

    Returns
    -------
    str
        One ``SELECT`` statement (connection ``TimeZone`` must be UTC).

    Notes
    -----
    See :func:`engagement_features`.
    """
    EngagementConfig(timezone=timezone)  # validates the time zone
    tz = timezone
    cr_cols: list[str] = []
    extra, join = "", ""
    if course_records is not None:
        extra_cols = []
        if not has_school_year:
            extra_cols.append("cr.school_year::BIGINT AS school_year")
        extra_cols.append("cr.subject::VARCHAR AS subject")
        cr_cols = extra_cols
        join = f"LEFT JOIN {course_records} cr ON cr.course_record_id::VARCHAR = f.course_record_id"
        days = ("CASE WHEN cr.completed_date IS NULL THEN NULL ELSE "
                "date_diff('day', cr.enrolled_date::DATE, cr.completed_date::DATE) END")
    else:
        days = "date_diff('day', f.first_date, f.last_date)"
    sy = "f.school_year, " if has_school_year else ""
    if cr_cols:
        extra = ", ".join(cr_cols) + ", "
    gb_sy = "school_year, " if has_school_year else ""
    return f"""
WITH s AS (
    SELECT *, CAST(timezone('{tz}', "start"::TIMESTAMPTZ) AS DATE) AS d0,
              CAST(timezone('{tz}', "end"::TIMESTAMPTZ) AS DATE) AS d1
    FROM {source}
),
days AS (  -- every local date from a session's first to its last event has an event (gaps < 23 h)
    SELECT student_id, course_record_id, count(DISTINCT d) AS active_days
    FROM (SELECT student_id, course_record_id,
                 unnest(generate_series(d0::TIMESTAMP, d1::TIMESTAMP, INTERVAL 1 DAY)) AS d FROM s)
    GROUP BY ALL
),
f AS (
    SELECT student_id::VARCHAR AS student_id, course_record_id::VARCHAR AS course_record_id, {gb_sy}
           count(*) AS n_sessions, sum(n_events) AS n_events,
           sum(span_minutes) AS total_span_minutes,
           sum(active_minutes) AS total_active_minutes,
           sum(idle_minutes) AS total_idle_minutes,
           sum(activities) AS activities, sum(quizzes) AS quizzes,
           sum(tests) AS tests_attempted, sum(tests_passed) AS tests_passed,
           count_if(NOT in_school_day) AS n_outside,
           min(d0) AS first_date, max(d1) AS last_date
    FROM s GROUP BY ALL
)
SELECT f.student_id, f.course_record_id, {sy}{extra}
       f.n_sessions::BIGINT AS n_sessions, f.n_events::BIGINT AS n_events,
       f.total_span_minutes::DOUBLE AS total_span_minutes,
       f.total_active_minutes::DOUBLE AS total_active_minutes,
       f.total_idle_minutes::DOUBLE AS total_idle_minutes,
       CASE WHEN f.total_span_minutes > 0 THEN f.total_idle_minutes / f.total_span_minutes ELSE 0.0 END AS idle_share,
       f.activities::BIGINT AS activities,
       d.active_days::BIGINT AS active_days,
       f.activities / d.active_days AS activities_per_day,
       CASE WHEN f.activities > 0 THEN f.total_span_minutes / f.activities ELSE 'NaN'::DOUBLE END AS minutes_per_activity,
       CASE WHEN f.total_active_minutes > 0 THEN f.activities / (f.total_active_minutes / 60.0)
            ELSE 'NaN'::DOUBLE END AS activities_per_active_hour,
       f.n_outside / f.n_sessions AS share_outside_school_day,
       COALESCE(({days})::DOUBLE, 'NaN'::DOUBLE) AS days_to_completion,
       f.quizzes::BIGINT AS quizzes, f.tests_attempted::BIGINT AS tests_attempted,
       f.tests_passed::BIGINT AS tests_passed
FROM f JOIN days d USING (student_id, course_record_id) {join}
ORDER BY f.student_id, f.course_record_id
"""


def engagement_features(
    sessions: Any,
    course_records: Any = None,
    *,
    timezone: str = "America/Chicago",
    con: duckdb.DuckDBPyConnection | None = None,
    threads: int | None = None,
    memory_limit: str | None = None,
    output: str = "pandas",
) -> Any:
    """Engagement features, one row per student-course, from sessions.

    Parameters
    ----------
    sessions : DataFrame, pyarrow Table, duckdb relation or str
        Output of :func:`sessionize` (or a table/view name in ``con``).
    course_records : DataFrame, pyarrow Table, duckdb relation or str, optional
        The ``course_records`` table; when given, ``days_to_completion`` is
        ``completed_date - enrolled_date`` (NaN if not completed), and
        ``subject`` (and ``school_year`` if the sessions lack it) are added.
    timezone : str
        IANA time zone for local dates; use the one given to
        :func:`sessionize`.
    con, threads, memory_limit, output
        As in :func:`sessionize`.

    Returns
    -------
    pandas.DataFrame or pyarrow.Table or duckdb relation
        Columns :data:`FEATURE_COLUMNS` (``school_year``/``subject`` only when
        known), sorted by student and course record.

    Notes
    -----
    With sessions :math:`s` of a student-course, span :math:`S_s`, active
    :math:`A_s` and idle :math:`I_s` minutes and :math:`C_s` activities:

    * ``idle_share`` :math:`= \\sum I_s / \\sum S_s` (0 when :math:`\\sum S_s = 0`);
    * ``active_days`` = number of distinct local dates with an event;
    * ``activities_per_day`` :math:`= \\sum C_s /` ``active_days``;
    * ``minutes_per_activity`` :math:`= \\sum S_s / \\sum C_s` (NaN without activities);
    * ``activities_per_active_hour`` :math:`= \\sum C_s / (\\sum A_s / 60)` (NaN when no active time);
    * ``share_outside_school_day`` = share of sessions whose log-in is outside the school day;
    * ``days_to_completion`` = ``completed_date - enrolled_date`` from
      ``course_records`` when given (NaN if not completed or not found),
      else local date of the last event minus local date of the first.
    """
    _check_choice("output", output, _OUTPUTS)
    con = _connect(con, threads, memory_limit)
    name, cols = _register(con, sessions)
    missing = [c for c in SESSION_COLUMNS if c != "school_year" and c not in cols]
    if missing:
        raise ValueError(f"sessions lack the session column(s) {missing}; pass the output of sessionize()")
    cleanup = [] if isinstance(sessions, (str, duckdb.DuckDBPyRelation)) else [name]
    cr_name = None
    if course_records is not None:
        cr_name, cr_cols = _register(con, course_records)
        need = ["course_record_id", "enrolled_date", "completed_date", "subject"] + (
            [] if "school_year" in cols else ["school_year"])
        miss = [c for c in need if c not in cr_cols]
        if miss:
            raise ValueError(f"course_records lack the column(s) {miss}")
        if not isinstance(course_records, (str, duckdb.DuckDBPyRelation)):
            cleanup.append(cr_name)
    sql = features_sql(name, timezone=timezone, has_school_year="school_year" in cols, course_records=cr_name)
    return _finish(con, sql, output, cleanup)
