"""Effect dynamics (``simulation.effect_dynamics``): effects in the school years after the recovery year.

For ``effect_dynamics.<estimand> = [m_1, m_2, ...]``, an online recoverer's outcome in the ``k``-th
school year after the recovery year (event time ``k``; the recovery year is event time 0) shifts
by ``m_k`` times the recovery-year shift of that outcome, when the student is still enrolled:

* ``ocr_math``, ``ocr_reading``: the latent z-score, by ``m_k`` times the unit's latent score effect;
* ``ocr_credits``: every regular course's latent performance, by ``m_k`` times the unit's other-course
  shift ``s_i`` (so credits and, through the marks, GPA move; a recovered course is a one-off and
  is not repeated);
* ``ocr_gpa``: the reported GPA, by ``m_k`` times the unit's GPA shift ``g_i``.

Every episode (classroom recoverers included) gets event-time potential outcomes ``y0_<o>_t<k>``,
``y1_<o>_t<k>`` and effects ``ocr_<o>_t<k>`` in the unit effects, NaN when the student has no
student-year at event time ``k`` in the observed years; one outcome ``<o>`` per estimand with
multiples. The truth of event time ``k`` is their mean over the estimand's population with a
student-year at ``k``.
"""
from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from credit_recovery.synthetic.courses import marks_from_perf, nanmean_rows, regular_course_means
from credit_recovery.synthetic.world import World

__all__ = ["DYNAMIC_OUTCOMES", "event_suffix", "multiples", "dynamics_on", "event_rows", "add_credit_dynamics",
           "add_gpa_dynamics", "add_score_dynamics", "event_time_effects", "event_time_credits"]

#: Estimands with effect dynamics and the outcome of each (the ``<o>`` of ``ocr_<o>_t<k>``).
DYNAMIC_OUTCOMES = {"ocr_math": "math", "ocr_reading": "reading", "ocr_credits": "credits", "ocr_gpa": "gpa"}


def event_suffix(k: int) -> str:
    """Suffix of the unit-effect columns of event time ``k`` (``_t1``, ``_t2``, ...)."""
    return f"_t{int(k)}"


def multiples(w: World, estimand: str) -> list[float]:
    """The configured multiples of ``estimand`` (empty: no dynamics)."""
    return [float(m) for m in w.settings["effect_dynamics"].get(estimand, [])]


def dynamics_on(w: World) -> bool:
    """Whether any estimand has effect dynamics."""
    return any(multiples(w, e) for e in DYNAMIC_OUTCOMES)


def event_rows(w: World, ep: pd.DataFrame, k: int) -> np.ndarray:
    """Student-year row of each episode's event time ``k`` (school year ``recovery year + k``); -1 if none."""
    key = pd.MultiIndex.from_arrays([ep["st"].to_numpy(), ep["school_year"].to_numpy() + int(k)])
    rows = w.sy_key.reindex(key).to_numpy(dtype=float)
    return np.where(np.isnan(rows), -1.0, rows).astype(int)


def add_credit_dynamics(w: World, ep: pd.DataFrame, s_i: np.ndarray | float) -> None:
    """Shift the later years' course performance of one recovery year's online takers (``ocr_credits``)."""
    online = ep["online"].to_numpy()
    s_i = np.broadcast_to(np.asarray(s_i, float), (len(ep),))
    for k, m in enumerate(multiples(w, "ocr_credits"), start=1):
        rows = event_rows(w, ep, k)
        ok = online & (rows >= 0)
        np.add.at(w.perf_shift, rows[ok], m * s_i[ok])


def add_gpa_dynamics(w: World) -> None:
    """Shift the later years' reported GPA of the online takers (``ocr_gpa``), recorded in ``w.gpa_dyn``."""
    ep = w.episodes
    online = ep["online"].to_numpy()
    g_i = ep["g_shift"].to_numpy()
    for k, m in enumerate(multiples(w, "ocr_gpa"), start=1):
        rows = event_rows(w, ep, k)
        ok = online & (rows >= 0)
        np.add.at(w.gpa_dyn, rows[ok], m * g_i[ok])
    w.gpa_shift = w.gpa_shift + w.gpa_dyn


def add_score_dynamics(w: World, z: dict[str, np.ndarray], tau: dict[str, np.ndarray]) -> None:
    """Shift the later years' latent z-scores ``z["math"]``, ``z["read"]`` of the online takers, in place."""
    ep = w.episodes
    online = ep["online"].to_numpy()
    for estimand, key in (("ocr_math", "math"), ("ocr_reading", "read")):
        for k, m in enumerate(multiples(w, estimand), start=1):
            rows = event_rows(w, ep, k)
            ok = online & (rows >= 0)
            np.add.at(z[key], rows[ok], m * tau[key][ok])


