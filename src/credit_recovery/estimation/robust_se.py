r"""Covariances of a (two-stage) least-squares fit with block fixed effects, as ``estimatr`` computes them.

The fit is described in the :math:`\sqrt{\tilde w}`-scaled space with the block dummies absorbed
(:math:`\tilde w = w / \bar w`; no weights: :math:`\tilde w = 1`): ``xhat`` are the second-stage
regressors :math:`\hat X` (for OLS the regressors themselves; for 2SLS their first-stage fitted values),
``e`` the residuals :math:`y - X\hat\beta` with the regressors actually used (for 2SLS the
*structural* residuals, not :math:`y - \hat X\hat\beta`), :math:`B = (\hat X'\hat X)^{-1}`, N rows,
G clusters and :math:`K` = columns of :math:`\hat X` + block levels (the rank of the full design with
the block dummies). Following ``estimatr`` 1.0.0 (``lm_robust`` and ``iv_robust``; C++
``lm_variance``):

* ``classical``: :math:`\frac{e'e}{N-K}B`; ``HC0``..``HC3``: :math:`B\hat X'\Omega\hat X B` with
  :math:`\Omega_{ii} = e_i^2/(1-h_i)^k`, k = 0 (HC0, HC1), 1 (HC2), 2 (HC3); HC1 times
  :math:`N/(N-K)`. The leverage :math:`h_i` is that of the full design with the block dummies,
  :math:`h_i = \hat x_i'B\hat x_i + \tilde w_i/\sum_{j\in b(i)}\tilde w_j`; an observation with
  :math:`h_i = 1` contributes 0 (estimatr's rule for perfect fits). t with N - K df.
* ``CR0``: :math:`B(\sum_g \hat X_g'e_g e_g'\hat X_g)B`; ``stata`` (CR1) times
  :math:`\frac{G(N-1)}{(G-1)(N-K)}`; t with G - 1 df.
* ``CR2`` (Bell-McCaffrey, with the Pustejovsky-Tipton / Bell-McCaffrey Satterthwaite degrees of
  freedom per coefficient and the identity working model): the existing implementation in
  :mod:`credit_recovery.estimation.fixed_effects.cr2`, given :math:`\hat X` and the structural residuals,
  which is what ``iv_robust(se_type = "CR2")`` computes (hat matrix of the second-stage design,
  residuals of the structural equation).

Nothing here knows about credit recovery.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import numpy as np

from credit_recovery.estimation.fixed_effects.absorb import Absorber
from credit_recovery.estimation.fixed_effects.covariance import CovarianceInputs, CovarianceSettings
from credit_recovery.estimation.fixed_effects.cr2 import cr2
from credit_recovery.estimation.fixed_effects.solve import LinearFit

__all__ = ["SE_TYPES", "CLUSTERED_SE_TYPES", "RobustCovariance", "check_se_type", "block_leverage",
           "robust_covariance", "wald_f"]

#: Allowed ``se_type`` values (estimatr's names).
SE_TYPES: tuple[str, ...] = ("classical", "HC0", "HC1", "HC2", "HC3", "CR0", "stata", "CR2")
#: The ``se_type`` values that need a cluster column.
CLUSTERED_SE_TYPES: tuple[str, ...] = ("CR0", "stata", "CR2")
_HC_POWER = {"HC0": 0, "HC1": 0, "HC2": 1, "HC3": 2}


@dataclass(frozen=True)
class RobustCovariance:
    """Covariance of the coefficients, the df of each coefficient's t reference, K and G."""

    cov: np.ndarray
    df: np.ndarray
    rank: int
    n_clusters: int | None


def check_se_type(se_type: str | None, clustered: bool) -> str:
    """estimatr's name of ``se_type`` (case-insensitive); ``None`` -> ``"CR2"`` with a cluster, else ``"HC2"``.

    Raises
    ------
    ValueError
        Unknown ``se_type``, or a clustered type without a cluster / a heteroskedasticity-only type with one.
    """
    if se_type is None:
        return "CR2" if clustered else "HC2"
    names = {s.lower(): s for s in SE_TYPES}
    if not isinstance(se_type, str) or se_type.lower() not in names:
        raise ValueError(f"se_type={se_type!r} is not allowed; allowed values are {list(SE_TYPES)}")
    name = names[se_type.lower()]
    if clustered and name not in CLUSTERED_SE_TYPES:
        raise ValueError(f"se_type={name!r} ignores the clusters; with cluster= use one of {list(CLUSTERED_SE_TYPES)}")
    if not clustered and name in CLUSTERED_SE_TYPES:
        raise ValueError(f"se_type={name!r} needs cluster=<column name>")
    return name


