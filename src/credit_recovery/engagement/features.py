"""Student-course engagement features from sessions.

:func:`engagement_features` turns a session table (:func:`credit_recovery.sessionize`) into one
row of engagement features per student-course, as DuckDB SQL (:func:`features_sql`; out of core,
inputs as for ``sessionize``). For the pipeline, :func:`course_features` adds the course record's
and the student-year's facts. No function in this module reads or writes files; the definitions
are in ``docs/methods.md`` ("Sessions, active and idle time").
"""
from __future__ import annotations

from typing import Any, Mapping

import duckdb
import pandas as pd

from credit_recovery.shared.config import check_choice
from credit_recovery.engagement.connection import OUTPUTS, connect, query_result, register_table
from credit_recovery.engagement.options import OPTION_DEFAULTS, EngagementConfig, resolve_engagement_options
from credit_recovery.engagement.sessions import SESSION_COLUMNS

__all__ = ["FEATURE_COLUMNS", "features_sql", "engagement_features", "course_features"]

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

#: The feature query; :func:`features_sql` fills in the source, time zone and course-record parts.
_FEATURES_SQL = """
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


def _course_record_sql(has_school_year: bool, course_records: str | None) -> dict[str, str]:
    """The parts of the feature query that use ``course_records``: extra columns, join, days to completion."""
    if course_records is None:
        return {"extra": "", "join": "", "days": "date_diff('day', f.first_date, f.last_date)"}
    cols = [] if has_school_year else ["cr.school_year::BIGINT AS school_year"]
    cols.append("cr.subject::VARCHAR AS subject")
    return {"extra": ", ".join(cols) + ", ",
            "join": f"LEFT JOIN {course_records} cr ON cr.course_record_id::VARCHAR = f.course_record_id",
            "days": ("CASE WHEN cr.completed_date IS NULL THEN NULL ELSE "
                     "date_diff('day', cr.enrolled_date::DATE, cr.completed_date::DATE) END")}


def features_sql(source: str, *, timezone: str = OPTION_DEFAULTS["timezone"], has_school_year: bool = False,
                 course_records: str | None = None) -> str:
    """The SQL query that turns a session table into student-course features.

    Parameters
    ----------
    source : str
        DuckDB table expression of a session table (:data:`credit_recovery.engagement.sessions.SESSION_COLUMNS`).
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
    return _FEATURES_SQL.format(tz=timezone, source=source, gb_sy="school_year, " if has_school_year else "",
                                sy="f.school_year, " if has_school_year else "",
                                **_course_record_sql(has_school_year, course_records))


def engagement_features(
    sessions: Any,
    course_records: Any = None,
    *,
    timezone: str = OPTION_DEFAULTS["timezone"],
    con: duckdb.DuckDBPyConnection | None = None,
    threads: int | None = None,
    memory_limit: str | None = None,
    output: str = "pandas",
) -> Any:
    """Engagement features, one row per student-course, from sessions.

    Parameters
    ----------
    sessions : DataFrame, pyarrow Table, duckdb relation or str
        Output of :func:`credit_recovery.sessionize` (or a table/view name in ``con``).
    course_records : DataFrame, pyarrow Table, duckdb relation or str, optional
        The ``course_records`` table; when given, ``days_to_completion`` is
        ``completed_date - enrolled_date`` (NaN if not completed), and
        ``subject`` (and ``school_year`` if the sessions lack it) are added.
    timezone : str
        IANA time zone for local dates; use the one given to
        :func:`credit_recovery.sessionize` (default: the config schema's ``engagement.timezone``).
    con, threads, memory_limit, output
        As in :func:`credit_recovery.sessionize`.

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
    check_choice("output", output, OUTPUTS)
    con = connect(con, threads, memory_limit)
    name, cols = register_table(con, sessions)
    missing = [c for c in SESSION_COLUMNS if c != "school_year" and c not in cols]
    if missing:
        raise ValueError(f"sessions lack the session column(s) {missing}; pass the output of sessionize()")
    cleanup = [] if isinstance(sessions, (str, duckdb.DuckDBPyRelation)) else [name]
    cr_name = None
    if course_records is not None:
        cr_name, cr_cols = register_table(con, course_records)
        need = ["course_record_id", "enrolled_date", "completed_date", "subject"] + (
            [] if "school_year" in cols else ["school_year"])
        miss = [c for c in need if c not in cr_cols]
        if miss:
            raise ValueError(f"course_records lack the column(s) {miss}")
        if not isinstance(course_records, (str, duckdb.DuckDBPyRelation)):
            cleanup.append(cr_name)
    sql = features_sql(name, timezone=timezone, has_school_year="school_year" in cols, course_records=cr_name)
    return query_result(con, sql, output, cleanup)


def course_features(con: duckdb.DuckDBPyConnection, sessions: str, course_records: str, student_years: str,
                    options: Mapping[str, Any] | None = None) -> pd.DataFrame:
    """Student-course engagement features with the course's and the student-year's facts.

    Parameters
    ----------
    con : duckdb connection
        Its ``TimeZone`` is set to UTC and ``asof_loop_join_threshold`` to 0.
    sessions : str
        Table expression of the session table (all school years).
    course_records, student_years : str
        Table expressions of the contract tables.
    options : mapping, optional
        ``engagement`` config section (time zone).

    Returns
    -------
    DataFrame
        :data:`FEATURE_COLUMNS` plus ``school_id``,
        ``mark``, ``credits_earned`` (of the course record), ``grade`` and
        ``absence_rate`` (``days_absent / days_enrolled`` of the student in the
        course's school year), sorted by student and course record.
    """
    opt = resolve_engagement_options(options)
    connect(con)
    feats = features_sql(sessions, timezone=opt["timezone"], has_school_year=True, course_records=course_records)
    sql = f"""
    SELECT f.*, c.school_id::VARCHAR AS school_id, c.mark::VARCHAR AS mark,
           c.credits_earned::DOUBLE AS credits_earned, y.grade::BIGINT AS grade,
           (y.days_absent::DOUBLE / nullif(y.days_enrolled, 0)) AS absence_rate
    FROM ({feats}) f
    LEFT JOIN (SELECT course_record_id::VARCHAR AS course_record_id, school_id, mark, credits_earned
               FROM {course_records}) c USING (course_record_id)
    LEFT JOIN (SELECT student_id::VARCHAR AS student_id, school_year::BIGINT AS school_year, grade, days_absent,
                      days_enrolled FROM {student_years}) y USING (student_id, school_year)
    ORDER BY f.student_id, f.course_record_id"""
    df = con.sql(sql).df()
    for c in ("student_id", "course_record_id", "subject", "school_id", "mark"):
        df[c] = df[c].astype("object").where(df[c].notna(), None)
    return df
