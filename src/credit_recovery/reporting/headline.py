"""Which estimate rows the brief reports: comparisons, naive rows and the one headline row per outcome.

:func:`classify_comparison` sorts an estimate row into the comparison it
belongs to (online vs classroom, mentor support, idle time, or other);
:func:`headline_rows` picks, by a fixed preference, the one designed estimate
per comparison and outcome that the brief puts in words; :func:`naive_row`
finds the unmatched comparison shown beside it.
"""
from __future__ import annotations

from typing import Any, Mapping

import numpy as np
import pandas as pd

from credit_recovery.reporting.vocabulary import COMPARISONS

__all__ = ["classify_comparison", "headline_rows", "is_naive", "naive_row"]


def classify_comparison(row: Mapping[str, Any] | pd.Series) -> str:
    """Which comparison an estimate row belongs to: ``subgroup``, ``placebo``, ``online``, ``mentor``, ``idle`` or
    ``other``.

    Notes
    -----
    In order: ``subgroup`` if the row names a subgroup (``subgroup`` not empty: for whom, never a headline);
    ``placebo`` if the estimand id starts with ``placebo_`` (a pre-failure outcome: a check, never
    a headline); ``idle`` if the treatment or outcome names idle time;
    ``online`` if the treatment is ``online``; ``other`` if the estimand
    reads ``... vs classroom`` (an arm of a multi-arm comparison); ``mentor``
    if the estimand id starts with ``mentor_`` or the treatment names a
    mentor or support; otherwise ``other`` (reported in the appendix only).
    """
    treatment = str(row.get("treatment", "")).lower()
    outcome = str(row.get("outcome", "")).lower()
    estimand_id = str(row.get("estimand_id", "")).lower()
    estimand = str(row.get("estimand", "")).lower()
    subgroup = row.get("subgroup", "")
    if isinstance(subgroup, str) and subgroup:
        return "subgroup"
    if estimand_id.startswith("placebo_"):
        return "placebo"
    if "idle" in treatment or "idle" in outcome:
        return "idle"
    if treatment == "online":
        return "online"
    if "vs classroom" in estimand:  # an arm of a multi-arm comparison against the classroom
        return "other"
    if estimand_id.startswith("mentor_") or "mentor" in treatment or "support" in treatment:
        return "mentor"
    return "other"


def is_naive(row: pd.Series) -> bool:
    """Whether a row is a naive comparison: estimator ``naive ...`` or sample ``cohort``."""
    return str(row["estimator"]).lower().startswith("naive") or str(row["sample"]) == "cohort"


def _preference(row: pd.Series, primary: Mapping[str, str]) -> tuple:
    est = str(row["estimator"]).lower()
    sample = str(row["sample"]).lower()
    return (
        0 if primary.get(str(row["comparison"])) == str(row["sample"]) else 1,  # the configured primary design
        0 if str(row["estimand_id"]) else 1,                       # a validated estimand
        0 if sample.startswith("matched") else 1,                 # the matched design
        0 if str(row["fixed_effects"]) not in ("", "none") else 1,  # with fixed effects
        0 if any(w in est for w in ("g-computation", "covariate", "adjust")) else 1,
    )


def headline_rows(estimates: pd.DataFrame, primary: Mapping[str, str] | None = None) -> pd.DataFrame:
    """The one estimate per (comparison, outcome) that the brief reports.

    Parameters
    ----------
    estimates : pandas.DataFrame
        Tidy estimate rows, optionally with a boolean ``suppressed`` column
        (:func:`credit_recovery.reporting.public.public_estimates`).
    primary : mapping, optional
        Comparison -> the sample of its primary design (``models.primary``, e.g.
        ``{"online": "matched_fe", "mentor": "online"}``).

    Returns
    -------
    pandas.DataFrame
        The chosen rows with an added ``comparison`` column, ordered by
        comparison (online, mentor, idle) then by first appearance of the
        outcome. Naive comparisons (estimator ``naive ...`` or sample
        ``cohort``), suppressed rows and rows of subgroups (samples other than
        the first-choice ones) are not chosen.

    Notes
    -----
    Preference, in order: the comparison's primary design (``primary``);
    rows with an ``estimand_id``; a ``matched*``
    sample; fixed effects; covariate adjustment (``g-computation``,
    ``covariate``, ``adjust`` in the estimator); then the first row in table
    order. The rule is deterministic.
    """
    df = estimates.copy()
    df["_order"] = np.arange(len(df))
    df["comparison"] = [classify_comparison(r) for _, r in df.iterrows()]
    keep = df["comparison"].isin(list(COMPARISONS)) & df["estimate"].notna()
    if "suppressed" in df.columns:
        keep &= ~df["suppressed"].astype(bool)
    keep &= ~df.apply(is_naive, axis=1) if len(df) else keep
    df = df[keep]
    if df.empty:
        return df.drop(columns="_order")
    df = df.assign(_pref=[_preference(r, primary or {}) for _, r in df.iterrows()])
    chosen = []
    for comp in COMPARISONS:
        sub = df[df["comparison"] == comp]
        for outcome in pd.unique(sub["outcome"]):
            rows = sub[sub["outcome"] == outcome]
            best = min(rows.index, key=lambda i: (rows.at[i, "_pref"], rows.at[i, "_order"]))
            chosen.append(best)
    return df.loc[chosen].drop(columns=["_order", "_pref"])


def naive_row(estimates: pd.DataFrame, outcome: str, comparison: str = "online") -> pd.Series | None:
    """The naive comparison row for an outcome (first in table order), or ``None``."""
    for _, r in estimates.iterrows():
        if (r["outcome"] == outcome and classify_comparison(r) == comparison and is_naive(r)
                and pd.notna(r["estimate"]) and not bool(r.get("suppressed", False))):
            return r
    return None
