"""Figure of the Monte Carlo study: bias and confidence-interval coverage by estimator.

:func:`mc_plot` draws the summary of
:func:`credit_recovery.truth.montecarlo.summarize_replicates` (the Snakemake
rule ``monte_carlo`` saves it as ``results/monte_carlo/monte_carlo.png``).
"""
from __future__ import annotations

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from credit_recovery.shared.style import PALETTE, fit_ticks, styled

__all__ = ["mc_plot"]


@styled
def mc_plot(summary: pd.DataFrame, estimand_id: str = "ocr_math") -> Figure:
    """Bias (with 95% Monte Carlo intervals) and CI coverage of each estimator, by confounding level.

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
        the 95% confidence intervals (shaded 0.92 to 0.98).
    """
    d = summary[summary["estimand_id"] == estimand_id].copy()
    d["label"] = d["estimator"] + " [" + d["sample"] + "]"
    labels = sorted(d["label"].unique())
    levels = sorted(d["confounding"].unique())
    colors = list(PALETTE.values())
    fig = Figure(figsize=(11, 0.45 * len(labels) + 1.8))
    a1, a2 = fig.subplots(1, 2, sharey=True)
    for j, lev in enumerate(levels):
        s = d[d["confounding"] == lev].set_index("label").reindex(labels)
        y = np.arange(len(labels)) + (j - (len(levels) - 1) / 2) * 0.25
        a1.errorbar(s["bias"], y, xerr=1.96 * s["bias_mcse"], fmt="o", color=colors[j % len(colors)],
                    label=f"confounding {lev:g}")
        a2.plot(s["coverage"], y, "o", color=colors[j % len(colors)])
    a1.axvline(0, color="0.4", lw=0.8, ls="--")
    a2.axvspan(0.92, 0.98, color="0.9")
    a2.axvline(0.95, color="0.4", lw=0.8, ls="--")
    a1.set_yticks(range(len(labels)))
    a1.set_yticklabels(labels)
    a1.invert_yaxis()
    a1.set_xlabel("bias (estimate - truth)")
    fit_ticks(a1.xaxis)  # long minus-signed labels must not collide
    a2.set_xlabel("95% CI coverage")
    a1.legend(loc="best", fontsize=8)
    fig.suptitle(f"Monte Carlo: {estimand_id}", fontsize=11)
    fig.tight_layout()
    return fig
