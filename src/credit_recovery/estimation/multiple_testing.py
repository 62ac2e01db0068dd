"""Multiple-testing adjustments for families of estimates.

* :func:`holm_adjust` — Holm (1979) step-down adjusted p-values (controls the
  family-wise error rate under any dependence);
* :func:`romano_wolf` — Romano & Wolf (2005) step-down adjusted p-values from
  bootstrap draws of the t statistics (uses their dependence; less
  conservative than Holm).
"""
from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

__all__ = ["holm_adjust", "romano_wolf"]


def _wrap(values: np.ndarray, like: Any) -> Any:
    if isinstance(like, pd.Series):
        return pd.Series(values, index=like.index, name=like.name)
    return values


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
        Adjusted p-values in the input order (a Series keeps its index).

    Notes
    -----
    With :math:`p_{(1)} \le \dots \le p_{(m)}` (ties kept in input order),
    :math:`\tilde p_{(i)} = \max_{k \le i} \min\{1, (m - k + 1)\,p_{(k)}\}`.
    Identical to ``statsmodels.stats.multitest.multipletests(method="holm")``.
    """
    p = np.asarray(p_values, dtype=float).ravel()
    ok = ~np.isnan(p)
    if np.any((p[ok] < 0) | (p[ok] > 1)):
        raise ValueError("p-values must lie in [0, 1]")
    out = np.full(p.shape, np.nan)
    idx = np.flatnonzero(ok)
    m = idx.size
    if m:
        order = idx[np.argsort(p[idx], kind="stable")]
        adj = np.minimum(1.0, (m - np.arange(m)) * p[order])
        out[order] = np.maximum.accumulate(adj)
    return _wrap(out, p_values)


def romano_wolf(t_obs: Any, t_boot: Any) -> Any:
    r"""Romano-Wolf step-down adjusted p-values (two-sided).

    Parameters
    ----------
    t_obs : array_like or pandas.Series, shape (m,)
        Observed t statistics of the m hypotheses.
    t_boot : array_like, shape (B, m)
        Bootstrap t statistics *centred under the null*, e.g.
        :math:`(\hat\beta^*_k - \hat\beta_k)/se^*_k` from a pairs or wild
        bootstrap that resamples all m estimates jointly, or null-imposed
        draws. Column k belongs to hypothesis k.

    Returns
    -------
    ndarray or pandas.Series

    Notes
    -----
    Order the hypotheses by :math:`|t_k|` descending, :math:`s = 1..m`.
    With :math:`R_s` the hypotheses not yet stepped past,
    :math:`p_s = \frac{1}{B}\#\{b: \max_{k \in R_s}|t^*_{bk}| \ge |t_{(s)}|\}`
    and :math:`\tilde p_{(s)} = \max(\tilde p_{(s-1)}, p_s)` (Romano & Wolf
    2005; Clarke, Romano & Wolf 2020). With m = 1 this is the bootstrap
    p-value :math:`P(|t^*| \ge |t|)`.
    """
    t = np.abs(np.asarray(t_obs, dtype=float).ravel())
    tb = np.abs(np.asarray(t_boot, dtype=float))
    if tb.ndim != 2 or tb.shape[1] != t.size:
        raise ValueError(f"t_boot must have shape (B, {t.size}); got {tb.shape}")
    if np.isnan(t).any() or np.isnan(tb).any():
        raise ValueError("t statistics must not be missing")
    order = np.argsort(-t, kind="stable")
    # running max over the hypotheses still in the set, from the least significant upwards
    rev = tb[:, order[::-1]]
    maxes = np.maximum.accumulate(rev, axis=1)[:, ::-1]  # column s: max over order[s:]
    raw = np.mean(maxes >= t[order][None, :], axis=0)
    adj = np.maximum.accumulate(raw)
    out = np.empty_like(adj)
    out[order] = adj
    return _wrap(out, t_obs)
