"""Longer-run outcomes of the synthetic district: diplomas, and every episode's potential two-year
credits, on-track status and graduation.

The outcomes are the cohort's (:mod:`credit_recovery.data.longrun`, where their definitions and the
rules that make them defined live); here they are planted. Episode ``i`` has recovery year ``r``,
its student entered grade 9 in ``g9`` and the simulated years run from ``first`` to ``last``.

* **History.** A student who entered grade 9 before ``first`` gets the credits of those earlier
  high-school years drawn like a simulated year's regular courses (12 half-credit courses with the
  same latent means, :func:`~credit_recovery.synthetic.courses.course_means`, course noise and
  withdrawals; no school shocks, no recovery), from a random stream of its own
  (``KNOB_STREAMS["history"]``), so nothing else in the district changes. Those years are not in the
  extract; only the diploma depends on them.
* **Diplomas** (table ``diplomas``). A student enrolled through grade 12 in a simulated year whose
  credits in grades 9-12 reach ``simulation.graduation_credits`` (``G``) gets a diploma in the grade-12
  year ``g9 + 3``.
* **Potential outcomes** under classroom (``d = 0``) and online (``d = 1``) recovery, with ``C_d(r)``
  the recovery year's potential credits (``y0_credits``, ``y1_credits``), ``C_d(r + k)`` the later
  years' (:func:`~credit_recovery.synthetic.dynamics.event_time_credits`: the observed credits in both
  worlds unless ``effect_dynamics.ocr_credits`` has a ``k``-th multiple), ``B`` the credits of the
  years from grade 9 to ``r − 1`` and ``H`` those before ``first``; all of these are earlier than
  the treatment and the same in both worlds:

  - ``cum_credits_2y_d = C_d(r) + C_d(r + 1)``;
  - ``on_track_d = 1[B + C_d(r) >= need_k]``, ``k = r − g9 + 1``, ``need`` = ``cohort.on_track_credits``;
  - ``graduated_d = 1[enrolled through grade 12]·1[H + B + C_d(r) + Σ_k C_d(r + k) >= G]``;

  NaN where the cohort's rule leaves the outcome undefined (``cum_credits_2y``: ``r + 1`` after
  ``last`` or after ``g9 + 3``, or no student-year in ``r + 1``; ``on_track``: ``g9 < first``;
  ``graduated``: ``g9 + 3 > last``). Leaving the district does not depend on the treatment here.
  The observed world equals the potential outcome of the observed treatment (checked).

Later recovery episodes of the same student, and the credits they recover, are the observed ones in
both worlds (as for the event-time effects of :mod:`~credit_recovery.synthetic.dynamics`): the part of
the effect that runs through courses the treatment makes the student fail or pass in the recovery
year, and so recover or not the year after, is not in the truth (``docs/synthetic-district.md``). Its
size can be read off the unit effects: ``y0_failed_core`` and ``y1_failed_core`` are the core courses
the student fails in the recovery year in each world (:func:`recovery_year_failures`).
"""
from __future__ import annotations

from typing import Any, Mapping

import numpy as np
import pandas as pd
from scipy.special import expit

from credit_recovery.synthetic.courses import CORE_SLOTS, PERF_SD, course_means, marks_from_perf, regular_course_means
from credit_recovery.synthetic.dynamics import event_rows, event_time_credits
from credit_recovery.synthetic.world import KNOB_STREAMS, World

__all__ = ["LONGRUN_OUTCOMES", "history_credits", "diplomas", "longrun_unit_effects", "recovery_year_failures"]

#: The longer-run outcomes planted for every episode (``y0_<o>``, ``y1_<o>``, ``ocr_<o>``).
LONGRUN_OUTCOMES = ("cum_credits_2y", "on_track", "graduated")
_TOL = 1e-9


def history_credits(w: World) -> np.ndarray:
    """Credits each student earned in high-school years before the first simulated year (0 if none).

    Years ``j = 0, 1, ...`` of high school (grade ``9 + j``) before ``first`` in which the student was
    enrolled (``j < n_grades``); drawn in student order from the ``history`` stream.
    """
    st = w.students
    n_before = np.clip(w.years[0] - st["grade9_year"].to_numpy(), 0, 4)
    sti = np.repeat(np.arange(len(st)), n_before)
    j = np.arange(len(sti)) - np.repeat(np.cumsum(n_before) - n_before, n_before)
    rng = w.knob_rng(KNOB_STREAMS["history"])
    n = len(sti)
    rate = expit(-2.4 + 0.75 * st["absence"].to_numpy()[sti] + 0.12 * j + rng.normal(0, 0.3, n))
    year_noise = rng.normal(0, 0.35, n)
    noise = rng.normal(0, PERF_SD, (n, 12))
    withdrawn = rng.random((n, 12)) < 0.01
    pts = marks_from_perf(course_means(w, sti, rate, year_noise) + noise)
    credits = 0.5 * ((pts >= 1) & ~withdrawn).sum(axis=1)
    enrolled = j < st["n_grades"].to_numpy()[sti]
    return np.bincount(sti, weights=np.where(enrolled, credits, 0.0), minlength=len(st))


