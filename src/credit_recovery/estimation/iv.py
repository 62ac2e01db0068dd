r"""Complier average causal effects of randomized experiments with non-compliance (two-stage least squares).

:func:`cace` instruments the treatment actually received by the random assignment, with block fixed
effects and optional covariates (exogenous, in both stages). The coefficients come from linearmodels'
``IV2SLS`` on the (:math:`\sqrt w`-scaled) data with the blocks absorbed; by Frisch-Waugh-Lovell this
is 2SLS with the block dummies as exogenous regressors and instruments. ``linearmodels`` has no HC2 or
CR2, so the covariance is :func:`credit_recovery.estimation.robust_se.robust_covariance` with estimatr's
``iv_robust`` semantics: the bread and the hat matrix are those of the second-stage design
:math:`\hat X = P_Z X` (block dummies included), the residuals those of the structural equation,
:math:`y - X\hat\beta`.

The first stage is reported with it: the coefficient of the assignment in the (weighted) least squares of
the treatment on the assignment, covariates and block effects, its standard error and Wald F with the
same ``se_type`` (estimatr's ``diagnostics = TRUE`` first-stage F; for one instrument :math:`t^2`), and the
raw (weighted) take-up in each arm. With one binary instrument the 2SLS coefficient is the Wald ratio of
the two intention-to-treat effects (on the outcome and on the treatment, same blocks and covariates).
Nothing here knows about credit recovery.
"""
from __future__ import annotations

from dataclasses import dataclass, fields
from typing import Sequence

import numpy as np
import pandas as pd
from linearmodels.iv import IV2SLS

from credit_recovery.estimation.experiments import (ExperimentData, ExperimentResult, check_alpha,
                                                    inference_table, least_squares, prepare_experiment,
                                                    result_from)
from credit_recovery.estimation.fixed_effects.solve import absorbed_or_collinear
from credit_recovery.estimation.robust_se import check_se_type, robust_covariance, wald_f

__all__ = ["CaceResult", "cace"]


@dataclass(frozen=True)
class CaceResult(ExperimentResult):
    """:class:`~credit_recovery.estimation.experiments.ExperimentResult` of the treatment coefficient, plus
    the first stage.

    Attributes
    ----------
    instrument : str
        The assignment column.
    first_stage_estimate, first_stage_std_error : float
        Coefficient of the assignment in the first stage (block- and covariate-adjusted compliance
        difference) and its standard error (same ``se_type``).
    first_stage_f : float
        Wald F of the instrument with that covariance (``t^2``; weak instrument when small).
    first_stage_df : float
        Denominator df of that F: N - K, or G - 1 when clustered (estimatr's ``dendf``).
    take_up_assigned, take_up_control : float
        Mean treatment received among the assigned and the not assigned (weighted, not block-adjusted).
    compliance_difference : float
        ``take_up_assigned - take_up_control``: the share of compliers under monotonicity (binary treatment).
    """

    instrument: str = ""
    first_stage_estimate: float = float("nan")
    first_stage_std_error: float = float("nan")
    first_stage_f: float = float("nan")
    first_stage_df: float = float("nan")
    take_up_assigned: float = float("nan")
    take_up_control: float = float("nan")
    compliance_difference: float = float("nan")


def _second_stage(ex: ExperimentData, treatment: str, exog: pd.DataFrame,
                  instrument: str) -> tuple[list[str], np.ndarray, np.ndarray, np.ndarray]:
    """Names, 2SLS coefficients (linearmodels), second-stage design P_Z X and structural residuals, in the
    scaled space with the blocks absorbed; the treatment first."""
    raw_x = ex.scale(np.column_stack([ex.d, exog.to_numpy(dtype=float)]))
    raw_z = ex.scale(np.column_stack([ex.z, exog.to_numpy(dtype=float)]))
    xt, zt, yt = ex.absorber(raw_x), ex.absorber(raw_z), ex.scale_absorb(ex.y)
    if absorbed_or_collinear(zt, raw_z):
        raise ValueError(f"instrument and covariates {[instrument, *exog.columns]} are collinear "
                         "(after absorbing the blocks)")
    if absorbed_or_collinear(xt, raw_x):
        raise ValueError(f"treatment and covariates {[treatment, *exog.columns]} are collinear "
                         "(after absorbing the blocks)")
    xhat = zt @ np.linalg.lstsq(zt, xt, rcond=None)[0]
    xhat[:, 1:] = xt[:, 1:]  # exogenous columns are their own fitted values
    if absorbed_or_collinear(xhat, raw_x):
        raise ValueError(f"no first stage: {instrument!r} does not predict {treatment!r} beyond the blocks "
                         "and covariates")
    names = [treatment, *exog.columns]
    index = pd.RangeIndex(ex.n)
    fit = IV2SLS(
        dependent=pd.Series(yt, index=index, name="y"),
        exog=pd.DataFrame(xt[:, 1:], index=index, columns=names[1:]) if len(names) > 1 else None,
        endog=pd.DataFrame({treatment: xt[:, 0]}, index=index),
        instruments=pd.DataFrame({instrument: zt[:, 0]}, index=index),
    ).fit(cov_type="unadjusted")
    beta = fit.params[names].to_numpy(dtype=float)
    return names, beta, xhat, yt - xt @ beta


