r"""Two-period panel difference in differences, with covariates: outcome regression and doubly robust.

The estimators of Sant'Anna & Zhao (2020) for a panel observed in two periods, as R's ``DRDID``
implements them (``reg_did_panel`` and ``drdid_panel``, the ones R ``did::att_gt`` calls with
``est_method = "reg"`` and ``"dr"``), each with its influence function. Without covariates both are
the difference of the mean outcome changes of the treated and the comparison units.

:func:`did_panel_2x2` is the entry point; :mod:`credit_recovery.estimation.staggered` calls it once per
group and period.
"""
from __future__ import annotations

import numpy as np
from scipy.special import expit

__all__ = ["did_panel_2x2", "CellError", "EST_METHODS"]

#: Estimation methods: doubly robust (``drdid_panel``) and outcome regression (``reg_did_panel``).
EST_METHODS = ("dr", "reg")


class CellError(ValueError):
    """A two-period comparison that cannot be estimated (too few units, collinear design, separation)."""


def _design(covariates: np.ndarray | None, n: int, rows: np.ndarray) -> np.ndarray:
    """Intercept plus covariates; a column collinear with the earlier ones among ``rows`` is dropped (as R's
    ``lm`` gives it no coefficient)."""
    X = np.ones((n, 1)) if covariates is None else np.column_stack([np.ones(n), covariates])
    sub = X[rows]
    keep = [0]
    for j in range(1, X.shape[1]):
        cols = sub[:, keep + [j]]
        s = np.linalg.svd(cols, compute_uv=False) if len(cols) else np.zeros(1)
        if len(s) == len(keep) + 1 and s[-1] > 1e-9 * max(s[0], 1.0):
            keep.append(j)
    return X[:, keep]


def _logit(X: np.ndarray, d: np.ndarray, max_iter: int = 100, tol: float = 1e-12) -> tuple[np.ndarray, np.ndarray]:
    """Logistic regression by Newton-Raphson: fitted probabilities and ``(X'WX / n)^{-1}``.

    Raises
    ------
    CellError
        No convergence (e.g. complete separation).
    """
    n = len(d)
    beta = np.zeros(X.shape[1])
    dev_old = np.inf
    for _ in range(max_iter):
        p = expit(X @ beta)
        W = p * (1 - p)
        H = X.T @ (W[:, None] * X)
        beta = beta + np.linalg.solve(H, X.T @ (d - p))
        p = np.clip(expit(X @ beta), 1e-300, 1 - 1e-16)
        dev = -2 * float(np.sum(d * np.log(p) + (1 - d) * np.log1p(-p)))
        if abs(dev - dev_old) <= tol * (abs(dev) + 0.1):
            break
        dev_old = dev
    else:
        raise CellError("the propensity score model did not converge (separation?)")
    p = expit(X @ beta)
    W = p * (1 - p)
    return p, np.linalg.inv(X.T @ (W[:, None] * X) / n)


