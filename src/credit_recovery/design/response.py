r"""Response weights: inverse probability of an observed outcome, for outcomes missing at random.

A next-year outcome can be missing (a student who was not tested, or who left the district's
records). The complete-case estimators drop those units, which is harmless when the outcome is
missing completely at random within each arm, but not when whether it is missing depends on
pre-treatment covariates that also predict the outcome (and differently by arm). If the outcome
is *missing at random given the covariates and the arm*,

.. math:: R \perp Y(0), Y(1) \mid X, D,

then weighting each respondent by the inverse of its probability of responding,
:math:`\pi(x, d) = P(R = 1 \mid X = x, D = d)`, restores the distribution of the whole
sample, nonrespondents included (Robins, Rotnitzky and Zhao 1995; Seaman and White 2013).

:func:`response_probability` fits :math:`\hat\pi` by a logistic regression of the response
indicator on the covariates (categoricals as dummies, :func:`credit_recovery.shared.model_matrix.design_matrix`),
separately in each arm (equivalent to a full arm interaction), each unit weighted by its match
weight, so the model describes the matched sample the estimate is about. :func:`response_weights`
turns it into stabilized, trimmed weights that multiply the match weights. Nothing here estimates
an effect: the weighted outcome model is :func:`credit_recovery.specs.matched.matched_fe_estimates`.
"""
from __future__ import annotations

import warnings
from typing import Sequence

import numpy as np
import pandas as pd
from statsmodels.genmod import families
from statsmodels.genmod.generalized_linear_model import GLM

from credit_recovery.shared.model_matrix import binary_treatment, design_matrix

__all__ = ["response_probability", "response_weights", "full_rank_columns"]


def full_rank_columns(X: pd.DataFrame, tol: float = 1e-9) -> list[str]:
    """Columns of ``X`` kept in order, dropping constant (but the first) and linearly dependent ones.

    Greedy: a column is kept when it raises the rank of the columns kept before it (the
    intercept, first, always stays).
    """
    keep: list[str] = []
    basis = np.empty((len(X), 0))
    for i, c in enumerate(X.columns):
        v = X[c].to_numpy(float)
        if i > 0 and np.ptp(v) == 0:
            continue
        cand = np.column_stack([basis, v])
        if np.linalg.matrix_rank(cand, tol=tol * max(1.0, float(np.abs(cand).max()))) > basis.shape[1]:
            keep.append(c)
            basis = cand
    return keep


def _fit_arm(r: np.ndarray, X: pd.DataFrame, w: np.ndarray, maxiter: int) -> np.ndarray:
    """Fitted P(R = 1) of one arm's logistic model (all ones or all zeros: the constant)."""
    if r.min() == r.max():
        return np.full(len(r), r[0], dtype=float)
    cols = full_rank_columns(X)
    model = GLM(r, X[cols].to_numpy(float), family=families.Binomial(), var_weights=w)
    with warnings.catch_warnings():
        # quasi-separation (a level where everyone responds) drives fitted values to 1: weight 1, harmless
        warnings.simplefilter("ignore")
        res = model.fit(method="IRLS", maxiter=maxiter, tol=1e-8, tol_criterion="deviance")
    return np.asarray(res.fittedvalues, dtype=float)


