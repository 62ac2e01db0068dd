r"""Callaway-Sant'Anna estimates of online vs classroom recovery: each recovery-year cohort on its own.

Every cohort student failed a core course in school year :math:`g - 1` and recovered it in *g* (the
recovery-year cohort *g*), online or in a classroom. The student fixed-effects event study
(:mod:`credit_recovery.specs.panel`) pools all cohorts in one regression, which weights cohorts by
their variance and, with effects that vary across cohorts or event times, compares units with
already-treated ones. Here each cohort's online recoverers are compared with the classroom recoverers
of the *same* cohort, whose failure-year dip falls in the same year, by the group-time estimator of
Callaway & Sant'Anna (2021) (:func:`credit_recovery.estimation.staggered.att_gt`):

* treatment group *g*: the online recoverers of cohort *g* ("online in year *g*"); comparison: the
  classroom recoverers of cohort *g* (``stratum`` = the cohort, never-treated comparisons: a classroom
  recoverer is never treated by online recovery);
* base period *g - 1* (the failure year) for every period (``universal``), so every event-time estimate
  is a difference from event time -1, as the event study's;
* doubly robust with the failure-year covariates :data:`~credit_recovery.specs.panel.PRE_COVARIATES`
  (delivery is chosen on them, and the failure year's dip and the recovery year's rebound depend on
  them), each cohort with its own propensity score and outcome regression.

Why the stratum and not cohort dummies in one outcome regression: with dummies, the slopes on the
covariates would be shared by cohorts whose classroom recoverers are at different event times in the
same two calendar years (for cohort *g + 1* the years *g - 1*, *g* are its event times -2, -1: its own
dip), and the propensity score would separate the cohorts perfectly. Without covariates the two are
the same number: a cohort-saturated regression predicts the cohort's own classroom mean.

The recovery-year effect is the event-time aggregation at *e = 0*: the mean over the cohorts' online
recoverers (each cohort weighted by its online recoverers observed in *g - 1* and *g*) of the
recovery year's change minus the same cohort's classroom change (given the covariates).
"""
from __future__ import annotations

from typing import Any, Mapping, Sequence

import numpy as np
import pandas as pd

from credit_recovery.estimation.staggered import StaggeredResult, att_gt
from credit_recovery.shared.estimate_schema import estimate_row, estimates_frame
from credit_recovery.specs.estimands import OCR_ESTIMANDS, stack_samples, units_frame
from credit_recovery.specs.options import resolve_model_options
from credit_recovery.specs.panel import PANEL_OUTCOMES, PRE_COVARIATES, event_suffix

__all__ = ["staggered_estimates", "staggered_fit", "CS_EVENT_TIMES", "SAMPLE", "ESTIMATOR", "SCORED_OUTCOMES"]

#: Event times reported (-1 is the base period).
CS_EVENT_TIMES: tuple[int, ...] = (-3, -2, 0, 1, 2)
SAMPLE = "panel_cs"
ESTIMATOR = "Callaway-Sant'Anna, same-cohort classroom comparison"
#: Outcomes whose event-time-0 row carries the ``ocr_*`` estimand id (scored against the planted truth).
SCORED_OUTCOMES: tuple[str, ...] = ("math", "reading", "credits", "gpa")
COV_TYPE = "influence function, clustered"
#: A cohort's cell is estimated only with this many online and classroom students per regression coefficient.
MIN_UNITS_PER_COEF = 3


def _cs_frame(panel: pd.DataFrame, cluster: str) -> pd.DataFrame:
    """The panel with ``cs_group`` (recovery year if online, else 0), ``cs_cohort`` (recovery year) and
    ``cs_cluster`` (the student's ``cluster`` value in the recovery year; the student for ``student_id``)."""
    if cluster not in panel.columns:
        raise ValueError(f"cluster column {cluster!r} is not in the panel")
    if cluster == "student_id":
        where = panel["student_id"]
    else:
        per = panel[["student_id", cluster]].rename(columns={cluster: "c"})
        rec = per[panel["event_time"] == 0].drop_duplicates("student_id").set_index("student_id")["c"]
        first = per.drop_duplicates("student_id").set_index("student_id")["c"]
        where = panel["student_id"].map(rec).fillna(panel["student_id"].map(first))
    return panel.assign(cs_group=np.where(panel["online"] == 1, panel["event_year"], 0),
                        cs_cohort=panel["event_year"], cs_cluster=where)


