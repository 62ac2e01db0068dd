"""The randomized design's units: the students of the ``assignments`` table, with their cohort row.

A district that randomized recovery seats (Back on Track) provides the optional ``assignments`` table
(docs/data-contract.md). The study is then **randomized** (config ``design``: ``auto`` infers it from the
table's presence; ``observational`` or ``randomized`` force it): its units are the randomized students,
compared by the arm they were assigned (``assigned``: 1 online, 0 classroom), while the delivery they
actually took (``took_online``, the cohort's ``online``) is the treatment received, instrumented by the
assignment for the complier effect.

Each assignment is joined to the analytic cohort's unit of the same student and failed course record
(covariates of the failure year, outcomes of the recovery year and later). An assigned student without
such a unit (no recovery attempt of that course, or a cohort rule left it out) is not analysed: it is
listed in the exclusions table with the cohort ledger's status of the failed record, and counted in the
reports, since losing randomized units after assignment is attrition.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

__all__ = ["DESIGNS", "resolve_design", "randomized_units"]

#: Values of the config key ``design``.
DESIGNS = ("auto", "observational", "randomized")


def resolve_design(design: str, has_assignments: bool) -> str:
    """``observational`` or ``randomized``: ``auto`` follows the presence of an ``assignments`` table; a forced
    ``randomized`` without one is an error."""
    if design not in DESIGNS:
        raise ValueError(f"design must be one of {DESIGNS}, not {design!r}")
    if design == "auto":
        return "randomized" if has_assignments else "observational"
    if design == "randomized" and not has_assignments:
        raise ValueError("design: randomized needs the optional assignments table in the extract "
                         "(docs/data-contract.md); use design: observational (or auto)")
    return design


def randomized_units(assignments: pd.DataFrame, cohort: pd.DataFrame,
                     ledger: pd.DataFrame | None = None) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The randomized units with their cohort rows, and the assigned students left out.

    Parameters
    ----------
    assignments : DataFrame
        The validated ``assignments`` table.
    cohort : DataFrame
        The analytic cohort (:func:`credit_recovery.data.cohort.build_cohort`).
    ledger : DataFrame, optional
        The cohort's exclusion ledger (``table``, ``record_id``, ``status``), for the reason a failed
        record has no unit.

    Returns
    -------
    (units, excluded)
        ``units``: one row per analysed assignment, sorted by block and student: ``block``,
        ``assigned`` (1 = online arm), ``took_online`` (delivery taken), ``complied``, ``df`` (1 if the
        recovery course was marked D or F, 0 if another mark, missing if none), and the cohort's columns.
        ``excluded``: ``student_id``, ``failed_record_id``, ``block``, ``assigned_arm``, ``status``.
    """
    a = assignments[["student_id", "failed_record_id", "block", "assigned_arm"]].copy()
    merged = a.merge(cohort, on=["student_id", "failed_record_id"], how="left", validate="one_to_one",
                     indicator=True)
    found = merged["_merge"] == "both"
    excluded = merged.loc[~found, ["student_id", "failed_record_id", "block", "assigned_arm"]].copy()
    status = pd.Series(dtype=object)
    if ledger is not None and len(ledger):
        lc = ledger[ledger["table"] == "course_records"]
        status = pd.Series(lc["status"].to_numpy(), index=lc["record_id"].to_numpy())
    excluded["status"] = excluded["failed_record_id"].map(status).fillna("not_in_cohort").to_numpy()
    units = merged.loc[found].drop(columns="_merge")
    units["assigned"] = (units["assigned_arm"] == "online").astype(int)
    units["took_online"] = units["online"].astype(int)
    units["complied"] = (units["assigned"] == units["took_online"]).astype(int)
    mark = units["recovery_mark"]
    units["df"] = np.where(mark.isin(["D", "F"]), 1.0, np.where(mark.notna(), 0.0, np.nan))
    units = units.sort_values(["block", "student_id"], kind="stable").reset_index(drop=True)
    return units, excluded.sort_values(["block", "student_id"], kind="stable").reset_index(drop=True)

