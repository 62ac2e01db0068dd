"""Missing outcomes by arm: overall and differential attrition, and the WWC attrition boundary.

A unit is *in the sample* when it is in the analytic cohort (or in the matched sample) and
*attrits* from an outcome when that outcome is missing. Per outcome and arm (online = treatment,
classroom = comparison), :func:`attrition_table` reports the units in the sample, those with the
outcome, and the attrition rates, in two samples:

* ``cohort``: the analytic cohort, unit counts (``weighting`` ``none``);
* ``matched``: the matched sample, rates weighted by the match weights (``weighting``
  ``match weights``: an online unit counts once, a classroom unit by its weight, as in the
  estimates), counts unweighted.

As in the What Works Clearinghouse (WWC) Standards Handbook, *overall attrition* is the share of the
sample without the outcome and *differential attrition* the absolute difference between the two
arms' attrition rates, both in percent (percentage points). :func:`wwc_attrition_level` classifies a
pair against the WWC attrition boundary: attrition is *low* when the differential is at most the
highest differential the boundary allows at that overall rate (overall rounded to a whole percent),
*high* otherwise. The *cautious* boundary (the WWC's "conservative" one) is for interventions that
could themselves cause attrition, the *optimistic* ("liberal") one for those unlikely to.

Source of the boundary table (:data:`WWC_BOUNDARY`): What Works Clearinghouse, *Standards Handbook,
Version 4.1* (U.S. Department of Education, Institute of Education Sciences, 2020), Table II.1,
"Highest differential attrition rate for a sample to maintain low attrition, by overall attrition
rate, under 'optimistic' and 'cautious' assumptions", overall attrition 0-65%, as transcribed in the
R package baselinr 0.6.0 (``R/attrition_boundary.R``, github.com/zl1212-ship-it/baselinr, commit
c4018eb). The Version 5.0 Standards Handbook (2022) keeps the cautious and optimistic boundaries as its
attrition standard; its table could not be retrieved here to compare digit by digit, so the numbers are
v4.1's (unverified against v5.0). Frozen here in December 2026; ``tests/test_attrition.py`` checks
published points.

The WWC attrition standard is written for randomized controlled trials, where attrition is the only
route by which the compared groups can stop being alike. This study is quasi-experimental (matched
comparison groups), so the classification is reported as a description of how much is missing, not
as a rating; the design's answer to missing outcomes is the response-weighted estimate
(:mod:`credit_recovery.design.response`, docs/attrition.md).
"""
from __future__ import annotations

import math
from typing import Sequence

import numpy as np
import pandas as pd

from credit_recovery.disclosure.suppression import suppress_small_cells
from credit_recovery.shared.model_matrix import binary_treatment

__all__ = ["WWC_BOUNDARY", "BOUNDARIES", "ATTRITION_COLUMNS", "COUNT_COLUMNS", "wwc_max_differential",
           "wwc_attrition_level", "attrition_rates", "attrition_table", "public_attrition_table"]

#: WWC attrition boundary: overall attrition (%, index 0-65) -> highest differential attrition (percentage
#: points) that is still low attrition, under the cautious and the optimistic boundary (``None``: high at any
#: differential). Standards Handbook v4.1, Table II.1 (see the module docstring).
WWC_BOUNDARY: dict[str, tuple[float | None, ...]] = {
    "cautious": (5.7, 5.8, 5.9, 5.9, 6.0, 6.1, 6.2, 6.3, 6.3, 6.3, 6.3, 6.2, 6.2, 6.1, 6.0, 5.9, 5.9, 5.8, 5.7,
                 5.5, 5.4, 5.3, 5.2, 5.1, 4.9, 4.8, 4.7, 4.5, 4.4, 4.3, 4.1, 4.0, 3.8, 3.6, 3.5, 3.3, 3.2, 3.1,
                 2.9, 2.8, 2.6, 2.5, 2.3, 2.1, 2.0, 1.8, 1.6, 1.5, 1.3, 1.2, 1.0, 0.9, 0.7, 0.6, 0.4, 0.3, 0.2,
                 0.0, None, None, None, None, None, None, None, None),
    "optimistic": (10.0, 10.1, 10.2, 10.3, 10.4, 10.5, 10.7, 10.8, 10.9, 10.9, 10.9, 10.9, 10.9, 10.8, 10.8,
                   10.7, 10.6, 10.5, 10.3, 10.2, 10.0, 9.9, 9.7, 9.5, 9.4, 9.2, 9.0, 8.8, 8.6, 8.4, 8.2, 8.0,
                   7.8, 7.6, 7.4, 7.2, 7.0, 6.7, 6.5, 6.3, 6.0, 5.8, 5.6, 5.3, 5.1, 4.9, 4.6, 4.4, 4.2, 3.9,
                   3.7, 3.5, 3.2, 3.0, 2.8, 2.6, 2.3, 2.1, 1.9, 1.6, 1.4, 1.1, 0.9, 0.7, 0.5, 0.3),
}
#: The two boundaries, cautious (conservative) first.
BOUNDARIES: tuple[str, ...] = ("cautious", "optimistic")

