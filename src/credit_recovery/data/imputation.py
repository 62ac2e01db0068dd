"""Preparing the cohort for the design stage (propensity model and matching)."""
from __future__ import annotations

from typing import Sequence

import pandas as pd


def impute_missing(data: pd.DataFrame, covariates: Sequence[str]) -> tuple[pd.DataFrame, list[str]]:
    """Fill missing numeric covariates with their mean and add missingness indicators.

    Parameters
    ----------
    data : DataFrame
        The cohort.
    covariates : sequence of str
        Covariates of the propensity model.

    Returns
    -------
    (DataFrame, list of str)
        A copy of ``data`` with each numeric covariate that has missing
        values filled and a 0/1 column ``<name>_missing`` added, and the
        covariate list including those indicators (after their covariate).

    Notes
    -----
    The mean-plus-indicator approach keeps every unit in the design and lets
    the propensity model (and the balance table) treat "not tested" as a
    characteristic of its own. Boolean covariates are cast to 0/1.
    """
    out = data.copy()
    names: list[str] = []
    for c in covariates:
        if c not in out.columns:
            raise KeyError(f"covariate {c!r} is not a column of the cohort; columns are {sorted(out.columns)}")
        s = out[c]
        if pd.api.types.is_bool_dtype(s) or str(s.dtype) == "boolean":
            out[c] = s.astype("float64")
            s = out[c]
        names.append(c)
        if pd.api.types.is_numeric_dtype(s) and s.isna().any():
            out[f"{c}_missing"] = s.isna().astype("float64")
            out[c] = s.fillna(float(s.mean()))
            names.append(f"{c}_missing")
    return out, names
