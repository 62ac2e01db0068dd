"""Plain words for the subgroup estimates (the brief's "for whom" caveat).

Drawn from the public subgroup table (``results/public/subgroups.csv``, :mod:`credit_recovery.specs.subgroups`):
per outcome, in how many of the subgroups the estimate is clearly below or above zero once the number of
comparisons is allowed for (Romano-Wolf adjusted p-value at most 0.05). Every number is tagged with its source
(:func:`credit_recovery.reporting.numbers.num`): source ``subgroups``, key ``[outcome]``, fields
``count_subgroups``, ``count_fwer_lower`` and ``count_fwer_higher``.
"""
from __future__ import annotations

from typing import Sequence

import pandas as pd

from credit_recovery.reporting.numbers import num
from credit_recovery.reporting.vocabulary import sentence_label

__all__ = ["FWER_LEVEL", "subgroup_counts", "subgroup_sentence"]

#: Adjusted p-value at or below which a subgroup's estimate counts as clearly different from zero.
FWER_LEVEL = 0.05


def subgroup_counts(table: pd.DataFrame, outcome: str) -> dict[str, int]:
    """``count_subgroups``, ``count_fwer_lower``, ``count_fwer_higher`` of one outcome's subgroup rows."""
    t = table[table["outcome"] == outcome]
    clear = t["p_fwer"] <= FWER_LEVEL
    return {"count_subgroups": len(t), "count_fwer_lower": int((clear & (t["estimate"] < 0)).sum()),
            "count_fwer_higher": int((clear & (t["estimate"] > 0)).sum())}


def subgroup_sentence(table: pd.DataFrame, outcomes: Sequence[str]) -> str:
    """One sentence over ``outcomes``: in how many subgroups each is clearly lower or higher with online recovery.

    Empty when the table has no rows for these outcomes.
    """
    parts = []
    for o in outcomes:
        c = subgroup_counts(table, o)
        if not c["count_subgroups"]:
            continue
        n = {k: num(v, source="subgroups", key=[o], field=k, digits=0) for k, v in c.items()}
        parts.append(f"{sentence_label(o)} was clearly lower with online recovery in {n['count_fwer_lower']} of "
                     f"{n['count_subgroups']} groups and clearly higher in {n['count_fwer_higher']}")
    if not parts:
        return ""
    return ("Splitting the students by grade, failed subject, prior grades, English-learner and special-education "
            "status, and allowing for the number of comparisons: " + "; ".join(parts) + ". The technical appendix "
            "shows every group.")
