"""The recovery year's outcomes: the observed student-years and every episode's potential outcomes.

Outcomes of a recovery episode are the school year ``t + 1`` outcomes: math
and reading scores, credits earned, GPA and whether the failed credit was
recovered. Scores: ``z(D, S) = z(0) + D·[τ_math + δ_math·(S − p_S) + η_i]``
(reading without the mentor term); the observed scale scores are rounded and
the unit effects are expressed in SD units of the district's grade-by-year
score distribution, exactly as the cohort standardizes them. Credits and GPA
come from the other courses' marks in both worlds (see
:mod:`~credit_recovery.synthetic.outcomes`) plus the recovered courses. The
observed world equals the potential outcome of the observed treatment (checked).
"""
from __future__ import annotations

from typing import Any, Sequence

import numpy as np
import pandas as pd

from credit_recovery.synthetic.courses import nanmean_rows
from credit_recovery.synthetic.dynamics import add_score_dynamics, dynamics_on, event_time_effects
from credit_recovery.synthetic.events import USER_TYPES
from credit_recovery.synthetic.knobs import attrition_mask
from credit_recovery.synthetic.world import World

__all__ = ["scale_score", "score_effects", "observed_student_years", "unit_effects", "add_bot_effects"]


def scale_score(z: np.ndarray) -> np.ndarray:
    """Scale score (100-400, mean 250, SD 40) of a latent z-score."""
    return np.clip(np.rint(250 + 40 * z), 100, 400)


def score_effects(w: World, het: dict[str, np.ndarray | float] | None = None) -> dict[str, np.ndarray]:
    """Per-episode effects of online recovery on the latent z-scores.

    ``math`` (with the episode's mentor), ``math_s1`` / ``math_s0`` (with a
    supportive / non-supportive mentor) and ``read``. ``het`` holds the
    episodes' effect heterogeneity ``h`` of ``ocr_math``, ``ocr_reading`` and
    ``mentor_math`` (missing: 0).
    """
    ep, eff, pS = w.episodes, w.effects, w.p_supportive
    het = het or {}
    tau_m = eff["ocr_math"] + het.get("ocr_math", 0.0)
    delta_m = eff["mentor_math"] + het.get("mentor_math", 0.0)
    return {
        "math": tau_m + delta_m * (ep["supportive"].to_numpy() - pS) + ep["eta_math"].to_numpy(),
        "math_s1": tau_m + delta_m * (1 - pS) + ep["eta_math"].to_numpy(),
        "math_s0": tau_m + delta_m * (0 - pS) + ep["eta_math"].to_numpy(),
        "read": eff["ocr_reading"] + het.get("ocr_reading", 0.0) + ep["eta_read"].to_numpy(),
    }


def observed_student_years(w: World, rec: pd.DataFrame, recovered: np.ndarray,
                           tau: dict[str, np.ndarray]) -> tuple[pd.DataFrame, dict[str, Any]]:
    """The ``student_years`` table (observed world) and the arrays the unit effects need.

    ``rec`` holds the recovery attempts (``sy_next``), ``recovered`` whether
    each recovered its course, ``tau`` the :func:`score_effects`. The second
    value holds ``z_math``, ``z_read`` (with the online takers' effects),
    ``math_obs``, ``read_obs`` (after attrition), ``credits_obs``,
    ``gpa_rounded`` (before attrition: the potential outcome of the observed treatment)
    and ``extra_cred`` (recovered credits of each student-year).
    """
    sy, st, ep = w.student_years, w.students, w.episodes
    n_sy = len(sy)
    sy_student = st["student_id"].to_numpy()[sy["st"].to_numpy()]
    sy_school_idx = st["school_idx"].to_numpy()[sy["st"].to_numpy()]
    gpa_obs = nanmean_rows(np.where(w.course_w, np.nan, w.marks_points))
    gpa_obs = gpa_obs + sy["gpa_noise"].to_numpy() + w.gpa_shift
    credits_obs = 0.5 * ((w.marks_points >= 1) & ~w.course_w).sum(axis=1)
    extra_cred = np.bincount(rec["sy_next"].to_numpy(), weights=0.5 * recovered, minlength=n_sy)
    credits_obs = credits_obs + extra_cred
    # scores: add treatment effects of online recoverers in their recovery year
    z_math = sy["z_math"].to_numpy().copy()
    z_read = sy["z_read"].to_numpy().copy()
    nxt = ep["sy_next"].to_numpy()
    on = ep["online"].to_numpy()
    z_math[nxt] += np.where(on, tau["math"], 0.0)
    z_read[nxt] += np.where(on, tau["read"], 0.0)
    if dynamics_on(w):  # effects in the years after the recovery year
        add_score_dynamics(w, {"math": z_math, "read": z_read}, tau)
    math_obs = np.where(sy["math_missing"], np.nan, scale_score(z_math))
    read_obs = np.where(sy["read_missing"], np.nan, scale_score(z_read))
    gpa_rounded = np.round(np.clip(gpa_obs, 0, 4), 2)
    gpa_reported = gpa_rounded
    lost = attrition_mask(w)
    if lost is not None:  # attrition: the recovery year's scores and GPA are not observed
        math_obs, read_obs = np.where(lost, np.nan, math_obs), np.where(lost, np.nan, read_obs)
        gpa_reported = np.where(lost, np.nan, gpa_rounded)
    student_years = pd.DataFrame({
        "student_id": sy_student, "school_year": sy["school_year"].to_numpy(),
        "school_id": w.school_ids[sy_school_idx], "grade": sy["grade"].to_numpy(),
        "frl": sy["frl"].to_numpy(bool), "ell": sy["ell"].to_numpy(bool), "sped": sy["sped"].to_numpy(bool),
        "days_enrolled": sy["days_enrolled"].to_numpy(), "days_absent": sy["days_absent"].to_numpy(),
        "math_score": math_obs, "reading_score": read_obs, "gpa": gpa_reported,
        "credits_earned": credits_obs,
    })
    observed = {"z_math": z_math, "z_read": z_read, "math_obs": math_obs, "read_obs": read_obs,
                "credits_obs": credits_obs, "gpa_rounded": gpa_rounded, "extra_cred": extra_cred}
    return student_years, observed


