"""The generator's state: the settings, the one random stream and everything drawn so far.

The synthetic district is drawn in stages (:mod:`~credit_recovery.synthetic.population`,
:mod:`~credit_recovery.synthetic.courses`, :mod:`~credit_recovery.synthetic.episodes`,
:mod:`~credit_recovery.synthetic.outcomes`, :mod:`~credit_recovery.synthetic.events`,
:mod:`~credit_recovery.synthetic.assembly`) that all draw from :attr:`World.rng`, in
the order :func:`credit_recovery.synthetic.generator.simulate_district` calls them: the
same seed gives the same district only as long as that order is kept.

The scenario knobs (``school_shocks``, ``attrition``, ``mentor_selection``) draw from their own
generators, :meth:`World.knob_rng`, derived from the seed, and only when they are on, so a
district with every knob off is the same draw for draw as one drawn without knobs.
"""
from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from credit_recovery.synthetic.settings import SCALES

__all__ = ["World", "KNOB_STREAMS"]

#: Stream numbers of the scenario knobs' own random generators (:meth:`World.knob_rng`), and of the
#: high-school years before the first simulated year (``history``, :mod:`~credit_recovery.synthetic.longrun`):
#: drawn after everything else, it leaves the main stream untouched; of the online courses' program models; and of
#: the randomized experiment's assignments and compliance types (:mod:`~credit_recovery.synthetic.experiment`).
KNOB_STREAMS = {"attrition": 1, "school_shocks": 2, "mentor_selection": 3, "history": 4, "program_model": 5,
                "experiment": 6}


class World:
    """State shared by the generator's stages.

    Set on construction: ``settings`` (resolved), ``engagement`` (the
    sessionization definitions), ``scale`` (the size preset), ``rng``,
    ``gamma`` (strength of the unobserved confounder), ``effects`` (the planted
    effects), ``first_year`` and ``years`` (the observed school years) and
    ``n_schools`` (``simulation.n_schools``, else the preset's).

    Filled by the stages, in order:

    * schools (:func:`~credit_recovery.synthetic.population.draw_schools`):
      ``school_ids``, ``rollout`` (first year with online recovery),
      ``school_ability``, ``school_online`` (propensity), ``school_size``;
      ``outcome_shock`` and ``takeup_shock`` (school × year, ``None`` unless
      ``simulation.school_shocks`` is on: :func:`~credit_recovery.synthetic.knobs.draw_school_shocks`);
    * ``students`` (one row per student, latent traits included) and
      ``student_years`` (one row per enrolled student-year, sorted by year and
      student; column ``st`` is the student's row);
    * ``mentors`` and ``p_supportive`` (the share of supportive mentors);
    * course latents (:func:`~credit_recovery.synthetic.courses.draw_course_latents`):
      ``course_noise``, ``course_w`` (withdrawn), ``perf_shift`` and
      ``gpa_shift`` (the observed world's shifts for online recoverers; with
      effect dynamics also in later years), ``gpa_dyn`` (the part of
      ``gpa_shift`` from effect dynamics),
      ``sy_key`` (student-year row by ``(st, school_year)``) and
      ``marks_points`` (grade points of the 12 regular courses of each
      student-year, filled year by year);
    * ``episodes``: one row per recovery episode with its draws and potential
      outcome ingredients.

    ``experiment_years`` (the recovery years randomized; empty unless ``simulation.experiment`` is on) and
    ``randomized`` (the student rows assigned so far) belong to the randomized experiment
    (:mod:`~credit_recovery.synthetic.experiment`).
    """

    school_ids: np.ndarray
    rollout: np.ndarray
    school_ability: np.ndarray
    school_online: np.ndarray
    school_size: np.ndarray
    outcome_shock: np.ndarray | None
    takeup_shock: np.ndarray | None
    students: pd.DataFrame
    student_years: pd.DataFrame
    mentors: pd.DataFrame
    p_supportive: float
    course_noise: np.ndarray
    course_w: np.ndarray
    perf_shift: np.ndarray
    gpa_shift: np.ndarray
    gpa_dyn: np.ndarray
    sy_key: pd.Series
    marks_points: np.ndarray
    episodes: pd.DataFrame

    def __init__(self, settings: dict[str, Any], engagement: dict[str, Any]):
        self.settings = settings
        self.engagement = engagement
        self.scale = SCALES[settings["scale"]]
        self.rng = np.random.default_rng(int(settings["seed"]))
        self.gamma = float(settings["unobserved_confounding"])
        self.effects = settings["effects"]
        self.first_year = int(settings["first_year"])
        self.years = list(range(self.first_year, self.first_year + int(settings["n_years"])))
        n_schools = settings.get("n_schools")
        self.n_schools = int(self.scale["n_schools"] if n_schools is None else n_schools)
        self.knob_rngs: dict[int, np.random.Generator] = {}
        self.experiment_years: list[int] = []
        self.randomized: set[int] = set()

    def knob_rng(self, knob: int) -> np.random.Generator:
        """A random generator of its own for scenario knob number ``knob`` (see :data:`KNOB_STREAMS`).

        Derived from the seed and the knob, independent of :attr:`rng`: drawing from it leaves the
        main stream, and so every other part of the district, untouched. The same generator is
        returned on every call (a knob drawing year by year continues its stream).
        """
        if knob not in self.knob_rngs:
            self.knob_rngs[knob] = np.random.default_rng([int(self.settings["seed"]), int(knob)])
        return self.knob_rngs[knob]
