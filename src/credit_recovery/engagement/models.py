"""Engagement analytics in the pipeline: per-year sessions, course features, user types,
associations of idle time with course results, and their check against planted truth.

The pieces the ``engagement*`` rules call, one each:

* :func:`event_school_years` - the school years that have platform events (the
  ``engagement_years`` checkpoint; one ``sessions`` job per year).
* :func:`school_year_sessions` - sessions of one school year, DuckDB SQL over
  views of the events and course records (out of core: the caller points the
  views at parquet files).
* :func:`course_features` - student-course engagement features joined to the
  course record (school, subject, year, mark, credits) and the student-year
  (grade, absences).
* :func:`typology_tables` - :func:`credit_recovery.fit_typology` with the
  ``engagement`` config, as the tables the pipeline writes.
* :func:`engagement_frame` / :func:`engagement_estimates` /
  :func:`run_engagement_models` - the association models (tidy estimate rows
  and the units behind each).
* :func:`engagement_truth` - recovered vs planted user types (adjusted
  Rand index) and the idle-share estimate against its planted value.

No function here reads or writes files; see ``docs/methods.md`` ("Engagement
associations").
"""
from __future__ import annotations

from typing import Any, Mapping, Sequence

import numpy as np
import pandas as pd

from credit_recovery.shared.config import resolve_options
from credit_recovery.shared.estimate_schema import estimates_frame
from credit_recovery.data.contract import MARK_POINTS

__all__ = [
    "ENGAGEMENT_OUTCOMES",
    "IDLE_PASS_ESTIMAND",
    "resolve_engagement_options",
    "event_school_years",
    "school_year_sessions",
    "course_features",
    "typology_tables",
    "engagement_frame",
    "engagement_estimates",
    "run_engagement_models",
    "engagement_truth",
]

#: Course outcomes of the association models: grade points (A = 4 ... F = 0, withdrawn missing),
#: completion (not withdrawn) and pass (credit earned).
ENGAGEMENT_OUTCOMES: tuple[str, ...] = ("grade_points", "completed", "passed")
#: Estimand id of the idle share -> pass association (planted as ``simulation.effects.idle_share_pass``).
IDLE_PASS_ESTIMAND = "engagement_idle_pass"
#: Student covariates of the association models (baseline: the school year before the course).
BASELINE_COVARIATES: tuple[str, ...] = ("math_pre", "reading_pre", "gpa_pre", "credits_pre", "frl", "ell", "sped",
                                        "gender", "race_ethnicity")


