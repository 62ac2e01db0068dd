"""Student fixed-effects panel and event study of online credit recovery.

:func:`build_panel` turns the validated tables and the cohort into a
student-year panel of the cohort's students (everyone who ever attempted to
recover a failed core course); :func:`panel_estimates` fits the static
student fixed-effects model and the event study. See
``docs/specifications.md`` for why the comparison set is the ever-recoverers.
"""
from __future__ import annotations

from typing import Any, Mapping, Sequence

import pandas as pd

from credit_recovery.data.cohort import standardize_scores
from credit_recovery.estimation.fixed_effects import fit_fixed_effects
from credit_recovery.shared.estimate_schema import estimates_frame
from credit_recovery.specs.estimands import OCR_ESTIMANDS, stack_samples, units_frame
from credit_recovery.specs.options import fe_options, resolve_model_options

__all__ = ["build_panel", "panel_estimates", "event_time_of", "event_suffix", "EVENT_TIMES", "STATIC_EVENT_TIMES",
           "PANEL_OUTCOMES", "PRE_COVARIATES", "STATIC_TERMS", "EVENT_TERMS"]

#: Event-time bins of the event study (first and last bins are open: <= -3, >= +2); -1 is the reference.
EVENT_TIMES: tuple[int, ...] = (-3, -2, -1, 0, 1, 2)
#: Student-year outcomes the panel can model.
PANEL_OUTCOMES: tuple[str, ...] = ("math", "reading", "credits", "gpa")
#: Failure-year (baseline) covariates of the cohort episode; the panel lets them shift the failure and recovery years.
PRE_COVARIATES: tuple[str, ...] = ("absence_rate_pre", "gpa_pre", "credits_pre", "failed_courses_pre")


def event_suffix(k: int) -> str:
    """Suffix of event time ``k`` in column names: ``m2`` for -2, ``0``, ``p1`` for +1 (``rel_m2``, ``online_p1``)."""
    return f"m{-k}" if k < 0 else f"p{k}" if k > 0 else "0"


def build_panel(student_years: pd.DataFrame, course_records: pd.DataFrame, cohort: pd.DataFrame) -> pd.DataFrame:
    """Student-year panel of the cohort's students with event-time indicators.

    Parameters
    ----------
    student_years, course_records : DataFrame
        Validated input tables.
    cohort : DataFrame
        The analytic cohort (one row per student: the first recovery episode).

    Returns
    -------
    DataFrame
        One row per student-year of a cohort student: ``student_id,
        school_id, school_year, grade``, outcomes ``math, reading`` (SD units
        of the district's grade-by-year distribution, as in the cohort),
        ``credits, gpa``; ``recovery_record_id`` and ``online`` of the
        student's cohort episode; ``event_time`` = school year minus the
        episode's recovery year; bins ``rel_<k>`` (k in :data:`EVENT_TIMES`,
        ``rel_m3`` = k <= -3, ``rel_p2`` = k >= 2) and their products with
        ``online`` (``online_<k>``); ``earlier_recovery`` / ``earlier_online``:
        the student retook a course (online) in this year, a year before the
        cohort episode (later episodes can be consequences of the treatment,
        so they are not controlled for);
        ``<c>_c`` for ``c`` in :data:`PRE_COVARIATES`: the cohort episode's
        failure-year covariate, centred at the cohort mean (a missing value
        counts as the mean), constant within a student; ``<c>_0`` and
        ``<c>_m1``: it times the recovery-year and the failure-year indicator.
        Sorted by student and year.

    Notes
    -----
    Scores are standardized over *all* student-years of the input, before
    restricting to cohort students, exactly as the cohort's outcomes are.
    """
    sy = student_years.copy()
    z = standardize_scores(sy)
    sy = sy.assign(math=z["math_z"], reading=z["reading_z"], credits=sy["credits_earned"].astype(float),
                   gpa=sy["gpa"].astype(float))
    units = cohort[["student_id", "recovery_record_id", "school_year", "online"]].rename(
        columns={"school_year": "event_year"})
    for c in PRE_COVARIATES:
        x = cohort[c].astype(float)
        units[f"{c}_c"] = (x - x.mean()).fillna(0.0).to_numpy()
    p = sy[["student_id", "school_id", "school_year", "grade", "math", "reading", "credits", "gpa"]].merge(
        units, on="student_id", how="inner", validate="many_to_one")
    p["online"] = p["online"].astype(int)
    p["event_time"] = (p["school_year"] - p["event_year"]).astype(int)
    rec = course_records[course_records["attempt"] == "recovery"][["student_id", "school_year", "delivery"]]
    flags = (rec.assign(rec=1.0, onl=(rec["delivery"] == "online").astype(float))
             .groupby(["student_id", "school_year"]).agg(rec=("rec", "max"), onl=("onl", "max")).reset_index())
    p = p.merge(flags, on=["student_id", "school_year"], how="left")
    earlier = p["event_time"] < 0  # episodes before the cohort's: pre-treatment; later ones are its outcomes
    p["earlier_recovery"] = (p["rec"].fillna(0) * earlier).astype(float)
    p["earlier_online"] = (p["onl"].fillna(0) * earlier).astype(float)
    p = p.drop(columns=["rec", "onl"])
    k = p["event_time"].clip(EVENT_TIMES[0], EVENT_TIMES[-1])
    for t in EVENT_TIMES:
        p[f"rel_{event_suffix(t)}"] = (k == t).astype(float)
        p[f"online_{event_suffix(t)}"] = p[f"rel_{event_suffix(t)}"] * p["online"]
    for c in PRE_COVARIATES:
        x = p[f"{c}_c"]
        p[f"{c}_0"], p[f"{c}_m1"] = x * p["rel_0"], x * p["rel_m1"]
    return p.sort_values(["student_id", "school_year"], kind="stable").reset_index(drop=True)


