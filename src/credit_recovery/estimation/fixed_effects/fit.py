"""The fit: :func:`fit_fixed_effects` chains the steps of the other modules of this package.

Formula (:mod:`~credit_recovery.estimation.fixed_effects.formula`) -> sample
(:mod:`~credit_recovery.estimation.fixed_effects.sample`: missing values, zero
weights, singletons) -> least squares with the fixed effects absorbed and
collinear regressors dropped (:mod:`~credit_recovery.estimation.fixed_effects.solve`)
-> the covariance estimator registered under ``cov_type``
(:mod:`~credit_recovery.estimation.fixed_effects.registry`) -> t-based (or
bootstrap) p-values and intervals -> :class:`FixedEffectsResult`.
"""
from __future__ import annotations

from typing import Any, Mapping, Sequence

import numpy as np
import pandas as pd
from scipy import stats

from credit_recovery.estimation.fixed_effects.absorb import Absorber, fe_degrees
from credit_recovery.estimation.fixed_effects.covariance import (CovarianceEstimate, CovarianceInputs,
                                                                 CovarianceSettings)
from credit_recovery.estimation.fixed_effects.formula import FixedEffectsFormula, check_option, parse_formula
from credit_recovery.estimation.fixed_effects.groups import group_codes
from credit_recovery.estimation.fixed_effects.registry import CovarianceType, covariance_type
from credit_recovery.estimation.fixed_effects.result import FixedEffectsResult
from credit_recovery.estimation.fixed_effects.sample import EstimationSample, model_arrays, select_sample
from credit_recovery.estimation.fixed_effects.solve import LinearFit, solve_dropping_collinear
from credit_recovery.estimation.fixed_effects.wild import BOOTSTRAP_WEIGHTS

__all__ = ["fit_fixed_effects", "FE_DOF"]

#: Allowed values of ``fe_dof`` (which absorbed fixed effects K counts in CR1).
FE_DOF: tuple[str, ...] = ("nested", "all")


