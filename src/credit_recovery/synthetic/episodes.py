"""Recovery episodes: failures, who retakes them, delivery, mentor and latent user type.

A failed core course (mark F, not withdrawn) in school year ``t - 1`` may be
retaken in the fall of ``t`` when the student is still enrolled. Whether the
student retakes is logistic in the previous year's GPA and absence rate; the
delivery is online (only once the school has rolled it out) with a logistic
probability in a school propensity, a time trend, absences, GPA, credits,
race/ethnicity, English-learner and special-education status and ``γ·U``.
Every episode gets a mentor drawn at random within the school (the actual one
for online takers, a hypothetical one for classroom retakers; with
``simulation.mentor_selection`` on, supportive mentors go more often to
episodes with better prospects) and a latent
user type of its online course(s), and a program model of its online course (own random stream,
``simulation.program_models``). With ``simulation.experiment`` on, the eligible retakers of the experiment's
years take the delivery their random assignment and compliance type give
(:mod:`~credit_recovery.synthetic.experiment`, its own random stream) instead of the selection model's.
"""
from __future__ import annotations

import numpy as np
import pandas as pd
from scipy.special import expit

from credit_recovery.data.contract import PROGRAM_MODELS
from credit_recovery.synthetic.courses import CORE_SLOTS, SUBJECT_SLOTS, credits_regular, gpa_points
from credit_recovery.synthetic.experiment import experiment_on, randomize
from credit_recovery.synthetic.heterogeneity import episode_covariates, heterogeneity_on
from credit_recovery.synthetic.knobs import attrition_slopes_on, prospect_index, school_shock, select_mentors
from credit_recovery.synthetic.world import KNOB_STREAMS, World

__all__ = ["episodes_for_year"]


def episodes_for_year(w: World, y: int) -> pd.DataFrame | None:
    """Recovery episodes whose recovery takes place in school year ``y``.

    ``None`` when no student failed a core course in ``y - 1`` and is enrolled
    in ``y``. One row per episode: ``sy_prev`` and ``sy_next`` (student-year
    rows of the failure and the recovery year), ``st``, ``school_year``,
    ``school_idx``, ``online``, ``mentor_idx``, ``supportive``,
    ``type_code``, ``grade``, ``absr_prev``, ``program_code`` (index into
    :data:`~credit_recovery.data.contract.PROGRAM_MODELS` of the online course's
    program model; hypothetical for classroom recoverers), ``failed_slots`` (the failed core
    slots) and ``index_slot`` (the first of them, the episode's index course); with the experiment on,
    also :data:`~credit_recovery.synthetic.experiment.EXPERIMENT_COLUMNS`.
    """
    found = _failed_and_reenrolled(w, y)
    if found is None:
        return None
    r = _retakers(w, *found)
    cand, nxt, failed_c, sti = r["cand"], r["nxt"], r["failed_c"], r["sti"]
    school_idx = w.students["school_idx"].to_numpy()[sti]
    online = _choose_online(w, y, r, school_idx)
    first_failed_slot = np.argmax(failed_c, axis=1)  # index failure: first failed core slot
    experiment = None
    if experiment_on(w):  # the randomized experiment overrides the delivery of its units (its own stream)
        index_subject = np.array(SUBJECT_SLOTS)[CORE_SLOTS[first_failed_slot] % 6]
        online, experiment = randomize(w, y, sti, w.student_years["grade"].to_numpy()[cand], index_subject,
                                       school_idx, online)
    # mentor (actual for online takers, hypothetical for classroom recoverers)
    strength = float(w.settings["mentor_selection"])
    if strength > 0:  # selection of supportive mentors on prospects (its own random stream)
        mentor_idx = select_mentors(w, school_idx, prospect_index(w, sti, r["absr"]), strength)
    else:
        mentor_idx = _assign_mentors(w, school_idx)
    supportive = w.mentors["instructionally_supportive"].to_numpy()[mentor_idx]
    grade_next = w.student_years["grade"].to_numpy()[nxt]
    type_code = _draw_user_types(w, sti, grade_next, first_failed_slot)
    ep = pd.DataFrame({
        "sy_prev": cand, "sy_next": nxt, "st": sti, "school_year": y, "school_idx": school_idx,
        "online": online, "mentor_idx": mentor_idx, "supportive": supportive, "type_code": type_code,
        "grade": grade_next, "absr_prev": r["absr"],
    })
    ep["program_code"] = draw_program_models(w, len(ep))
    for col, values in (experiment or {}).items():
        ep[col] = values
    ep["failed_slots"] = [CORE_SLOTS[row] for row in failed_c]
    ep["index_slot"] = CORE_SLOTS[first_failed_slot]
    if heterogeneity_on(w) or attrition_slopes_on(w):  # standardized covariates (effects, attrition)
        x = episode_covariates(w, r["cand"], nxt, r["absr"], CORE_SLOTS[first_failed_slot], ep["program_code"])
        for col in x:
            ep[col] = x[col].to_numpy()
    return ep


