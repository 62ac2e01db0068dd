"""The embedded synthetic district: a generator with planted effects.

:func:`simulate_district` returns the input tables exactly as a district
extract looks (see :mod:`credit_recovery.data.contract`), and, kept apart, the
planted truth: each recovery episode's potential outcomes and individual
effects, the truth estimands computed from them, and each online student-
course's latent user type.

The model (documented in ``docs/synthetic-district.md``)
----------------------------------------------------------
* Schools roll out online credit recovery in a staggered way (a school-by-year
  roll-out); before its roll-out year a school offers only classroom retakes.
* Each student has a latent ability (with math and reading components), an
  attendance propensity and, optionally, an **unobserved confounder** ``U``
  (``simulation.unobserved_confounding`` = its strength ``γ``): ``γ·U`` raises
  the log-odds of choosing the online course and ``0.3·γ·U`` raises every
  year's test scores, course performance and recovery chances. ``U`` is fixed
  over time, so a student fixed-effects design removes it while a naive
  comparison does not.
* Each year every enrolled student takes six semester courses per term. A
  failed core course (mark F) in school year ``t`` may be recovered in year
  ``t + 1`` (fall term), online (with an in-lab mentor) or in a classroom.
  The delivery is chosen on observed characteristics (absences, GPA, credits,
  race/ethnicity, English-learner and special-education status), the
  school's roll-out, and ``U``.
* Outcomes of a recovery episode are the school year ``t + 1`` outcomes: math
  and reading scores (in SD units of the district's grade-by-year score
  distribution), credits earned, GPA, and whether the failed credit was
  recovered. All five are drawn as potential outcomes under classroom
  recovery, online recovery with a non-supportive mentor, and online recovery
  with an instructionally supportive mentor, sharing their random draws, so
  each unit's individual effects are exact differences.
* Online student-courses have a latent user type (engaged user, moonlighter,
  nominal exerter, incompatible struggler) that drives their platform event
  log; the realized idle share of the log lowers the chance of recovering the
  credit by ``simulation.effects.idle_share_pass`` per 10 percentage points.

Where the code is
-----------------
:mod:`~credit_recovery.synthetic.settings` (scales, defaults),
:mod:`~credit_recovery.synthetic.world` (the state the stages share),
:mod:`~credit_recovery.synthetic.population` (schools, students,
student-years, mentors), :mod:`~credit_recovery.synthetic.courses` (regular
courses and marks), :mod:`~credit_recovery.synthetic.episodes` (failures,
retakes, delivery, mentor, user type), :mod:`~credit_recovery.synthetic.outcomes`
(recovery chances and the planted shifts),
:mod:`~credit_recovery.synthetic.events` (platform events),
:mod:`~credit_recovery.synthetic.assembly` (recovery records and the contract
tables), :mod:`~credit_recovery.synthetic.unit_effects` (observed
student-years, potential outcomes and individual effects) and
:mod:`~credit_recovery.synthetic.planted_truth` (the truth estimands). This
module runs the stages in the order of the random stream. The scenario knobs
(``docs/synthetic-district.md``) are in :mod:`~credit_recovery.synthetic.knobs`
(attrition, school shocks, mentor selection; random streams of their own),
:mod:`~credit_recovery.synthetic.heterogeneity` and
:mod:`~credit_recovery.synthetic.dynamics`; the randomized experiment (``simulation.experiment``, a
Back-on-Track-like lottery with its ``assignments`` table and truths ``itt_*`` / ``cace_*``) is in
:mod:`~credit_recovery.synthetic.experiment`.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Mapping

import numpy as np
import pandas as pd

from credit_recovery.data.longrun import resolve_cohort_options
from credit_recovery.synthetic.assembly import (contract_tables, course_records, episodes_in_cohort,
                                                online_attempt_events, recovery_attempts, recovery_records)
from credit_recovery.synthetic.courses import draw_course_latents, marks_for_year, regular_course_records
from credit_recovery.synthetic.dynamics import add_gpa_dynamics, multiples
from credit_recovery.synthetic.episodes import episodes_for_year
from credit_recovery.synthetic.experiment import (assignments_table, experiment_on, experiment_unit_effects,
                                                  set_experiment_years)
from credit_recovery.synthetic.heterogeneity import heterogeneity_on, unit_heterogeneity
from credit_recovery.synthetic.knobs import draw_school_shocks
from credit_recovery.synthetic.longrun import diplomas, history_credits, longrun_unit_effects
from credit_recovery.synthetic.outcomes import episode_outcomes, recovery_potential_outcomes
from credit_recovery.synthetic.planted_truth import OUTCOMES, experiment_truth, planted_truth, planted_types
from credit_recovery.synthetic.population import draw_mentors, draw_schools, draw_student_years, draw_students
from credit_recovery.synthetic.settings import ENGAGEMENT_DEFAULTS, resolve_settings
from credit_recovery.synthetic.unit_effects import add_bot_effects, observed_student_years, score_effects, unit_effects
from credit_recovery.synthetic.world import World

__all__ = ["SimulationResult", "simulate_district"]


@dataclass
class SimulationResult:
    """What :func:`simulate_district` returns.

    Attributes
    ----------
    tables : dict of DataFrame
        The input tables of the data contract (what a district extract holds).
    truth : list of dict
        ``{estimand_id, description, value}`` records.
    unit_effects : DataFrame
        One row per recovery episode: potential outcomes and individual effects.
    types : DataFrame
        Planted user type of each online student-course.
    settings : dict
        The resolved simulation settings.
    """

    tables: dict[str, pd.DataFrame]
    truth: list[dict[str, Any]]
    unit_effects: pd.DataFrame
    types: pd.DataFrame
    settings: dict[str, Any] = field(default_factory=dict)


def simulate_district(
    config: Mapping[str, Any] | None = None,
    engagement: Mapping[str, Any] | None = None,
    cohort: Mapping[str, Any] | None = None,
) -> SimulationResult:
    """Generate a synthetic school district with planted effects.

    Parameters
    ----------
    config : mapping, optional
        The ``simulation`` section of the study config (keys of
        :data:`~credit_recovery.synthetic.settings.DEFAULTS`); missing keys take their defaults.
    engagement : mapping, optional
        ``session_gap_minutes``, ``idle_threshold_minutes`` and ``timezone``
        from the ``engagement`` section, so that the planted idle share is the
        one the sessionization stage measures.
    cohort : mapping, optional
        The ``cohort`` section (``on_track_credits``), so that the planted on-track truth uses the
        thresholds the cohort measures (:mod:`~credit_recovery.synthetic.longrun`).

    Returns
    -------
    SimulationResult

    Notes
    -----
    For a recovery episode ``i`` with failure in year ``t`` and recovery in
    ``t + 1``, let ``D`` be online delivery and ``S`` an instructionally
    supportive mentor (``p_S`` the district's share of supportive mentors).
    Scores: ``z(D, S) = z(0) + D·[τ_math + δ_math·(S − p_S) + η_i]``
    with ``η_i ~ N(0, 0.05²)``. Credit recovery of each failed course:
    ``R(D, S) = 1[V < P(D, S)]`` with a shared uniform ``V`` and
    ``P(1, S) = clip(P(0) + τ_R + δ_R·(S − p_S) + β_idle·10·(idle − idle_ref))``
    (``idle_ref`` the mean expected idle share of the year's online takers).
    Other courses' latent performance shifts by ``s`` and the reported GPA by
    ``g``, both chosen each year so that the expected effects on credits and
    GPA equal ``τ_credits`` and ``τ_gpa``. The truth of an estimand is the
    mean of the realized individual effects over its population.
    """
    settings = resolve_settings(config)
    eng = {**ENGAGEMENT_DEFAULTS, **(engagement or {})}
    w = World(settings, eng)
    _draw_years(w)
    return _assemble(w, resolve_cohort_options(cohort))


def _draw_years(w: World) -> None:
    """Draw the district year by year: people, then each year's recovery episodes and marks.

    A year's episodes (failures of the year before) come before its marks,
    because an online taker's other courses of the recovery year shift.
    """
    draw_schools(w)
    set_experiment_years(w)  # no draws; nothing when off
    draw_school_shocks(w)  # its own random stream; nothing when off
    draw_students(w)
    draw_student_years(w)
    draw_mentors(w)
    draw_course_latents(w)
    episodes = []
    for y in w.years:
        ep = episodes_for_year(w, y) if y > w.years[0] else None
        if ep is not None:
            episode_outcomes(w, ep)
            if len(ep):
                episodes.append(ep)
        marks_for_year(w, y)
    w.episodes = pd.concat(episodes, ignore_index=True) if episodes else pd.DataFrame()
    w.episodes["episode"] = np.arange(len(w.episodes))


def _assembly_heterogeneity(w: World, courses: pd.DataFrame, rec: pd.DataFrame) -> dict[str, np.ndarray]:
    """Effect heterogeneity of the scores and GPA, centred over the estimands' cohort populations.

    Returns ``h`` of ``ocr_math``, ``ocr_reading`` and ``mentor_math`` (for
    :func:`~credit_recovery.synthetic.unit_effects.score_effects`); adds GPA's to the
    episodes' ``g_shift`` and to the online takers' reported GPA shift. Empty when off.
    """
    keys = ("ocr_math", "ocr_reading", "mentor_math", "ocr_gpa")
    if not any(heterogeneity_on(w, k) for k in keys):
        return {}
    ep = w.episodes
    online = ep["online"].to_numpy() & episodes_in_cohort(w, courses, rec)
    supportive = ep["supportive"].to_numpy(bool)
    het = {k: unit_heterogeneity(w, ep, k, online & supportive if k == "mentor_math" else online) for k in keys}
    h_gpa = het.pop("ocr_gpa")
    if not np.isscalar(h_gpa):
        ep["g_shift"] = ep["g_shift"].to_numpy() + h_gpa
        nxt = ep["sy_next"].to_numpy()
        w.gpa_shift[nxt] = w.gpa_shift[nxt] + np.where(ep["online"].to_numpy(), h_gpa, 0.0)
    return het


def _assemble(w: World, cohort_options: Mapping[str, Any]) -> SimulationResult:
    """Course records, events, outcomes and truth of the drawn district (``cohort_options``: the resolved
    ``cohort`` section, for the on-track truth)."""
    regular = regular_course_records(w)
    rec, e = recovery_attempts(w)
    online_rec, events, ev_stats = online_attempt_events(w, rec, e, len(regular))
    recovery = recovery_potential_outcomes(w, rec, e)
    courses = course_records(regular, recovery_records(w, rec, regular, recovery["recovered"], online_rec),
                             rec, online_rec)
    tau = score_effects(w, _assembly_heterogeneity(w, courses, rec))
    if multiples(w, "ocr_gpa"):  # effect dynamics: later years' reported GPA
        add_gpa_dynamics(w)
    student_years, observed = observed_student_years(w, rec, recovery["recovered"], tau)
    ue = unit_effects(w, rec, recovery, tau, observed)
    history = history_credits(w)  # a random stream of its own, after everything else
    diploma_table, graduated = diplomas(w, observed["credits_obs"], history)
    longrun_unit_effects(w, ue, observed, history, graduated, cohort_options)
    add_bot_effects(ue, OUTCOMES)
    experiment_unit_effects(w, ue, rec, recovery)  # nothing when the experiment is off
    tables = contract_tables(w, student_years, courses, events, diploma_table, assignments_table(w, rec))
    truth = planted_truth(ue, tables, w.effects, len(online_rec)) + experiment_truth(ue)
    extra = {"experiment_years": list(w.experiment_years)} if experiment_on(w) else {}
    return SimulationResult(tables=tables, truth=truth, unit_effects=ue, types=planted_types(online_rec, ev_stats),
                            settings={**w.settings, "engagement": dict(w.engagement), "p_supportive": w.p_supportive,
                                      "rollout_year": dict(zip(w.school_ids.tolist(), w.rollout.tolist())), **extra})