def _ols_controls(dy: np.ndarray, X: np.ndarray, control: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """OLS of ``dy`` on ``X`` among the comparison units: fitted values for all units and the asymptotic
    linear representation of the coefficients, :math:`(1-D_i) e_i x_i' (X_0'X_0/n)^{-1}`."""
    n = len(dy)
    X0 = X[control]
    beta, *_ = np.linalg.lstsq(X0, dy[control], rcond=None)
    fit = X @ beta
    w = control.astype(float)
    XpX_inv = np.linalg.inv((w[:, None] * X).T @ X / n)
    return fit, (w * (dy - fit))[:, None] * X @ XpX_inv


def did_panel_2x2(delta_y: np.ndarray, treated: np.ndarray, covariates: np.ndarray | None = None,
                  method: str = "dr", trim_level: float = 0.995,
                  min_units_per_coef: float = 0.0) -> tuple[float, np.ndarray]:
    r"""ATT of a two-period panel and its influence function.

    Parameters
    ----------
    delta_y : array, shape (n,)
        Outcome change of each unit, :math:`\Delta Y_i = Y_{i,t} - Y_{i,b}`.
    treated : array of 0/1, shape (n,)
        :math:`D_i`: 1 for the treated units, 0 for the comparison units.
    covariates : array, shape (n, k), optional
        Pre-treatment covariates :math:`X_i` (an intercept is added). Columns collinear among the
        comparison units are dropped (R's ``DRDID`` stops instead).
    method : {"dr", "reg"}
        ``"dr"``: doubly robust (``DRDID::drdid_panel``, the default of R ``did``); ``"reg"``:
        outcome regression (``DRDID::reg_did_panel``).
    trim_level : float
        ``"dr"`` only: comparison units with a propensity score above it get no weight (as ``DRDID``).
    min_units_per_coef : float
        Each arm needs at least this many units per regression coefficient (intercept included; 0: only
        that the comparison units identify the regression). Small arms make the influence-function
        standard errors far too small (an overfitted regression, near-separated propensity scores).

    Returns
    -------
    (att, influence)
        ``influence`` :math:`\psi_i` with mean zero: :math:`\widehat{ATT} - ATT \approx \bar\psi`, so
        :math:`\widehat{V} = \sum_i \psi_i^2 / n^2`.

    Raises
    ------
    CellError
        No treated or too few comparison units for the covariates (or fewer than ``min_units_per_coef``
        per coefficient in an arm), or a propensity model that does not converge.

    Notes
    -----
    With :math:`\mu_0(X) = X'\hat\beta` the OLS fit of :math:`\Delta Y` on :math:`X` among the
    comparison units and :math:`p(X)` the logit propensity score,

    .. math::

        \widehat{ATT}_{reg} = \frac{\sum_i D_i [\Delta Y_i - \mu_0(X_i)]}{\sum_i D_i}, \qquad
        \widehat{ATT}_{dr} = \frac{\sum_i w^1_i [\Delta Y_i - \mu_0(X_i)]}{\sum_i w^1_i}
                           - \frac{\sum_i w^0_i [\Delta Y_i - \mu_0(X_i)]}{\sum_i w^0_i},

    :math:`w^1_i = D_i`, :math:`w^0_i = (1 - D_i)\, p(X_i) / (1 - p(X_i))`. The influence functions
    include the estimation of :math:`\hat\beta` and, for DR, of the propensity score (Sant'Anna & Zhao
    2020, eq. 3.4 and its panel influence function; the same expressions as ``DRDID``). Without
    covariates :math:`\mu_0` is the comparison units' mean change and :math:`p` the treated share, so
    both equal :math:`\overline{\Delta Y}_{D=1} - \overline{\Delta Y}_{D=0}`.
    """
    if method not in EST_METHODS:
        raise ValueError(f"method {method!r} is not allowed; allowed values are {list(EST_METHODS)}")
    dy = np.asarray(delta_y, dtype=float)
    D = np.asarray(treated, dtype=float)
    n = len(D)
    control = D == 0
    if D.sum() == 0 or control.sum() == 0:
        raise CellError(f"{int(D.sum())} treated and {int(control.sum())} comparison units")
    X = _design(None if covariates is None else np.asarray(covariates, float).reshape(n, -1), n, control)
    need = max(min_units_per_coef * X.shape[1], 1)
    if control.sum() <= X.shape[1] or min(D.sum(), control.sum()) < need:
        raise CellError(f"{int(D.sum())} treated and {int(control.sum())} comparison units for "
                        f"{X.shape[1]} regression coefficients")
    mu0, lin_ols = _ols_controls(dy, X, control)
    if method == "reg":
        att_treat = D * dy
        att_cont = D * mu0
        eta_t, eta_c = att_treat.mean() / D.mean(), att_cont.mean() / D.mean()
        inf_treat = (att_treat - D * eta_t) / D.mean()
        inf_cont = (att_cont - D * eta_c + lin_ols @ (D[:, None] * X).mean(axis=0)) / D.mean()
        return float(eta_t - eta_c), inf_treat - inf_cont
    ps, hess_inv = _logit(X, D)
    ps = np.minimum(ps, 1 - 1e-6)
    keep = np.where(control, ps < trim_level, True)
    w1 = keep * D
    w0 = keep * ps * (1 - D) / (1 - ps)
    if w0.sum() == 0:
        raise CellError("every comparison unit was trimmed")
    resid = dy - mu0
    eta_t = (w1 * resid).mean() / w1.mean()
    eta_c = (w0 * resid).mean() / w0.mean()
    lin_ps = ((D - ps)[:, None] * X) @ hess_inv
    inf_treat = (w1 * resid - w1 * eta_t - lin_ols @ (w1[:, None] * X).mean(axis=0)) / w1.mean()
    inf_cont = (w0 * resid - w0 * eta_c + lin_ps @ ((w0 * (resid - eta_c))[:, None] * X).mean(axis=0)
                - lin_ols @ (w0[:, None] * X).mean(axis=0)) / w0.mean()
    return float(eta_t - eta_c), inf_treat - inf_cont