def _failed_and_reenrolled(w: World, y: int) -> tuple[np.ndarray, np.ndarray, np.ndarray] | None:
    """Student-years of ``y - 1`` with a failed core course whose student is enrolled in ``y``.

    Returns their rows, the rows of their year ``y`` and which core slots
    (:data:`~credit_recovery.synthetic.courses.CORE_SLOTS`) they failed; ``None`` if there are none.
    """
    sy = w.student_years
    prev = np.flatnonzero(sy["school_year"].to_numpy() == y - 1)
    pts = w.marks_points[prev][:, CORE_SLOTS]
    wd = w.course_w[prev][:, CORE_SLOTS]
    failed = (pts == 0) & ~wd
    any_fail = failed.any(axis=1)
    cand = prev[any_fail]
    # enrolled next year?
    key_next = pd.MultiIndex.from_arrays([sy["st"].to_numpy()[cand], np.full(len(cand), y)])
    nxt = w.sy_key.reindex(key_next).to_numpy()
    ok = ~np.isnan(nxt)
    cand, nxt, failed_c = cand[ok], nxt[ok].astype(int), failed[any_fail][ok]
    if len(cand) == 0:
        return None
    return cand, nxt, failed_c


def _retakers(w: World, cand: np.ndarray, nxt: np.ndarray, failed_c: np.ndarray) -> dict[str, np.ndarray]:
    """Draw who retakes a failure; their rows, failed slots and baseline (year ``y - 1``) observables."""
    sy = w.student_years
    sti = sy["st"].to_numpy()[cand]
    gpa_prev = gpa_points(w, cand)
    credits_prev = credits_regular(w, cand)
    absr = sy["days_absent"].to_numpy()[cand] / sy["days_enrolled"].to_numpy()[cand]
    attempt = w.rng.random(len(cand)) < expit(1.0 + 0.4 * (gpa_prev - 1.5) - 2.0 * (absr - 0.15))
    return {"cand": cand[attempt], "nxt": nxt[attempt], "failed_c": failed_c[attempt], "sti": sti[attempt],
            "gpa_prev": gpa_prev[attempt], "credits_prev": credits_prev[attempt], "absr": absr[attempt]}


def _choose_online(w: World, y: int, r: dict[str, np.ndarray], school_idx: np.ndarray) -> np.ndarray:
    """Draw the delivery of the retakers ``r`` (True: online): selection on observables and ``U``."""
    st, sy = w.students, w.student_years
    cand, sti, absr, gpa_prev, credits_prev = r["cand"], r["sti"], r["absr"], r["gpa_prev"], r["credits_prev"]
    n = len(cand)
    available = w.rollout[school_idx] <= y
    race = st["race_ethnicity"].to_numpy()[sti]
    lin = (0.35 + w.school_online[school_idx] + 0.15 * (y - w.first_year - 3)
           + 4.0 * (absr - 0.15) - 0.5 * (gpa_prev - 1.5) - 0.12 * (credits_prev - 4.5)
           + 0.4 * (race == "Black") - 0.5 * sy["ell"].to_numpy()[cand] - 0.45 * sy["sped"].to_numpy()[cand]
           + w.gamma * st["U"].to_numpy()[sti])
    if w.takeup_shock is not None:  # school and school-by-year take-up shocks
        lin = lin + school_shock(w, w.takeup_shock, school_idx, np.full(n, y))
    return available & (w.rng.random(n) < expit(lin))


def _assign_mentors(w: World, school_idx: np.ndarray) -> np.ndarray:
    """Draw a mentor (row of ``w.mentors``) for every episode, at random within its school."""
    mentor_idx = np.empty(len(school_idx), dtype=int)
    for si in np.unique(school_idx):
        pool = np.flatnonzero(w.mentors["school_idx"].to_numpy() == si)
        sel = school_idx == si
        mentor_idx[sel] = w.rng.choice(pool, size=int(sel.sum()))
    return mentor_idx


def _draw_user_types(w: World, sti: np.ndarray, grade_next: np.ndarray, first_failed_slot: np.ndarray) -> np.ndarray:
    """Draw the latent user type code of each episode's online course(s) (hypothetical for classroom).

    Engaged users are more likely in grades 11-12 and with higher ability;
    incompatible strugglers in grades 9-10, in math and with lower ability.
    """
    st = w.students
    n = len(sti)
    index_subject = np.array(SUBJECT_SLOTS)[CORE_SLOTS[first_failed_slot] % 6]
    type_logits = np.column_stack([
        0.3 + 0.45 * (grade_next >= 11) + 0.3 * st["ability"].to_numpy()[sti],
        np.full(n, -0.1),
        np.full(n, 0.3),
        -0.1 + 0.6 * (grade_next <= 10) + 0.5 * (index_subject == "math") - 0.3 * st["ability"].to_numpy()[sti],
    ])
    pt = np.exp(type_logits)
    pt /= pt.sum(axis=1, keepdims=True)
    return (w.rng.random(n)[:, None] > np.cumsum(pt, axis=1)).sum(axis=1)


def draw_program_models(w: World, n: int) -> np.ndarray:
    """Program model codes of ``n`` episodes (``simulation.program_models`` shares), from the program-model
    stream (:meth:`~credit_recovery.synthetic.world.World.knob_rng`): the main stream is not touched."""
    shares = w.settings["program_models"]
    p = np.array([float(shares.get(m, 0.0)) for m in PROGRAM_MODELS])
    if p.sum() <= 0:
        raise ValueError("simulation.program_models: the shares must not all be 0")
    return w.knob_rng(KNOB_STREAMS["program_model"]).choice(len(PROGRAM_MODELS), size=n, p=p / p.sum())
