"""Scenario knobs of the synthetic district (issue 11): worlds the estimators were not tuned to.

Each knob is off by default and then changes nothing (not even the main random stream): its
randomness comes from its own generator (:meth:`~credit_recovery.synthetic.world.World.knob_rng`)
and is drawn only when the knob is on. The knobs are documented in ``docs/synthetic-district.md``.

* ``attrition``: an episode's recovery-year test scores and GPA are missing with probability
  ``base + online_extra·D`` (:func:`attrition_mask`).
"""
from __future__ import annotations

import numpy as np

from credit_recovery.synthetic.world import KNOB_STREAMS, World

__all__ = ["attrition_mask"]


def attrition_mask(w: World) -> np.ndarray | None:
    """Student-years (rows of ``w.student_years``) whose recovery-year outcomes are lost; ``None`` when off.

    Each episode's recovery-year record loses its outcomes with probability
    ``simulation.attrition.base`` plus ``online_extra`` for online recoverers.
    """
    cfg = w.settings["attrition"]
    base, extra = float(cfg["base"]), float(cfg["online_extra"])
    if base == 0 and extra == 0:
        return None
    ep = w.episodes
    p = base + extra * ep["online"].to_numpy(float)
    lost_ep = w.knob_rng(KNOB_STREAMS["attrition"]).random(len(ep)) < p
    lost = np.zeros(len(w.student_years), dtype=bool)
    lost[ep["sy_next"].to_numpy()[lost_ep]] = True
    return lost
