"""Potential outcomes of recovery episodes and the planted effects.

Every episode has three potential worlds sharing their random draws:
classroom recovery, online with a non-supportive mentor and online with an
instructionally supportive mentor (``S``; ``p_S`` the district's share of
supportive mentors).

* Each failed course is recovered if a shared uniform ``V < P(world)``, with
  ``P(0)`` logistic in ability, absences, ``0.3·γ·U`` and grade, and
  ``P(1, S) = clip(P(0) + τ_R + δ_R·(S − p_S) + β_idle·10·(idle − idle_ref))``;
  ``idle_ref`` is the mean expected idle share of the year's online takers.
  While the years are drawn the idle share is the type's expectation; the
  realized one (from the event log) enters :func:`recovery_potential_outcomes`.
* The other courses of the recovery year shift by ``s`` in the online world and
  the reported GPA by ``g``: both are chosen each year (``s`` by bisection) so
  that the *expected* effects on credits and GPA over the year's online takers
  equal ``τ_credits`` and ``τ_gpa``, counting the recovered credits.
* Score effects ``η_i ~ N(0, 0.05²)`` are drawn per episode here and applied in
  :mod:`~credit_recovery.synthetic.unit_effects`.
* The recovery course's mark (:func:`recovery_marks`) comes from two more shared uniforms: a passed
  course's letter (D below the delivery's D share, ``simulation.recovery_course``) and whether a course not
  passed is withdrawn (W, more often online) or failed (F); so the mark has a potential outcome too.
"""
from __future__ import annotations

from typing import Callable

import numpy as np
import pandas as pd
from scipy import stats
from scipy.special import expit

from credit_recovery.synthetic.courses import PERF_SD, marks_from_perf, nanmean_rows, regular_course_means
from credit_recovery.synthetic.dynamics import add_credit_dynamics, multiples
from credit_recovery.synthetic.events import TYPE_PARAMS, USER_TYPES, expected_idle
from credit_recovery.synthetic.heterogeneity import unit_heterogeneity
from credit_recovery.synthetic.world import World

__all__ = ["episode_outcomes", "planted_shifts", "recovery_potential_outcomes", "recovery_marks", "bisect"]

#: Chance that a recovery course that is not passed is withdrawn (W) rather than failed (F), by delivery.
WITHDRAW_SHARE = {"online": 0.25, "classroom": 0.1}


def episode_outcomes(w: World, ep: pd.DataFrame) -> None:
    """Potential outcomes of one recovery year's episodes ``ep``; applies the observed world's shifts.

    Adds to ``ep``: ``idle_expected``, ``p0``, the per-failed-course uniforms
    ``V_courses``, ``mark_u`` and ``withdraw_u``, ``eta_math``, ``eta_read``,
    ``idle_ref``, ``s_shift``, ``g_shift`` and the other courses' GPA and
    credits in both worlds (``gpa_other0/1``, ``cred_other0/1``). Sets
    ``w.perf_shift`` and ``w.gpa_shift`` of the online takers' recovery year.
    """
    nxt = ep["sy_next"].to_numpy()
    D = ep["online"].to_numpy()
    eff = w.effects
    exp_rec_effect = _recovery_draws(w, ep)
    # ---- other courses of the recovery year: choose s and g (per year) so that expected
    # credits and GPA effects over this year's online takers equal the planted values
    mu = regular_course_means(w, nxt)
    wd = w.course_w[nxt]
    online_rows = np.flatnonzero(D)
    s_shift, g_shift = 0.0, 0.0
    extra = _credits_heterogeneity(w, ep, mu, wd)  # per-episode extra shift (0.0 when off)
    if len(online_rows):
        rec_part = float(np.mean(0.5 * exp_rec_effect[online_rows]))
        s_shift, g_shift = planted_shifts(mu[online_rows], wd[online_rows], rec_part,
                                          eff["ocr_credits"], eff["ocr_gpa"],
                                          extra if np.isscalar(extra) else extra[online_rows])
    ep["s_shift"] = s_shift + extra
    ep["g_shift"] = g_shift
    # other courses' marks under both worlds (prior: earlier recoveries' effect dynamics, else 0)
    prior = w.perf_shift[nxt].copy()
    perf0 = mu + w.course_noise[nxt]
    pts0 = marks_from_perf(perf0 + prior[:, None])
    pts1 = marks_from_perf(perf0 + (prior + (s_shift + extra))[:, None])
    ep["gpa_other0"] = nanmean_rows(np.where(wd, np.nan, pts0))
    ep["gpa_other1"] = nanmean_rows(np.where(wd, np.nan, pts1))
    ep["cred_other0"] = 0.5 * ((pts0 >= 1) & ~wd).sum(axis=1)
    ep["cred_other1"] = 0.5 * ((pts1 >= 1) & ~wd).sum(axis=1)
    # the observed world: shift other courses of online takers
    w.perf_shift[nxt] = prior + np.where(D, s_shift + extra, 0.0)
    w.gpa_shift[nxt] = np.where(D, g_shift, 0.0)
    if multiples(w, "ocr_credits"):  # effect dynamics: later years' course performance
        add_credit_dynamics(w, ep, s_shift + extra)