_NUISANCE = ("earlier_recovery", "earlier_online") + tuple(
    f"{c}_{k}" for k in ("0", "m1") for c in PRE_COVARIATES)
#: Event-time bins of the static model's rows (bin ``-3`` holds every year three or more before the recovery).
STATIC_EVENT_TIMES: tuple[int, ...] = (-3, -2, 0)
#: Terms of the static model, fitted on the :data:`STATIC_EVENT_TIMES` rows (so no ``_m1`` terms).
STATIC_TERMS = ("online_0", "rel_0") + tuple(t for t in _NUISANCE if not t.endswith("_m1"))
EVENT_TERMS = tuple(f"online_{event_suffix(t)}" for t in EVENT_TIMES if t != -1) + (
    "rel_m2", "rel_m1", "rel_0", "rel_p1") + _NUISANCE


def _without_own_baseline(terms: Sequence[str], outcome: str) -> list[str]:
    """``terms`` without the outcome's own failure-year value at event time -1 (``gpa_pre_m1`` for GPA): at
    -1 that regressor is the outcome itself."""
    return [t for t in terms if t != f"{outcome}_pre_m1"]


def panel_estimates(panel: pd.DataFrame, outcomes: Sequence[str] = PANEL_OUTCOMES,
                    options: Mapping[str, Any] | None = None,
                    event_study: bool = True) -> tuple[pd.DataFrame, pd.DataFrame]:
    r"""Student fixed-effects estimates of online vs classroom recovery, and the event study.

    Parameters
    ----------
    panel : DataFrame
        :func:`build_panel`.
    outcomes : sequence of str
        Subset of :data:`PANEL_OUTCOMES`.
    options : mapping, optional
        ``models`` config section (cluster, cov_type, bootstrap settings).
    event_study : bool
        Also fit the event study.

    Returns
    -------
    (estimates, samples)
        Static model: one row per outcome, treatment ``online_0``,
        ``estimand_id`` ``ocr_<outcome>``, sample ``panel``. Event study:
        treatments ``online_m3, online_m2, online_0, online_p1, online_p2``
        (event times <= -3, -2, 0, +1, >= +2; reference -1); the event-time-0
        row carries ``estimand_id`` for scores (for GPA and credits the
        reference year is the failure year, whose dip delivery is selected
        on, so only the static model is validated against the truth). Samples: the cohort episodes whose
        recovery-year row entered the fit (the units whose effects the
        estimate averages).

    Notes
    -----
    Static model, for student *i* in year *t* with event time
    :math:`k = t - r_i` (:math:`r_i` the cohort episode's recovery year), fitted on the recovery year
    and the years before the failure year (*k* = 0 and *k* <= -2, :data:`STATIC_EVENT_TIMES`):

    .. math::

        y_{it} = \beta\,D_i 1[k=0] + \lambda_0 1[k=0] + \theta' o_{it} + (x_i - \bar x)'\pi_0 1[k=0]
                 + \alpha_i + \gamma_{s(it),t} + e_{it}

    :math:`D_i` online delivery of the episode, :math:`\alpha_i` student and
    :math:`\gamma_{s,t}` school-by-year effects, :math:`o_{it}` indicators
    of earlier recovery episodes (any, online) in year *t* < :math:`r_i` (later episodes can be
    consequences of the treatment, so they are not controlled for), and :math:`x_i` the
    failure-year absence rate, GPA, credits and number of core courses failed
    (:data:`PRE_COVARIATES`, all measured before the treatment): delivery is chosen on them, the
    failed courses are the credits there are to recover in year :math:`r_i`, and the failure year's
    absences also lower the chance of recovering them (a time-varying path the student effect cannot
    absorb). So trends are parallel conditional on the failure-year covariates. :math:`\beta` is the
    change in the recovery year relative to the student's years before the failure year, online minus
    classroom recoverers. The failure year carries an Ashenfelter-style dip that is selected on
    (delivery depends on that year's GPA and absences), so it is left out rather than serving as a
    baseline (left in, its dip would leak into :math:`\alpha_i`; given its own terms, the failure-year
    GPA and credits would be regressed on themselves). The years after the recovery year are left out
    too: they carry the treatment's lasting effects and its later episodes. A time-invariant unobserved
    trait is absorbed by :math:`\alpha_i`.

    Event study: :math:`\sum_{k \ne -1} \beta_k D_i 1[k]` with bins
    :math:`k \le -3` and :math:`k \ge 2`, common terms
    :math:`\lambda_k 1[k]` for k = -2..1 (reference: the outer bins),
    plus :math:`\alpha_i, \gamma_{s,t}, o_{it}` and :math:`x_i` times 1[k=0] and 1[k=-1] (but the
    outcome's own failure-year value at -1); :math:`\beta_{-3}, \beta_{-2}`
    show pre-trends. Nuisance terms that are collinear after absorbing the
    fixed effects (e.g. no other online episodes) are left out. Standard
    errors clustered by ``options["cluster"]``.
    """
    opt = resolve_model_options(options)
    bad = [y for y in outcomes if y not in PANEL_OUTCOMES]
    if bad:
        raise ValueError(f"panel outcomes {bad} are not allowed; allowed values are {list(PANEL_OUTCOMES)}")
    kw = fe_options(opt)
    rows, samples = [], []
    fe = "student_id + school_id^school_year"
    # comparison years: before the failure year only (the failure year's dip is selected on; later years
    # carry the treatment's lasting effects and its later episodes)
    static = panel[panel[[f"rel_{event_suffix(t)}" for t in STATIC_EVENT_TIMES]].sum(axis=1) == 1]
    for y in outcomes:
        res = fit_fixed_effects(static, f"{y} ~ {' + '.join(STATIC_TERMS)} | {fe}", cluster=opt["cluster"],
                                never_drop=["online_0"],
                                bootstrap_terms=["online_0"] if kw["cov_type"] == "wild" else None, **kw)
        used = static[res.used]
        rows.append(res.to_rows("online_0", outcome=y, estimand_id=OCR_ESTIMANDS.get(y, ""),
                                estimand="ATT in the recovery year", sample="panel",
                                estimator="student FE panel, school-by-year FE"))
        units = used[used["event_time"] == 0]
        samples.append(units_frame(units, "panel", y))
        if event_study:
            terms = [t for t in EVENT_TERMS if t.startswith("online_")]
            rhs = " + ".join(_without_own_baseline(EVENT_TERMS, y))
            res_e = fit_fixed_effects(panel, f"{y} ~ {rhs} | {fe}", cluster=opt["cluster"],
                                      never_drop=terms,
                                      bootstrap_terms=terms if kw["cov_type"] == "wild" else None, **kw)
            used_e = panel[res_e.used]
            er = res_e.to_rows(terms, outcome=y, estimand="difference from event time -1, online - classroom",
                               sample="panel_es", estimator="student FE event study, school-by-year FE")
            if y in ("math", "reading"):  # GPA/credits: the reference year is the selected-on dip year
                er.loc[er["treatment"] == "online_0", "estimand_id"] = OCR_ESTIMANDS.get(y, "")
            rows.append(er)
            samples.append(units_frame(used_e[used_e["event_time"] == 0], "panel_es", y))
    return estimates_frame(pd.concat(rows, ignore_index=True)), stack_samples(samples)


def event_time_of(treatment: str) -> int:
    """Event time of an event-study treatment name (``online_m2`` -> -2, ``online_p1`` -> 1, ``online_0`` -> 0)."""
    s = treatment.rsplit("_", 1)[-1]
    if s == "0":
        return 0
    sign = -1 if s[0] == "m" else 1
    return sign * int(s[1:])
