r"""Mentor support among online takers: supportive (and certified) vs not, within schools (``mentor_*``)."""
from __future__ import annotations

from typing import Any, Mapping, Sequence

import numpy as np
import pandas as pd

from credit_recovery.estimation.fixed_effects import fit_fixed_effects
from credit_recovery.shared.estimate_schema import estimates_frame
from credit_recovery.specs.coding import flag
from credit_recovery.specs.estimands import MENTOR_ESTIMANDS, stack_samples, units_frame
from credit_recovery.specs.options import fe_options, resolve_model_options

__all__ = ["course_test_stats", "mentor_estimates", "online_takers", "within_school_att_weights"]


def course_test_stats(events: pd.DataFrame, pass_mark: float = 60.0) -> pd.DataFrame:
    """Tests taken and passed per online course record, from the platform events.

    Parameters
    ----------
    events : DataFrame
        ``platform_events`` (``course_record_id, event_type, score``).
    pass_mark : float
        ``engagement.pass_mark``: a test with ``score >= pass_mark`` is passed.

    Returns
    -------
    DataFrame
        ``course_record_id, tests_taken, tests_passed, test_pass_rate``; one
        row per course record with any event (``tests_taken`` 0 and
        ``test_pass_rate`` missing when no test was submitted), sorted by id.

    Notes
    -----
    ``tests_taken`` counts ``test_submitted`` events; ``test_pass_rate =
    tests_passed / tests_taken``.
    """
    ids = pd.Index(pd.unique(events["course_record_id"].astype(str)), name="course_record_id").sort_values()
    t = events.loc[events["event_type"] == "test_submitted", ["course_record_id", "score"]]
    passed = pd.to_numeric(t["score"], errors="coerce").to_numpy(dtype=float) >= float(pass_mark)
    g = pd.DataFrame({"course_record_id": t["course_record_id"].astype(str).to_numpy(),
                      "tests_taken": 1, "tests_passed": passed.astype(int)}).groupby("course_record_id").sum()
    out = g.reindex(ids, fill_value=0).reset_index()
    out["tests_taken"] = out["tests_taken"].astype("int64")
    out["tests_passed"] = out["tests_passed"].astype("int64")
    out["test_pass_rate"] = np.where(out["tests_taken"] > 0,
                                     out["tests_passed"] / out["tests_taken"].where(out["tests_taken"] > 0, 1),
                                     np.nan)
    return out


def online_takers(cohort: pd.DataFrame, test_stats: pd.DataFrame | None = None) -> pd.DataFrame:
    """The cohort's online takers with 0/1 ``supportive`` and ``certified`` (missing where the mentor is unknown)
    and, given :func:`course_test_stats`, their course's test statistics: the units of :func:`mentor_estimates`."""
    on = cohort[cohort["online"].astype(int) == 1].copy()
    on["supportive"] = flag(on["mentor_supportive"])
    on["certified"] = flag(on["mentor_certified"])
    if test_stats is not None:
        on = on.merge(test_stats.rename(columns={"course_record_id": "recovery_record_id"}),
                      on="recovery_record_id", how="left")
    return on


def within_school_att_weights(d: pd.DataFrame, treat: str, school: str = "school_id") -> np.ndarray:
    r"""ATT weights within school: 1 for a treated unit, :math:`n_{1s}/n_{0s}` for a control in school
    :math:`s` (0 in a school without both arms).

    With these weights the school fixed-effects regression of :math:`y` on the treatment gives
    :math:`\sum_s n_{1s}\hat\tau_s / \sum_s n_{1s}`, the ATT (each school's difference in means
    weighted by its treated units), instead of the regression's variance weights
    :math:`n_s p_s(1-p_s)`: within each school the weighted treated share is one half, so every
    school's weighted treatment variance is proportional to :math:`n_{1s}`.
    """
    t = d[treat].astype(float).to_numpy()
    g = d[school].astype(str).to_numpy()
    n1 = pd.Series(t).groupby(g).transform("sum").to_numpy()
    n0 = pd.Series(1 - t).groupby(g).transform("sum").to_numpy()
    both = (n1 > 0) & (n0 > 0)
    return np.where(~both, 0.0, np.where(t == 1, 1.0, n1 / np.where(n0 > 0, n0, 1.0)))


def mentor_estimates(cohort: pd.DataFrame, outcomes: Sequence[str], test_stats: pd.DataFrame | None = None,
                     options: Mapping[str, Any] | None = None) -> tuple[pd.DataFrame, pd.DataFrame]:
    r"""Supportive vs non-supportive (and certified vs not) mentors among online takers.

    Parameters
    ----------
    cohort : DataFrame
        The analytic cohort (``mentor_supportive``, ``mentor_certified``).
    outcomes : sequence of str
        Cohort outcomes and/or ``tests_taken``, ``test_pass_rate`` (need ``test_stats``).
    test_stats : DataFrame, optional
        :func:`course_test_stats` of the platform events.

    Returns
    -------
    (estimates, samples)
        Sample ``online``; ``estimand_id`` ``mentor_<outcome>`` for the
        supportive contrast on credit recovered and math.

    Notes
    -----
    Mentors are assigned at random within school, so within-school contrasts
    identify the effect:
    :math:`y_i = \beta\,supportive_i + \alpha_{s(i)} + e_i` over online
    takers, weighted by :func:`within_school_att_weights` so that
    :math:`\beta` is the ATT over the online takers with a supportive
    mentor (unweighted, it would weight schools by their treatment
    variance), clustered by ``options["cluster"]``; likewise with
    ``certified`` (mentor certified in the course's subject), which is *not*
    randomized separately (supportive mentors are more often certified) and
    has no planted truth. A contrast whose treatment varies within fewer
    than two schools is not estimated (no row).
    """
    opt = resolve_model_options(options)
    on = online_takers(cohort, test_stats)
    rows, samples = [], []
    for treat, label in (("supportive", "instructionally supportive vs not"),
                         ("certified", "certified in the subject vs not")):
        for y in outcomes:
            if y not in on.columns:
                raise ValueError(f"mentor outcome {y!r} is neither a cohort column nor a test statistic; "
                                 "pass test_stats=course_test_stats(events) for tests_taken/test_pass_rate")
            d = on[on[treat].notna() & on[y].notna()]
            # the contrast is identified within schools: it needs variation in at least two of them
            # (with one, the clustered score sums to zero and there is no standard error)
            if int((d.groupby("school_id")[treat].nunique() > 1).sum()) < 2:
                continue
            d = d.assign(att_weight=within_school_att_weights(d, treat))
            d = d[d["att_weight"] > 0]
            res = fit_fixed_effects(d, f"{y} ~ {treat} | school_id", weights="att_weight", cluster=opt["cluster"],
                                    never_drop=[treat], **fe_options(opt))
            eid = MENTOR_ESTIMANDS.get(y, "") if treat == "supportive" else ""
            rows.append(res.to_rows(treat, outcome=y, estimand_id=eid,
                                    estimand=f"ATT among online takers with a {treat} mentor",
                                    sample="online", estimator=f"mentor {label}, school FE"))
            samples.append(units_frame(d[res.used], "online", y))
    est = estimates_frame(pd.concat(rows, ignore_index=True)) if rows else estimates_frame([])
    return est, stack_samples(samples)