def fit_fixed_effects(
    data: pd.DataFrame,
    formula: str,
    *,
    cluster: str | None = None,
    weights: str | None = None,
    cov_type: str = "clustered",
    small_sample: bool = True,
    fe_dof: str = "nested",
    bootstrap_reps: int = 999, bootstrap_weights: str = "rademacher",
    bootstrap_terms: Sequence[str] | None = None,
    seed: int = 0, bootstrap_draws: Mapping[Any, np.ndarray] | None = None,
    level: float = 0.95, drop_singletons: bool = True, max_cluster_size: int = 5000,
    drop_collinear: bool = True,
    never_drop: Sequence[str] | None = None,
) -> FixedEffectsResult:
    """Linear model with absorbed fixed effects and a chosen covariance estimator.

    Parameters
    ----------
    data : pandas.DataFrame
    formula : str
        ``"y ~ x1 + x2 | fe1 + fe2^fe3"`` (see :func:`parse_formula`).
    cluster : str, optional
        Column with cluster identifiers; required for ``clustered``, ``cr2`` and ``wild``.
    weights : str, optional
        Column of non-negative analytic weights (WLS); rows with weight 0 are dropped as missing.
    cov_type : {"unadjusted", "robust", "clustered", "cr2", "wild"}
        A name in :data:`~credit_recovery.estimation.fixed_effects.registry.COVARIANCES`.
    small_sample : bool
        Apply the small-sample factors (also to the CR1 standard error reported with ``wild``).
    fe_dof : {"nested", "all"}
        Which absorbed fixed-effect degrees of freedom K counts in the CR1
        factor. ``"nested"`` (default; Stata ``xtreg, fe`` / ``reghdfe``):
        fixed effects nested within the clusters are not counted. ``"all"``:
        every absorbed degree of freedom (LSDV with ``sandwich::vcovCL``, ``areg``).
    bootstrap_reps : int
        Wild bootstrap replicates B (Rademacher weights are enumerated when 2**G <= B).
    bootstrap_weights, seed : {"rademacher", "webb"}, int
        Kind and seed of the wild bootstrap weights.
    bootstrap_draws : mapping, optional
        Wild bootstrap weights given, not drawn: cluster id -> its B weights (fits sharing them get joint draws).
    bootstrap_terms : sequence of str, optional
        Coefficients that get wild bootstrap p-values and intervals (all by
        default); the others get CR1 inference with t(G-1).
    level : float
        Confidence level of the intervals.
    drop_singletons : bool
        Iteratively drop observations alone in a fixed-effect group (reghdfe/fixest convention).
    max_cluster_size : int
        Largest cluster allowed with ``cr2`` (dense n_g x n_g algebra).
    drop_collinear : bool
        Drop regressors collinear (after absorbing the fixed effects) with earlier ones, recorded in
        ``collinear`` and ``notes`` (like fixest); ``False`` raises instead.
    never_drop : sequence of str, optional
        Regressors never dropped as collinear (e.g. the treatment): if one of
        them is collinear, the fit raises.

    Returns
    -------
    FixedEffectsResult
        With the rows used (``used``) and the dropped regressors (``collinear``).

    Raises
    ------
    ValueError
        Unknown option (the message lists the allowed values), missing column, malformed formula, no
        cluster or fewer than 2 clusters for a clustered covariance, collinearity that cannot be
        resolved by dropping, no degrees of freedom left.

    Notes
    -----
    The estimators and their small-sample conventions: the modules ``covariance``,
    ``cr2``, ``wild`` of this package and ``docs/models.md``. Rows with a missing value in a
    used column (outcome, regressors, fixed effects, cluster, weights) are counted in
    ``n_dropped_missing``, singletons in ``n_dropped_singletons``.
    """
    cov_type, kind, fe_dof, settings = _options(
        cov_type, fe_dof, small_sample=small_sample, level=level, max_cluster_size=max_cluster_size, seed=seed,
        bootstrap_reps=bootstrap_reps, bootstrap_weights=bootstrap_weights, bootstrap_terms=bootstrap_terms,
        bootstrap_draws=bootstrap_draws)
    spec = parse_formula(formula)
    never_drop = _check_terms(spec, kind, cov_type, cluster, never_drop)
    sample = select_sample(data, spec, cluster, weights, drop_singletons)
    codes, n_clusters, labels = _clusters(sample.frame, cluster, cov_type, kind)
    y, X, w = model_arrays(sample.frame, spec, weights)
    fit, dropped = solve_dropping_collinear(y, X, w, sample.fe_codes, spec.outcome, sample.frame,
                                            drop_collinear, never_drop)
    inputs = _covariance_inputs(fit, sample, codes, n_clusters, w, kind, fe_dof, settings)
    inputs.cluster_labels = labels
    est = kind.estimate(inputs)
    return FixedEffectsResult(
        spec=spec, **_inference(fit, est, level), cov_type=cov_type, level=level,
        nobs=inputs.n, n_clusters=n_clusters, n_dropped_missing=sample.n_missing,
        n_dropped_singletons=sample.n_singletons, k_dof=int(inputs.k_dof), k_absorbed=int(inputs.k_absorbed),
        small_sample_factor=float(est.factor), cluster=cluster, bootstrap=est.bootstrap,
        used=pd.Series(sample.used, index=data.index, name="used"), collinear=dropped,
        notes=(f"dropped collinear regressors (after absorbing the fixed effects): {', '.join(dropped)}",)
        if dropped else (),
    )


def _options(cov_type: str, fe_dof: str, **settings) -> tuple[str, CovarianceType, str, CovarianceSettings]:
    """Validated ``cov_type`` (and its registry entry), ``fe_dof`` and covariance settings."""
    cov_type, kind = covariance_type(cov_type)
    fe_dof = check_option("fe_dof", fe_dof, FE_DOF)
    settings["bootstrap_weights"] = check_option("bootstrap_weights", settings["bootstrap_weights"],
                                                 BOOTSTRAP_WEIGHTS)
    if not 0 < settings["level"] < 1:
        raise ValueError(f"level must be in (0, 1); got {settings['level']!r}")
    if settings["bootstrap_terms"] is not None:
        settings["bootstrap_terms"] = tuple(settings["bootstrap_terms"])
    out = CovarianceSettings(**settings)
    if kind.check is not None:
        kind.check(out)
    return cov_type, kind, fe_dof, out