def _take_up(ex: ExperimentData) -> tuple[float, float]:
    w = np.ones(ex.n) if ex.weights is None else ex.weights
    on = ex.z == 1
    return (float(np.average(ex.d[on], weights=w[on])), float(np.average(ex.d[~on], weights=w[~on])))


def cace(
    data: pd.DataFrame,
    outcome: str,
    treatment: str,
    instrument: str,
    *,
    blocks: str | None = None,
    covariates: Sequence[str] = (),
    cluster: str | None = None,
    se_type: str | None = None,
    weights: str | None = None,
    alpha: float = 0.05,
) -> CaceResult:
    """Complier average causal effect: 2SLS of ``outcome`` on ``treatment`` instrumented by the 0/1 ``instrument``.

    Parameters
    ----------
    data : pandas.DataFrame
        One row per unit; the named columns must be complete.
    outcome : str
    treatment : str
        Treatment actually received (numeric; 0/1 for a complier interpretation).
    instrument : str
        The 0/1 random assignment; every block needs both arms.
    blocks, covariates, cluster, se_type, weights, alpha
        As in :func:`credit_recovery.estimation.experiments.itt` (covariates enter both stages).

    Returns
    -------
    CaceResult
        ``term`` is the treatment; equal to ``estimatr::iv_robust(outcome ~ treatment + covariates |
        instrument + covariates, fixed_effects = ~ blocks, clusters = cluster, weights = weights,
        se_type = se_type)``, the first stage to ``lm_robust(treatment ~ instrument + covariates, ...)``
        (tests/reference/estimatr).

    Raises
    ------
    ValueError
        Bad input (:func:`~credit_recovery.estimation.experiments.prepare_experiment`: e.g. an instrument
        that is not 0/1, a block with one arm), an unknown ``se_type``, collinear regressors, no
        first stage (the treatment does not vary within blocks beyond the covariates).
    """
    check_alpha(alpha)
    se_type = check_se_type(se_type, cluster is not None)
    ex = prepare_experiment(data, outcome, instrument, treatment=treatment, blocks=blocks, covariates=covariates,
                            cluster=cluster, weights=weights, role="instrument")
    exog = ex.exogenous()
    regressors = pd.concat([pd.DataFrame({instrument: ex.z}, index=exog.index), exog], axis=1)
    fs_beta, fs_vc = least_squares(ex, ex.d, regressors, se_type, what="instrument and covariates")
    names, beta, xhat, e = _second_stage(ex, treatment, exog, instrument)
    vc = robust_covariance(xhat, e, se_type=se_type, fe_codes=ex.fe_codes, weights=ex.weights,
                           cluster_codes=ex.cluster_codes, names=names)
    order = sorted(range(len(names)), key=lambda j: names[j] != "(Intercept)")  # intercept first
    table = inference_table(names, beta, vc, alpha).iloc[order]
    base = result_from(table, treatment, n=ex.n, vc=vc, se_type=se_type, alpha=alpha, outcome=outcome,
                       blocks=blocks, estimand="CACE", estimator="cace_2sls_weighted" if weights else "cace_2sls")
    assigned, control = _take_up(ex)
    return CaceResult(
        **{f.name: getattr(base, f.name) for f in fields(ExperimentResult)},
        instrument=instrument, first_stage_estimate=float(fs_beta[0]),
        first_stage_std_error=float(np.sqrt(fs_vc.cov[0, 0])),
        first_stage_f=wald_f(fs_beta[:1], fs_vc.cov[:1, :1]), first_stage_df=float(ex.n - fs_vc.rank if cluster is None else ex.n_clusters - 1),
        take_up_assigned=assigned, take_up_control=control, compliance_difference=assigned - control,
    )
