"""Sessions from online-platform event logs.

Turns the raw ``platform_events`` table (one row per click, log-in, quiz...) into sessions
(:func:`sessionize`); :mod:`credit_recovery.engagement.features` turns sessions into one row of
engagement features per student-course.

The work is DuckDB SQL (window functions and aggregates), so it runs out of core: the input can
be a pandas DataFrame, a pyarrow Table or Dataset, a DuckDB relation or the name of a table/view
in a DuckDB connection. The SQL itself is available from :func:`sessions_sql`, so a pipeline
script can stream a parquet dataset through it
(``read_parquet('events/*/*.parquet', hive_partitioning=true)``) and write parquet without
materialising anything in Python. For the pipeline, :func:`event_school_years` lists the school
years with events (one job each) and :func:`school_year_sessions` sessionizes one year with the
``engagement`` config. No function in this module reads or writes files.

Definitions (``docs/methods.md``, "Sessions, active and idle time"): events of a student-course
are ordered by ``(timestamp, event_id)``; rows sharing an ``event_id`` are one event (the
earliest is kept). Event :math:`i` starts a new session when it is the first event, is a
``login``, follows a ``logout``, or follows a gap :math:`g_i = t_i - t_{i-1} > G`
(``session_gap_minutes``). Within a session every gap splits into

.. math:: a_i = \\min(g_i, \\tau), \\qquad d_i = \\max(g_i - \\tau, 0)

with :math:`\\tau` = ``idle_threshold_minutes``, so active + idle = last − first event time of
the session (exactly, in integer microseconds). A session is in the school day when its first
event, in local time, falls on a school weekday, not on a holiday, and in
``[school_day_start, school_day_end)``. The defaults of these settings are the config schema's
``engagement`` defaults (:data:`credit_recovery.engagement.options.OPTION_DEFAULTS`).
"""
from __future__ import annotations

import datetime as _dt
from typing import Any, Iterable, Mapping

import duckdb
import pandas as pd
import pyarrow as pa

from credit_recovery.shared.config import check_choice
from credit_recovery.engagement.connection import OUTPUTS, connect, query_result, register_table, relation_to_pandas
from credit_recovery.engagement.options import (OPTION_DEFAULTS, SCHOOL_WEEKDAYS, US_PER_MINUTE, EngagementConfig,
                                                resolve_engagement_options)