def staggered_fit(panel: pd.DataFrame, outcome: str, options: Mapping[str, Any] | None = None,
                  covariates: Sequence[str] = PRE_COVARIATES, est_method: str = "dr") -> StaggeredResult:
    """:func:`~credit_recovery.estimation.staggered.att_gt` of one outcome on the student panel (see the module).

    Parameters
    ----------
    panel : DataFrame
        :func:`credit_recovery.specs.panel.build_panel` (its centred covariates ``<c>_c``).
    outcome : str
    options : mapping, optional
        ``models`` config section: ``cluster`` (the school of the recovery year for ``school_id``).
    covariates : sequence of str
        Failure-year covariates (``()``: unconditional).
    est_method : {"dr", "reg"}
    """
    opt = resolve_model_options(options)
    d = _cs_frame(panel, opt["cluster"])
    return att_gt(d, unit="student_id", time="school_year", outcome=outcome, group="cs_group",
                  covariates=[f"{c}_c" for c in covariates],
                  cluster=None if opt["cluster"] == "student_id" else "cs_cluster", stratum="cs_cohort",
                  control_group="never_treated", base_period="universal", est_method=est_method,
                  cluster_adjust=True, min_units_per_coef=MIN_UNITS_PER_COEF)


def staggered_estimates(panel: pd.DataFrame, outcomes: Sequence[str] = PANEL_OUTCOMES,
                        options: Mapping[str, Any] | None = None, covariates: Sequence[str] = PRE_COVARIATES,
                        est_method: str = "dr") -> tuple[pd.DataFrame, pd.DataFrame]:
    r"""Same-cohort Callaway-Sant'Anna event-time estimates of online vs classroom recovery.

    Parameters
    ----------
    panel : DataFrame
        :func:`credit_recovery.specs.panel.build_panel`.
    outcomes : sequence of str
        Subset of :data:`~credit_recovery.specs.panel.PANEL_OUTCOMES`.
    options : mapping, optional
        ``models`` config section (``cluster``).
    covariates, est_method
        As :func:`staggered_fit`.

    Returns
    -------
    (estimates, samples)
        Sample ``panel_cs``, estimator :data:`ESTIMATOR`, one row per outcome and event time *e* in
        :data:`CS_EVENT_TIMES` with cells (treatment ``online_m3, online_m2, online_0, online_p1,
        online_p2``): *e = 0* is the "ATT in the recovery year" (estimand id ``ocr_<outcome>``), the
        others the "difference from event time -1, online - classroom" (*e* < 0: placebo pre-trends).
        ``n``: students in the cells of *e*; standard errors from the influence function clustered by
        ``options["cluster"]`` with :math:`G/(G-1)` and :math:`t_{G-1}` intervals. Samples: the students
        in the *e = 0* cells (online and classroom).

    Notes
    -----
    :math:`\theta(e) = \sum_g w_{g,e}\, ATT(g, g+e) / \sum_g w_{g,e}`, :math:`w_{g,e}` the online
    recoverers of cohort *g* observed in *g + e* and *g - 1*, and

    .. math::

        ATT(g, g+e) = E[Y_{g+e} - Y_{g-1} \mid \text{online}, g] - E[Y_{g+e} - Y_{g-1} \mid \text{classroom}, g]

    given the failure-year covariates (doubly robust). It needs parallel trends *within* the cohort
    given those covariates and no anticipation (delivery of year *g* does not move year *g - 1*); effects
    may differ across students, cohorts and event times.
    """
    bad = [y for y in outcomes if y not in PANEL_OUTCOMES]
    if bad:
        raise ValueError(f"panel outcomes {bad} are not allowed; allowed values are {list(PANEL_OUTCOMES)}")
    rows, samples = [], []
    for y in outcomes:
        res = staggered_fit(panel, y, options, covariates, est_method)
        dyn = res.aggregate("dynamic", min_e=min(CS_EVENT_TIMES), max_e=max(CS_EVENT_TIMES))
        dyn = dyn[dyn["term"].isin(CS_EVENT_TIMES) & dyn["att"].notna()]
        for _, r in dyn.iterrows():
            e = int(r["term"])
            rows.append(estimate_row(
                outcome=y, treatment=f"online_{event_suffix(e)}", sample=SAMPLE, estimator=ESTIMATOR,
                estimand="ATT in the recovery year" if e == 0 else "difference from event time -1, online - classroom",
                estimand_id=OCR_ESTIMANDS[y] if e == 0 and y in SCORED_OUTCOMES else "",
                fixed_effects="none", cov_type=COV_TYPE, estimate=r["att"], std_error=r["std_error"],
                n=r["n_units"], n_clusters=res.n_clusters, df=res.df, level=res.level))
        cells = (res.attgt["event_time"] == 0).to_numpy()
        ids = res.units.loc[res.in_cell[:, cells].any(axis=1), "unit"]
        units = panel[panel["student_id"].isin(ids)]
        samples.append(units_frame(units, SAMPLE, y))
    return estimates_frame(rows), stack_samples(samples)
