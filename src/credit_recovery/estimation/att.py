"""Average treatment effect on the treated in a matched sample.

Follows MatchIt's effect-estimation vignette: weighted least squares of the
outcome on treatment (optionally fully interacted with covariates, then
g-computation over the treated), with pair-clustered (CR1) standard errors
after matching without replacement and HC3 after matching with replacement.
"""
from __future__ import annotations

from typing import Sequence

import numpy as np
import pandas as pd

from credit_recovery.shared.estimate_schema import estimate_row, estimates_frame
from credit_recovery.shared.config import check_choice
from credit_recovery.shared.model_matrix import design_matrix

__all__ = ["estimate_att", "COV_TYPES", "RankDeficientError"]

#: Allowed covariance estimators.
COV_TYPES: tuple[str, ...] = ("CR1", "HC3", "HC1")


class RankDeficientError(ValueError):
    """The outcome model's (weighted) design is rank deficient in the matched sample, e.g. a
    covariate level only among the treated or the controls of a tiny sample."""


def _vcov(X, y, w, beta, cov_type, clusters):
    """Sandwich covariance of WLS coefficients (as R's sandwich package) and the number of clusters.

    :math:`V` is the sandwich :math:`(X'WX)^{-1} M (X'WX)^{-1}`:

    * CR1 (``sandwich::vcovCL(fit, cluster = ~subclass)``, type HC1):
      :math:`M = \\frac{G}{G-1}\\frac{n-1}{n-k} \\sum_g u_g u_g'` with
      :math:`u_g = \\sum_{i \\in g} w_i e_i x_i`.
    * HC3 (``sandwich::vcovHC(fit, type = "HC3")``):
      :math:`M = \\sum_i (w_i e_i)^2 x_i x_i' / (1 - h_i)^2`,
      :math:`h_i = w_i x_i'(X'WX)^{-1}x_i`; a unit with :math:`h_i = 1`
      (residual exactly 0, a 0/0 term, NaN in ``sandwich``) contributes 0.
    * HC1: :math:`\\frac{n}{n-k} \\sum_i (w_i e_i)^2 x_i x_i'`.
    """
    n, k = X.shape
    e = y - X @ beta
    XtWX_inv = np.linalg.inv(X.T @ (X * w[:, None]))
    scores = X * (w * e)[:, None]  # estfun.lm: w_i e_i x_i
    if cov_type == "CR1":
        codes, uniq = pd.factorize(clusters, sort=True)
        G = len(uniq)
        if G < 2:
            raise ValueError("CR1 needs at least 2 clusters (subclasses)")
        U = np.zeros((G, k))
        np.add.at(U, codes, scores)
        meat = U.T @ U
        adj = G / (G - 1) * (n - 1) / (n - k)
        return adj * XtWX_inv @ meat @ XtWX_inv, G
    if cov_type == "HC1":
        meat = scores.T @ scores
        return n / (n - k) * XtWX_inv @ meat @ XtWX_inv, None
    # HC3: h_i = w_i x_i' (X'WX)^{-1} x_i. A unit with h_i = 1 (alone in a covariate level, its
    # residual exactly 0) has an undefined 0/0 term, NaN in R's sandwich; it contributes 0 here.
    h = w * np.einsum("ij,jk,ik->i", X, XtWX_inv, X)
    lev1 = 1 - h < 1e-10
    s = np.where(lev1[:, None], 0.0, scores / np.where(lev1, 1.0, 1 - h)[:, None])
    return XtWX_inv @ (s.T @ s) @ XtWX_inv, None


