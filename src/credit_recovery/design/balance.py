"""Covariate balance: MatchIt-style balance tables and WWC classes.

Balance is computed separately from matching (which only makes weights) and
from effect estimation. The standardized mean difference (SMD) uses the
treated group's unweighted SD in the full sample as denominator, exactly as
MatchIt's ``summary()`` does for the ATT, so before and after values share one
denominator and are comparable. The love plot and the overlap histogram that
draw these numbers are in :mod:`credit_recovery.design.plots`.
"""
from __future__ import annotations

from typing import Any, Sequence

import numpy as np
import pandas as pd

from credit_recovery.shared.model_matrix import design_matrix

__all__ = [
    "balance_table",
    "balance_before_after",
    "wwc_class",
    "WWC_THRESHOLDS",
    "BALANCE_COLUMNS",
]

#: What Works Clearinghouse baseline-equivalence thresholds on |SMD|.
WWC_THRESHOLDS: tuple[float, float] = (0.05, 0.25)

#: Columns of :func:`balance_table`.
BALANCE_COLUMNS: tuple[str, ...] = (
    "mean_treated",
    "mean_control",
    "smd",
    "var_ratio",
    "ecdf_mean",
    "ecdf_max",
    "binary",
    "wwc",
)

_SQRT_EPS = float(np.sqrt(np.finfo(float).eps))


def wwc_class(smd: float) -> str:
    """What Works Clearinghouse class of a standardized difference.

    ``"satisfied"`` if \\|SMD\\| ≤ 0.05, ``"adjustment required"`` if
    0.05 < \\|SMD\\| ≤ 0.25, ``"not satisfied"`` if \\|SMD\\| > 0.25 (including an
    infinite SMD), ``""`` if the SMD is missing.
    """
    if smd is None or np.isnan(smd):
        return ""
    a = abs(float(smd))
    if a <= WWC_THRESHOLDS[0]:
        return "satisfied"
    if a <= WWC_THRESHOLDS[1]:
        return "adjustment required"
    return "not satisfied"


def _wvar(x: np.ndarray, w: np.ndarray, binary: bool) -> float:
    """MatchIt's ``wvar``: weighted variance with the unbiased (reliability) correction."""
    sw = w.sum()
    if sw <= 0:
        return float("nan")
    wn = w / sw
    mx = float(np.sum(wn * x))
    if not binary and np.ptp(x[w > 0]) == 0:
        return 0.0  # constant: exactly no variance (not rounding noise)
    if binary:
        return mx * (1 - mx)
    denom = 1 - float(np.sum(wn**2))
    return float(np.sum(wn * (x - mx) ** 2)) / denom if denom > 0 else float("nan")


def _pooled_sd(x: np.ndarray, t: np.ndarray, binary: bool) -> float:
    """MatchIt's ``pooled_sd`` (proportional contribution, unit sampling weights)."""
    n = len(x)
    if binary:
        v = 0.0
        for g in (True, False):
            xi = x[t == g]
            v += xi.sum() * (1 - xi.sum() / len(xi)) / n if len(xi) else 0.0
        return float(np.sqrt(v))
    xc = x.astype(float).copy()
    for g in (True, False):
        m = t == g
        if m.any():
            xc[m] -= xc[m].mean()
    return float(np.sqrt(np.sum(xc**2) / (n - 2)))


def _ecdf_stats(x: np.ndarray, t: np.ndarray, w: np.ndarray) -> tuple[float, float]:
    """Mean and max absolute difference of the weighted eCDFs (MatchIt ``qqsum``, standardized)."""
    w = w.astype(float).copy()
    for g in (True, False):
        s = w[t == g].sum()
        if s > 0:
            w[t == g] /= s
    o = np.argsort(x, kind="stable")
    xo, wo, to = x[o], w[o], t[o]
    signed = np.where(to == to[0], -wo, wo)
    cs = np.abs(np.cumsum(signed))
    last = np.append(np.diff(xo) != 0, True)
    e = cs[last]
    return float(e.mean()), float(e.max())


def _ratio(a: float, b: float) -> float:
    """``a / b`` as R computes it: ±inf for a non-zero over zero, NaN for 0/0 (no ZeroDivisionError).

    A covariate that is constant within both groups but differs between them has no SD to scale by;
    its SMD is then infinite (complete separation), which the WWC class reports as not satisfied.
    """
    if b == 0:
        return float("nan") if a == 0 or not np.isfinite(a) else float(np.copysign(np.inf, a))
    return a / b


def _one(x: np.ndarray, t: np.ndarray, w: np.ndarray | None) -> dict[str, Any]:
    binary = bool(np.all((x == 0) | (x == 1)))
    ww = np.ones(len(x)) if w is None else w
    i1, i0 = t, ~t
    too_small = np.sum(ww[i1] != 0) < 2 and np.sum(ww[i0] != 0) < 2
    m1 = float(np.sum(x[i1] * ww[i1]) / np.sum(ww[i1])) if ww[i1].sum() > 0 else float("nan")
    m0 = float(np.sum(x[i0] * ww[i0]) / np.sum(ww[i0])) if ww[i0].sum() > 0 else float("nan")
    mdiff = m1 - m0
    smd = float("nan")
    if abs(mdiff) > _SQRT_EPS:
        if not too_small:
            sd = float(np.sqrt(_wvar(x[i1], np.ones(int(i1.sum())), binary)))  # unweighted, full sample
            if not np.isfinite(sd) or sd < _SQRT_EPS:
                sd = _pooled_sd(x, t, binary)
            smd = _ratio(mdiff, sd)
    else:
        smd = mdiff
    vr = float("nan")
    if binary:
        em = ex = abs(mdiff)
    elif not too_small:
        vr = _ratio(_wvar(x[i1], ww[i1], False), _wvar(x[i0], ww[i0], False))
        em, ex = _ecdf_stats(x, t, ww)
    else:
        em = ex = float("nan")
    return {
        "mean_treated": m1,
        "mean_control": m0,
        "smd": smd,
        "var_ratio": vr,
        "ecdf_mean": em,
        "ecdf_max": ex,
        "binary": binary,
        "wwc": wwc_class(smd),
    }