def block_leverage(fe_codes: np.ndarray | None, weights: np.ndarray | None, n: int) -> np.ndarray:
    r"""Diagonal of the hat matrix of the (:math:`\sqrt w`-scaled) block dummies: :math:`w_i/\sum_{j\in b(i)} w_j`
    (``1/n_b`` unweighted); zeros without blocks."""
    if fe_codes is None:
        return np.zeros(n)
    codes = fe_codes[:, 0]
    w = np.ones(n) if weights is None else np.asarray(weights, dtype=float)
    return w / np.bincount(codes, weights=w)[codes]


def _cluster_sums(scores: np.ndarray, codes: np.ndarray, n_clusters: int) -> np.ndarray:
    out = np.zeros((n_clusters, scores.shape[1]))
    np.add.at(out, codes, scores)
    return out


def robust_covariance(
    xhat: np.ndarray,
    e: np.ndarray,
    *,
    se_type: str,
    fe_codes: np.ndarray | None = None,
    weights: np.ndarray | None = None,
    cluster_codes: np.ndarray | None = None,
    names: Sequence[str] | None = None,
    max_cluster_size: int = 5000,
) -> RobustCovariance:
    """The ``se_type`` covariance of the coefficients of ``xhat`` (module docstring).

    Parameters
    ----------
    xhat, e : ndarray
        Second-stage regressors (N x p) and residuals (N), both scaled by ``sqrt(weights)`` and with the
        block dummies absorbed.
    se_type : str
        One of :data:`SE_TYPES` (as returned by :func:`check_se_type`).
    fe_codes : ndarray (N x 1), optional
        Block codes 0..L-1.
    weights : ndarray, optional
        The (normalized) weights behind the scaling.
    cluster_codes : ndarray, optional
        Cluster codes 0..G-1; needed by the clustered types.
    max_cluster_size : int
        Largest cluster CR2 accepts (dense n_g x n_g algebra).
    """
    n, p = xhat.shape
    n_levels = 0 if fe_codes is None else int(fe_codes[:, 0].max()) + 1
    k = p + n_levels
    if n - k <= 0:
        raise ValueError(f"no residual degrees of freedom: N={n}, K={k} (regressors + blocks)")
    bread = np.linalg.inv(xhat.T @ xhat)
    if se_type == "classical":
        return RobustCovariance(bread * float(e @ e) / (n - k), np.full(p, float(n - k)), k, None)
    if se_type in _HC_POWER:
        h = np.einsum("ij,jk,ik->i", xhat, bread, xhat) + block_leverage(fe_codes, weights, n)
        with np.errstate(divide="ignore", invalid="ignore"):
            omega = e ** 2 / (1.0 - h) ** _HC_POWER[se_type]
        omega[~np.isfinite(omega)] = 0.0
        cov = bread @ ((xhat * omega[:, None]).T @ xhat) @ bread
        if se_type == "HC1":
            cov *= n / (n - k)
        return RobustCovariance(cov, np.full(p, float(n - k)), k, None)
    if cluster_codes is None:
        raise ValueError(f"se_type={se_type!r} needs cluster codes")
    g = int(cluster_codes.max()) + 1
    if g < 2:
        raise ValueError(f"se_type={se_type!r} needs at least 2 clusters; got {g}")
    if se_type == "CR2":
        fit = LinearFit(names=list(names) if names is not None else [f"x{j}" for j in range(p)],
                        beta=np.zeros(p), xt=xhat, yt=e, e=e, bread=bread,
                        absorber=None if fe_codes is None else Absorber(fe_codes, weights))
        est = cr2(CovarianceInputs(
            fit=fit, n=n, k_absorbed=k, k_dof=k, codes=cluster_codes, n_clusters=g, weights=weights,
            fe_codes=fe_codes, absorber=fit.absorber, settings=CovarianceSettings(max_cluster_size=max_cluster_size)))
        return RobustCovariance(est.cov, np.asarray(est.df, dtype=float), k, g)
    s = _cluster_sums(xhat * e[:, None], cluster_codes, g)
    cov = bread @ (s.T @ s) @ bread
    if se_type == "stata":
        cov *= g * (n - 1) / ((g - 1) * (n - k))
    return RobustCovariance(cov, np.full(p, float(g - 1)), k, g)


def wald_f(beta: np.ndarray, cov: np.ndarray) -> float:
    r"""Wald F statistic of :math:`H_0: \beta = 0` for the q coefficients ``beta`` with covariance ``cov``:
    :math:`\beta'V^{-1}\beta/q` (``t^2`` for one coefficient; estimatr's ``compute_fstat``). A singular
    covariance (a perfect fit, e.g. full compliance) gives ``inf`` (``nan`` if ``beta`` is 0), where estimatr
    returns NA."""
    beta = np.atleast_1d(np.asarray(beta, dtype=float))
    cov = np.atleast_2d(np.asarray(cov, dtype=float))
    try:
        return float(beta @ np.linalg.solve(cov, beta)) / beta.size
    except np.linalg.LinAlgError:
        return float("inf") if np.any(beta != 0) else float("nan")