def estimate_att(
    matched_data: pd.DataFrame,
    outcome: str,
    treatment: str,
    covariates: Sequence[str] | None = None,
    *,
    weights: str = "weights",
    subclass: str = "subclass",
    replace: bool = False,
    cov_type: str | None = None,
    sample: str = "matched",
    estimand_id: str = "",
    level: float = 0.95,
) -> pd.DataFrame:
    """ATT on a matched sample by WLS (g-computation with covariates).

    Parameters
    ----------
    matched_data : pandas.DataFrame
        Matched rows, e.g. :attr:`MatchResult.data`, with matching weights
        and subclass columns. Rows with weight 0 are dropped.
    outcome, treatment : str
        Outcome column and 0/1 treatment column.
    covariates : sequence of str, optional
        Covariates for regression adjustment (categoricals expanded to
        drop-first dummies). ``None`` fits ``outcome ~ treatment``.
    weights, subclass : str
        Column names of the matching weights and pair/subclass ids.
    replace : bool
        Whether matching was with replacement; selects the default
        ``cov_type`` (HC3) and allows a missing ``subclass``.
    cov_type : {"CR1", "HC3", "HC1"}, optional
        Covariance estimator; default ``"CR1"`` clustered by ``subclass``
        without replacement, ``"HC3"`` with replacement.
    sample, estimand_id : str
        Labels copied into the tidy row.
    level : float
        Confidence level.

    Returns
    -------
    pandas.DataFrame
        One row in the tidy schema of :mod:`credit_recovery.shared.estimate_schema`
        (``estimand="ATT"``).

    Raises
    ------
    KeyError
        A needed column is missing.
    ValueError
        Unknown ``cov_type``, missing values, a treatment that is not 0/1;
        :class:`RankDeficientError` (a ``ValueError``) if the outcome model's
        design is rank deficient.

    Notes
    -----
    Without covariates: WLS of :math:`y` on :math:`(1, T)` with the matching
    weights; the ATT is the coefficient of :math:`T`. This equals
    ``coef(lm(y ~ treat, data = md, weights = weights))["treat"]``.

    With covariates :math:`Z`: WLS of :math:`y` on :math:`(1, T, Z, T Z)`,
    then g-computation over the treated,
    :math:`\\widehat{ATT} = \\sum_{i: T_i = 1} w_i\\,(x_i(1) - x_i(0))'\\hat\\beta
    / \\sum_{i: T_i = 1} w_i = g'\\hat\\beta`, where :math:`x_i(t)` is unit
    *i*'s design row with :math:`T` set to *t*; its SE is by the delta
    method, :math:`\\sqrt{g' V g}` (exact, since the ATT is linear in
    :math:`\\hat\\beta` given the matched sample).

    :math:`V` is the sandwich of the WLS fit (``_vcov``; CR1, HC3 or HC1 as in R's ``sandwich``).

    Confidence intervals and p-values use :math:`t_{n-k}` without
    covariates (as ``lmtest::coeftest`` on the ``lm``) and the normal
    distribution for the g-computation estimate (as
    ``marginaleffects::avg_comparisons`` in MatchIt's vignette).
    """
    if cov_type is None:
        cov_type = "HC3" if replace else "CR1"
    check_choice("cov_type", cov_type, COV_TYPES)
    df, y, t, w, clusters = _matched_arrays(matched_data, outcome, treatment, weights,
                                            subclass if cov_type == "CR1" else None)
    X, g, estimator = _outcome_design(df, t, w, covariates)
    n, k = X.shape
    if np.linalg.matrix_rank(X * np.sqrt(w)[:, None]) < k:
        raise RankDeficientError("outcome model design is rank deficient in the matched sample")
    XtW = (X * w[:, None]).T
    beta = np.linalg.solve(XtW @ X, XtW @ y)
    V, G = _vcov(X, y, w, beta, cov_type, clusters)
    label = {"CR1": f"cluster({subclass}), CR1", "HC3": "HC3", "HC1": "HC1"}[cov_type]
    if covariates:
        label += ", delta method"
    row = estimate_row(
        outcome=outcome, treatment=treatment, estimand="ATT", estimator=estimator, sample=sample,
        estimate=float(g @ beta), std_error=float(np.sqrt(g @ V @ g)), n=n, estimand_id=estimand_id,
        cov_type=label, n_clusters=G, df=None if covariates else float(n - k), level=level,
        residual_df=None if covariates else float(n - k),  # g-computation: a combination of coefficients
    )
    return estimates_frame([row])


def _matched_arrays(matched_data: pd.DataFrame, outcome: str, treatment: str, weights: str,
                    subclass: str | None):
    """The matched rows with positive weight and their outcome, 0/1 treatment, weights and (with
    ``subclass``, for CR1) cluster ids; checks the columns and values."""
    need = [outcome, treatment, weights] + ([subclass] if subclass is not None else [])
    missing = [c for c in need if c not in matched_data.columns]
    if missing:
        raise KeyError(f"columns not in matched_data: {missing}")
    df = matched_data.loc[matched_data[weights].to_numpy(dtype=float) > 0]
    if df[[outcome, treatment, weights]].isna().any().any():
        raise ValueError("outcome, treatment and weights must not have missing values")
    y = df[outcome].to_numpy(dtype=float)
    t = df[treatment].to_numpy(dtype=float)
    if not np.isin(t, (0.0, 1.0)).all():
        raise ValueError(f"treatment column {treatment!r} must be 0/1 or boolean")
    w = df[weights].to_numpy(dtype=float)
    clusters = None
    if subclass is not None:
        if df[subclass].isna().any():
            raise ValueError(
                f"subclass column {subclass!r} has missing values (matching with replacement?); "
                "use replace=True / cov_type='HC3'"
            )
        clusters = df[subclass].to_numpy()
    return df, y, t, w, clusters


def _outcome_design(df: pd.DataFrame, t: np.ndarray, w: np.ndarray,
                    covariates: Sequence[str] | None) -> tuple[np.ndarray, np.ndarray, str]:
    """Design X of the outcome model, the contrast g with ATT = g'beta, and the estimator label.

    Without covariates X = (1, T) and g picks the coefficient of T; with covariates Z,
    X = (1, T, Z, T Z) and g is the weighted mean over the treated of x_i(1) - x_i(0).
    """
    one = np.ones(len(df))
    if not covariates:
        return np.column_stack([one, t]), np.array([0.0, 1.0]), "nearest-neighbour matching, WLS"
    Z = design_matrix(df, covariates, drop_first=True).to_numpy(dtype=float)
    X = np.column_stack([one, t, Z, t[:, None] * Z])
    X1 = np.column_stack([one, one, Z, Z])
    X0 = np.column_stack([one, 0 * one, Z, 0 * Z])
    tr = t == 1
    g = (w[tr, None] * (X1[tr] - X0[tr])).sum(axis=0) / w[tr].sum()
    return X, g, "nearest-neighbour matching, WLS g-computation"