def _check_terms(spec: FixedEffectsFormula, kind: CovarianceType, cov_type: str, cluster: str | None,
                 never_drop: Sequence[str] | None) -> tuple[str, ...]:
    """A cluster column for clustered estimators; ``never_drop`` names regressors (returned as a tuple)."""
    if kind.clustered and cluster is None:
        raise ValueError(f"cov_type={cov_type!r} needs cluster=<column name>")
    never_drop = tuple(never_drop or ())
    if any(t not in spec.regressors for t in never_drop):
        raise ValueError(f"never_drop {list(never_drop)} are not all regressors; regressors are {list(spec.regressors)}")
    return never_drop


def _clusters(frame: pd.DataFrame, cluster: str | None, cov_type: str,
              kind: CovarianceType) -> tuple[np.ndarray | None, int | None, np.ndarray | None]:
    """Cluster codes 0..G-1, G and the cluster ids in code order (``None`` without a cluster column);
    clustered estimators need G >= 2."""
    if cluster is None:
        return None, None, None
    codes = group_codes(frame, [cluster])
    n_clusters = int(codes.max()) + 1 if len(frame) else 0
    if kind.clustered and n_clusters < 2:
        raise ValueError(f"cov_type={cov_type!r} needs at least 2 clusters; got {n_clusters}")
    return codes, n_clusters, pd.unique(frame[cluster])  # group_codes numbers in order of appearance


def _covariance_inputs(fit: LinearFit, sample: EstimationSample, codes: np.ndarray | None,
                       n_clusters: int | None, w: np.ndarray | None, kind: CovarianceType, fe_dof: str,
                       settings: CovarianceSettings) -> CovarianceInputs:
    """Degrees of freedom (K_a; K of the small-sample factor) and M_D for the covariance estimator."""
    p = len(fit.names)
    fe_codes = sample.fe_codes
    k_abs = p + fe_degrees(fe_codes, None)
    k_dof = p + fe_degrees(fe_codes, codes) if kind.clustered and fe_dof == "nested" else k_abs
    return CovarianceInputs(
        fit=fit, n=len(sample.frame), k_absorbed=k_abs, k_dof=k_dof, codes=codes, n_clusters=n_clusters,
        weights=w, fe_codes=fe_codes, absorber=_absorber(fit, fe_codes, w) if kind.absorbs else None, settings=settings,
    )


def _absorber(fit: LinearFit, fe_codes: np.ndarray | None, w: np.ndarray | None) -> Absorber:
    """The fit's M_D (built once per fit), or a new one (no fixed effects: the identity)."""
    return fit.absorber if fit.absorber is not None else Absorber(fe_codes, w)


def _inference(fit: LinearFit, est: CovarianceEstimate, level: float) -> dict[str, object]:
    """Labelled estimates, standard errors, df, p-values, covariance and intervals (t reference; normal for
    infinite df), with the bootstrap p-values and intervals of ``est`` in place of the t-based ones."""
    names, beta, dfs = fit.names, fit.beta, est.df
    se = np.sqrt(np.diag(est.cov))
    tval = beta / se
    dfs = np.asarray(dfs, dtype=float)
    finite = np.isfinite(dfs)
    pv = np.empty(len(names))
    pv[finite] = 2 * stats.t.sf(np.abs(tval[finite]), dfs[finite])
    pv[~finite] = 2 * stats.norm.sf(np.abs(tval[~finite]))
    q = stats.t.ppf(0.5 + level / 2, dfs)
    ci = pd.DataFrame({"ci_low": beta - q * se, "ci_high": beta + q * se}, index=names)
    for t, pval in est.p_values.items():
        pv[names.index(t)] = pval
        ci.loc[t, ["ci_low", "ci_high"]] = est.ci[t]
    return {
        "params": pd.Series(beta, index=names, name="estimate"),
        "std_errors": pd.Series(se, index=names, name="std_error"),
        "df": pd.Series(dfs, index=names, name="df"),
        "pvalues": pd.Series(pv, index=names, name="p_value"),
        "cov": pd.DataFrame(est.cov, index=names, columns=names),
        "ci": ci,
    }