def response_probability(data: pd.DataFrame, responded: pd.Series | np.ndarray, covariates: Sequence[str],
                         treatment: str = "online", weights: str | None = "weights",
                         maxiter: int = 100) -> pd.Series:
    r"""Fitted probability that a unit's outcome is observed, by a logistic model fitted in each arm.

    Parameters
    ----------
    data : DataFrame
        One row per unit: the covariates (no missing values; impute first), the 0/1 ``treatment``
        and, if given, the ``weights`` column.
    responded : Series or array of bool
        Whether each unit's outcome is observed (:math:`R_i`).
    covariates : sequence of str
        Pre-treatment covariates (categoricals become dummies, first level dropped; constant and
        collinear columns of an arm are dropped).
    treatment : str
        The arm column (0/1).
    weights : str or None
        Unit weights of the fit (the match weights); ``None`` for unweighted.
    maxiter : int
        IRLS iterations.

    Returns
    -------
    Series
        :math:`\hat\pi_i`, aligned to ``data.index``, named ``p_response``.

    Notes
    -----
    In arm :math:`d`, :math:`\hat\beta_d` maximizes the weighted binomial log-likelihood

    .. math:: \sum_{i: D_i = d} w_i \{R_i \log \pi_i + (1 - R_i) \log(1 - \pi_i)\},
              \quad \pi_i = \operatorname{expit}(x_i'\beta_d),

    by IRLS (as R's ``glm(r ~ x, family = binomial, weights = w)``). An arm in which every outcome
    is observed gets :math:`\hat\pi = 1`.
    """
    d = binary_treatment(data, treatment, both_values=False)
    r = np.asarray(responded, dtype=float)
    if len(r) != len(data):
        raise ValueError(f"responded has {len(r)} values for {len(data)} rows")
    w = np.ones(len(data)) if weights is None else data[weights].to_numpy(float)
    X = design_matrix(data, covariates, drop_first=True, intercept=True)
    p = np.full(len(data), np.nan)
    for arm in (0.0, 1.0):
        rows = np.flatnonzero(d == arm)
        if len(rows):
            p[rows] = _fit_arm(r[rows], X.iloc[rows], w[rows], maxiter)
    return pd.Series(p, index=data.index, name="p_response")


def response_weights(data: pd.DataFrame, outcome: str, covariates: Sequence[str], treatment: str = "online",
                     weights: str | None = "weights", trim: float = 0.05) -> pd.Series:
    r"""Stabilized inverse-probability-of-response weights of one outcome (0 for a missing outcome).

    Parameters
    ----------
    data : DataFrame
        The matched sample (covariates imputed) with ``outcome``, ``treatment`` and ``weights``.
    outcome : str
        The outcome whose missingness is modelled (:math:`R_i = 1` when it is observed).
    covariates : sequence of str
        Pre-treatment covariates of the response model (:func:`response_probability`).
    treatment, weights : str
        Arm column and match-weight column (``None``: unit weights).
    trim : float
        Fitted response probabilities below ``trim`` are raised to it before inverting
        (``models.response_trim``; 0 = none).

    Returns
    -------
    Series
        :math:`a_i`, aligned to ``data.index``, named ``response_weight``; the weight of the
        weighted outcome model is :math:`w_i a_i`.

    Notes
    -----
    .. math:: a_i = R_i\,\frac{\bar r_{d(i)}}{\max(\hat\pi_i, \text{trim})}, \qquad
              \bar r_d = \frac{\sum_{D_j = d} w_j R_j}{\sum_{D_j = d} w_j},

    the stabilizing factor :math:`\bar r_d` being the arm's (match-weighted) response rate, so
    :math:`\sum w_i a_i` over an arm is about its respondents' :math:`\sum w_i R_i` (the weighted
    sample keeps the size it has; :math:`\sum_{R_i = 1} w_i/\hat\pi_i` estimates the whole arm's) and
    an arm without missing outcomes keeps :math:`a_i = 1`.
    """
    if not 0 <= trim < 0.5:
        raise ValueError(f"trim must be in [0, 0.5), got {trim!r}")
    r = data[outcome].notna().to_numpy()
    p = response_probability(data, r, covariates, treatment, weights).to_numpy()
    d = binary_treatment(data, treatment, both_values=False)
    w = np.ones(len(data)) if weights is None else data[weights].to_numpy(float)
    rbar = np.empty(len(data))
    for arm in (0.0, 1.0):
        rows = d == arm
        if rows.any():
            rbar[rows] = np.sum(w[rows] * r[rows]) / np.sum(w[rows])
    a = np.where(r, rbar / np.maximum(p, max(trim, 1e-12)), 0.0)
    return pd.Series(a, index=data.index, name="response_weight")
