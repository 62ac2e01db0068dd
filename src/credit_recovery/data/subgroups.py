"""Subgroups of the cohort for "for whom" estimates: each unit's level of each subgroup dimension.

Every dimension is measured before the recovery course (the failure year or the failed course), so a
subgroup is fixed before treatment and the subgroup effects are causal contrasts of their own:

* ``grade_band``: grade in the failure year, ``9-10`` or ``11-12``;
* ``subject``: the failed (and recovered) course, ``math`` or ``other``;
* ``prior_gpa``: tercile of the failure year's GPA over the cohort, ``low``, ``middle``, ``high``
  (cut at the cohort's 1/3 and 2/3 quantiles; a unit without a GPA has no level);
* ``ell``: English learner, ``yes`` or ``no``;
* ``sped``: special education, ``yes`` or ``no``;
* ``program_model``: the online course's program model, ``fully_online``, ``blended`` or
  ``competency_based`` (the optional ``course_records.program_model`` column; iNACOL 2015 associates
  blended and competency-based programs with better results). Unlike the others it describes the
  treatment, not the student: it is defined for online units only, and its subgroup effect compares the
  online takers of one program model with classroom retakers (all of whom are eligible controls), the
  effect of that version of online recovery on its takers (:data:`TREATMENT_VERSION_DIMENSIONS`).

A subgroup is named ``<dimension>=<level>`` (``grade_band=11-12``), the spelling of the ``subgroup``
column of the estimates and of the truth records. The engagement user type is not a dimension: it is
observed during the online course (after treatment) and is an outcome of the course, not a version of it.
"""
from __future__ import annotations

from typing import Sequence

import numpy as np
import pandas as pd

from credit_recovery.data.contract import PROGRAM_MODELS

__all__ = ["SUBGROUP_DIMENSIONS", "TREATMENT_VERSION_DIMENSIONS", "subgroup_labels", "subgroup_name"]

#: Dimension -> its levels, in report order.
SUBGROUP_DIMENSIONS: dict[str, tuple[str, ...]] = {
    "grade_band": ("9-10", "11-12"),
    "subject": ("math", "other"),
    "prior_gpa": ("low", "middle", "high"),
    "ell": ("yes", "no"),
    "sped": ("yes", "no"),
    "program_model": PROGRAM_MODELS,
}
#: Dimensions that describe the online course (a version of the treatment): defined for online units only,
#: every classroom unit is a potential control of every level.
TREATMENT_VERSION_DIMENSIONS: frozenset[str] = frozenset({"program_model"})


def subgroup_name(dimension: str, level: str) -> str:
    """``<dimension>=<level>``, the spelling of the ``subgroup`` column."""
    return f"{dimension}={level}"


def _yes_no(values: pd.Series) -> pd.Series:
    out = pd.Series(np.where(values.astype("boolean").fillna(False), "yes", "no"), index=values.index, dtype=object)
    return out.where(values.notna(), None)


def _tercile(values: pd.Series) -> pd.Series:
    x = values.astype(float)
    lo, hi = np.nanquantile(x, [1 / 3, 2 / 3]) if x.notna().any() else (np.nan, np.nan)
    out = pd.Series(np.where(x <= lo, "low", np.where(x <= hi, "middle", "high")), index=values.index, dtype=object)
    return out.where(x.notna(), None)


def _program_model(cohort: pd.DataFrame) -> pd.Series:
    """The online units' program model; missing for classroom units and where the extract has none."""
    if "program_model" not in cohort or "online" not in cohort:
        return pd.Series(None, index=cohort.index, dtype=object)
    pm = cohort["program_model"].astype(object)
    ok = pm.isin(PROGRAM_MODELS) & (cohort["online"].astype(float) == 1)
    return pm.where(ok, None)


def subgroup_labels(cohort: pd.DataFrame, dimensions: Sequence[str] | None = None) -> pd.DataFrame:
    """Each unit's level of each dimension (columns named by dimension, missing where undefined).

    Parameters
    ----------
    cohort : DataFrame
        The analytic cohort (``grade``, ``subject``, ``gpa_pre``, ``ell``, ``sped``; ``online`` and, when the
        extract records it, ``program_model``), one row per unit.
    dimensions : sequence of str, optional
        Keys of :data:`SUBGROUP_DIMENSIONS`; all by default.

    Returns
    -------
    DataFrame
        Same index as ``cohort``; ``prior_gpa``'s cut points are the terciles of ``gpa_pre`` over ``cohort``.

    Raises
    ------
    ValueError
        An unknown dimension (the message lists the known ones).
    """
    dims = list(SUBGROUP_DIMENSIONS) if dimensions is None else list(dimensions)
    bad = [d for d in dims if d not in SUBGROUP_DIMENSIONS]
    if bad:
        raise ValueError(f"unknown subgroup dimension(s) {bad}; known: {list(SUBGROUP_DIMENSIONS)}")
    make = {
        "grade_band": lambda c: pd.Series(np.where(c["grade"] <= 10, "9-10", "11-12"), index=c.index,
                                          dtype=object).where(c["grade"].notna(), None),
        "subject": lambda c: pd.Series(np.where(c["subject"] == "math", "math", "other"), index=c.index,
                                       dtype=object).where(c["subject"].notna(), None),
        "prior_gpa": lambda c: _tercile(c["gpa_pre"]),
        "ell": lambda c: _yes_no(c["ell"]),
        "sped": lambda c: _yes_no(c["sped"]),
        "program_model": _program_model,
    }
    return pd.DataFrame({d: make[d](cohort) for d in dims}, index=cohort.index)