#: Unit counts of :func:`attrition_table` (the columns small-cell suppression looks at).
COUNT_COLUMNS = ["n_online", "n_online_observed", "n_online_missing", "n_classroom", "n_classroom_observed",
                 "n_classroom_missing"]
#: Columns of :func:`attrition_table`.
ATTRITION_COLUMNS = ["sample", "weighting", "outcome", *COUNT_COLUMNS, "attrition_online", "attrition_classroom",
                     "overall_attrition", "differential_attrition", "cautious_max_differential", "cautious",
                     "optimistic_max_differential", "optimistic"]


def wwc_max_differential(overall: float, boundary: str = "cautious") -> float:
    """Highest differential attrition (percentage points) that is low attrition at ``overall`` percent.

    ``overall`` is rounded to a whole percent (half up) and looked up in :data:`WWC_BOUNDARY`; NaN
    where the boundary allows no differential (cautious beyond 57%, either beyond 65%) or when
    ``overall`` is missing.
    """
    if boundary not in WWC_BOUNDARY:
        raise ValueError(f"boundary must be one of {list(WWC_BOUNDARY)}, got {boundary!r}")
    if overall is None or not np.isfinite(overall):
        return float("nan")
    if not 0 <= overall <= 100:
        raise ValueError(f"overall attrition is a percentage in [0, 100], got {overall!r}")
    row = math.floor(float(overall) + 0.5)
    table = WWC_BOUNDARY[boundary]
    value = table[row] if row < len(table) else None
    return float("nan") if value is None else float(value)


def wwc_attrition_level(overall: float, differential: float, boundary: str = "cautious") -> str:
    """``"low"`` or ``"high"`` attrition under the WWC ``boundary`` ("" when a rate is missing).

    Low when ``differential`` (percentage points, unrounded) is at most
    :func:`wwc_max_differential` of ``overall`` (a tolerance of 1e-9 keeps a value on the boundary low).
    """
    if differential is None or not np.isfinite(differential) or not np.isfinite(overall):
        return ""
    limit = wwc_max_differential(overall, boundary)
    return "low" if np.isfinite(limit) and abs(float(differential)) <= limit + 1e-9 else "high"


def attrition_rates(observed: np.ndarray, online: np.ndarray, weights: np.ndarray | None = None) -> dict[str, float]:
    r"""Attrition of one outcome: per arm, overall and differential, in percent.

    With weights :math:`w_i` (1 when ``None``) and :math:`R_i` = outcome observed,

    .. math:: A_d = 100\,\frac{\sum_{D_i = d} w_i (1 - R_i)}{\sum_{D_i = d} w_i}, \qquad
              A = 100\,\frac{\sum_i w_i (1 - R_i)}{\sum_i w_i}, \qquad \Delta = |A_1 - A_0|.
    """
    r = np.asarray(observed, bool)
    d = np.asarray(online, float) == 1
    w = np.ones(len(r)) if weights is None else np.asarray(weights, float)

    def rate(mask: np.ndarray) -> float:
        total = float(w[mask].sum())
        return 100.0 * float(w[mask & ~r].sum()) / total if total > 0 else float("nan")

    a1, a0, a = rate(d), rate(~d), rate(np.ones(len(r), bool))
    return {"attrition_online": a1, "attrition_classroom": a0, "overall_attrition": a,
            "differential_attrition": abs(a1 - a0)}


