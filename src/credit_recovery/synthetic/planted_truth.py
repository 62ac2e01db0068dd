"""The planted truth: estimands over the individual effects, and the planted user types.

The truth of an estimand is the **realized** mean of the individual effects
over its population (for ``ocr_*``: the online takers in the analytic cohort;
for ``mentor_*``: the online takers with a supportive mentor), so it differs
from the configured effect by sampling and rounding only. The longer-run outcomes
(``ocr_cum_credits_2y``, ``ocr_on_track``, ``ocr_graduated``; :mod:`~credit_recovery.synthetic.longrun`)
have no configured effect of their own: they follow from the credits effects, and their population is
the online takers whose outcome is defined. With effect dynamics
the unit effects also hold event-time effects ``ocr_<outcome>_t<k>``, and the
truth one record per estimand and event time ``k`` (field ``event_time``).
``engagement_idle_pass`` records the structural idle-share coefficient. The ``ocr_*`` estimands also
have one record per subgroup of the analytic cohort (field ``subgroup``, ``<dimension>=<level>``:
:mod:`credit_recovery.data.subgroups`), the mean effect over the subgroup's online takers. With the randomized
experiment on (``simulation.experiment``), :func:`experiment_truth` adds ``itt_<outcome>`` and
``cace_<outcome>`` over its randomized units (:mod:`~credit_recovery.synthetic.experiment`).
"""
from __future__ import annotations

import re
from typing import Any, Mapping

import numpy as np
import pandas as pd

from credit_recovery.data.cohort import analytic_units, build_cohort
from credit_recovery.data.subgroups import SUBGROUP_DIMENSIONS, subgroup_labels, subgroup_name
from credit_recovery.synthetic.events import USER_TYPES

__all__ = ["TRUTH_ESTIMANDS", "OUTCOMES", "EVENT_COLUMN", "EXPERIMENT_OUTCOMES", "truth_from_unit_effects",
           "event_time_truth", "subgroup_truth", "planted_truth", "experiment_truth", "planted_types"]

#: Unit-effect column of an event-time effect (effect dynamics): ``<estimand_id>_t<k>``.
EVENT_COLUMN = re.compile(r"(ocr_[a-z_]+?)_t(\d+)")

#: Outcomes of a recovery episode with potential outcomes in the unit effects (``y0_<outcome>``, ``y1_<outcome>``).
OUTCOMES = ("math", "reading", "credits", "gpa", "credit_recovered", "cum_credits_2y", "on_track", "graduated")

#: Outcome -> how the truth records describe it.
_LABELS = {"math": "next-year math score (SD units)", "reading": "next-year reading score (SD units)",
           "credits": "credits earned in the next school year", "gpa": "next-year GPA (grade points)",
           "credit_recovered": "recovering the failed credit (probability)",
           "cum_credits_2y": "credits earned in the recovery year and the school year after",
           "on_track": "being on track to graduate at the end of the recovery year (probability)",
           "graduated": "graduating within four school years of grade 9 (probability)"}
#: Outcomes of the randomized experiment's truths ``itt_<outcome>`` and ``cace_<outcome>`` (:func:`experiment_truth`).
EXPERIMENT_OUTCOMES = ("math", "reading", "credit_recovered", "df", "credits", "gpa", "graduated")
_DF_LABEL = "a D or F mark in the recovery course (probability; W counts as neither)"
#: The longer-run outcomes, defined for some units only (data.longrun).
_DEFINED_FOR_SOME = ("cum_credits_2y", "on_track", "graduated")
_SUPPORTIVE = "over online takers with a supportive mentor in the cohort"


def _record(effect: str, population: str, description: str) -> dict[str, str]:
    return {"effect": effect, "population": population, "description": description}


TRUTH_ESTIMANDS: dict[str, dict[str, str]] = {
    **{f"ocr_{y}": _record(f"ocr_{y}", "online",
                           f"ATT of online vs classroom credit recovery on {label}, over the online takers in the "
                           "analytic cohort" + (" with the outcome defined" if y in _DEFINED_FOR_SOME else ""))
       for y, label in _LABELS.items()},
    **{f"mentor_{y}": _record(f"mentor_{y}", "online_supportive",
                              f"ATT of an instructionally supportive vs a non-supportive mentor on {_LABELS[y]}, "
                              f"{_SUPPORTIVE}")
       for y in ("credit_recovered", "math")},
    **{f"bot_{y}": _record(f"bot_{y}", "online_supportive",
                           "ATT of online recovery with an instructionally supportive mentor vs classroom recovery "
                           f"(the Back on Track contrast) on {label}, {_SUPPORTIVE}")
       for y, label in _LABELS.items()},
}


