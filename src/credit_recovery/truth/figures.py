"""Figures of the Monte Carlo study: bias and coverage by estimator, and the validity heat map.

:func:`mc_plot` draws one estimand of the summary of
:func:`credit_recovery.truth.montecarlo.summarize_replicates` (the Snakemake
rule ``monte_carlo`` saves it as ``results/monte_carlo/monte_carlo.png``);
:func:`validity_heatmap` draws CI coverage of every estimator in every
scenario, marking the cells where the estimator's assumptions hold
(``results/monte_carlo/validity_matrix.png``).
"""
from __future__ import annotations

from typing import Sequence

import numpy as np
import pandas as pd
from matplotlib.colors import LinearSegmentedColormap
from matplotlib.figure import Figure

from credit_recovery.shared.style import PALETTE, fit_ticks, styled

__all__ = ["mc_plot", "validity_heatmap", "world_labels", "estimator_labels"]


def world_labels(summary: pd.DataFrame) -> pd.Series:
    """One label per row naming its world: ``scenario`` (with ``[scale]`` when there are several
    scales), or ``confounding <level>`` in a summary without scenarios."""
    if "scenario" not in summary.columns:
        return "confounding " + summary["confounding"].map(lambda v: f"{v:g}")
    label = summary["scenario"].astype(str)
    if "scale" in summary.columns and summary["scale"].nunique() > 1:
        label = label + " [" + summary["scale"].astype(str) + "]"
    return label


def estimator_labels(summary: pd.DataFrame, with_estimand: bool = False) -> pd.Series:
    """Short estimator labels: the sample (``+g`` for the g-computation variant), optionally after the estimand."""
    g = summary["estimator"].str.contains("g-computation", regex=False).map({True: " +g", False: ""})
    label = summary["sample"].astype(str) + g
    return summary["estimand_id"] + " | " + label if with_estimand else label


@styled
def mc_plot(summary: pd.DataFrame, estimand_id: str = "ocr_math") -> Figure:
    """Bias (with 95% Monte Carlo intervals) and CI coverage of each estimator, by world.

    Parameters
    ----------
    summary : pandas.DataFrame
        Output of :func:`credit_recovery.truth.montecarlo.summarize_replicates`.
    estimand_id : str
        The estimand drawn (one row per estimator and sample).

    Returns
    -------
    matplotlib.figure.Figure
        Left: bias with 1.96 Monte Carlo standard errors; right: coverage of
        the 95% confidence intervals (shaded 0.92 to 0.98); one colour per
        world (:func:`world_labels`).
    """
    d = summary[summary["estimand_id"] == estimand_id].copy()
    d["label"] = d["estimator"] + " [" + d["sample"] + "]"
    d["world"] = world_labels(d)
    labels = sorted(d["label"].unique())
    levels = list(dict.fromkeys(d["world"]))
    colors = list(PALETTE.values())
    fig = Figure(figsize=(11, 0.45 * len(labels) + 1.8 + 0.2 * len(levels)))
    a1, a2 = fig.subplots(1, 2, sharey=True)
    step = 0.8 / max(len(levels), 1)
    for j, lev in enumerate(levels):
        s = d[d["world"] == lev].set_index("label").reindex(labels)
        y = np.arange(len(labels)) + (j - (len(levels) - 1) / 2) * step
        a1.errorbar(s["bias"], y, xerr=1.96 * s["bias_mcse"], fmt="o", ms=4, color=colors[j % len(colors)],
                    label=lev)
        a2.plot(s["coverage"], y, "o", ms=4, color=colors[j % len(colors)])
    a1.axvline(0, color="0.4", lw=0.8, ls="--")
    a2.axvspan(0.92, 0.98, color="0.9")
    a2.axvline(0.95, color="0.4", lw=0.8, ls="--")
    a1.set_yticks(range(len(labels)))
    a1.set_yticklabels(labels)
    a1.invert_yaxis()
    a1.set_xlabel("bias (estimate - truth)")
    fit_ticks(a1.xaxis)  # long minus-signed labels must not collide
    a2.set_xlabel("95% CI coverage")
    fig.legend(*a1.get_legend_handles_labels(), loc="lower center", ncol=min(len(levels), 4), fontsize=8)
    fig.suptitle(f"Monte Carlo: {estimand_id}", fontsize=11)
    fig.tight_layout(rect=(0, 0.04 + 0.03 * ((len(levels) - 1) // 4), 1, 1))
    return fig


@styled
def validity_heatmap(summary: pd.DataFrame, scenarios: Sequence[str] | None = None) -> Figure:
    """Coverage of the 95% CIs by world (rows) and estimand x estimator (columns).

    Parameters
    ----------
    summary : pandas.DataFrame
        Output of :func:`credit_recovery.truth.montecarlo.summarize_replicates`
        (``assumptions_hold`` column).
    scenarios : sequence of str, optional
        Row order of the scenarios (default: as they come).

    Returns
    -------
    matplotlib.figure.Figure
        Cells coloured by coverage (white at 0.95, darker red the lower), the
        coverage printed in each cell, a black dot in the corner of the cells
        where the registry says the estimator's assumptions hold.
    """
    d = summary.copy()
    if scenarios is not None and "scenario" in d.columns:
        order = {s: i for i, s in enumerate(scenarios)}
        d = d.sort_values("scenario", key=lambda s: s.map(order), kind="stable")
    d["world"] = world_labels(d)
    d["column"] = estimator_labels(d, with_estimand=True)
    rows, cols = list(dict.fromkeys(d["world"])), sorted(d["column"].unique())
    cov = d.pivot_table(index="world", columns="column", values="coverage", aggfunc="first").reindex(rows)[cols]
    holds = d.pivot_table(index="world", columns="column", values="assumptions_hold", aggfunc="first")
    holds = holds.reindex(rows)[cols].fillna(False).astype(bool)
    cmap = LinearSegmentedColormap.from_list("coverage", [PALETTE["vermillion"], "#F6D6C2", "#FFFFFF"])
    fig = Figure(figsize=(max(8.0, 0.42 * len(cols) + 3.0), 0.42 * len(rows) + 3.2))
    ax = fig.subplots()
    im = ax.imshow(cov.to_numpy(float), cmap=cmap, vmin=0.5, vmax=0.95, aspect="auto")
    for i in range(len(rows)):
        for j in range(len(cols)):
            v = cov.iat[i, j]
            if np.isfinite(v):
                ax.text(j, i, f"{v:.2f}"[1:] if 0 <= v < 1 else f"{v:.0f}", ha="center", va="center", fontsize=6)
            if holds.iat[i, j]:
                ax.plot(j + 0.33, i - 0.3, "o", color=PALETTE["black"], ms=2.5)
    ax.set_xticks(range(len(cols)))
    ax.set_xticklabels(cols, rotation=90, fontsize=7)
    ax.set_yticks(range(len(rows)))
    ax.set_yticklabels(rows, fontsize=8)
    ax.grid(False)
    fig.colorbar(im, ax=ax, fraction=0.02, pad=0.01, label="95% CI coverage")
    ax.set_title("Validity matrix: CI coverage (dot: assumptions hold)", fontsize=11)
    fig.tight_layout()
    return fig
