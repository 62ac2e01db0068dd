"""The state study's public table and figure (docs/state.md): each district's headline estimates beside the
pooled state's.

:func:`state_public_table` keeps the rows of the primary design (``models.primary.online``) for the
online-vs-classroom outcomes, with each district's balance after matching; a district estimate resting on fewer
units than the disclosure minimum is blanked (``note`` says why). :func:`state_figure` draws one panel per
outcome, one row per district and the pooled estimate last.
"""
from __future__ import annotations

from typing import Mapping, Sequence

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from credit_recovery.reporting.figures import FOREST_OUTCOMES
from credit_recovery.reporting.tables import OUTCOME_LABELS
from credit_recovery.shared.style import PALETTE, fit_ticks, styled
from credit_recovery.specs.state import POOLED

__all__ = ["PUBLIC_COLUMNS", "state_public_table", "state_figure", "state_sentence"]

#: Columns of the public state table.
PUBLIC_COLUMNS: tuple[str, ...] = ("district", "outcome", "estimand_id", "estimator", "sample", "estimate",
                                   "std_error", "ci_low", "ci_high", "p_value", "n", "n_clusters", "cov_type",
                                   "max_abs_smd", "note")
_NUMBERS = ("estimate", "std_error", "ci_low", "ci_high", "p_value")


def state_public_table(state: pd.DataFrame, primary: Mapping[str, str], min_cell_size: int) -> pd.DataFrame:
    """The primary design's ``ocr_*`` rows of every district and the pooled state (state-table order).

    ``primary`` is the ``models.primary`` section (its ``online`` sample is kept). Rows with ``n`` below
    ``min_cell_size`` keep their district and outcome, their numbers blanked.
    """
    rows = state[(state["sample"] == primary["online"])
                 & state["estimand_id"].astype(str).str.startswith("ocr_")].copy()
    small = rows["n"].astype(float) < float(min_cell_size)
    rows["note"] = np.where(small, f"fewer than {min_cell_size} units: not shown", "")
    for col in (*_NUMBERS, "n", "n_clusters"):
        rows[col] = rows[col].astype(float).where(~small)
    return rows[list(PUBLIC_COLUMNS)].reset_index(drop=True)


@styled
def state_figure(table: pd.DataFrame, outcomes: Sequence[str] = FOREST_OUTCOMES) -> Figure:
    """Forest plot: one panel per outcome, one row per district (config order), the pooled state last."""
    est = table[table["estimate"].notna()]
    outcomes = [o for o in outcomes if o in set(est["outcome"])]
    names = list(dict.fromkeys(table["district"]))
    ncol = max(len(outcomes), 1)
    fig = Figure(figsize=(2.4 * ncol + 1.6, 0.28 * len(names) + 1.6))
    axes = fig.subplots(1, ncol, sharey=True, squeeze=False)
    for ax, y in zip(axes[0], outcomes):
        d = est[est["outcome"] == y].set_index("district")
        for i, name in enumerate(names):
            if name not in d.index:
                continue
            r = d.loc[name]
            color = PALETTE["orange"] if name == POOLED else PALETTE["blue"]
            ax.plot([r["ci_low"], r["ci_high"]], [i, i], color=color, lw=2.4 if name == POOLED else 1.4)
            ax.plot(r["estimate"], i, "D" if name == POOLED else "o", color=color, ms=5)
        ax.axvline(0, color="0.4", lw=0.8, ls="--")
        ax.set_title(OUTCOME_LABELS.get(y, y), fontsize=10)
        ax.set_yticks(range(len(names)))
        ax.set_yticklabels(["pooled (all districts)" if n == POOLED else n for n in names], fontsize=8)
        fit_ticks(ax.xaxis)
    if outcomes:
        axes[0][0].invert_yaxis()
    fig.suptitle("Online vs classroom credit recovery by district and pooled: estimates with 95% intervals",
                 fontsize=11)
    fig.tight_layout()
    return fig


def state_sentence(table: pd.DataFrame, outcome: str = "math") -> str:
    """One plain-language sentence: the pooled estimate of ``outcome`` and how many districts' intervals lie
    below zero, include it, or lie above it."""
    rows = table[(table["outcome"] == outcome) & table["estimate"].notna()]
    pooled = rows[rows["district"] == POOLED]
    dist = rows[rows["district"] != POOLED]
    if pooled.empty or dist.empty:
        return ""
    p = pooled.iloc[0]
    below = int((dist["ci_high"] < 0).sum())
    above = int((dist["ci_low"] > 0).sum())
    label = OUTCOME_LABELS.get(outcome, outcome)
    label = label[0].lower() + label[1:]
    return (f"Across the {len(dist)} districts pooled, the {label} estimate is {p['estimate']:+.2f} "
            f"[{p['ci_low']:+.2f}, {p['ci_high']:+.2f}]; district by district, {below} intervals lie below zero, "
            f"{len(dist) - below - above} include zero and {above} lie above it.")
