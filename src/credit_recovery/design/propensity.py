"""Propensity scores by logistic (or probit) regression.

Specification (:func:`fit_propensity` arguments), estimation (statsmodels
GLM, IRLS, the same algorithm as R's ``glm``) and results
(:class:`PropensityResult`) are kept apart.
"""
from __future__ import annotations

import warnings
from dataclasses import dataclass, field
from typing import Any, Sequence

import numpy as np
import pandas as pd
from statsmodels.genmod import families
from statsmodels.genmod.generalized_linear_model import GLM

from credit_recovery.shared.config import check_choice
from credit_recovery.shared.model_matrix import binary_treatment, design_matrix

__all__ = [
    "fit_propensity",
    "PropensityResult",
    "PerfectSeparationError",
    "SeparationWarning",
    "PropensityConvergenceWarning",
]

_LINKS = ("logit", "probit")


class PerfectSeparationError(ValueError):
    """The covariates separate treated from control units perfectly.

    The maximum-likelihood estimate does not exist; every fitted probability
    is numerically 0 or 1. Remove or coarsen the separating covariates.
    """


class SeparationWarning(UserWarning):
    """Quasi-complete separation: some fitted probabilities are numerically 0 or 1.

    R's ``glm`` reports the same situation as "fitted probabilities
    numerically 0 or 1 occurred".
    """


class PropensityConvergenceWarning(UserWarning):
    """The IRLS iterations did not converge within ``maxiter``."""


@dataclass
class PropensityResult:
    """Fitted propensity-score model.

    Attributes
    ----------
    propensity : pandas.Series
        :math:`\\hat e(x) = P(T = 1 \\mid X = x)`, aligned to the data's index.
    linear_predictor : pandas.Series
        :math:`x'\\hat\\beta`; for the logit link this is
        :math:`\\operatorname{logit} \\hat e(x)`.
    params, bse : pandas.Series
        Coefficients and model-based standard errors, labelled by design
        column (``(Intercept)``, ``age``, ``racehispan``, ...).
    model : statsmodels GLMResults
        The fitted statsmodels object.
    link, treatment, covariates, columns, converged, n_iter
        Specification and fit diagnostics.
    """

    propensity: pd.Series
    linear_predictor: pd.Series
    params: pd.Series
    bse: pd.Series
    model: Any = field(repr=False)
    link: str = "logit"
    treatment: str = ""
    covariates: tuple[str, ...] = ()
    columns: tuple[str, ...] = ()
    converged: bool = True
    n_iter: int = 0

    @property
    def logit(self) -> pd.Series:
        """:math:`\\log(\\hat e / (1 - \\hat e))` (whatever the link)."""
        p = self.propensity.to_numpy()
        return pd.Series(np.log(p) - np.log1p(-p), index=self.propensity.index, name="logit_ps")

    def summary(self) -> pd.DataFrame:
        """Coefficient table: estimate, std_error, z, p_value by term."""
        return pd.DataFrame(
            {
                "estimate": self.params,
                "std_error": self.bse,
                "z": self.model.tvalues,
                "p_value": self.model.pvalues,
            }
        )


def _checked_design(data: pd.DataFrame, covariates: Sequence[str]) -> pd.DataFrame:
    """Design matrix with intercept and drop-first dummies; no constant column, full column rank."""
    X = design_matrix(data, covariates, drop_first=True, intercept=True)
    const = [c for c in X.columns[1:] if np.ptp(X[c].to_numpy()) == 0]
    if const:
        raise ValueError(f"design columns are constant (no variation): {const}")
    if np.linalg.matrix_rank(X.to_numpy()) < X.shape[1]:
        raise ValueError(f"design matrix is rank deficient; columns: {list(X.columns)}")
    return X


