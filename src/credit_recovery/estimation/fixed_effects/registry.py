"""The covariance estimators by ``cov_type`` name: adding one is adding one entry to :data:`COVARIANCES`.

Each entry says what the estimator needs from the fit: ``clustered``
estimators need a cluster column with at least two clusters, and their
small-sample K counts only the fixed effects not nested in the clusters
(``fe_dof="nested"``); ``absorbs`` estimators get the residual-maker M_D
(:class:`credit_recovery.estimation.fixed_effects.absorb.Absorber`);
``check`` validates the settings before any work is done.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

from credit_recovery.estimation.fixed_effects.covariance import (CovarianceEstimate, CovarianceInputs,
                                                                 CovarianceSettings, clustered, robust,
                                                                 unadjusted)
from credit_recovery.estimation.fixed_effects.cr2 import cr2
from credit_recovery.estimation.fixed_effects.formula import check_option
from credit_recovery.estimation.fixed_effects.wild import check_wild_settings, wild

__all__ = ["CovarianceType", "COVARIANCES", "COV_TYPES", "covariance_type"]


@dataclass(frozen=True)
class CovarianceType:
    """A registered covariance estimator and what it needs (module docstring)."""

    estimate: Callable[[CovarianceInputs], CovarianceEstimate]
    clustered: bool = False
    absorbs: bool = False
    check: Callable[[CovarianceSettings], None] | None = None


#: ``cov_type`` -> estimator. Formulas: the estimators' docstrings and ``docs/models.md``.
COVARIANCES: dict[str, CovarianceType] = {
    "unadjusted": CovarianceType(unadjusted),
    "robust": CovarianceType(robust),                                   # HC1
    "clustered": CovarianceType(clustered, clustered=True),             # CR1
    "cr2": CovarianceType(cr2, clustered=True, absorbs=True),           # CR2, Satterthwaite df
    "wild": CovarianceType(wild, clustered=True, absorbs=True, check=check_wild_settings),  # WCR bootstrap
}

#: Allowed values of ``cov_type``.
COV_TYPES: tuple[str, ...] = tuple(COVARIANCES)


def covariance_type(cov_type: str) -> tuple[str, CovarianceType]:
    """The validated (lower-cased) name and its registry entry; the message lists the allowed values."""
    name = check_option("cov_type", cov_type, COV_TYPES)
    return name, COVARIANCES[name]
