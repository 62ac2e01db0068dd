"""Multiple-testing adjustments for families of estimates.

* :func:`holm_adjust` - Holm (1979) step-down adjusted p-values (controls the
  family-wise error rate under any dependence), computed by
  ``statsmodels.stats.multitest.multipletests(method="holm")`` with missing
  p-values kept aside.
"""
from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
from statsmodels.stats.multitest import multipletests

__all__ = ["holm_adjust"]


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