def _report_fit(p: np.ndarray, converged: bool, caught: list, *, separation_eps: float, maxiter: int,
                covariates: Sequence[str], treatment: str) -> None:
    """Raise on complete separation; warn (at the caller of :func:`fit_propensity`) on quasi-separation,
    non-convergence and whatever else statsmodels said while fitting."""
    extreme = (p < separation_eps) | (p > 1 - separation_eps)
    if extreme.all():
        raise PerfectSeparationError(
            f"perfect separation: all {len(p)} fitted probabilities are numerically 0 or 1; "
            f"the covariates {list(covariates)} predict {treatment!r} exactly"
        )
    if extreme.any():
        warnings.warn(
            f"quasi-complete separation: {int(extreme.sum())} fitted probabilities are numerically "
            "0 or 1; some coefficients diverge",
            SeparationWarning,
            stacklevel=3,
        )
    if not converged:
        warnings.warn(
            f"propensity model did not converge in {maxiter} IRLS iterations",
            PropensityConvergenceWarning,
            stacklevel=3,
        )
    for w in caught:  # re-emit anything statsmodels said that we did not translate
        if not issubclass(w.category, (RuntimeWarning,)) and "separation" not in str(w.message).lower():
            warnings.warn(w.message, w.category, stacklevel=3)


def fit_propensity(
    data: pd.DataFrame,
    treatment: str,
    covariates: Sequence[str],
    *,
    link: str = "logit",
    maxiter: int = 100,
    tol: float = 1e-8,
    separation_eps: float = 1e-8,
) -> PropensityResult:
    """Fit a propensity-score model :math:`P(T=1 \\mid X)` by binomial GLM.

    Parameters
    ----------
    data : pandas.DataFrame
        One row per unit.
    treatment : str
        0/1 (or boolean) treatment column.
    covariates : sequence of str
        Covariate columns; string/categorical columns are expanded to
        dummies with the first level dropped (see :func:`design_matrix`).
    link : {"logit", "probit"}
        Link function.
    maxiter, tol : int, float
        IRLS iteration limit and convergence tolerance (R's ``glm`` uses
        ``epsilon = 1e-8`` on the relative change in deviance).
    separation_eps : float
        Fitted probabilities within this of 0 or 1 count as "numerically 0
        or 1". R's ``glm`` warns only below ``10 * .Machine$double.eps``,
        which misses most quasi-separated fits (IRLS stops while the
        separating coefficient is still ~20 on the logit scale, so fitted
        values sit near ``1e-10``); 1e-8 catches them.

    Returns
    -------
    PropensityResult

    Raises
    ------
    PerfectSeparationError
        If every fitted probability is numerically 0 or 1 (complete
        separation).

    Warns
    -----
    SeparationWarning
        If some fitted probabilities are numerically 0 or 1 (quasi-complete
        separation); the estimates of the separating coefficients diverge.
    PropensityConvergenceWarning
        If IRLS did not converge.

    Notes
    -----
    Maximises :math:`\\sum_i t_i \\log F(x_i'\\beta) + (1 - t_i) \\log(1 - F(x_i'\\beta))`
    with :math:`F` the logistic (or standard normal) CDF, by iteratively
    reweighted least squares, as R's
    ``glm(treat ~ ..., family = binomial(link))``. The propensity score is
    :math:`\\hat e_i = F(x_i'\\hat\\beta)`.
    """
    check_choice("link", link, _LINKS)
    tv = binary_treatment(data, treatment)
    X = _checked_design(data, covariates)
    fam_link = families.links.Logit() if link == "logit" else families.links.Probit()
    model = GLM(tv, X, family=families.Binomial(link=fam_link))
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        res = model.fit(method="IRLS", maxiter=maxiter, tol=tol, tol_criterion="deviance")
    converged = bool(res.converged)
    p = np.asarray(res.fittedvalues, dtype=float)
    _report_fit(p, converged, caught, separation_eps=separation_eps, maxiter=maxiter, covariates=covariates,
                treatment=treatment)
    lin = np.asarray(X.to_numpy() @ res.params.to_numpy(), dtype=float)
    return PropensityResult(
        propensity=pd.Series(p, index=data.index, name="propensity"),
        linear_predictor=pd.Series(lin, index=data.index, name="linear_predictor"),
        params=pd.Series(res.params.to_numpy(), index=list(X.columns), name="estimate"),
        bse=pd.Series(res.bse.to_numpy(), index=list(X.columns), name="std_error"),
        model=res,
        link=link,
        treatment=treatment,
        covariates=tuple(covariates),
        columns=tuple(X.columns),
        converged=converged,
        n_iter=int(getattr(res, "fit_history", {}).get("iteration", 0)),
    )
