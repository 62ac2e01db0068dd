"""Coding covariates as numeric regressor columns: dummy coding of categoricals, yes/no flags as 1/0."""
from __future__ import annotations

import re
from typing import Sequence

import numpy as np
import pandas as pd

__all__ = ["covariate_design", "flag"]


def _safe(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9_]", "_", str(name))


def covariate_design(data: pd.DataFrame, covariates: Sequence[str],
                     absorbed: Sequence[str] = ()) -> tuple[pd.DataFrame, list[str]]:
    """Numeric regressor columns for ``covariates``: categoricals as drop-first dummies.

    Parameters
    ----------
    data : DataFrame
    covariates : sequence of str
        Columns (numeric, boolean or categorical). Missing numeric values must
        have been imputed (:func:`credit_recovery.data.imputation.impute_missing`).
    absorbed : sequence of str
        Covariates left out because fixed effects absorb them (e.g. ``school_id``).

    Returns
    -------
    (DataFrame, list of str)
        ``data`` with added ``cov_<column>_<level>`` dummy columns, and the
        regressor names (constant columns dropped), in a stable order.
    """
    out = data.copy()
    names: list[str] = []
    for c in covariates:
        if c in absorbed:
            continue
        s = out[c]
        if pd.api.types.is_bool_dtype(s) or str(s.dtype) == "boolean":
            out[c] = s.astype(float)
            s = out[c]
        if pd.api.types.is_numeric_dtype(s):
            if s.nunique(dropna=True) > 1:
                names.append(c)
            continue
        levels = sorted(s.dropna().astype(str).unique())
        for lev in levels[1:]:
            col = f"cov_{_safe(c)}_{_safe(lev)}"
            out[col] = (s.astype(str) == lev).astype(float)
            if out[col].nunique() > 1:
                names.append(col)
    return out, names


def flag(s: pd.Series) -> pd.Series:
    """A yes/no column (bool, boolean with NA, object of True/False/None) as float 1/0/NaN."""
    return pd.Series(s.astype("boolean").to_numpy(dtype=float, na_value=np.nan), index=s.index)