def event_time_effects(w: World, ue: pd.DataFrame, tau: dict[str, np.ndarray], observed: dict[str, Any]) -> None:
    """Add every dynamic estimand's event-time potential outcomes and effects to the unit effects ``ue``.

    ``observed`` holds the observed world's arrays (see
    :func:`~credit_recovery.synthetic.unit_effects.observed_student_years`). The observed world is
    one of the two potential outcomes; the other removes (online takers) or adds (classroom
    recoverers) the episode's own shift.
    """
    ep = w.episodes
    online = ep["online"].to_numpy()
    for estimand, outcome in DYNAMIC_OUTCOMES.items():
        for k in range(1, len(multiples(w, estimand)) + 1):
            rows = event_rows(w, ep, k)
            ok = rows >= 0
            y_obs, y_cf = np.full(len(ep), np.nan), np.full(len(ep), np.nan)
            sign = np.where(online[ok], -1.0, 1.0)
            if outcome in ("math", "reading"):
                key = "math" if outcome == "math" else "read"
                own = multiples(w, estimand)[k - 1] * tau[key][ok]
                z = observed[f"z_{key}"][rows[ok]]
                y_obs[ok] = _standardized(w, z, rows[ok], observed[f"{key}_obs"])
                y_cf[ok] = _standardized(w, z + sign * own, rows[ok], observed[f"{key}_obs"])
            else:
                y_obs[ok], y_cf[ok] = _course_outcomes(w, outcome, k, rows[ok], ep.loc[ok], sign, observed)
            y1 = np.where(online, y_obs, y_cf)
            y0 = np.where(online, y_cf, y_obs)
            sfx = event_suffix(k)
            ue[f"y0_{outcome}{sfx}"], ue[f"y1_{outcome}{sfx}"] = y0, y1
            ue[f"ocr_{outcome}{sfx}"] = y1 - y0


def event_time_credits(w: World, k: int, observed: dict[str, Any]) -> tuple[np.ndarray, np.ndarray]:
    """Potential credits ``(y0, y1)`` of every episode's student-year at event time ``k`` (NaN where none).

    The observed world is one of the two; the other removes (online takers) or adds (classroom
    recoverers) the episode's own shift ``m_k·s_i`` of its courses' performance (``ocr_credits``
    multiples; without a ``k``-th multiple both equal the observed credits). Later episodes' recovered
    credits are the observed ones in both worlds (as in :func:`event_time_effects`).
    """
    ep = w.episodes
    online = ep["online"].to_numpy()
    rows = event_rows(w, ep, k)
    ok = rows >= 0
    y_obs, y_cf = np.full(len(ep), np.nan), np.full(len(ep), np.nan)
    y_obs[ok] = y_cf[ok] = observed["credits_obs"][rows[ok]]
    if k <= len(multiples(w, "ocr_credits")):
        sign = np.where(online[ok], -1.0, 1.0)
        y_obs[ok], y_cf[ok] = _course_outcomes(w, "credits", k, rows[ok], ep.loc[ok], sign, observed)
    return np.where(online, y_cf, y_obs), np.where(online, y_obs, y_cf)


def _standardized(w: World, z: np.ndarray, rows: np.ndarray, scores_obs: np.ndarray) -> np.ndarray:
    """Scale scores of latent ``z`` in SD units of the observed grade-by-year distribution (as the cohort)."""
    sy = w.student_years
    grp = pd.DataFrame({"y": sy["school_year"], "g": sy["grade"], "v": scores_obs})
    stats = grp.groupby(["y", "g"])["v"].agg(["mean", "std"])
    key = pd.MultiIndex.from_arrays([sy["school_year"].to_numpy()[rows], sy["grade"].to_numpy()[rows]])
    mean, sd = stats["mean"].reindex(key).to_numpy(), stats["std"].reindex(key).to_numpy()
    return (np.clip(np.rint(250 + 40 * z), 100, 400) - mean) / sd


def _course_outcomes(w: World, outcome: str, k: int, rows: np.ndarray, ep: pd.DataFrame, sign: np.ndarray,
                     observed: dict[str, Any]) -> tuple[np.ndarray, np.ndarray]:
    """Observed and counterfactual credits or GPA of event-time student-years ``rows``.

    The counterfactual removes or adds (``sign``) the episode's own shifts at event time ``k``:
    ``m_k·s_i`` of the courses' performance (``ocr_credits`` multiples; moves credits and GPA) and,
    for GPA, ``m_k·g_i`` of the reported GPA (``ocr_gpa`` multiples).
    """
    m_cred = (multiples(w, "ocr_credits") + [0.0] * k)[k - 1]
    perf_base = regular_course_means(w, rows) + w.course_noise[rows]
    shift = w.perf_shift[rows] + sign * m_cred * ep["s_shift"].to_numpy()
    pts = np.where(w.course_w[rows], np.nan, marks_from_perf(perf_base + shift[:, None]))
    if outcome == "credits":
        cf = 0.5 * (pts >= 1).sum(axis=1) + observed["extra_cred"][rows]
        return observed["credits_obs"][rows], cf
    m_gpa = (multiples(w, "ocr_gpa") + [0.0] * k)[k - 1]
    shift_g = w.gpa_shift[rows] + sign * m_gpa * ep["g_shift"].to_numpy()
    cf = np.round(np.clip(nanmean_rows(pts) + w.student_years["gpa_noise"].to_numpy()[rows] + shift_g, 0, 4), 2)
    return observed["gpa_rounded"][rows], cf
