"""The estimation sample: the rows a fit uses, and their outcome, regressors and weights.

A row is used if it has no missing value in a used column (outcome,
regressors, fixed effects, cluster, weights), a non-zero weight, and (with
``drop_singletons``) is not alone in a fixed-effect group, iteratively. The
estimator records the result as :attr:`FixedEffectsResult.used`, so callers
never recompute the sample.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from credit_recovery.estimation.fixed_effects.absorb import singletons
from credit_recovery.estimation.fixed_effects.formula import FixedEffectsFormula
from credit_recovery.estimation.fixed_effects.groups import group_codes

__all__ = ["EstimationSample", "select_sample", "model_arrays"]


@dataclass
class EstimationSample:
    """The rows a fit uses.

    Attributes
    ----------
    frame : DataFrame
        The used rows of the used columns, in input order.
    used : ndarray of bool
        One entry per input row: True if the row is in ``frame``.
    fe_codes : ndarray or None
        Group codes of the fixed effects over ``frame`` (N x number of effects).
    n_missing, n_singletons : int
        Rows dropped for a missing value or zero weight, and as singletons.
    """

    frame: pd.DataFrame
    used: np.ndarray
    fe_codes: np.ndarray | None
    n_missing: int
    n_singletons: int


def select_sample(data: pd.DataFrame, spec: FixedEffectsFormula, cluster: str | None, weights: str | None,
                  drop_singletons: bool) -> EstimationSample:
    """Drop rows with missing values or zero weight, then (optionally) singletons; see the module docstring.

    Raises
    ------
    ValueError
        A used column is not in ``data``, or ``weights`` has negative values.
    """
    used = spec.columns + [c for c in (cluster, weights) if c is not None]
    used = list(dict.fromkeys(used))
    missing_cols = [c for c in used if c not in data.columns]
    if missing_cols:
        raise ValueError(f"columns {missing_cols} are not in data; available columns are {list(data.columns)}")

    frame = data[used]
    keep = np.array(frame.notna().all(axis=1).to_numpy(), dtype=bool)  # a copy: updated below
    if weights is not None:
        w_all = pd.to_numeric(frame[weights], errors="raise").to_numpy(dtype=float, na_value=np.nan)
        if np.any(w_all[keep] < 0):
            raise ValueError(f"weights column {weights!r} has negative values")
        keep = keep & ~(w_all == 0)
    n_missing = int((~keep).sum())
    frame = frame.loc[keep]

    fe_codes = None
    n_single = 0
    if spec.fixed_effects:
        fe_codes = np.column_stack([group_codes(frame, t) for t in spec.fixed_effects])
        if drop_singletons:
            single = singletons(fe_codes)
            if single is not None and single.any():
                n_single = int(single.sum())
                frame = frame.loc[~single]
                fe_codes = np.column_stack([group_codes(frame, t) for t in spec.fixed_effects])
                keep[np.flatnonzero(keep)[single]] = False
    return EstimationSample(frame=frame, used=keep, fe_codes=fe_codes, n_missing=n_missing, n_singletons=n_single)


def model_arrays(frame: pd.DataFrame, spec: FixedEffectsFormula,
                 weights: str | None) -> tuple[np.ndarray, pd.DataFrame, np.ndarray | None]:
    """Outcome, regressors (with an ``Intercept`` column first when there are no fixed effects) and weights."""
    y = pd.to_numeric(frame[spec.outcome], errors="raise").to_numpy(dtype=float)
    X = pd.DataFrame(
        {c: pd.to_numeric(frame[c], errors="raise").to_numpy(dtype=float) for c in spec.regressors}
    )
    w = None if weights is None else pd.to_numeric(frame[weights]).to_numpy(dtype=float)
    if spec.intercept:
        X.insert(0, "Intercept", 1.0)
    return y, X, w
