r"""Covariance estimators: their common inputs and output, and the sandwich estimators without a bootstrap.

Every estimator is a function ``CovarianceInputs -> CovarianceEstimate``
registered by its ``cov_type`` name in
:data:`credit_recovery.estimation.fixed_effects.registry.COVARIANCES`.
Notation (``docs/models.md``): :math:`\tilde X, \tilde y` the regressors and
outcome with the fixed effects absorbed (scaled by :math:`\sqrt{w}` when
weighted), :math:`e` the residuals, :math:`B = (\tilde X'\tilde X)^{-1}`, N
observations, G clusters, p regressors, :math:`K_a` = p + all degrees of
freedom absorbed by the fixed effects, :math:`K_c` = p + those of the fixed
effects *not nested* within the clusters (``fe_dof="nested"``) or
:math:`K_a` (``fe_dof="all"``).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from credit_recovery.estimation.fixed_effects.absorb import Absorber
from credit_recovery.estimation.fixed_effects.groups import group_sum
from credit_recovery.estimation.fixed_effects.solve import LinearFit

__all__ = ["CovarianceSettings", "CovarianceInputs", "CovarianceEstimate", "unadjusted", "robust", "clustered"]


@dataclass(frozen=True)
class CovarianceSettings:
    """The options of :func:`credit_recovery.fit_fixed_effects` that covariance estimators read."""

    small_sample: bool = True
    level: float = 0.95
    max_cluster_size: int = 5000
    bootstrap_reps: int = 999
    bootstrap_weights: str = "rademacher"
    bootstrap_terms: tuple[str, ...] | None = None
    seed: int = 0
    bootstrap_draws: Any = None


@dataclass
class CovarianceInputs:
    """What a covariance estimator gets: the fit, sample sizes, clusters, weights and fixed effects.

    ``k_absorbed`` is :math:`K_a`; ``k_dof`` the K of the small-sample factor of clustered
    estimators; ``codes`` the cluster codes 0..G-1 (``None`` without a cluster column);
    ``absorber`` is M_D for estimators registered with ``absorbs=True``; ``cluster_labels`` the cluster
    identifiers in code order (``None`` without a cluster column).
    """

    fit: LinearFit
    n: int
    k_absorbed: int
    k_dof: int
    codes: np.ndarray | None
    n_clusters: int | None
    weights: np.ndarray | None
    fe_codes: np.ndarray | None
    absorber: Absorber | None
    settings: CovarianceSettings
    cluster_labels: np.ndarray | None = None


@dataclass
class CovarianceEstimate:
    """Covariance matrix, degrees of freedom of the t reference per coefficient, small-sample factor,
    and (bootstrap estimators) p-values, intervals and draws that replace the t-based ones."""

    cov: np.ndarray
    df: np.ndarray
    factor: float = 1.0
    p_values: dict[str, float] = field(default_factory=dict)
    ci: dict[str, tuple[float, float]] = field(default_factory=dict)
    bootstrap: dict[str, dict[str, Any]] = field(default_factory=dict)


def _residual_dof(inp: CovarianceInputs, k: int) -> None:
    if inp.n - k <= 0:
        raise ValueError(f"no residual degrees of freedom: N={inp.n}, K={k}")


def unadjusted(inp: CovarianceInputs) -> CovarianceEstimate:
    r"""Classical OLS covariance :math:`s^2 B`, :math:`s^2 = e'e/(N-K_a)` (``e'e/N`` without the
    small-sample factor); t with :math:`N-K_a` df."""
    _residual_dof(inp, inp.k_absorbed)
    f = inp.fit
    denom = (inp.n - inp.k_absorbed) if inp.settings.small_sample else inp.n
    cov = f.bread * float(f.e @ f.e) / denom
    return CovarianceEstimate(cov=cov, df=np.full(len(f.names), float(inp.n - inp.k_absorbed)))


def robust(inp: CovarianceInputs) -> CovarianceEstimate:
    r"""HC1: :math:`\frac{N}{N-K_a} B (\sum_i e_i^2 x_i x_i') B` (HC0 without the factor); t with
    :math:`N-K_a` df."""
    _residual_dof(inp, inp.k_absorbed)
    f = inp.fit
    factor = inp.n / (inp.n - inp.k_absorbed) if inp.settings.small_sample else 1.0
    s = f.xt * f.e[:, None]
    cov = factor * f.bread @ (s.T @ s) @ f.bread
    return CovarianceEstimate(cov=cov, df=np.full(len(f.names), float(inp.n - inp.k_absorbed)), factor=factor)


def clustered(inp: CovarianceInputs) -> CovarianceEstimate:
    r"""CR1: :math:`\frac{G}{G-1}\frac{N-1}{N-K_c} B(\sum_g \tilde X_g'e_g e_g'\tilde X_g)B` (CR0
    without the factor); t with G-1 df.

    For wagepan (``lwage ~ union + married + expersq | nr + year``, clusters nr) the default
    ``fe_dof="nested"`` gives K_c = 3 + 8 = 11 (Stata ``xtreg, fe vce(cluster nr)`` with
    ``i.year``); ``fe_dof="all"`` gives K_a = 555, the LSDV/``vcovCL`` number, larger by
    :math:`\sqrt{(N-K_c)/(N-K_a)}`.
    """
    f = inp.fit
    factor = 1.0
    if inp.settings.small_sample:
        _residual_dof(inp, inp.k_dof)
        factor = inp.n_clusters / (inp.n_clusters - 1) * (inp.n - 1) / (inp.n - inp.k_dof)
    s = group_sum(f.xt * f.e[:, None], inp.codes, inp.n_clusters)
    cov = factor * f.bread @ (s.T @ s) @ f.bread
    return CovarianceEstimate(cov=cov, df=np.full(len(f.names), float(inp.n_clusters - 1)), factor=factor)
