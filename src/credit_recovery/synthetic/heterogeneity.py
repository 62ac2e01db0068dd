"""Effect heterogeneity (``simulation.effect_heterogeneity``): unit effects that vary with covariates.

For an estimand ``e`` with slopes ``β_e`` (``effect_heterogeneity.<e>.<covariate>``), episode ``i``'s
effect gets ``h_i = Σ_k β_ek·x_ik`` minus its mean over the estimand's population, where ``x_ik`` is
covariate ``k`` standardized over the recovery year's episodes (:data:`HET_COVARIATES`; the
generator's versions of the cohort's baseline covariates, see :func:`episode_covariates`). So the
mean effect over the population stays the planted value while effects vary across units.

Where ``h`` enters (see ``docs/synthetic-district.md``):

* scores (``ocr_math``, ``ocr_reading``, ``mentor_math``) and GPA (``ocr_gpa``): added to the latent
  score effect and to the GPA shift ``g``; centred exactly over the estimand's population (online
  takers in the analytic cohort; with a supportive mentor for ``mentor_math``), at assembly;
* ``ocr_credit_recovered`` and ``mentor_credit_recovered``: added to the recovery probability
  (before clipping to 0.01-0.99) and centred over the recovery year's online takers (with a
  supportive mentor for the mentor effect);
* ``ocr_credits``: the other courses' performance shift of episode ``i`` is ``s + h_i/d̄``
  (``d̄`` the year's mean derivative of expected credits in the shift over its online takers), with
  ``h`` centred over the year's online takers and ``s`` chosen by the planted-shift bisection, so
  the expected credits effect over the year's online takers stays the planted value.

A knob that is off (all slopes 0) returns ``None`` or 0 and changes no number.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from credit_recovery.synthetic.courses import SUBJECT_SLOTS, credits_regular, gpa_points
from credit_recovery.synthetic.world import World

__all__ = ["HET_COVARIATES", "heterogeneity_on", "episode_covariates", "unit_heterogeneity"]

#: Covariates an effect can vary with (the keys of ``effect_heterogeneity.<estimand>``).
HET_COVARIATES = ("math_pre", "reading_pre", "gpa_pre", "credits_pre", "absence_rate_pre", "grade", "ell",
                  "sped", "frl", "subject_math", "program_blended", "program_competency")


def heterogeneity_on(w: World, estimand: str | None = None) -> bool:
    """Whether any slope (of ``estimand``, or of any estimand) is non-zero."""
    het = w.settings["effect_heterogeneity"]
    keys = [estimand] if estimand is not None else list(het)
    return any(float(v) != 0 for e in keys for v in het.get(e, {}).values())


def episode_covariates(w: World, cand: np.ndarray, nxt: np.ndarray, absr: np.ndarray,
                       index_slot: np.ndarray, program_code: np.ndarray | None = None) -> pd.DataFrame:
    """Standardized covariates ``x_<covariate>`` of one recovery year's episodes.

    ``cand`` and ``nxt`` are the failure- and recovery-year student-year rows, ``absr`` the failure
    year's absence rate, ``index_slot`` the index course's slot. Scores are the failure year's latent
    z-scores, GPA and credits its regular courses' (unrounded, without recovered credits), grade
    the recovery year's, ``ell``, ``sped``, ``frl`` the failure year's flags, ``program_blended`` and
    ``program_competency`` indicators of the online course's program model (``program_code``: 1 blended,
    2 competency-based; hypothetical for classroom retakers, whose effects they do not enter).
    """
    sy = w.student_years
    raw = {
        "math_pre": sy["z_math"].to_numpy()[cand], "reading_pre": sy["z_read"].to_numpy()[cand],
        "gpa_pre": gpa_points(w, cand), "credits_pre": credits_regular(w, cand), "absence_rate_pre": absr,
        "grade": sy["grade"].to_numpy()[nxt].astype(float), "ell": sy["ell"].to_numpy()[cand].astype(float),
        "sped": sy["sped"].to_numpy()[cand].astype(float), "frl": sy["frl"].to_numpy()[cand].astype(float),
        "subject_math": (np.array(SUBJECT_SLOTS)[np.asarray(index_slot) % 6] == "math").astype(float),
    }
    code = np.zeros(len(cand)) if program_code is None else np.asarray(program_code)
    raw["program_blended"] = (code == 1).astype(float)
    raw["program_competency"] = (code == 2).astype(float)
    out = {}
    for k, v in raw.items():
        v = np.nan_to_num(np.asarray(v, float), nan=float(np.nanmean(v)) if np.isfinite(v).any() else 0.0)
        sd = v.std()
        out[f"x_{k}"] = (v - v.mean()) / sd if sd > 0 else np.zeros_like(v)
    return pd.DataFrame(out)


def unit_heterogeneity(w: World, ep: pd.DataFrame, estimand: str, centre: np.ndarray) -> np.ndarray | float:
    """``h_i`` of every episode in ``ep`` for ``estimand``, centred over the episodes where ``centre`` holds.

    0.0 when the estimand has no slopes (so adding it changes nothing).
    """
    if not heterogeneity_on(w, estimand):
        return 0.0
    slopes = w.settings["effect_heterogeneity"][estimand]
    h = np.zeros(len(ep))
    for k, b in slopes.items():
        if float(b) != 0:
            h = h + float(b) * ep[f"x_{k}"].to_numpy()
    centre = np.asarray(centre, bool)
    return h - (h[centre].mean() if centre.any() else h.mean())