def truth_from_unit_effects(unit_effects: pd.DataFrame, units: pd.DataFrame | None = None) -> list[dict[str, Any]]:
    """Recompute the truth estimands from unit-level effects.

    Parameters
    ----------
    unit_effects : DataFrame
        ``results/truth/unit_effects.parquet``.
    units : DataFrame, optional
        Restrict to these units (columns ``student_id`` and
        ``course_record_id``, the index recovery attempt), e.g. a matched
        sample. By default the analytic cohort (``in_cohort``).

    Returns
    -------
    list of dict
        ``{estimand_id, description, value, n}`` records; the value is the mean over the units
        whose effect is defined (the longer-run outcomes are not defined for every unit) and ``n``
        their number.
    """
    ue = unit_effects
    if units is None:
        ue = ue[ue["in_cohort"]]
    else:
        keys = units[["student_id", "course_record_id"]].drop_duplicates()
        ue = ue.merge(keys, on=["student_id", "course_record_id"], how="inner")
    out = []
    for estimand_id, spec in TRUTH_ESTIMANDS.items():
        mask = ue["online"].to_numpy(bool).copy()
        if spec["population"] == "online_supportive":
            mask &= ue["supportive"].to_numpy(bool)
        values = ue.loc[mask, spec["effect"]].astype(float)
        out.append({
            "estimand_id": estimand_id,
            "description": spec["description"],
            "value": float(values.mean()) if len(values) else float("nan"),
            "n": int(values.notna().sum()),
        })
    return out + event_time_truth(ue)


def event_time_truth(ue: pd.DataFrame) -> list[dict[str, Any]]:
    """Truth records of the event-time effects (columns ``ocr_<outcome>_t<k>``, from effect dynamics).

    One ``{estimand_id, event_time, description, value, n}`` record per column: ``estimand_id``
    is the recovery-year estimand's (``ocr_math``), ``event_time`` ``k`` (school years after the
    recovery year), ``value`` the mean effect over the estimand's population (the online units)
    with a student-year at event time ``k``. None without effect dynamics.
    """
    out = []
    online = ue["online"].to_numpy(bool)
    for col in ue.columns:
        found = EVENT_COLUMN.fullmatch(col)
        if not found or found.group(1) not in TRUTH_ESTIMANDS:
            continue
        values = ue.loc[online, col].astype(float).dropna()
        k = int(found.group(2))
        out.append({
            "estimand_id": found.group(1), "event_time": k,
            "description": f"{TRUTH_ESTIMANDS[found.group(1)]['description']}, {k} school year(s) after the "
                           "recovery year, over those still enrolled",
            "value": float(values.mean()) if len(values) else float("nan"),
            "n": int(len(values)),
        })
    return out


def subgroup_truth(ue: pd.DataFrame, cohort: pd.DataFrame) -> list[dict[str, Any]]:
    """Truth records of the ``ocr_*`` estimands within each subgroup of ``cohort`` (the analytic cohort).

    One ``{estimand_id, subgroup, description, value, n}`` record per estimand, dimension and level with at least
    one online taker whose effect is defined: the mean effect over them. The levels are the
    cohort's (:func:`credit_recovery.data.subgroups.subgroup_labels`, prior GPA terciles over the cohort).
    """
    labels = subgroup_labels(cohort)
    keys = cohort[["student_id", "recovery_record_id"]].rename(columns={"recovery_record_id": "course_record_id"})
    u = pd.concat([keys.reset_index(drop=True), labels.reset_index(drop=True)], axis=1).merge(
        ue, on=["student_id", "course_record_id"], how="inner")
    u = u[u["online"].astype(bool)]
    out = []
    for estimand_id, spec in TRUTH_ESTIMANDS.items():
        if spec["population"] != "online":
            continue
        for dim, levels in SUBGROUP_DIMENSIONS.items():
            for level in levels:
                values = u.loc[u[dim] == level, spec["effect"]].astype(float).dropna()
                if not len(values):  # no online taker of the level has the outcome defined: no truth
                    continue
                out.append({"estimand_id": estimand_id, "subgroup": subgroup_name(dim, level),
                            "description": f"{spec['description']}, within the subgroup {subgroup_name(dim, level)}",
                            "value": float(values.mean()), "n": int(len(values))})
    return out