__all__ = [
    "SESSION_COLUMNS",
    "EVENT_COLUMNS",
    "sessionize",
    "sessions_sql",
    "event_school_years",
    "school_year_sessions",
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
#: Columns an event table must have.
EVENT_COLUMNS: tuple[str, ...] = ("event_id", "student_id", "course_record_id", "timestamp", "event_type", "score")

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

#: The session query; :func:`sessions_sql` fills in the source, school-year parts and settings.
_SESSIONS_SQL = """
WITH raw AS NOT MATERIALIZED (
    SELECT student_id::VARCHAR AS student_id, course_record_id::VARCHAR AS course_record_id, {sy_raw}
           event_id::BIGINT AS event_id, epoch_us("timestamp"::TIMESTAMPTZ) AS t,
           (CASE event_type::VARCHAR {codes} ELSE {other_code} END)::TINYINT AS et,
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
           count_if(et = 5 AND score >= {pass_mark}) AS tests_passed
    FROM assigned
    GROUP BY k, session_number
)
SELECT student_id, course_record_id, {sy_out} session_number::BIGINT AS session_number,
       {start} AS "start", make_timestamp(t1)::TIMESTAMPTZ AS "end",
       n_events::BIGINT AS n_events,
       (t1 - t0) / {us_per_min}.0 AS span_minutes,
       active_us / {us_per_min}.0 AS active_minutes,
       idle_us / {us_per_min}.0 AS idle_minutes,
       activities::BIGINT AS activities, quizzes::BIGINT AS quizzes, tests::BIGINT AS tests,
       tests_passed::BIGINT AS tests_passed,
       {school_day} AS in_school_day
FROM sess JOIN keys USING (k) {join}
ORDER BY student_id, course_record_id, session_number
"""


def _sql_time(t: _dt.time) -> str:
    return f"TIME '{t.strftime('%H:%M:%S')}'"


def _school_day_sql(ts_expr: str, cfg: EngagementConfig) -> str:
    """SQL boolean: local time of ``ts_expr`` (TIMESTAMPTZ) falls in the school day."""
    local = f"timezone('{cfg.timezone}', {ts_expr})"
    start, end = cfg.day_start, cfg.day_end
    # isodow: Monday = 1 ... Sunday = 7; weekdays use Monday = 0
    days = ", ".join(str(d + 1) for d in cfg.weekdays)
    cond = (f"(isodow({local}) IN ({days}) AND CAST({local} AS TIME) >= {_sql_time(start)} "
            f"AND CAST({local} AS TIME) < {_sql_time(end)}")
    if cfg.holidays:
        dates = ", ".join(f"DATE '{d.isoformat()}'" for d in cfg.holidays)
        cond += f" AND NOT list_contains([{dates}], CAST({local} AS DATE))"
    return cond + ")"


def _school_year_sql(has_school_year: bool, course_records: str | None) -> dict[str, str]:
    """The parts of the session query that carry ``school_year``: from the events, joined in, or none."""
    if has_school_year:
        return {"sy_raw": "school_year::BIGINT AS school_year, ", "sy_key": "min(school_year) AS school_year, ",
                "sy_out": "school_year, ", "join": ""}
    if course_records is not None:
        join = (f"LEFT JOIN (SELECT course_record_id::VARCHAR AS course_record_id, min(school_year)::BIGINT AS school_year "
                f"FROM {course_records} GROUP BY ALL) cr USING (course_record_id)")
        return {"sy_raw": "", "sy_key": "", "sy_out": "school_year, ", "join": join}
    return {"sy_raw": "", "sy_key": "", "sy_out": "", "join": ""}


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
    See the module docstring and :func:`sessionize`.
    """
    cfg = cfg or EngagementConfig()
    school_year = _school_year_sql(has_school_year, course_records)
    check_choice("deduplicate", deduplicate, _DEDUP)
    start = "make_timestamp(t0)::TIMESTAMPTZ"
    return _SESSIONS_SQL.format(
        source=source, dedup=_DEDUP_SQL[deduplicate],
        codes=" ".join(f"WHEN '{e}' THEN {i}" for i, e in enumerate(_EVENT_CODES)), other_code=len(_EVENT_CODES),
        gap_us=cfg.gap_us, idle_us=cfg.idle_us, pass_mark=repr(float(cfg.pass_mark)), us_per_min=US_PER_MINUTE,
        start=start, school_day=_school_day_sql(start, cfg), **school_year)


def sessionize(
    events: Any, *, session_gap_minutes: float = OPTION_DEFAULTS["session_gap_minutes"],
    idle_threshold_minutes: float = OPTION_DEFAULTS["idle_threshold_minutes"],
    timezone: str = OPTION_DEFAULTS["timezone"], school_day_start: str = OPTION_DEFAULTS["school_day_start"],
    school_day_end: str = OPTION_DEFAULTS["school_day_end"], weekdays: Iterable[int] = SCHOOL_WEEKDAYS,
    holidays: Any = None, pass_mark: float = OPTION_DEFAULTS["pass_mark"], deduplicate: str = "event_id",
    by_school_year: bool = True, course_records: Any = None, con: duckdb.DuckDBPyConnection | None = None,
    threads: int | None = None, memory_limit: str | None = None, output: str = "pandas",
) -> Any:
    """Split each student-course event stream into sessions (definitions: the module docstring).

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
    The defaults of the session and school-day settings are the config
    schema's ``engagement`` defaults; see the module docstring and
    ``docs/methods.md`` for the definitions.
    """
    check_choice("output", output, OUTPUTS)
    check_choice("deduplicate", deduplicate, _DEDUP)
    cfg = EngagementConfig(session_gap_minutes, idle_threshold_minutes, timezone, school_day_start,
                           school_day_end, tuple(weekdays), holidays, pass_mark)
    con = connect(con, threads, memory_limit)
    name, cols, cr_name, cleanup = _register_events(con, events, course_records)
    has_sy = "school_year" in cols
    years: list[Any] = []
    if by_school_year and has_sy:
        years = [r[0] for r in con.execute(f"SELECT DISTINCT school_year FROM {name} ORDER BY 1").fetchall()]
    if len(years) <= 1:
        sql = sessions_sql(name, cfg, has_school_year=has_sy, course_records=cr_name, deduplicate=deduplicate)
        return query_result(con, sql, output, cleanup)
    return _sessions_by_year(con, name, years, cfg, deduplicate, output, cleanup)


def _register_events(con: duckdb.DuckDBPyConnection, events: Any,
                     course_records: Any) -> tuple[str, list[str], str | None, list[str]]:
    """Register the events (and the course records when needed for ``school_year``) with ``con``.

    Returns the events' name and columns, the course records' name (None when not needed) and the
    names to unregister afterwards (those registered here from DataFrames or arrow tables).
    """
    name, cols = register_table(con, events)
    missing = [c for c in EVENT_COLUMNS if c not in cols]
    if missing:
        raise ValueError(f"events lack the platform_events column(s) {missing}")
    cleanup = [] if isinstance(events, (str, duckdb.DuckDBPyRelation)) else [name]
    cr_name = None
    if course_records is not None and "school_year" not in cols:
        cr_name, _ = register_table(con, course_records)
        if not isinstance(course_records, (str, duckdb.DuckDBPyRelation)):
            cleanup.append(cr_name)
    return name, cols, cr_name, cleanup


def _sessions_by_year(con: duckdb.DuckDBPyConnection, name: str, years: list[Any], cfg: EngagementConfig,
                      deduplicate: str, output: str, cleanup: list[str]) -> Any:
    """Sessions of the events in ``name``, one query per school year, concatenated and sorted.

    A course record belongs to one school year, so the sessions are the same as from one query; peak
    memory is that of the largest year (with hive-partitioned parquet, each query reads only its
    year's files).
    """
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
    return rel if output == "relation" else relation_to_pandas(rel)


# ---------------------------------------------------------------------------
# the pipeline's per-school-year jobs
# ---------------------------------------------------------------------------
def event_school_years(con: duckdb.DuckDBPyConnection, events: str, course_records: str) -> pd.DataFrame:
    """School years with platform events (via the course record of each event).

    Parameters
    ----------
    con : duckdb connection
        Its ``TimeZone`` is set to UTC and ``asof_loop_join_threshold`` to 0.
    events, course_records : str
        Table expressions (view names, or ``read_parquet('...')``) of the
        ``platform_events`` and ``course_records`` tables.

    Returns
    -------
    DataFrame
        ``school_year, n_events, n_course_records``, one row per year, sorted.
        Events whose course record is unknown have no school year and are left
        out (they cannot be placed in a year's job).
    """
    connect(con)
    sql = f"""
    SELECT cr.school_year::BIGINT AS school_year, count(*)::BIGINT AS n_events,
           count(DISTINCT e.course_record_id)::BIGINT AS n_course_records
    FROM (SELECT course_record_id::VARCHAR AS course_record_id FROM {events}) e
    JOIN (SELECT course_record_id::VARCHAR AS course_record_id, school_year FROM {course_records}) cr
      USING (course_record_id)
    GROUP BY 1 ORDER BY 1"""
    return con.sql(sql).df()


def school_year_sessions(con: duckdb.DuckDBPyConnection, events: str, course_records: str, school_year: int,
                         options: Mapping[str, Any] | None = None, holidays: Any = None) -> pa.Table:
    """Sessions of the student-courses of one school year (the ``sessions`` rule).

    Parameters
    ----------
    con : duckdb connection
        Its ``TimeZone`` is set to UTC and ``asof_loop_join_threshold`` to 0.
    events, course_records : str
        Table expressions of ``platform_events`` and ``course_records``.
    school_year : int
        The course records' school year.
    options : mapping, optional
        ``engagement`` config section (session gap, idle threshold, school day, pass mark).
    holidays : sequence of dates, optional
        Days on which schools are closed (the optional ``calendar`` table's
        ``date`` column): a log-in on such a day is outside the school day.

    Returns
    -------
    pyarrow.Table
        :data:`SESSION_COLUMNS`, sorted by student, course record and session number.

    Notes
    -----
    The events of the year are those whose ``course_record_id`` is a course
    record of that school year (a semi-join, so DuckDB reads the events
    parquet column by column and keeps only the year's rows); the session
    definitions are :func:`sessionize`'s.
    """
    opt = resolve_engagement_options(options)
    connect(con)
    source = (f"(SELECT e.*, {int(school_year)}::BIGINT AS school_year FROM {events} e "
              f"SEMI JOIN (SELECT course_record_id::VARCHAR AS course_record_id FROM {course_records} "
              f"WHERE school_year = {int(school_year)}) cr ON e.course_record_id::VARCHAR = cr.course_record_id)")
    sql = sessions_sql(source, EngagementConfig.from_options(opt, holidays), has_school_year=True, deduplicate="event_id")
    return con.sql(sql).to_arrow_table()
