"""Associations of idle time (and absences, grade level) with course results, and efficiency by year.

The ``engagement_models`` rule calls :func:`run_engagement_models`: :func:`engagement_frame` (one row
per online student-course: outcomes, engagement, baseline covariates, user type) then
:func:`engagement_estimates` (tidy estimate rows and the units behind each). The other pieces of the
engagement stage: sessions (:mod:`credit_recovery.engagement.sessions`), course features
(:mod:`~credit_recovery.engagement.features`), user types (:mod:`~credit_recovery.engagement.typology`),
figures (:mod:`~credit_recovery.engagement.figures`); the check against planted truth is
:func:`credit_recovery.truth.engagement.engagement_truth`.

No function here reads or writes files; see ``docs/methods.md`` ("Engagement associations").
"""
from __future__ import annotations

from typing import Any, Callable, Mapping, Sequence

import numpy as np
import pandas as pd

from credit_recovery.data.cohort import standardize_scores
from credit_recovery.data.contract import MARK_POINTS
from credit_recovery.data.imputation import impute_missing
from credit_recovery.engagement.options import resolve_engagement_options
from credit_recovery.shared.estimate_schema import estimates_frame
from credit_recovery.estimation.fixed_effects import fit_fixed_effects
from credit_recovery.specs.coding import covariate_design
from credit_recovery.specs.options import fe_options, resolve_model_options

__all__ = [
    "ENGAGEMENT_OUTCOMES",
    "IDLE_PASS_ESTIMAND",
    "BASELINE_COVARIATES",
    "MAIN_TERMS",
    "TERM_LABELS",
    "engagement_frame",
    "engagement_estimates",
    "run_engagement_models",
]

#: Course outcomes of the association models: grade points (A = 4 ... F = 0, withdrawn missing),
#: completion (not withdrawn) and pass (credit earned).
ENGAGEMENT_OUTCOMES: tuple[str, ...] = ("grade_points", "completed", "passed")
#: Estimand id of the idle share -> pass association (planted as ``simulation.effects.idle_share_pass``).
IDLE_PASS_ESTIMAND = "engagement_idle_pass"
#: Student covariates of the association models (baseline: the school year before the course).
BASELINE_COVARIATES: tuple[str, ...] = ("math_pre", "reading_pre", "gpa_pre", "credits_pre", "frl", "ell", "sped",
                                        "gender", "race_ethnicity")
#: Terms reported for every outcome on all online courses (within a type: the idle share only).
MAIN_TERMS: tuple[str, ...] = ("idle_share_10pp", "absence_rate_10pp", "grade_11_12")
#: What one unit of each reported term is (the ``estimand`` text of its rows).
TERM_LABELS: dict[str, str] = {"idle_share_10pp": "per 10 percentage points more idle time",
                               "absence_rate_10pp": "per 10 percentage points higher prior-year absence rate",
                               "grade_11_12": "grade 11-12 vs 9-10"}


def engagement_frame(features: pd.DataFrame, student_years: pd.DataFrame, students: pd.DataFrame,
                     types: pd.DataFrame | None = None) -> pd.DataFrame:
    """One row per online student-course: outcomes, engagement, baseline covariates, user type.

    Parameters
    ----------
    features : DataFrame
        :func:`credit_recovery.engagement.features.course_features` output.
    student_years, students : DataFrame
        The contract tables (baseline covariates of the year before the course).
    types : DataFrame, optional
        :func:`credit_recovery.engagement.typology.typology_tables` types (adds ``type``).

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
    opt = resolve_model_options(models)
    eng = resolve_engagement_options(options)
    kw = fe_options(opt)
    cluster = opt["cluster"] if opt["cluster"] in frame.columns else "school_id"
    min_n = int(eng["min_group_size"])
    data, names = _design(frame, ["absence_rate_10pp", "grade_11_12"])
    names = ["idle_share_10pp"] + [n for n in names if n != "idle_share_10pp"]

    def fit(d, y, regs, fe, terms):
        terms = [t for t in terms if t in regs]
        boot = terms if kw["cov_type"] == "wild" else None
        res = fit_fixed_effects(d, f"{y} ~ {' + '.join(regs)} | {fe}", cluster=cluster, never_drop=terms,
                                bootstrap_terms=boot, **kw)
        return res, d[res.used]

    def enough(d):
        return len(d) >= min_n and d[cluster].nunique() >= 2

    rows, samples = _outcome_rows(data, names, outcomes, fit, enough)
    efficiency_rows, efficiency_samples = _efficiency_rows(data, names, fit, enough)
    return _tidy(rows + efficiency_rows, samples + efficiency_samples)


def _type_groups(data: pd.DataFrame) -> list[tuple[str, pd.DataFrame]]:
    """``[("online_courses", data), ("type_<name>", rows of that type)...]`` (types only when known)."""
    groups = [("online_courses", data)]
    if "type" in data.columns:
        groups += [(f"type_{t}", data[data["type"] == t]) for t in sorted(data["type"].dropna().unique())]
    return groups


def _outcome_rows(data: pd.DataFrame, names: list[str], outcomes: Sequence[str], fit: Callable,
                  enough: Callable) -> tuple[list[pd.DataFrame], list[pd.DataFrame]]:
    """Idle share, absences and grade level with each course outcome (all courses; idle share by type)."""
    rows, samples = [], []
    for sample, d in _type_groups(data):
        for y in outcomes:
            dy = d[d[y].notna()]
            if not enough(dy) or dy[y].nunique() < 2:
                continue
            terms = list(MAIN_TERMS) if sample == "online_courses" else ["idle_share_10pp"]
            res, used = fit(dy, y, names, "subject^school_year", terms)
            for t in [t for t in terms if t in res.params.index]:
                eid = IDLE_PASS_ESTIMAND if (t == "idle_share_10pp" and y == "passed"
                                             and sample == "online_courses") else ""
                rows.append(res.to_rows(t, outcome=y, estimand_id=eid, estimand=f"association {TERM_LABELS[t]}",
                                        sample=sample, estimator="OLS, student covariates, subject-by-year FE"))
            samples.append(_units(used, sample, y))
    return rows, samples


def _efficiency_rows(data: pd.DataFrame, names: list[str], fit: Callable,
                     enough: Callable) -> tuple[list[pd.DataFrame], list[pd.DataFrame]]:
    """Trend of activities per active hour over school years (all courses with type FE; within each type)."""
    data = data.assign(school_year_trend=data["school_year"].astype(float) - float(data["school_year"].min()))
    eff = data[np.isfinite(data["activities_per_active_hour"].astype(float))]
    covs = [n for n in names if n != "idle_share_10pp"]
    rows, samples = [], []
    for sample, d in _type_groups(eff):
        if not enough(d) or d["school_year"].nunique() < 2:
            continue
        fe = "subject + type" if (sample == "online_courses" and "type" in d.columns) else "subject"
        res, used = fit(d, "activities_per_active_hour", ["school_year_trend"] + covs, fe, ["school_year_trend"])
        rows.append(res.to_rows("school_year_trend", outcome="activities_per_active_hour",
                                estimand="change in activities per active hour per school year",
                                sample=sample, estimator="OLS, student covariates, subject and type FE"
                                if "type" in fe else "OLS, student covariates, subject FE"))
        samples.append(_units(used, sample, "activities_per_active_hour"))
    return rows, samples


def _tidy(rows: list[pd.DataFrame], samples: list[pd.DataFrame]) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Estimate rows as one tidy frame; the units behind them, one row per sample, outcome and unit, sorted."""
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