def _weights_array(data: pd.DataFrame, weights: str | pd.Series | np.ndarray | None) -> np.ndarray | None:
    if weights is None:
        return None
    if isinstance(weights, str):
        w = data[weights]
    elif isinstance(weights, pd.Series):
        if not weights.index.equals(data.index):
            w = weights.reindex(data.index)
        else:
            w = weights
    else:
        w = pd.Series(np.asarray(weights), index=data.index)
    arr = w.to_numpy(dtype=float)
    if not np.isfinite(arr).all() or (arr < 0).any():
        raise ValueError("weights must be finite and non-negative (use 0 for unmatched units)")
    return arr


def balance_table(
    data: pd.DataFrame,
    treatment: str,
    covariates: Sequence[str],
    weights: str | pd.Series | np.ndarray | None = None,
) -> pd.DataFrame:
    """Covariate balance between treated and control units (ATT, MatchIt's summary()).

    Parameters
    ----------
    data : pandas.DataFrame
        The *full* sample (all treated and control units, matched or not):
        the SMD denominator is the SD of the treated units in ``data``.
    treatment : str
        0/1 or boolean treatment column.
    covariates : sequence of str
        Numeric columns, or categorical/string columns which are expanded to
        one 0/1 row per level (``race`` -> ``raceblack``, ``racehispan``, ...).
        Include the distance (e.g. a ``distance`` column) to see its balance.
    weights : str, Series or array, optional
        Unit weights, e.g. :attr:`MatchResult.weights` (0 for unmatched
        units). ``None`` gives balance before matching.

    Returns
    -------
    pandas.DataFrame
        Indexed by ``variable``, columns :data:`BALANCE_COLUMNS`.

    Notes
    -----
    With weights :math:`w` (1 if none), for each covariate :math:`x`:

    * means: :math:`\\bar x_g = \\sum_{i \\in g} w_i x_i / \\sum_{i \\in g} w_i`.
    * ``smd`` = :math:`(\\bar x_1 - \\bar x_0) / s_1`, with :math:`s_1` the
      unweighted SD of the treated units in ``data``: :math:`s_1^2 =
      \\frac{1}{n_1 - 1}\\sum (x_i - \\bar x)^2` for continuous and
      :math:`p_1(1 - p_1)` for binary covariates. If :math:`s_1 <
      \\sqrt{\\epsilon}` (no variation among treated) the pooled SD is used
      instead (as MatchIt). If :math:`|\\bar x_1 - \\bar x_0| \\le
      \\sqrt{\\epsilon}` the raw difference is reported.
    * ``var_ratio`` = :math:`v_1 / v_0` with weighted variances
      :math:`v_g = \\sum \\tilde w_i (x_i - \\bar x_g)^2 / (1 - \\sum \\tilde w_i^2)`,
      :math:`\\tilde w` normalised within group; missing for binary.
    * ``ecdf_mean``/``ecdf_max``: mean/max over the distinct values of
      :math:`x` in ``data`` of :math:`|F_1(x) - F_0(x)|`, weighted eCDFs;
      :math:`|\\bar x_1 - \\bar x_0|` for binary covariates.
    * ``wwc``: :func:`wwc_class` of the SMD.
    """
    if treatment not in data.columns:
        raise KeyError(f"treatment column {treatment!r} not in data")
    tv = data[treatment].to_numpy(dtype=float)
    if not np.isin(tv, (0.0, 1.0)).all():
        raise ValueError(f"treatment column {treatment!r} must be 0/1 or boolean")
    t = tv == 1
    w = _weights_array(data, weights)
    X = design_matrix(data, covariates, drop_first=False)
    rows = {col: _one(X[col].to_numpy(dtype=float), t, w) for col in X.columns}
    out = pd.DataFrame.from_dict(rows, orient="index")[list(BALANCE_COLUMNS)]
    out.index.name = "variable"
    return out


def balance_before_after(
    data: pd.DataFrame,
    treatment: str,
    covariates: Sequence[str],
    weights: str | pd.Series | np.ndarray,
) -> pd.DataFrame:
    """Balance before (unweighted) and after (weighted) side by side.

    Returns a DataFrame indexed by ``variable`` with two-level columns
    ``("before", stat)`` and ``("after", stat)`` for every stat in
    :data:`BALANCE_COLUMNS`. Both use the same SMD denominator (see
    :func:`balance_table`).
    """
    before = balance_table(data, treatment, covariates, None)
    after = balance_table(data, treatment, covariates, weights)
    return pd.concat({"before": before, "after": after}, axis=1)