def diplomas(w: World, credits_obs: np.ndarray, history: np.ndarray) -> tuple[pd.DataFrame, np.ndarray]:
    """The ``diplomas`` table and whether each student (row of ``w.students``) graduated.

    ``credits_obs`` are the observed credits of every student-year, ``history`` the
    :func:`history_credits`.
    """
    st = w.students
    g9 = st["grade9_year"].to_numpy()
    total = history + np.bincount(w.student_years["st"].to_numpy(), weights=credits_obs, minlength=len(st))
    in_window = (g9 + 3 >= w.years[0]) & (g9 + 3 <= w.years[-1])
    graduated = (st["n_grades"].to_numpy() == 4) & in_window & (total >= _requirement(w) - _TOL)
    table = pd.DataFrame({"student_id": st["student_id"].to_numpy()[graduated], "school_year": g9[graduated] + 3})
    return table, graduated


def recovery_year_failures(w: World) -> tuple[np.ndarray, np.ndarray]:
    """Core courses each episode's student fails in the recovery year (regular courses, mark F), per world.

    The classroom world removes the episode's own shift ``s_i`` of the other courses' performance from an
    online taker's (the observed world keeps every other episode's shifts); the online world adds it to a
    classroom recoverer's. Returns ``(classroom, online)``; the observed world's is checked.
    """
    ep = w.episodes
    r_row, online, s_i = ep["sy_next"].to_numpy(), ep["online"].to_numpy(), ep["s_shift"].to_numpy()
    perf = regular_course_means(w, r_row) + w.course_noise[r_row]
    other = w.perf_shift[r_row] - np.where(online, s_i, 0.0)
    counts = []
    for shift in (other, other + s_i):
        failed = (marks_from_perf(perf + shift[:, None]) == 0) & ~w.course_w[r_row]
        counts.append(failed[:, CORE_SLOTS].sum(axis=1).astype(float))
    seen = ((w.marks_points[r_row] == 0) & ~w.course_w[r_row])[:, CORE_SLOTS].sum(axis=1)
    assert (np.where(online, counts[1], counts[0]) == seen).all(), "recovery-year failures inconsistent"
    return counts[0], counts[1]


def _requirement(w: World) -> float:
    return float(w.settings["graduation_credits"])


def longrun_unit_effects(w: World, ue: pd.DataFrame, observed: dict[str, Any], history: np.ndarray,
                         graduated: np.ndarray, cohort_options: Mapping[str, Any]) -> None:
    """Add ``y0_<o>``, ``y1_<o>`` and ``ocr_<o>`` of the :data:`LONGRUN_OUTCOMES` to the unit effects ``ue``.

    ``observed`` holds the observed world's arrays (``credits_obs``), ``history`` the
    :func:`history_credits`, ``graduated`` the students' diplomas (:func:`diplomas`),
    ``cohort_options`` the resolved ``cohort`` section (``on_track_credits``).
    """
    ep, st, sy = w.episodes, w.students, w.student_years
    first, last = w.years[0], w.years[-1]
    need = np.asarray(cohort_options["on_track_credits"], dtype=float)
    sti, r_row = ep["st"].to_numpy(), ep["sy_next"].to_numpy()
    r, g9 = ep["school_year"].to_numpy(), st["grade9_year"].to_numpy()[sti]
    k = r - g9 + 1
    cred = observed["credits_obs"]
    through = pd.Series(cred).groupby(sy["st"].to_numpy()).cumsum().to_numpy()  # rows are in year order
    before = through[r_row] - cred[r_row]  # years since grade 9 (or first) before r
    now = (ue["y0_credits"].to_numpy(), ue["y1_credits"].to_numpy())
    later = [event_time_credits(w, j, observed) for j in (1, 2, 3)]
    stay = st["n_grades"].to_numpy()[sti] == 4
    defined = {"cum_credits_2y": (r + 1 <= last) & (r + 1 <= g9 + 3),
               "on_track": (g9 >= first) & (k >= 1) & (k <= 4), "graduated": g9 + 3 <= last}
    pot: dict[str, list[np.ndarray]] = {o: [] for o in LONGRUN_OUTCOMES}
    for d in (0, 1):
        after = sum(np.nan_to_num(y[d]) for y in later)
        pot["cum_credits_2y"].append(now[d] + later[0][d])
        pot["on_track"].append((before + now[d] >= need[np.clip(k, 1, 4) - 1] - _TOL).astype(float))
        pot["graduated"].append((stay & (history[sti] + before + now[d] + after >= _requirement(w) - _TOL))
                                .astype(float))
    row1 = event_rows(w, ep, 1)  # the student-year of r + 1 (-1: none)
    observed_values = {
        "cum_credits_2y": np.where(row1 >= 0, cred[r_row] + cred[np.maximum(row1, 0)], np.nan),
        "on_track": (before + cred[r_row] >= need[np.clip(k, 1, 4) - 1] - _TOL).astype(float),
        "graduated": graduated[sti].astype(float),
    }
    online = ep["online"].to_numpy()
    for o in LONGRUN_OUTCOMES:
        y0, y1 = (np.where(defined[o], v, np.nan) for v in pot[o])
        obs = np.where(defined[o], observed_values[o], np.nan)
        assert np.allclose(np.where(online, y1, y0), obs, equal_nan=True), f"{o} potential outcomes inconsistent"
        ue[f"y0_{o}"], ue[f"y1_{o}"] = y0, y1
        ue[f"ocr_{o}"] = y1 - y0
    ue["y0_failed_core"], ue["y1_failed_core"] = recovery_year_failures(w)