def _recovery_draws(w: World, ep: pd.DataFrame) -> np.ndarray:
    """Recovery chances and shared draws of the episodes; returns the expected extra recovered courses online.

    The expectation takes each episode's own mentor and its type's expected
    idle share.
    """
    rng = w.rng
    st = w.students
    n = len(ep)
    sti = ep["st"].to_numpy()
    S = ep["supportive"].to_numpy().astype(float)
    D = ep["online"].to_numpy()
    pS = w.p_supportive
    eff = w.effects
    tp = [TYPE_PARAMS[t] for t in USER_TYPES]
    # expected idle share of the type (for hypothetical online worlds); realized later for online takers
    ep["idle_expected"] = np.array([expected_idle(p, w.engagement) for p in tp])[ep["type_code"].to_numpy()]
    # ---- credit recovery of each failed course: P(0), P(1, S)
    abil = st["ability"].to_numpy()[sti]
    lin0 = (float(w.settings["recovery_course"]["base_log_odds"]) + 0.55 * abil - 3.0 * (ep["absr_prev"].to_numpy() - 0.15)
            + 0.3 * w.gamma * st["U"].to_numpy()[sti] + 0.3 * (ep["grade"].to_numpy() >= 11))
    if w.outcome_shock is not None:  # school shocks of the recovery year
        lin0 = lin0 + w.student_years["outcome_shock"].to_numpy()[ep["sy_next"].to_numpy()]
    p0 = expit(lin0)
    ep["p0"] = p0
    ep["V_courses"] = [rng.random(len(s)) for s in ep["failed_slots"]]
    ep["mark_u"] = [rng.random(len(s)) for s in ep["failed_slots"]]
    ep["withdraw_u"] = [rng.random(len(s)) for s in ep["failed_slots"]]
    ep["eta_math"] = rng.normal(0, 0.05, n)
    ep["eta_read"] = rng.normal(0, 0.05, n)
    # expected recovered courses under each world (idle at the type's expectation)
    n_failed = np.array([len(s) for s in ep["failed_slots"]])
    # idle shares enter relative to the mean expected idle share of this year's online takers
    idle_ref = float(ep.loc[D, "idle_expected"].mean()) if D.any() else float(ep["idle_expected"].mean())
    ep["idle_ref"] = idle_ref
    # effect heterogeneity (0.0 when off), centred over the year's online takers
    h_rec = unit_heterogeneity(w, ep, "ocr_credit_recovered", D)
    h_mentor = unit_heterogeneity(w, ep, "mentor_credit_recovered", D & (S == 1))
    ep["h_credit_recovered"] = h_rec
    ep["h_mentor_credit_recovered"] = h_mentor
    p_on = np.clip(p0 + eff["ocr_credit_recovered"] + h_rec + (eff["mentor_credit_recovered"] + h_mentor) * (S - pS)
                   + eff["idle_share_pass"] * 10 * (ep["idle_expected"].to_numpy() - idle_ref), 0.01, 0.99)
    return n_failed * (p_on - p0)


def planted_shifts(mu_o: np.ndarray, w_o: np.ndarray, rec_part: float, target_cred: float,
                   target_gpa: float, extra: np.ndarray | float = 0.0) -> tuple[float, float]:
    """The year's shifts ``s`` (other courses' performance) and ``g`` (reported GPA) of online takers.

    ``mu_o`` and ``w_o`` are the online takers' other courses' latent means and
    withdrawals, ``rec_part`` the expected credits from recovered courses,
    ``extra`` their own extra shifts (effect heterogeneity; 0 by default). ``s``
    makes the expected credits effect ``target_cred``; ``g`` then tops the
    expected GPA effect of ``s`` up to ``target_gpa``.
    """
    e_col = _column(extra)

    def cred_effect(s):
        pass0 = stats.norm.sf((1 - mu_o) / PERF_SD)
        pass1 = stats.norm.sf((1 - mu_o - s - e_col) / PERF_SD)
        return rec_part + float(np.mean(0.5 * ((pass1 - pass0) * ~w_o).sum(axis=1)))

    s_shift = bisect(lambda s: cred_effect(s) - target_cred, -3.0, 3.0)

    def exp_points(shift):
        e = sum(stats.norm.sf((k - mu_o - shift) / PERF_SD) for k in (1, 2, 3, 4))
        e = np.where(w_o, np.nan, e)
        return np.nanmean(e, axis=1)

    g_shift = target_gpa - float(np.nanmean(exp_points(s_shift + e_col) - exp_points(0.0)))
    return s_shift, g_shift


