"""Multiple-testing adjustments for families of estimates.

* :func:`holm_adjust` - Holm (1979) step-down adjusted p-values (controls the
  family-wise error rate under any dependence), computed by
  ``statsmodels.stats.multitest.multipletests(method="holm")`` with missing
  p-values kept aside;
* :func:`romano_wolf` - Romano-Wolf step-down adjusted p-values from joint
  bootstrap draws of the t-statistics (uses their dependence).
"""
from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
from statsmodels.stats.multitest import multipletests

__all__ = ["holm_adjust", "romano_wolf"]


def holm_adjust(p_values: Any) -> Any:
    r"""Holm step-down adjusted p-values.

    Parameters
    ----------
    p_values : array_like or pandas.Series
        Raw p-values in [0, 1]. Missing values stay missing and do not count
        towards the number of tests m.

    Returns
    -------
    ndarray or pandas.Series
        Adjusted p-values in the input order (a Series keeps its index and name).

    Raises
    ------
    ValueError
        A p-value outside [0, 1].

    Notes
    -----
    With :math:`p_{(1)} \le \dots \le p_{(m)}`,
    :math:`\tilde p_{(i)} = \max_{k \le i} \min\{1, (m - k + 1)\,p_{(k)}\}`
    (``multipletests(method="holm")`` on the non-missing p-values).
    """
    p = np.asarray(p_values, dtype=float).ravel()
    ok = ~np.isnan(p)
    if np.any((p[ok] < 0) | (p[ok] > 1)):
        raise ValueError("p-values must lie in [0, 1]")
    out = np.full(p.shape, np.nan)
    if ok.any():
        out[ok] = multipletests(p[ok], method="holm")[1]
    if isinstance(p_values, pd.Series):
        return pd.Series(out, index=p_values.index, name=p_values.name)
    return out


def romano_wolf(t_obs: Any, t_star: Any) -> np.ndarray:
    r"""Romano-Wolf step-down adjusted p-values from bootstrap draws of the t-statistics.

    Parameters
    ----------
    t_obs : array_like, shape (m,)
        Observed t-statistics of the m hypotheses (two-sided).
    t_star : array_like, shape (B, m)
        Bootstrap t-statistics with each null imposed (e.g. the wild cluster bootstrap with restricted
        residuals, the same weights for every hypothesis so that row b is one joint draw).

    Returns
    -------
    ndarray, shape (m,)
        Adjusted p-values in the input order; they control the family-wise error rate (Romano and Wolf
        2005; Clarke, Romano and Wolf 2020 for the Stata ``rwolf`` command) and use the dependence of the
        statistics, so they are never larger than Bonferroni's on the same bootstrap p-values.

    Notes
    -----
    Order the hypotheses by :math:`|t|`, largest first. For step :math:`j`, with :math:`S_j` the hypotheses
    not yet passed, :math:`p_{(j)} = B^{-1}\#\{b: \max_{k \in S_j} |t^*_{bk}| \ge |t_{(j)}|\}`; then
    :math:`\tilde p_{(j)} = \max(\tilde p_{(j-1)}, p_{(j)})`. With one hypothesis this is the bootstrap
    p-value :math:`P(|t^*| \ge |t|)`.
    """
    t = np.abs(np.asarray(t_obs, dtype=float).ravel())
    ts = np.abs(np.asarray(t_star, dtype=float))
    if ts.ndim != 2 or ts.shape[1] != t.size:
        raise ValueError(f"t_star must be (B, {t.size}); got {ts.shape}")
    order = np.argsort(-t, kind="stable")
    out = np.empty(t.size)
    running = 0.0
    for j, k in enumerate(order):
        maxt = ts[:, order[j:]].max(axis=1)
        running = max(running, float(np.mean(maxt >= t[k] * (1 - 1e-12))))
        out[k] = running
    return out