def _rows(data: pd.DataFrame, sample: str, outcomes: Sequence[str], treatment: str,
          weights: str | None) -> list[dict]:
    d = binary_treatment(data, treatment, both_values=False) == 1
    w = None if weights is None else data[weights].to_numpy(float)
    rows = []
    for y in outcomes:
        r = data[y].notna().to_numpy()
        row = {"sample": sample, "weighting": "none" if weights is None else "match weights", "outcome": y,
               "n_online": int(d.sum()), "n_online_observed": int((d & r).sum()),
               "n_online_missing": int((d & ~r).sum()), "n_classroom": int((~d).sum()),
               "n_classroom_observed": int((~d & r).sum()), "n_classroom_missing": int((~d & ~r).sum()),
               **attrition_rates(r, d, w)}
        for b in BOUNDARIES:
            row[f"{b}_max_differential"] = wwc_max_differential(row["overall_attrition"], b)
            row[b] = wwc_attrition_level(row["overall_attrition"], row["differential_attrition"], b)
        rows.append(row)
    return rows


def attrition_table(cohort: pd.DataFrame, matched: pd.DataFrame | None, outcomes: Sequence[str],
                    treatment: str = "online", weights: str = "weights") -> pd.DataFrame:
    """Attrition by outcome and arm in the analytic cohort and the matched sample, with the WWC classification.

    Parameters
    ----------
    cohort : DataFrame
        The analytic cohort (one row per unit, the outcomes and ``treatment``).
    matched : DataFrame or None
        The matched sample with its match ``weights`` (``None``: cohort rows only).
    outcomes : sequence of str
        Outcome columns (missing value = attrited from that outcome).
    treatment : str
        The 0/1 arm column (1 = online, the treatment arm).
    weights : str
        The match-weight column of ``matched``.

    Returns
    -------
    DataFrame
        :data:`ATTRITION_COLUMNS`: one row per sample (``cohort``, ``matched``) and outcome. Rates in
        percent, the differential in percentage points; ``cautious`` and ``optimistic`` are ``low`` or
        ``high`` (:func:`wwc_attrition_level`), with the boundary's highest low differential beside each.
    """
    rows = _rows(cohort, "cohort", outcomes, treatment, None)
    if matched is not None:
        rows += _rows(matched, "matched", outcomes, treatment, weights)
    return pd.DataFrame(rows, columns=ATTRITION_COLUMNS)


_DERIVED = ["overall_attrition", "differential_attrition"]
_ARM = {"online": ["n_online", "n_online_observed", "n_online_missing", "attrition_online"],
        "classroom": ["n_classroom", "n_classroom_observed", "n_classroom_missing", "attrition_classroom"]}


def public_attrition_table(table: pd.DataFrame, min_cell_size: int = 10, marker: str = "<10") -> pd.DataFrame:
    """:func:`attrition_table` with small cells suppressed, for ``results/public``.

    Within a row, a count of 1 to ``min_cell_size - 1`` (units in an arm, with or without the outcome)
    hides the arm's other part (with and without the outcome add up to the arm's units), its rate and
    the overall and differential attrition (``disclosure.suppression``). Across rows, the matched sample is nested in the cohort:
    when a count of an arm differs between the two samples by 1 to ``min_cell_size - 1`` units (say, a
    few unmatched online students without a score), that arm's counts and rate in the matched row, and
    its overall and differential attrition, are hidden too. The WWC classification stays.
    """
    t = table.reset_index(drop=True)
    deps = {}
    for n, observed, missing, rate in _ARM.values():  # n = observed + missing: a small part hides the other part
        deps[n] = [observed, missing, rate, *_DERIVED]
        deps[observed] = [missing, rate, *_DERIVED]
        deps[missing] = [observed, rate, *_DERIVED]
    extra = np.zeros((len(t), len(t.columns)), dtype=bool)
    col = {c: i for i, c in enumerate(t.columns)}
    for i in np.flatnonzero(t["sample"].to_numpy() == "matched"):
        base = t[(t["sample"] == "cohort") & (t["outcome"] == t.at[i, "outcome"])]
        if base.empty:
            continue
        for cols in _ARM.values():
            diff = [abs(int(base[c].iloc[0]) - int(t.at[i, c])) for c in cols[:3]]
            if any(1 <= v < min_cell_size for v in diff):
                for c in cols + _DERIVED:
                    extra[i, col[c]] = True
    out = suppress_small_cells(t, COUNT_COLUMNS, min_cell_size=min_cell_size, dependent_columns=deps,
                               marker=marker, complementary=False)
    for c, j in col.items():
        if extra[:, j].any():
            out[c] = out[c].astype(object)
            out.loc[extra[:, j], c] = marker
    return out
