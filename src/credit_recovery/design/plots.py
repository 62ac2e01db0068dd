"""Plots of the matched design: the love plot of covariate balance and the propensity-score overlap.

Kept apart from the numbers they draw (MatchIt's ``summary()`` vs its
``plot()``): :func:`love_plot` takes a table of
:func:`credit_recovery.design.balance.balance_before_after` (or
:func:`~credit_recovery.design.balance.balance_table`), :func:`overlap_plot`
the distance, the treatment and the matching weights. Both return a
:class:`matplotlib.figure.Figure`; save it with
:func:`credit_recovery.shared.style.save_figure`.
"""
from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from credit_recovery.design.balance import WWC_THRESHOLDS

__all__ = ["love_plot", "overlap_plot"]


def love_plot(
    table: pd.DataFrame,
    *,
    absolute: bool = True,
    title: str | None = "Covariate balance",
    ax: Any = None,
):
    """Love plot of SMDs before and after matching with WWC bands.

    Parameters
    ----------
    table : pandas.DataFrame
        Output of :func:`credit_recovery.design.balance.balance_before_after`
        (points for before and after) or of
        :func:`credit_recovery.design.balance.balance_table` (one set of points).
    absolute : bool
        Plot \\|SMD\\| (default) or signed SMD.

    Returns
    -------
    matplotlib.figure.Figure
    """
    if isinstance(table.columns, pd.MultiIndex):
        series = {k: table[(k, "smd")] for k in table.columns.get_level_values(0).unique()}
    else:
        series = {"smd": table["smd"]}
    if ax is None:
        fig = Figure(figsize=(7 if len(series) > 1 else 6, 0.3 * len(table) + 1.5))  # 1 inch for the key
        ax = fig.add_subplot()
    else:
        fig = ax.figure
    y = np.arange(len(table))[::-1]
    lo, hi = WWC_THRESHOLDS
    ax.axvspan(-lo if not absolute else 0, lo, color="tab:green", alpha=0.12, lw=0)
    for s in ([1] if absolute else [-1, 1]):
        ax.axvline(s * lo, color="tab:green", ls="--", lw=0.8)
        ax.axvline(s * hi, color="tab:red", ls="--", lw=0.8)
    ax.axvline(0, color="black", lw=0.6)
    markers = {"before": ("o", "white", "tab:gray"), "after": ("o", "tab:blue", "tab:blue")}
    for name, s in series.items():
        v = s.to_numpy(dtype=float)
        v = np.abs(v) if absolute else v
        m, fc, ec = markers.get(name, ("o", "tab:blue", "tab:blue"))
        ax.scatter(v, y, marker=m, facecolors=fc, edgecolors=ec, label=name, zorder=3)
    ax.set_yticks(y)
    ax.set_yticklabels(list(table.index))
    ax.set_xlabel("absolute standardized mean difference" if absolute else "standardized mean difference")
    if title:
        ax.set_title(title)
    if len(series) > 1:  # beside the axes: inside, the key hid the largest differences (drawn bottom right)
        ax.legend(loc="upper left", bbox_to_anchor=(1.0, 1.0), frameon=False)
    fig.tight_layout()
    return fig


def overlap_plot(
    distance: pd.Series,
    treatment: pd.Series,
    weights: pd.Series | None = None,
    *,
    bins: int = 30,
    title: str | None = "Propensity score overlap",
):
    """Histograms of the distance (propensity score) by group, mirrored.

    Treated units above the axis, controls below; with ``weights`` the
    histograms are weighted (e.g. matching weights) and unmatched units drop
    out. Returns a :class:`matplotlib.figure.Figure`.
    """
    d = np.asarray(distance, dtype=float)
    t = np.asarray(treatment, dtype=float) == 1
    w = np.ones(len(d)) if weights is None else np.asarray(weights, dtype=float)
    edges = np.histogram_bin_edges(d, bins=bins)
    h1, _ = np.histogram(d[t], bins=edges, weights=w[t])
    h0, _ = np.histogram(d[~t], bins=edges, weights=w[~t])
    fig = Figure(figsize=(6, 3.5))
    ax = fig.add_subplot()
    width = np.diff(edges)
    ax.bar(edges[:-1], h1, width=width, align="edge", color="tab:blue", alpha=0.7, label="treated")
    ax.bar(edges[:-1], -h0, width=width, align="edge", color="tab:gray", alpha=0.7, label="control")
    ax.axhline(0, color="black", lw=0.6)
    ax.set_xlabel(getattr(distance, "name", None) or "distance")
    ax.set_ylabel("count" if weights is None else "weighted count")
    if title:
        ax.set_title(title)
    ax.legend(frameon=False)
    fig.tight_layout()
    return fig