def unit_effects(w: World, rec: pd.DataFrame, recovery: dict[str, np.ndarray], tau: dict[str, np.ndarray],
                 observed: dict[str, Any]) -> pd.DataFrame:
    """One row per recovery episode: its potential outcomes ``y0_*``, ``y1_*`` and effects ``ocr_*``, ``mentor_*``
    (the Back on Track effects ``bot_*`` are added by :func:`add_bot_effects`).

    ``rec`` holds the recovery attempts with their record ids, ``recovery``
    the :func:`~credit_recovery.synthetic.outcomes.recovery_potential_outcomes`,
    ``tau`` the :func:`score_effects`, ``observed`` the arrays of
    :func:`observed_student_years`.
    """
    st, ep = w.students, w.episodes
    ue = pd.DataFrame({
        "student_id": st["student_id"].to_numpy()[ep["st"].to_numpy()],
        "course_record_id": rec.loc[rec["is_index"], "course_record_id"].to_numpy(),
        "failed_record_id": rec.loc[rec["is_index"], "failed_record_id"].to_numpy(),
        "school_year": ep["school_year"].to_numpy(),
        "online": ep["online"].to_numpy(), "supportive": ep["supportive"].to_numpy(bool),
        "user_type": np.array(USER_TYPES)[ep["type_code"].to_numpy()],
        "hidden_u": st["U"].to_numpy()[ep["st"].to_numpy()],  # the latent confounder (times γ in take-up, outcomes)
    })
    assert (rec.loc[rec["is_index"], "episode"].to_numpy() == ep["episode"].to_numpy()).all()
    _score_unit_effects(w, ue, tau, observed)
    _recovery_unit_effects(w, ue, rec, recovery, observed)
    if dynamics_on(w):  # event-time potential outcomes and effects (columns with suffix _t1, _t2, ...)
        event_time_effects(w, ue, tau, observed)
    return ue


def add_bot_effects(ue: pd.DataFrame, outcomes: Sequence[str]) -> None:
    """Add ``bot_<outcome>``: online recovery with a supportive mentor vs classroom (Back on Track).

    The online effect ``ocr_<outcome>`` of the online units whose mentor is supportive (their online world
    has that mentor); missing for the others, whose online world has another mentor.
    """
    keep = ue["supportive"].to_numpy(bool) & ue["online"].to_numpy(bool)
    for y in outcomes:
        ue[f"bot_{y}"] = ue[f"ocr_{y}"].where(keep)