def resolve_engagement_options(options: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """Merge an ``engagement`` config section over the schema's defaults and validate it.

    Raises
    ------
    ValueError
        Unknown key or a value outside its allowed set (the message lists the allowed values).
    """
    out = resolve_options("engagement", options)
    k_min, k_max = int(out["typology_k_min"]), int(out["typology_k_max"])
    if not 1 <= k_min <= k_max:
        raise ValueError(f"engagement.typology_k_min ({k_min}) must be >= 1 and <= typology_k_max ({k_max})")
    n = out["typology_n_types"]
    if n is not None and not k_min <= int(n) <= k_max:
        raise ValueError(f"engagement.typology_n_types={n!r} must be null or between typology_k_min and "
                         f"typology_k_max ({k_min}-{k_max})")
    if int(out["min_group_size"]) < 2 or int(out["idle_bins"]) < 1:
        raise ValueError("engagement.min_group_size must be >= 2 and engagement.idle_bins >= 1")
    return out


# ---------------------------------------------------------------------------
# sessions and features (DuckDB, out of core)
# ---------------------------------------------------------------------------
def _prepare(con) -> None:
    con.execute("SET TimeZone = 'UTC'")
    con.execute("SET asof_loop_join_threshold = 0")


def event_school_years(con, events: str, course_records: str) -> pd.DataFrame:
    """School years with platform events (via the course record of each event).

    Parameters
    ----------
    con : duckdb connection
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
    _prepare(con)
    sql = f"""
    SELECT cr.school_year::BIGINT AS school_year, count(*)::BIGINT AS n_events,
           count(DISTINCT e.course_record_id)::BIGINT AS n_course_records
    FROM (SELECT course_record_id::VARCHAR AS course_record_id FROM {events}) e
    JOIN (SELECT course_record_id::VARCHAR AS course_record_id, school_year FROM {course_records}) cr
      USING (course_record_id)
    GROUP BY 1 ORDER BY 1"""
    return con.sql(sql).df()


def _engagement_config(options: Mapping[str, Any], holidays=None):
    from credit_recovery.engagement.sessions import EngagementConfig

    days = tuple(sorted({pd.Timestamp(d).date() for d in (holidays if holidays is not None else [])}))
    return EngagementConfig(session_gap_minutes=options["session_gap_minutes"],
                            idle_threshold_minutes=options["idle_threshold_minutes"],
                            timezone=options["timezone"], school_day_start=options["school_day_start"],
                            school_day_end=options["school_day_end"], pass_mark=options["pass_mark"],
                            holidays=days)


def school_year_sessions(con, events: str, course_records: str, school_year: int,
                         options: Mapping[str, Any] | None = None, holidays=None):
    """Sessions of the student-courses of one school year.

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
        :data:`credit_recovery.engagement.sessions.SESSION_COLUMNS`, sorted by student,
        course record and session number.

    Notes
    -----
    The events of the year are those whose ``course_record_id`` is a course
    record of that school year (a semi-join, so DuckDB reads the events
    parquet column by column and keeps only the year's rows); the session
    definitions are :func:`credit_recovery.sessionize`'s.
    """
    from credit_recovery.engagement.sessions import sessions_sql

    opt = resolve_engagement_options(options)
    _prepare(con)
    source = (f"(SELECT e.*, {int(school_year)}::BIGINT AS school_year FROM {events} e "
              f"SEMI JOIN (SELECT course_record_id::VARCHAR AS course_record_id FROM {course_records} "
              f"WHERE school_year = {int(school_year)}) cr ON e.course_record_id::VARCHAR = cr.course_record_id)")
    sql = sessions_sql(source, _engagement_config(opt, holidays), has_school_year=True, deduplicate="event_id")
    return con.sql(sql).to_arrow_table()


def course_features(con, sessions: str, course_records: str, student_years: str,
                    options: Mapping[str, Any] | None = None) -> pd.DataFrame:
    """Student-course engagement features with the course's and the student-year's facts.

    Parameters
    ----------
    con : duckdb connection
    sessions : str
        Table expression of the session table (all school years).
    course_records, student_years : str
        Table expressions of the contract tables.
    options : mapping, optional
        ``engagement`` config section (time zone).

    Returns
    -------
    DataFrame
        :data:`credit_recovery.engagement.sessions.FEATURE_COLUMNS` plus ``school_id``,
        ``mark``, ``credits_earned`` (of the course record), ``grade`` and
        ``absence_rate`` (``days_absent / days_enrolled`` of the student in the
        course's school year), sorted by student and course record.
    """
    from credit_recovery.engagement.sessions import features_sql

    opt = resolve_engagement_options(options)
    _prepare(con)
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


# ---------------------------------------------------------------------------
# typology
# ---------------------------------------------------------------------------
def typology_tables(features: pd.DataFrame, options: Mapping[str, Any] | None = None):
    """User types of the student-courses, with the ``engagement`` config's typology settings.

    Returns
    -------
    (types, diagnostics, profiles, result)
        ``types``: ``student_id, course_record_id, school_year, type, cluster``,
        ``p_<type>`` and ``p_cluster_<j>`` membership probabilities (the id
        columns of the planted ``results/truth/types.parquet``);
        ``diagnostics``: BIC, AIC, silhouette... per k; ``profiles``: size and
        mean features per cluster; the :class:`credit_recovery.TypologyResult`.
    """
    from credit_recovery.engagement.typology import TYPE_NAMES, fit_typology

    opt = resolve_engagement_options(options)
    ks = range(int(opt["typology_k_min"]), int(opt["typology_k_max"]) + 1)
    n_types = None if opt["typology_n_types"] is None else int(opt["typology_n_types"])
    res = fit_typology(features, k_range=ks, method=opt["typology_method"], seed=int(opt["typology_seed"]),
                       n_types=n_types)
    t = res.types
    probs = [f"p_{n}" for n in TYPE_NAMES] + [c for c in t.columns if c.startswith("p_cluster_")]
    types = t[[c for c in ("student_id", "course_record_id", "school_year") if c in t.columns]
              + ["type", "cluster"] + probs]
    return types, res.diagnostics, res.profiles, res


# ---------------------------------------------------------------------------
# association models
# ---------------------------------------------------------------------------
def engagement_frame(features: pd.DataFrame, student_years: pd.DataFrame, students: pd.DataFrame,
                     types: pd.DataFrame | None = None) -> pd.DataFrame:
    """One row per online student-course: outcomes, engagement, baseline covariates, user type.

    Parameters
    ----------
    features : DataFrame
        :func:`course_features` output.
    student_years, students : DataFrame
        The contract tables (baseline covariates of the year before the course).
    types : DataFrame, optional
        :func:`typology_tables` types (adds ``type``).

    Returns
    -------
    DataFrame
        ``features`` plus ``grade_points`` (A = 4 ... F = 0; missing when
        withdrawn), ``completed`` (not withdrawn), ``passed`` (credit earned),
        ``idle_share_10pp`` (idle share × 10: one unit is 10 percentage points),
        ``absence_rate_10pp`` (prior-year absence rate × 10), ``grade_11_12``,
        ``math_pre``, ``reading_pre`` (scores in SD units of the district's
        grade-by-year distribution), ``gpa_pre``, ``credits_pre``, ``frl``,
        ``ell``, ``sped`` of the year before the course, ``gender``,
        ``race_ethnicity``, ``recovery_record_id`` (= ``course_record_id``) and
        ``online`` (1).
    """
    from credit_recovery.data.cohort import standardize_scores

    d = features.copy()
    sy = student_years.copy()
    z = standardize_scores(sy)
    sy = sy.assign(math_pre=z["math_z"], reading_pre=z["reading_z"],
                   absence_rate_pre=sy["days_absent"] / sy["days_enrolled"].where(sy["days_enrolled"] > 0))
    base = sy[["student_id", "school_year", "grade", "math_pre", "reading_pre", "gpa", "credits_earned",
               "absence_rate_pre", "frl", "ell", "sped"]].rename(
        columns={"gpa": "gpa_pre", "credits_earned": "credits_pre", "grade": "grade_pre"})
    base = base.assign(school_year=base["school_year"].astype("int64") + 1)
    d["school_year"] = d["school_year"].astype("int64")
    d = d.merge(base, on=["student_id", "school_year"], how="left", validate="many_to_one")
    d = d.merge(students[["student_id", "gender", "race_ethnicity"]], on="student_id", how="left",
                validate="many_to_one")
    grade = pd.to_numeric(d["grade"], errors="coerce")
    d["grade"] = grade.fillna(pd.to_numeric(d["grade_pre"], errors="coerce") + 1)
    d["grade_11_12"] = (d["grade"] >= 11).astype(float).where(d["grade"].notna())
    mark = d["mark"].astype("object")
    d["grade_points"] = mark.map(MARK_POINTS).astype(float)
    d["completed"] = (mark != "W").astype(float).where(mark.notna())
    d["passed"] = (pd.to_numeric(d["credits_earned"], errors="coerce") > 0).astype(float).where(
        d["credits_earned"].notna())
    d["idle_share_10pp"] = d["idle_share"].astype(float) * 10
    d["absence_rate_10pp"] = d["absence_rate_pre"].astype(float) * 10
    for c in ("frl", "ell", "sped"):
        d[c] = d[c].astype("boolean").astype("Float64").astype(float)
    d["recovery_record_id"] = d["course_record_id"]
    d["online"] = 1
    if types is not None:
        d = d.merge(types[["student_id", "course_record_id", "type"]], on=["student_id", "course_record_id"],
                    how="left", validate="one_to_one")
    return d.drop(columns=["grade_pre"]).sort_values(["student_id", "course_record_id"], kind="stable") \
        .reset_index(drop=True)


def _design(frame: pd.DataFrame, extra: Sequence[str]) -> tuple[pd.DataFrame, list[str]]:
    """Imputed covariates (mean + missing indicator) and dummies; returns the regressor names."""
    from credit_recovery.data.imputation import impute_missing
    from credit_recovery.specs.coding import covariate_design

    covs = [c for c in list(extra) + list(BASELINE_COVARIATES) if c in frame.columns]
    data, names = impute_missing(frame, covs)
    data, names = covariate_design(data, names)
    return data, names


def _units(used: pd.DataFrame, sample: str, outcome: str) -> pd.DataFrame:
    u = used[["student_id", "recovery_record_id"]].drop_duplicates()
    return u.assign(sample=sample, outcome=outcome, online=1)[
        ["sample", "outcome", "student_id", "recovery_record_id", "online"]]


def engagement_estimates(frame: pd.DataFrame, outcomes: Sequence[str] = ENGAGEMENT_OUTCOMES,
                         models: Mapping[str, Any] | None = None,
                         options: Mapping[str, Any] | None = None) -> tuple[pd.DataFrame, pd.DataFrame]:
    r"""Associations of idle time (and absences, grade level) with course results; efficiency by year.

    Parameters
    ----------
    frame : DataFrame
        :func:`engagement_frame` output (with ``type`` for the by-type rows).
    outcomes : sequence of str
        Course outcomes (:data:`ENGAGEMENT_OUTCOMES`).
    models : mapping, optional
        ``models`` config section: ``cluster``, ``cov_type`` (wild, clustered,
        cr2) and the wild bootstrap settings.
    options : mapping, optional
        ``engagement`` config section (``min_group_size``).

    Returns
    -------
    (estimates, samples)
        Tidy rows and the units behind each (``recovery_record_id`` = the
        course record, ``online`` = 1). Samples: ``online_courses`` (all),
        ``type_<name>`` (one user type).

    Notes
    -----
    For online student-course :math:`i` in subject :math:`s` and school year
    :math:`t`,

    .. math:: y_i = \beta\,\mathrm{idle}_i + \theta\,\mathrm{abs}_i + \kappa\,
              \mathrm{g1112}_i + x_i'\gamma + \alpha_{s,t} + e_i

    with :math:`\mathrm{idle}_i` the idle share in units of 10 percentage
    points, :math:`\mathrm{abs}_i` the prior-year absence rate in units of 10
    points, :math:`\mathrm{g1112}_i` grade 11-12 (vs 9-10), :math:`x_i` prior
    math and reading scores, GPA, credits (means imputed, with missing
    indicators), FRL, EL, special education, gender and race/ethnicity
    dummies, and :math:`\alpha_{s,t}` subject-by-year fixed effects; standard
    errors clustered by school (``models.cov_type``; wild cluster bootstrap by
    default because a district has few schools). Rows: :math:`\beta`,
    :math:`\theta`, :math:`\kappa` for each outcome; :math:`\beta` within each
    user type (groups of at least ``min_group_size`` student-courses and two
    clusters); efficiency, activities per active hour
    :math:`= \mathrm{activities} / (\mathrm{active\ minutes}/60)`, on the
    school year (trend per year) with subject and user-type fixed effects,
    pooled and within each type. The idle share -> pass row carries
    ``estimand_id`` ``engagement_idle_pass``; it is an association, causal
    only under no unmeasured confounding of idle time given the covariates.
    """
    from credit_recovery.estimation.fixed_effects import fit_fixed_effects
    from credit_recovery.specs.options import resolve_model_options

    opt = resolve_model_options(models)
    eng = resolve_engagement_options(options)
    kw = {"cov_type": opt["cov_type"], "bootstrap_reps": int(opt["bootstrap_reps"]),
          "bootstrap_weights": opt["bootstrap_weights"], "seed": int(opt["seed"])}
    cluster = opt["cluster"] if opt["cluster"] in frame.columns else "school_id"
    min_n = int(eng["min_group_size"])
    main_terms = ["idle_share_10pp", "absence_rate_10pp", "grade_11_12"]
    data, names = _design(frame, ["absence_rate_10pp", "grade_11_12"])
    names = ["idle_share_10pp"] + [n for n in names if n != "idle_share_10pp"]
    labels = {"idle_share_10pp": "per 10 percentage points more idle time",
              "absence_rate_10pp": "per 10 percentage points higher prior-year absence rate",
              "grade_11_12": "grade 11-12 vs 9-10"}
    rows, samples = [], []

    def fit(d, y, regs, fe, terms):
        terms = [t for t in terms if t in regs]
        boot = terms if kw["cov_type"] == "wild" else None
        res = fit_fixed_effects(d, f"{y} ~ {' + '.join(regs)} | {fe}", cluster=cluster, never_drop=terms,
                                bootstrap_terms=boot, **kw)
        return res, d[res.used]

    def enough(d):
        return len(d) >= min_n and d[cluster].nunique() >= 2

    groups = [("online_courses", data)]
    if "type" in data.columns:
        groups += [(f"type_{t}", data[data["type"] == t]) for t in sorted(data["type"].dropna().unique())]
    for sample, d in groups:
        for y in outcomes:
            dy = d[d[y].notna()]
            if not enough(dy) or dy[y].nunique() < 2:
                continue
            terms = main_terms if sample == "online_courses" else ["idle_share_10pp"]
            res, used = fit(dy, y, names, "subject^school_year", terms)
            for t in [t for t in terms if t in res.params.index]:
                eid = IDLE_PASS_ESTIMAND if (t == "idle_share_10pp" and y == "passed"
                                             and sample == "online_courses") else ""
                rows.append(res.to_rows(t, outcome=y, estimand_id=eid, estimand=f"association {labels[t]}",
                                        sample=sample, estimator="OLS, student covariates, subject-by-year FE"))
            samples.append(_units(used, sample, y))
    # efficiency by school year
    data = data.assign(school_year_trend=data["school_year"].astype(float) - float(data["school_year"].min()))
    eff = data[np.isfinite(data["activities_per_active_hour"].astype(float))]
    covs = [n for n in names if n != "idle_share_10pp"]
    for sample, d in [("online_courses", eff)] + (
            [(f"type_{t}", eff[eff["type"] == t]) for t in sorted(eff["type"].dropna().unique())]
            if "type" in eff.columns else []):
        if not enough(d) or d["school_year"].nunique() < 2:
            continue
        fe = "subject + type" if (sample == "online_courses" and "type" in d.columns) else "subject"
        res, used = fit(d, "activities_per_active_hour", ["school_year_trend"] + covs, fe, ["school_year_trend"])
        rows.append(res.to_rows("school_year_trend", outcome="activities_per_active_hour",
                                estimand="change in activities per active hour per school year",
                                sample=sample, estimator="OLS, student covariates, subject and type FE"
                                if "type" in fe else "OLS, student covariates, subject FE"))
        samples.append(_units(used, sample, "activities_per_active_hour"))
    est = estimates_frame(pd.concat(rows, ignore_index=True)) if rows else estimates_frame([])
    cols = ["sample", "outcome", "student_id", "recovery_record_id", "online"]
    smp = (pd.concat(samples, ignore_index=True).drop_duplicates(cols[:4]) if samples
           else pd.DataFrame(columns=cols))
    smp = smp.sort_values(cols[:4], kind="stable").reset_index(drop=True)
    smp["online"] = smp["online"].astype("int64")
    return est, smp


def run_engagement_models(features: pd.DataFrame, types: pd.DataFrame | None, student_years: pd.DataFrame,
                          students: pd.DataFrame, models: Mapping[str, Any] | None = None,
                          options: Mapping[str, Any] | None = None) -> tuple[pd.DataFrame, pd.DataFrame]:
    """:func:`engagement_frame` then :func:`engagement_estimates` (the ``engagement_models`` rule)."""
    frame = engagement_frame(features, student_years, students, types)
    return engagement_estimates(frame, models=models, options=options)


# ---------------------------------------------------------------------------
# validation against planted truth (synthetic district)
# ---------------------------------------------------------------------------
def engagement_truth(types: pd.DataFrame, planted: pd.DataFrame, estimates: pd.DataFrame,
                          truth: Sequence[Mapping[str, Any]], *, min_ari: float = 0.8) -> pd.DataFrame:
    """Recovered user types and the idle-share association against the planted truth.

    Parameters
    ----------
    types : DataFrame
        Recovered types (``student_id, course_record_id, type``).
    planted : DataFrame
        ``results/truth/types.parquet`` (``student_id, course_record_id, user_type``).
    estimates : DataFrame
        Tidy estimate rows (the ``engagement`` part).
    truth : sequence of mapping
        ``results/truth/truth.json`` records (``estimand_id``, ``value``).
    min_ari : float
        Target adjusted Rand index.

    Returns
    -------
    DataFrame
        ``check, type, estimate, ci_low, ci_high, target, passes, n``: the
        adjusted Rand index of recovered vs planted types (``passes`` when
        ``>= min_ari``), the share of each planted type given its own name,
        and the ``engagement_idle_pass`` estimate against its planted value
        (``passes`` when the CI covers it).

    Notes
    -----
    The adjusted Rand index compares the two partitions of the student-courses
    found in both tables (chance agreement 0, identical partitions 1); it does
    not depend on the names.
    """
    from sklearn.metrics import adjusted_rand_score

    m = types[["student_id", "course_record_id", "type"]].merge(
        planted[["student_id", "course_record_id", "user_type"]], on=["student_id", "course_record_id"], how="inner")
    rows = []
    ari = float(adjusted_rand_score(m["user_type"], m["type"])) if len(m) else float("nan")
    rows.append({"check": "types_adjusted_rand_index", "type": "", "estimate": ari, "ci_low": np.nan,
                 "ci_high": np.nan, "target": float(min_ari), "passes": bool(ari >= min_ari), "n": len(m)})
    for t, g in m.groupby("user_type", sort=True):
        share = float((g["type"] == t).mean())
        rows.append({"check": "planted_type_recovered_share", "type": str(t), "estimate": share, "ci_low": np.nan,
                     "ci_high": np.nan, "target": np.nan, "passes": bool(share >= 0.5), "n": len(g)})
    values = {r["estimand_id"]: float(r["value"]) for r in truth if "estimand_id" in r and "value" in r}
    est = estimates[(estimates["estimand_id"] == IDLE_PASS_ESTIMAND)]
    for _, e in est.iterrows():
        v = values.get(IDLE_PASS_ESTIMAND, np.nan)
        rows.append({"check": "idle_pass_ci_covers_truth", "type": "", "estimate": float(e["estimate"]),
                     "ci_low": float(e["ci_low"]), "ci_high": float(e["ci_high"]), "target": v,
                     "passes": bool(e["ci_low"] <= v <= e["ci_high"]), "n": int(e["n"])})
    return pd.DataFrame(rows, columns=["check", "type", "estimate", "ci_low", "ci_high", "target", "passes", "n"])