def planted_truth(ue: pd.DataFrame, tables: Mapping[str, pd.DataFrame], effects: Mapping[str, Any],
                  n_online: int) -> list[dict[str, Any]]:
    """Mark the unit effects in the analytic cohort (``in_cohort``, added to ``ue``) and compute the truth.

    ``tables`` are the district's input tables (the cohort is built from them),
    ``effects`` the planted effects and ``n_online`` the number of online
    recovery attempts (the count of the ``engagement_idle_pass`` record).
    """
    units = analytic_units(tables)
    cohort_keys = set(zip(units["student_id"], units["recovery_record_id"]))
    ue["in_cohort"] = [(a, b) in cohort_keys for a, b in zip(ue["student_id"], ue["course_record_id"])]
    truth = truth_from_unit_effects(ue)
    truth.append({
        "estimand_id": "engagement_idle_pass",
        "description": "Planted change in the probability of passing an online recovery course per 10 "
                       "percentage points more idle time (structural coefficient)",
        "value": float(effects["idle_share_pass"]),
        "n": int(n_online),
    })
    return truth + subgroup_truth(ue, build_cohort(tables).cohort)


def experiment_truth(unit_effects: pd.DataFrame) -> list[dict[str, Any]]:
    """The randomized experiment's truths (``simulation.experiment``); none without it.

    Over the randomized units (``assigned`` not missing), with ``D_i(z)`` the delivery unit ``i`` takes when
    assigned ``z`` (its ``complier_type``: compliers ``z``, never-takers 0, always-takers 1):

    * ``itt_<outcome>``: the mean of ``Y_i(D_i(1)) - Y_i(D_i(0))`` over the randomized units with the outcome
      defined (always- and never-takers contribute 0);
    * ``cace_<outcome>``: the mean of ``Y_i(1) - Y_i(0)`` over the compliers with the outcome defined;

    ``Y_i(d)`` the unit effects' ``y<d>_<outcome>`` (online: with the episode's mentor), for the
    :data:`EXPERIMENT_OUTCOMES`. Records ``{estimand_id, description, value, n}``; ``n`` the units averaged.
    """
    ue = unit_effects
    if "assigned" not in ue.columns:
        return []
    r = ue[ue["assigned"].notna()]
    kind = r["complier_type"].to_numpy()
    d1 = (kind != "never_taker").astype(int)
    d0 = (kind == "always_taker").astype(int)
    complier = kind == "complier"
    labels = {**_LABELS, "df": _DF_LABEL}
    out = []
    for y in EXPERIMENT_OUTCOMES:
        pot = np.column_stack([r[f"y0_{y}"].to_numpy(float), r[f"y1_{y}"].to_numpy(float)])
        rows = np.arange(len(r))
        itt = pd.Series(pot[rows, d1] - pot[rows, d0]).dropna()
        cace = pd.Series(pot[complier, 1] - pot[complier, 0]).dropna()
        defined = " with the outcome defined" if y in _DEFINED_FOR_SOME else ""
        out.append({"estimand_id": f"itt_{y}",
                    "description": f"ITT of assignment to online vs classroom credit recovery on {labels[y]}, over "
                                   f"the randomized students of the experiment{defined} (mean of "
                                   "Y(D(1)) - Y(D(0)); 0 for always- and never-takers)",
                    "value": float(itt.mean()) if len(itt) else float("nan"), "n": int(len(itt))})
        out.append({"estimand_id": f"cace_{y}",
                    "description": f"Complier average causal effect of online vs classroom credit recovery on "
                                   f"{labels[y]}, over the experiment's compliers{defined} (mean of Y(1) - Y(0))",
                    "value": float(cace.mean()) if len(cace) else float("nan"), "n": int(len(cace))})
    return out


def planted_types(online_rec: pd.DataFrame, ev_stats: pd.DataFrame) -> pd.DataFrame:
    """The latent user type and realized idle share of every online recovery attempt."""
    return pd.DataFrame({
        "student_id": online_rec["student_id"].to_numpy(),
        "course_record_id": online_rec["course_record_id"].to_numpy(),
        "user_type": np.array(USER_TYPES)[online_rec["type_code"].to_numpy()],
        "idle_share": ev_stats["idle_share"].to_numpy(),
    })