def _score_unit_effects(w: World, ue: pd.DataFrame, tau: dict[str, np.ndarray], observed: dict[str, Any]) -> None:
    """Math and reading potential outcomes and effects, in SD units of the grade-by-year distribution."""
    sy, ep = w.student_years, w.episodes
    nxt = ep["sy_next"].to_numpy()
    on = ep["online"].to_numpy()
    # standardization used by the cohort: grade-by-year mean and SD of observed scores
    grp = pd.DataFrame({"y": sy["school_year"], "g": sy["grade"], "m": observed["math_obs"],
                        "r": observed["read_obs"]})
    mstats = grp.groupby(["y", "g"])[["m", "r"]].agg(["mean", "std"])
    key = pd.MultiIndex.from_arrays([sy["school_year"].to_numpy()[nxt], sy["grade"].to_numpy()[nxt]])
    m_mean, m_sd = mstats[("m", "mean")].reindex(key).to_numpy(), mstats[("m", "std")].reindex(key).to_numpy()
    r_mean, r_sd = mstats[("r", "mean")].reindex(key).to_numpy(), mstats[("r", "std")].reindex(key).to_numpy()
    zm0 = observed["z_math"][nxt] - np.where(on, tau["math"], 0.0)
    zr0 = observed["z_read"][nxt] - np.where(on, tau["read"], 0.0)

    def std(scale_v, mean, sd):
        return (scale_v - mean) / sd

    for name, z0, t, ts1, ts0, mean, sd in (
        ("math", zm0, tau["math"], tau["math_s1"], tau["math_s0"], m_mean, m_sd),
        ("reading", zr0, tau["read"], tau["read"], tau["read"], r_mean, r_sd),
    ):
        y0 = std(scale_score(z0), mean, sd)
        y1 = std(scale_score(z0 + t), mean, sd)
        ue[f"y0_{name}"] = y0
        ue[f"y1_{name}"] = y1
        ue[f"ocr_{name}"] = y1 - y0
        ue[f"mentor_{name}"] = std(scale_score(z0 + ts1), mean, sd) - std(scale_score(z0 + ts0), mean, sd)


def _recovery_unit_effects(w: World, ue: pd.DataFrame, rec: pd.DataFrame, recovery: dict[str, np.ndarray],
                           observed: dict[str, Any]) -> None:
    """Credit recovered (index course), credits (all recovered courses plus the others) and GPA."""
    sy, ep = w.student_years, w.episodes
    nxt = ep["sy_next"].to_numpy()
    on = ep["online"].to_numpy()
    r0, r1, r_s1, r_s0 = recovery["r0"], recovery["r1"], recovery["r_s1"], recovery["r_s0"]
    # recovery: index course for credit_recovered; all recovered courses for credits
    idx_rows = rec["is_index"].to_numpy()
    ue["y0_credit_recovered"] = r0[idx_rows].astype(float)
    ue["y1_credit_recovered"] = r1[idx_rows].astype(float)
    ue["ocr_credit_recovered"] = ue["y1_credit_recovered"] - ue["y0_credit_recovered"]
    ue["mentor_credit_recovered"] = (r_s1[idx_rows].astype(float) - r_s0[idx_rows].astype(float))
    ep_idx = rec["episode"].to_numpy()
    n_ep = len(ep)
    rec0 = np.bincount(ep_idx, weights=0.5 * r0, minlength=n_ep)
    rec1 = np.bincount(ep_idx, weights=0.5 * r1, minlength=n_ep)
    rec_s1 = np.bincount(ep_idx, weights=0.5 * r_s1, minlength=n_ep)
    rec_s0 = np.bincount(ep_idx, weights=0.5 * r_s0, minlength=n_ep)
    c0 = ep["cred_other0"].to_numpy() + rec0
    c1 = ep["cred_other1"].to_numpy() + rec1
    ue["y0_credits"], ue["y1_credits"] = c0, c1
    ue["ocr_credits"] = c1 - c0
    ue["mentor_credits"] = rec_s1 - rec_s0
    noise = sy["gpa_noise"].to_numpy()[nxt]
    g_prior = w.gpa_dyn[nxt]  # earlier recoveries' effect dynamics (0 without)
    g0 = np.round(np.clip(ep["gpa_other0"].to_numpy() + noise + g_prior, 0, 4), 2)
    g1 = np.round(np.clip(ep["gpa_other1"].to_numpy() + noise + (ep["g_shift"].to_numpy() + g_prior), 0, 4), 2)
    ue["y0_gpa"], ue["y1_gpa"] = g0, g1
    ue["ocr_gpa"] = g1 - g0
    ue["mentor_gpa"] = 0.0
    # consistency: the observed world equals the potential outcome of the observed treatment
    obs_c = observed["credits_obs"][nxt]
    assert np.allclose(np.where(on, c1, c0), obs_c), "credits potential outcomes inconsistent"
    assert np.allclose(np.where(on, g1, g0), observed["gpa_rounded"][nxt]), "GPA potential outcomes inconsistent"
