"""Numeric design matrices from DataFrames: categorical covariates expanded to dummies (R's convention).

Shared by the propensity model, balance tables and the matched-sample ATT; :func:`binary_treatment`
checks the 0/1 treatment column of the propensity model and of matching.
"""
from __future__ import annotations

from typing import Sequence

import numpy as np
import pandas as pd

__all__ = ["binary_treatment", "design_matrix"]


def binary_treatment(data: pd.DataFrame, treatment: str, *, both_values: bool = True) -> np.ndarray:
    """The treatment column as 0.0/1.0, checked: present, complete, binary and (``both_values``) not constant."""
    if treatment not in data.columns:
        raise KeyError(f"treatment column {treatment!r} not in data")
    t = data[treatment]
    if t.isna().any():
        raise ValueError(f"treatment column {treatment!r} has missing values")
    tv = t.to_numpy(dtype=float)
    if not np.isin(tv, (0.0, 1.0)).all():
        raise ValueError(f"treatment column {treatment!r} must be 0/1 or boolean")
    if both_values and tv.min() == tv.max():
        raise ValueError(f"treatment column {treatment!r} has only one value")
    return tv


def _is_categorical(s: pd.Series) -> bool:
    return not (pd.api.types.is_numeric_dtype(s) or pd.api.types.is_bool_dtype(s))


def design_matrix(
    data: pd.DataFrame,
    covariates: Sequence[str],
    *,
    drop_first: bool = True,
    intercept: bool = False,
) -> pd.DataFrame:
    """Numeric design matrix with categorical covariates expanded to dummies.

    Numeric and boolean columns are kept as float. Any other column (string,
    object, ``category``) is expanded to one 0/1 column per level named
    ``<column><level>`` (R's convention, e.g. ``racehispan``); levels are the
    categories of a ``category`` dtype in their order, otherwise the sorted
    distinct values. With ``drop_first`` the first level is dropped (R's
    treatment contrasts). Column order follows ``covariates``.

    Raises
    ------
    KeyError
        If a covariate is not a column of ``data``.
    ValueError
        If a covariate has missing values.
    """
    missing = [c for c in covariates if c not in data.columns]
    if missing:
        raise KeyError(f"covariates not in data: {missing}")
    cols: dict[str, np.ndarray] = {}
    if intercept:
        cols["(Intercept)"] = np.ones(len(data))
    for c in covariates:
        s = data[c]
        if s.isna().any():
            raise ValueError(f"covariate {c!r} has {int(s.isna().sum())} missing values")
        if _is_categorical(s):
            if isinstance(s.dtype, pd.CategoricalDtype):
                levels = list(s.cat.categories)
            else:
                levels = sorted(pd.unique(s.astype(str)))
                s = s.astype(str)
            for lev in levels[1:] if drop_first else levels:
                cols[f"{c}{lev}"] = (s == lev).to_numpy(dtype=float)
        else:
            cols[c] = s.to_numpy(dtype=float)
    return pd.DataFrame(cols, index=data.index)
