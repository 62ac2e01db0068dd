"""The randomized experiment (``simulation.experiment``): a Back-on-Track-like lottery planted in the district.

Back on Track (Chicago; Heppen et al. 2017) assigned ninth graders who had failed Algebra I, at random
within school, to an online or a face-to-face recovery course. Here, in the experiment's recovery years
(``start_year`` and the ``years - 1`` after it):

* **Eligible** is a retaker whose failure year's grade is in ``grades`` (default 9), whose episode's index
  course (its first failed core course, the one the analytic cohort follows) is of ``subject`` (default
  math), and who has not been randomized before (a student is assigned once).
* **Blocks** are school × recovery year (``SCH03-2014``). Within a block of ``n >= 2`` eligible units,
  ``round(share_online · n)`` (at least 1, at most ``n - 1``) are assigned online by complete randomization,
  the rest to a classroom; so every block has both arms. A lone eligible unit of a school-year is not
  randomized (its delivery follows the selection model, as for everyone else).
* **Compliance types** are drawn per unit: never-taker (``never_takers``), always-taker
  (``always_takers``) or complier. The delivery taken is ``D_i(Z_i)``: the assigned one for compliers,
  classroom for never-takers, online for always-takers. ``Z`` and the type are independent, so
  ``never_takers`` is also the share of those assigned online who take a classroom course, and
  ``always_takers`` the share of those assigned to a classroom who go online.
* The **assignment date** is 3-35 days before the enrolment in the recovery course.

All of it comes from the experiment's own random stream (:data:`~credit_recovery.synthetic.world.KNOB_STREAMS`).
The selection model still draws every retaker's delivery from the main stream (ignored for the randomized
ones), so everything drawn before the platform events is the draw of the district without the experiment
except the randomized units' delivery and what follows from it (their mentors' and other courses'
shifts); the platform events and later draws follow the new online courses. Off, nothing here runs.
With ``start_year`` given, schools whose roll-out comes later offer online recovery from that year.

The potential outcomes are the district's (every episode has them); the experiment adds a D or F mark in
the recovery course (``df``; W counts as neither, as in the pipeline's ``df`` outcome) from the same shared
uniforms as the marks (:func:`~credit_recovery.synthetic.outcomes.recovery_marks`), and, per unit,
``assigned``, ``complier_type`` and ``block`` (:func:`experiment_unit_effects`). The truths ``itt_*`` and
``cace_*`` are :func:`~credit_recovery.synthetic.planted_truth.experiment_truth`.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from credit_recovery.synthetic.outcomes import recovery_marks
from credit_recovery.synthetic.world import KNOB_STREAMS, World

__all__ = ["COMPLIANCE_TYPES", "EXPERIMENT_COLUMNS", "experiment_on", "set_experiment_years", "randomize",
           "assignments_table", "experiment_unit_effects"]

#: Compliance types: the delivery taken under assignment to a classroom and to online recovery (``D(0)``, ``D(1)``).
COMPLIANCE_TYPES = {"complier": (0, 1), "never_taker": (0, 0), "always_taker": (1, 1)}
#: Columns the experiment adds to the episodes (and, but ``assignment_lag``, to the unit effects).
EXPERIMENT_COLUMNS = ("assigned", "complier_type", "block", "assignment_lag")
#: Days between the draw and the enrolment in the recovery course: uniform on [min, max].
_LAG_DAYS = (3, 35)


def experiment_on(w: World) -> bool:
    """Whether ``simulation.experiment`` is enabled."""
    return bool(w.settings["experiment"]["enabled"])


def set_experiment_years(w: World) -> None:
    """Set ``w.experiment_years`` after the schools are drawn (no draws); nothing when the experiment is off.

    ``start_year`` null: the last roll-out year (the first in which every school offers online recovery).
    Given: schools rolling out later offer online recovery from ``start_year`` on (``w.rollout`` moved).
    The experiment's years must be simulated recovery years (after the first simulated year).
    """
    if not experiment_on(w):
        return
    cfg = w.settings["experiment"]
    if float(cfg["never_takers"]) + float(cfg["always_takers"]) > 1:
        raise ValueError("simulation.experiment: never_takers + always_takers must not exceed 1")
    if cfg["start_year"] is None:
        start = int(w.rollout.max())
    else:
        start = int(cfg["start_year"])
        w.rollout = np.minimum(w.rollout, start)
    n = int(cfg["years"])
    if start <= w.years[0] or start + n - 1 > w.years[-1]:
        raise ValueError(f"simulation.experiment: the recovery years {start}-{start + n - 1} must lie within the "
                         f"simulated years {w.years[0] + 1}-{w.years[-1]} (set start_year, years or n_years)")
    w.experiment_years = list(range(start, start + n))


def randomize(w: World, y: int, sti: np.ndarray, grade_failed: np.ndarray, index_subject: np.ndarray,
              school_idx: np.ndarray, online: np.ndarray) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """Assign the eligible retakers of recovery year ``y`` and set their delivery taken.

    ``sti`` are the retakers' student rows, ``grade_failed`` the grade of their failure year,
    ``index_subject`` the subject of their index course, ``school_idx`` their school, ``online`` the
    selection model's delivery. Returns the delivery taken (the selection model's for units not
    randomized) and the :data:`EXPERIMENT_COLUMNS` (``assigned`` 1/0, NaN when not randomized;
    ``complier_type``, ``block`` None; ``assignment_lag`` days, NaN).
    """
    n = len(sti)
    cols = {"assigned": np.full(n, np.nan), "complier_type": np.full(n, None, dtype=object),
            "block": np.full(n, None, dtype=object), "assignment_lag": np.full(n, np.nan)}
    if y not in w.experiment_years:
        return online, cols
    cfg = w.settings["experiment"]
    eligible = (np.isin(grade_failed, np.asarray(cfg["grades"], dtype=int)) & (index_subject == cfg["subject"])
                & ~np.isin(sti, np.fromiter(w.randomized, dtype=int, count=len(w.randomized))))
    assert (w.rollout[school_idx[eligible]] <= y).all(), "an experiment school does not offer online recovery"
    rng = w.knob_rng(KNOB_STREAMS["experiment"])
    share = float(cfg["share_online"])
    for si in np.unique(school_idx[eligible]):
        units = np.flatnonzero(eligible & (school_idx == si))
        if len(units) < 2:  # a block needs both arms
            continue
        k = min(max(int(np.floor(share * len(units) + 0.5)), 1), len(units) - 1)
        arm = np.zeros(len(units))
        arm[rng.permutation(len(units))[:k]] = 1.0
        cols["assigned"][units] = arm
        cols["block"][units] = f"{w.school_ids[si]}-{y}"
    rand = np.flatnonzero(~np.isnan(cols["assigned"]))
    nt, at = float(cfg["never_takers"]), float(cfg["always_takers"])
    u = rng.random(len(rand))
    types = np.where(u < nt, "never_taker", np.where(u < nt + at, "always_taker", "complier"))
    cols["complier_type"][rand] = types
    cols["assignment_lag"][rand] = rng.integers(_LAG_DAYS[0], _LAG_DAYS[1] + 1, len(rand))
    taken = np.where(types == "complier", cols["assigned"][rand] == 1, types == "always_taker")
    online = online.copy()
    online[rand] = taken
    w.randomized.update(sti[rand].tolist())
    return online, cols


def assignments_table(w: World, rec: pd.DataFrame) -> pd.DataFrame | None:
    """The ``assignments`` table (one row per randomized student); ``None`` when the experiment is off.

    ``rec`` holds the recovery attempts with their ids (``failed_record_id``) and ``enrolled_date``; the
    failed record of a unit is its index course's (the course the analytic cohort follows).
    """
    ep = w.episodes
    if "assigned" not in ep.columns:
        return None
    index = rec[rec["is_index"]]
    assert (index["episode"].to_numpy() == ep["episode"].to_numpy()).all()
    sel = ep["assigned"].notna().to_numpy()
    lag = pd.to_timedelta(ep["assignment_lag"].to_numpy()[sel], unit="D")
    out = pd.DataFrame({
        "student_id": index["student_id"].to_numpy()[sel],
        "failed_record_id": index["failed_record_id"].to_numpy()[sel],
        "block": ep["block"].to_numpy()[sel],
        "assigned_arm": np.where(ep["assigned"].to_numpy()[sel] == 1, "online", "classroom"),
        "assignment_date": pd.DatetimeIndex(index["enrolled_date"].to_numpy()[sel]) - lag,
    })
    return out.sort_values("student_id", kind="stable").reset_index(drop=True)


def experiment_unit_effects(w: World, ue: pd.DataFrame, rec: pd.DataFrame, recovery: dict[str, np.ndarray]) -> None:
    """Add ``assigned``, ``complier_type``, ``block`` and the D-or-F potential outcomes to the unit effects.

    ``y0_df`` / ``y1_df``: a D or F mark (W counts as neither) in the index recovery course in the classroom /
    online world (the episode's mentor), from its shared uniforms
    (:func:`~credit_recovery.synthetic.outcomes.recovery_marks`); ``ocr_df = y1_df - y0_df``. Set for the
    randomized units, NaN (None) for the others. Nothing when the experiment is off.
    """
    ep = w.episodes
    if "assigned" not in ep.columns:
        return
    idx = rec["is_index"].to_numpy()
    mark_u, withdraw_u = rec["mark_u"].to_numpy()[idx], rec["withdraw_u"].to_numpy()[idx]
    rand = ep["assigned"].notna().to_numpy()
    n = len(ep)
    for d, r in ((0, recovery["r0"][idx]), (1, recovery["r1"][idx])):
        mark = recovery_marks(r, mark_u, withdraw_u, np.full(n, bool(d)), w.settings["recovery_course"])
        ue[f"y{d}_df"] = np.where(rand, np.isin(mark, ("D", "F")).astype(float), np.nan)
    ue["ocr_df"] = ue["y1_df"] - ue["y0_df"]
    observed = recovery_marks(recovery["recovered"][idx], mark_u, withdraw_u, ep["online"].to_numpy(bool),
                              w.settings["recovery_course"])
    assert np.array_equal(np.where(ep["online"].to_numpy(bool), ue["y1_df"], ue["y0_df"])[rand],
                          np.isin(observed, ("D", "F"))[rand].astype(float)), "D/F potential outcomes inconsistent"
    for col in ("assigned", "complier_type", "block"):
        ue[col] = ep[col].to_numpy()
