"""When each cohort column is measured, relative to the treatment (the recovery course's delivery).

A design may adjust only for what the treatment cannot have changed. :data:`COHORT_TIMING` gives every
column of the analytic cohort (:func:`credit_recovery.data.cohort.build_cohort`) one of
:data:`TIMINGS`:

* ``baseline``: measured in the failure year *t* or before (scores, GPA, credits, absences, grade,
  demographics, courses failed in year *t*);
* ``assignment``: fixed when the retake is scheduled, before delivery is chosen (the school and year of
  the retake, the failed course and its term);
* ``treatment``: the treatment itself and what is chosen with it (delivery, mentor, the number of
  recovery attempts in the episode);
* ``outcome``: measured in or after the recovery year;
* ``identifier``: record keys.

:func:`check_adjustment_timing` reads a study config and stops with the offending columns when a
covariate of the matching, the propensity model or the outcome models (``matching.covariates``,
``matching.exact``, ``models.adjust_for``) is not ``baseline`` or ``assignment``; the Snakefile calls it
before any job runs.
"""
from __future__ import annotations

from typing import Any, Iterable, Mapping

__all__ = ["TIMINGS", "ADJUSTABLE", "COHORT_TIMING", "not_adjustable", "check_adjustment_timing"]

#: The timing classes, in time order.
TIMINGS = ("identifier", "baseline", "assignment", "treatment", "outcome")
#: Timings a design may adjust for.
ADJUSTABLE = frozenset({"baseline", "assignment"})

#: Cohort column -> when it is measured (see the module notes).
COHORT_TIMING: dict[str, str] = {
    "student_id": "identifier", "failed_record_id": "identifier", "recovery_record_id": "identifier",
    "baseline_year": "baseline", "district": "baseline", "grade": "baseline", "gender": "baseline", "race_ethnicity": "baseline",
    "frl": "baseline", "ell": "baseline", "sped": "baseline", "absence_rate_pre": "baseline",
    "math_pre": "baseline", "reading_pre": "baseline", "gpa_pre": "baseline", "credits_pre": "baseline",
    "failed_courses_pre": "baseline", "math_pre2": "baseline", "reading_pre2": "baseline", "gpa_pre2": "baseline",
    "school_id": "assignment", "school_year": "assignment", "subject": "assignment", "course_name": "assignment",
    "failed_term": "assignment",
    "online": "treatment", "delivery": "treatment", "mentor_id": "treatment", "mentor_supportive": "treatment",
    "mentor_certified": "treatment", "program_model": "treatment", "episode_courses": "treatment",
    "math": "outcome", "reading": "outcome", "credits": "outcome", "gpa": "outcome", "credit_recovered": "outcome",
    "recovery_mark": "outcome", "cum_credits_2y": "outcome", "on_track": "outcome", "graduated": "outcome",
}


def not_adjustable(columns: Iterable[str]) -> dict[str, str]:
    """The columns a design may not adjust for, with their timing (``unknown`` for a column not listed)."""
    return {c: COHORT_TIMING.get(c, "unknown") for c in columns if COHORT_TIMING.get(c) not in ADJUSTABLE}


def check_adjustment_timing(config: Mapping[str, Any]) -> None:
    """Stop when a configured adjustment covariate is measured at or after the treatment.

    Raises
    ------
    ValueError
        Naming each offending config key, column and timing, and the allowed columns.
    """
    lists = {"matching.covariates": config.get("matching", {}).get("covariates", []),
             "matching.exact": config.get("matching", {}).get("exact", []),
             "models.adjust_for": config.get("models", {}).get("adjust_for", [])}
    bad = {key: not_adjustable(cols) for key, cols in lists.items()}
    bad = {k: v for k, v in bad.items() if v}
    if bad:
        what = "; ".join(f"{key}: " + ", ".join(f"{c} ({t})" for c, t in cols.items()) for key, cols in bad.items())
        allowed = sorted(c for c, t in COHORT_TIMING.items() if t in ADJUSTABLE)
        raise ValueError(f"adjustment covariates must be measured before the treatment (baseline or assignment); "
                         f"{what}. Allowed cohort columns: {', '.join(allowed)}")