def _column(shift: np.ndarray | float) -> np.ndarray | float:
    """A per-episode shift as a column (to add to an episodes × courses array); a scalar unchanged."""
    return shift if np.isscalar(shift) else np.asarray(shift)[:, None]


def _credits_heterogeneity(w: World, ep: pd.DataFrame, mu: np.ndarray, wd: np.ndarray) -> np.ndarray | float:
    """Per-episode extra performance shift ``h_i/d̄`` for ``ocr_credits`` heterogeneity (0.0 when off).

    ``h`` is centred over the year's online takers; ``d̄`` is their mean derivative of expected
    credits from the other courses in a common shift (at no shift).
    """
    D = ep["online"].to_numpy()
    h = unit_heterogeneity(w, ep, "ocr_credits", D)
    if np.isscalar(h) or not D.any():
        return 0.0
    dens = stats.norm.pdf((1 - mu[D]) / PERF_SD) / PERF_SD
    d_bar = float(np.mean(0.5 * (dens * ~wd[D]).sum(axis=1)))
    return h / d_bar


def bisect(f: Callable[[float], float], lo: float, hi: float, tol: float = 1e-10, max_iter: int = 200) -> float:
    """A root of ``f`` in ``[lo, hi]`` by bisection; an error if ``f`` has the same sign at both ends."""
    flo, fhi = f(lo), f(hi)
    if flo * fhi > 0:
        raise ValueError("planted effect out of reach of the generator: "
                         f"f({lo})={flo:.4f}, f({hi})={fhi:.4f}")
    for _ in range(max_iter):
        mid = (lo + hi) / 2
        fm = f(mid)
        if abs(fm) < tol or hi - lo < tol:
            return mid
        if (fm > 0) == (fhi > 0):
            hi, fhi = mid, fm
        else:
            lo, flo = mid, fm
    return (lo + hi) / 2


def recovery_potential_outcomes(w: World, rec: pd.DataFrame, e: pd.DataFrame) -> dict[str, np.ndarray]:
    """Whether each recovery attempt's failed course is recovered, in every world.

    ``rec`` has one row per recovery attempt (its ``V``, ``online`` and the
    realized or expected ``idle_share``), ``e`` its episode's row. Returns
    ``r0`` (classroom), ``r_s1``/``r_s0`` (online with a supportive /
    non-supportive mentor), ``r1`` (online with the episode's mentor) and
    ``recovered`` (the observed world).
    """
    eff = w.effects
    pS = w.p_supportive
    p0 = e["p0"].to_numpy()
    base_on = (p0 + eff["ocr_credit_recovered"] + e["h_credit_recovered"].to_numpy()
               + eff["idle_share_pass"] * 10 * (rec["idle_share"].to_numpy() - e["idle_ref"].to_numpy()))
    delta = eff["mentor_credit_recovered"] + e["h_mentor_credit_recovered"].to_numpy()
    p_s1 = np.clip(base_on + delta * (1 - pS), 0.01, 0.99)
    p_s0 = np.clip(base_on + delta * (0 - pS), 0.01, 0.99)
    V = rec["V"].to_numpy()
    r0 = V < p0
    r_s1 = V < p_s1
    r_s0 = V < p_s0
    S = e["supportive"].to_numpy()
    r1 = np.where(S, r_s1, r_s0)
    recovered = np.where(rec["online"], r1, r0)
    return {"r0": r0, "r1": r1, "r_s1": r_s1, "r_s0": r_s0, "recovered": recovered}


def recovery_marks(recovered: np.ndarray, mark_u: np.ndarray, withdraw_u: np.ndarray, online: np.ndarray,
                   recovery_course: dict) -> np.ndarray:
    """The mark of recovery attempts in the world with delivery ``online`` (array of bool).

    A recovered course is marked D when its shared uniform ``mark_u`` is below the delivery's D share
    (``recovery_course``: the ``simulation.recovery_course`` settings), then C, B or A at fixed cut points
    (0.85, 0.97 online; 0.70, 0.92 in a classroom); a course not recovered is withdrawn (W) when
    ``withdraw_u`` is below :data:`WITHDRAW_SHARE` of the delivery, else failed (F). The same uniforms serve
    every world, so the mark of each delivery is a potential outcome.
    """
    mu_ = np.asarray(mark_u, dtype=float)
    d_on, d_cl = float(recovery_course["d_share_online"]), float(recovery_course["d_share_classroom"])
    letter_online = np.where(mu_ < d_on, "D", np.where(mu_ < 0.85, "C", np.where(mu_ < 0.97, "B", "A")))
    letter_class = np.where(mu_ < d_cl, "D", np.where(mu_ < 0.70, "C", np.where(mu_ < 0.92, "B", "A")))
    withdrawn = ~recovered & (np.asarray(withdraw_u) < np.where(online, WITHDRAW_SHARE["online"],
                                                                 WITHDRAW_SHARE["classroom"]))
    return np.where(recovered, np.where(online, letter_online, letter_class), np.where(withdrawn, "W", "F"))
