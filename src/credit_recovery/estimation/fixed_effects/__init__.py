"""Fixed-effects outcome models with honest few-cluster inference.

One entry point, :func:`fit_fixed_effects`, estimates a linear model with
high-dimensional fixed effects written in a fixest-style formula::

    y ~ x1 + x2 | student + school^year

Modules, by concern:

* ``formula`` - the formula grammar (:func:`parse_formula`) and option checks;
* ``groups`` - group codes, sums within groups, nesting;
* ``absorb`` - absorbing the fixed effects (M_D: exact within transform or
  Frisch-Waugh reduction, ``pyhdfe`` alternating projections as fallback),
  absorbed degrees of freedom and singletons (``pyhdfe``);
* ``sample`` - the estimation sample (missing values, zero weights,
  singletons), recorded as :attr:`FixedEffectsResult.used`;
* ``solve`` - least squares with the fixed effects absorbed, collinear
  regressors detected and dropped (:attr:`FixedEffectsResult.collinear`);
* ``covariance`` (unadjusted, HC1, CR1), ``cr2`` (Bell-McCaffrey CR2 with
  Satterthwaite df, weighted and unweighted), ``wild`` (wild cluster
  bootstrap-t, test inversion) - covariance estimators, registered by
  ``cov_type`` in ``registry`` (adding one is adding one entry);
* ``result`` - :class:`FixedEffectsResult` (tidy rows of the estimate schema);
* ``fit`` - :func:`fit_fixed_effects`, which chains them.

See ``docs/models.md``.
"""
from __future__ import annotations

from credit_recovery.estimation.fixed_effects.fit import FE_DOF, fit_fixed_effects
from credit_recovery.estimation.fixed_effects.formula import FixedEffectsFormula, parse_formula
from credit_recovery.estimation.fixed_effects.registry import COV_TYPES
from credit_recovery.estimation.fixed_effects.result import FixedEffectsResult
from credit_recovery.estimation.fixed_effects.wild import BOOTSTRAP_WEIGHTS

__all__ = [
    "fit_fixed_effects",
    "parse_formula",
    "FixedEffectsFormula",
    "FixedEffectsResult",
    "COV_TYPES",
    "BOOTSTRAP_WEIGHTS",
    "FE_DOF",
]
