"""Scenario knobs of the synthetic district (issue 11): worlds the estimators were not tuned to.

Each knob is off by default and then changes nothing (not even the main random stream): its
randomness comes from its own generator (:meth:`~credit_recovery.synthetic.world.World.knob_rng`)
and is drawn only when the knob is on. The knobs are documented in ``docs/synthetic-district.md``.

* ``attrition``: an episode's recovery-year test scores and GPA are missing with probability
  ``p0 = base + online_extra·D``, or, with a covariate slope, ``expit(logit p0 + (slope + online_slope·D)·x)``
  where ``x`` is the episode's standardized pre-treatment ``covariate`` (:func:`attrition_mask`): missing at
  random given that covariate and the arm.
* ``school_shocks``: a school shock (SD ``school_sd``) plus a school-by-year shock (SD
  ``school_year_sd``) raises every student-year's outcomes (test z-scores and recovery log-odds by
  the shock, course performance by ``PERF_SD`` times it); an independent pair of shocks of the
  same SDs raises the log-odds of online take-up (:func:`draw_school_shocks`, :func:`school_shock`).
* ``mentor_selection``: within a school, an episode gets an instructionally supportive mentor with
  log-odds raised by ``mentor_selection`` per SD of its prospect index (:func:`select_mentors`).
"""
from __future__ import annotations

import numpy as np
import pandas as pd
from scipy.special import expit, logit

from credit_recovery.synthetic.world import KNOB_STREAMS, World

__all__ = ["attrition_mask", "attrition_slopes_on", "attrition_probability", "draw_school_shocks", "school_shock",
           "prospect_index", "select_mentors"]


def attrition_slopes_on(w: World) -> bool:
    """Whether the chance of a missing outcome depends on a covariate (``attrition.slope`` or ``online_slope``)."""
    cfg = w.settings["attrition"]
    return float(cfg["slope"]) != 0 or float(cfg["online_slope"]) != 0


def attrition_probability(p0: np.ndarray, slope: np.ndarray, x: np.ndarray) -> np.ndarray:
    r"""Chance of a missing outcome: :math:`\operatorname{expit}(\operatorname{logit} p_0 + b\,x)`.

    ``p0`` (clipped to [0, 1]) is the chance at the covariate's mean (``x = 0``); ``b`` the log-odds
    per SD of ``x``. A ``p0`` of 0 or 1 stays 0 or 1.
    """
    with np.errstate(divide="ignore"):
        return expit(logit(np.clip(p0, 0.0, 1.0)) + slope * x)


def attrition_mask(w: World) -> np.ndarray | None:
    """Student-years (rows of ``w.student_years``) whose recovery-year outcomes are lost; ``None`` when off.

    Each episode's recovery-year record loses its outcomes with probability
    ``p0 = simulation.attrition.base`` plus ``online_extra`` for online recoverers; with a
    non-zero ``slope`` or ``online_slope``, with :func:`attrition_probability` of ``p0``, the
    slope ``slope + online_slope·D`` and the episode's ``covariate`` standardized over its
    recovery year's episodes (``x_<covariate>``,
    :func:`~credit_recovery.synthetic.heterogeneity.episode_covariates`). Either way the
    outcome is missing at random given the arm and that covariate. The uniform draws come
    from the knob's own stream, one per episode, whatever the slopes.
    """
    cfg = w.settings["attrition"]
    base, extra = float(cfg["base"]), float(cfg["online_extra"])
    if base == 0 and extra == 0:
        return None
    ep = w.episodes
    d = ep["online"].to_numpy(float)
    p = base + extra * d
    if attrition_slopes_on(w):
        slope = float(cfg["slope"]) + float(cfg["online_slope"]) * d
        p = attrition_probability(p, slope, ep[f"x_{cfg['covariate']}"].to_numpy(float))
    lost_ep = w.knob_rng(KNOB_STREAMS["attrition"]).random(len(ep)) < p
    lost = np.zeros(len(w.student_years), dtype=bool)
    lost[ep["sy_next"].to_numpy()[lost_ep]] = True
    return lost


def draw_school_shocks(w: World) -> None:
    """Set ``w.outcome_shock`` and ``w.takeup_shock`` (school × year arrays), or ``None`` when the knob is off.

    Each is a school shock ``N(0, school_sd²)`` plus a school-by-year shock
    ``N(0, school_year_sd²)``; the two are independent, so school shocks cluster
    outcomes and take-up without confounding them.
    """
    cfg = w.settings["school_shocks"]
    school_sd, year_sd = float(cfg["school_sd"]), float(cfg["school_year_sd"])
    w.outcome_shock = w.takeup_shock = None
    if school_sd == 0 and year_sd == 0:
        return
    rng = w.knob_rng(KNOB_STREAMS["school_shocks"])
    n, t = len(w.school_ids), len(w.years)
    w.outcome_shock = rng.normal(0, school_sd, n)[:, None] + rng.normal(0, year_sd, (n, t))
    w.takeup_shock = rng.normal(0, school_sd, n)[:, None] + rng.normal(0, year_sd, (n, t))


def school_shock(w: World, shocks: np.ndarray, school_idx: np.ndarray, school_year: np.ndarray) -> np.ndarray:
    """The shock (``w.outcome_shock`` or ``w.takeup_shock``) of each school and school year."""
    return shocks[school_idx, np.asarray(school_year) - w.first_year]


def prospect_index(w: World, sti: np.ndarray, absr_prev: np.ndarray) -> np.ndarray:
    """A recovery episode's prospects, standardized over the episodes given.

    The student part of the classroom recovery log-odds (see
    :mod:`~credit_recovery.synthetic.outcomes`): ``0.55·ability − 3·(absence rate − 0.15) + 0.3·γ·U``,
    latent ability (which also drives scores and marks) and the failure year's absence rate.
    """
    st = w.students
    x = (0.55 * st["ability"].to_numpy()[sti] - 3.0 * (absr_prev - 0.15)
         + 0.3 * w.gamma * st["U"].to_numpy()[sti])
    sd = x.std()
    return (x - x.mean()) / sd if sd > 0 else np.zeros_like(x)


def select_mentors(w: World, school_idx: np.ndarray, prospect: np.ndarray, strength: float) -> np.ndarray:
    """A mentor (row of ``w.mentors``) per episode, chosen within its school with selection on prospects.

    Mentor ``m`` of the school is drawn with weight ``exp(strength·prospect·S_m)``, so the log-odds
    of a supportive mentor rise by ``strength`` per SD of the prospect index (from the school's
    share of supportive mentors at prospect 0).
    """
    rng = w.knob_rng(KNOB_STREAMS["mentor_selection"])
    mentors: pd.DataFrame = w.mentors
    supportive = mentors["instructionally_supportive"].to_numpy(float)
    mentor_idx = np.empty(len(school_idx), dtype=int)
    for si in np.unique(school_idx):
        pool = np.flatnonzero(mentors["school_idx"].to_numpy() == si)
        sel = np.flatnonzero(school_idx == si)
        weight = np.exp(strength * prospect[sel][:, None] * supportive[pool][None, :])
        cum = np.cumsum(weight / weight.sum(axis=1, keepdims=True), axis=1)
        pick = (rng.random(len(sel))[:, None] > cum).sum(axis=1)
        mentor_idx[sel] = pool[np.minimum(pick, len(pool) - 1)]
    return mentor_idx
