r"""Intention-to-treat effects of randomized experiments, with ``estimatr``'s standard errors.

:func:`itt` regresses the outcome on the 0/1 assignment by least squares (weighted when ``weights`` is
given), with block fixed effects (the randomization blocks: one dummy per block, equivalent to
``estimatr::lm_robust(..., fixed_effects = ~ block)``) and optional covariates. Standard errors follow
``estimatr`` (:mod:`credit_recovery.estimation.robust_se`): HC2 by default, CR2 with the Bell-McCaffrey
degrees of freedom when ``cluster`` is given. Without blocks and covariates the HC2 variance is the
Neyman variance :math:`s_1^2/n_1 + s_0^2/n_0`.

The blocks are absorbed (:class:`~credit_recovery.estimation.fixed_effects.absorb.Absorber`: weighted
within-block demeaning), so the number of blocks does not enlarge the least-squares problem.
:func:`prepare_experiment` checks the input (present, complete columns; a 0/1 assignment with both arms
in every block; positive weights) and is shared with the complier effect in
:mod:`credit_recovery.estimation.iv`. Nothing here knows about credit recovery.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Sequence

import numpy as np
import pandas as pd
from scipy import stats

from credit_recovery.estimation.fixed_effects.absorb import Absorber
from credit_recovery.estimation.fixed_effects.solve import absorbed_or_collinear
from credit_recovery.estimation.robust_se import RobustCovariance, check_se_type, robust_covariance
from credit_recovery.shared.estimate_schema import estimate_row
from credit_recovery.shared.model_matrix import design_matrix

__all__ = ["ExperimentData", "ExperimentResult", "prepare_experiment", "inference_table", "least_squares",
           "result_from", "check_alpha", "itt"]


@dataclass
class ExperimentData:
    """The checked arrays of an experiment: outcome ``y``, assignment ``z`` (0/1), treatment received
    ``d`` (complier analyses only), covariate design ``covariates`` (categorical columns as dummies,
    R's convention), block codes ``fe_codes`` (N x 1), weights normalized to mean 1, cluster codes 0..G-1.
    ``scale_absorb`` maps columns to the :math:`\\sqrt w`-scaled space with the blocks absorbed."""

    y: np.ndarray
    z: np.ndarray
    covariates: pd.DataFrame
    d: np.ndarray | None = None
    fe_codes: np.ndarray | None = None
    weights: np.ndarray | None = None
    cluster_codes: np.ndarray | None = None
    n_clusters: int | None = None
    absorber: Absorber = field(default_factory=lambda: Absorber(None, None))

    @property
    def n(self) -> int:
        return int(self.y.size)

    def exogenous(self) -> pd.DataFrame:
        """The covariate design, with an intercept first when there are no blocks."""
        if self.fe_codes is not None:
            return self.covariates
        return pd.concat([pd.DataFrame({"(Intercept)": np.ones(self.n)}, index=self.covariates.index),
                          self.covariates], axis=1)

    def scale(self, columns: np.ndarray) -> np.ndarray:
        """``columns`` (N or N x k) times :math:`\\sqrt w`."""
        cols = np.asarray(columns, dtype=float)
        if self.weights is None:
            return cols.copy()
        sw = np.sqrt(self.weights)
        return cols * (sw if cols.ndim == 1 else sw[:, None])

    def scale_absorb(self, columns: np.ndarray) -> np.ndarray:
        """``columns`` (N or N x k) times :math:`\\sqrt w`, with the block dummies projected out."""
        return self.absorber(self.scale(columns))


def _numeric_column(data: pd.DataFrame, col: str, role: str) -> np.ndarray:
    s = data[col]
    if s.isna().any():
        raise ValueError(f"{role} column {col!r} has {int(s.isna().sum())} missing values; "
                         "drop or impute those rows first")
    if not (pd.api.types.is_numeric_dtype(s) or pd.api.types.is_bool_dtype(s)):
        raise ValueError(f"{role} column {col!r} must be numeric; it has dtype {s.dtype}")
    v = s.to_numpy(dtype=float)
    if not np.isfinite(v).all():
        raise ValueError(f"{role} column {col!r} has infinite values")
    return v


def _assignment(data: pd.DataFrame, col: str, role: str) -> np.ndarray:
    z = _numeric_column(data, col, role)
    bad = np.unique(z[~np.isin(z, (0.0, 1.0))])
    if bad.size:
        raise ValueError(f"{role} column {col!r} must be 0/1 (or boolean); it also has the values "
                         f"{bad[:5].tolist()}{' ...' if bad.size > 5 else ''}")
    if z.min() == z.max():
        raise ValueError(f"{role} column {col!r} has one arm only (all {int(z[0])})")
    return z


def _blocks(data: pd.DataFrame, blocks: str, z: np.ndarray, role: str) -> np.ndarray:
    """Block codes (N x 1); every block must have both arms."""
    s = data[blocks]
    if s.isna().any():
        raise ValueError(f"blocks column {blocks!r} has {int(s.isna().sum())} missing values")
    codes, labels = pd.factorize(s, sort=True)
    treated = np.bincount(codes, weights=z, minlength=len(labels))
    size = np.bincount(codes, minlength=len(labels))
    one_arm = (treated == 0) | (treated == size)
    if one_arm.any():
        ids = list(labels[one_arm])
        raise ValueError(f"{int(one_arm.sum())} block(s) of {blocks!r} have one arm only of {role} "
                         f"(no within-block contrast): {ids[:10]}{' ...' if len(ids) > 10 else ''}; "
                         "drop or merge them")
    return codes.astype(np.int64)[:, None]


def prepare_experiment(
    data: pd.DataFrame,
    outcome: str,
    assignment: str,
    *,
    treatment: str | None = None,
    blocks: str | None = None,
    covariates: Sequence[str] = (),
    cluster: str | None = None,
    weights: str | None = None,
    role: str = "assignment",
) -> ExperimentData:
    """Check the columns of an experiment and return them as arrays (:class:`ExperimentData`).

    Raises
    ------
    ValueError
        A named column is not in ``data``; a used column has missing values or is not numeric; the
        assignment is not 0/1 or has one arm only; a block has one arm only; weights are not positive;
        a clustered analysis has fewer than 2 clusters.
    """
    if not isinstance(data, pd.DataFrame):
        raise ValueError(f"data must be a pandas DataFrame; got {type(data).__name__}")
    covariates = (covariates,) if isinstance(covariates, str) else tuple(covariates)
    named = {"outcome": outcome, role: assignment, "treatment": treatment, "blocks": blocks,
             "cluster": cluster, "weights": weights}
    named.update({f"covariate {c!r}": c for c in covariates})
    missing = [f"{what} {col!r}" for what, col in named.items() if col is not None and col not in data.columns]
    if missing:
        raise ValueError(f"columns not in data: {', '.join(missing)}")
    out = ExperimentData(y=_numeric_column(data, outcome, "outcome"), z=_assignment(data, assignment, role),
                         covariates=design_matrix(data, covariates))
    if treatment is not None:
        out.d = _numeric_column(data, treatment, "treatment")
    if weights is not None:
        w = _numeric_column(data, weights, "weights")
        if (w <= 0).any():
            raise ValueError(f"weights column {weights!r} must be positive; {int((w <= 0).sum())} values are not")
        out.weights = w / w.mean()
    if blocks is not None:
        out.fe_codes = _blocks(data, blocks, out.z, role)
        out.absorber = Absorber(out.fe_codes, out.weights)
    if cluster is not None:
        if data[cluster].isna().any():
            raise ValueError(f"cluster column {cluster!r} has {int(data[cluster].isna().sum())} missing values")
        codes, labels = pd.factorize(data[cluster], sort=True)
        if len(labels) < 2:
            raise ValueError(f"cluster column {cluster!r} has {len(labels)} cluster(s); clustered standard "
                             "errors need at least 2")
        out.cluster_codes, out.n_clusters = codes.astype(np.int64), len(labels)
    return out


def inference_table(names: Sequence[str], beta: np.ndarray, vc: RobustCovariance, alpha: float) -> pd.DataFrame:
    """estimate, std_error, statistic, df, p_value, ci_low, ci_high per coefficient (t with each df, as
    estimatr's ``add_cis_pvals``; 1 - alpha intervals)."""
    se = np.sqrt(np.maximum(np.diag(vc.cov), 0.0))  # rounding below 0 in a perfect fit
    q = stats.t.ppf(1 - alpha / 2, vc.df)
    with np.errstate(divide="ignore", invalid="ignore"):  # a perfect fit: se 0, t infinite, p 0
        t = beta / se
    return pd.DataFrame({
        "estimate": beta, "std_error": se, "statistic": t, "df": vc.df,
        "p_value": 2 * stats.t.sf(np.abs(t), vc.df), "ci_low": beta - q * se, "ci_high": beta + q * se,
    }, index=pd.Index(list(names), name="term"))


def least_squares(ex: ExperimentData, y: np.ndarray, regressors: pd.DataFrame, se_type: str,
                  what: str = "regressors") -> tuple[np.ndarray, RobustCovariance]:
    """(Weighted) least squares of ``y`` on ``regressors`` with the blocks absorbed, and the covariance."""
    raw = ex.scale(regressors.to_numpy(dtype=float))
    xs = ex.absorber(raw)
    if absorbed_or_collinear(xs, raw):
        raise ValueError(f"{what} {list(regressors.columns)} are collinear (after absorbing the blocks)")
    ys = ex.scale_absorb(y)
    beta = np.linalg.lstsq(xs, ys, rcond=None)[0]
    vc = robust_covariance(xs, ys - xs @ beta, se_type=se_type, fe_codes=ex.fe_codes, weights=ex.weights,
                           cluster_codes=ex.cluster_codes, names=list(regressors.columns))
    return beta, vc


def check_alpha(alpha: float) -> None:
    if not 0 < alpha < 1:
        raise ValueError(f"alpha must be in (0, 1); got {alpha!r}")


@dataclass(frozen=True)
class ExperimentResult:
    """One effect of a randomized experiment and its inference (:func:`itt`; :func:`~credit_recovery.
    estimation.iv.cace` adds the first stage).

    Attributes
    ----------
    estimate, std_error, df, ci_low, ci_high, p_value : float
        The coefficient of ``term``, its standard error, the df of its t reference and the
        ``1 - alpha`` interval and two-sided p-value from that t.
    n, n_clusters : int, int or None
    se_type : str
        estimatr's name of the covariance (``HC2``, ``CR2``, ...).
    outcome, term : str
        The outcome and the coefficient reported (the assignment for ITT, the treatment for CACE).
    blocks : str or None
        The block column whose fixed effects were absorbed.
    estimand, estimator : str
    coefficients : pandas.DataFrame
        All coefficients (not the block effects): estimate, std_error, statistic, df, p_value, ci_low, ci_high.
    """

    estimate: float
    std_error: float
    df: float
    ci_low: float
    ci_high: float
    p_value: float
    n: int
    n_clusters: int | None
    se_type: str
    alpha: float
    outcome: str
    term: str
    blocks: str | None
    estimand: str
    estimator: str
    coefficients: pd.DataFrame = field(repr=False)

    def to_row(self, *, sample: str = "", estimand_id: str = "", estimand: str | None = None,
               treatment: str | None = None) -> dict[str, Any]:
        """A row of the tidy estimate schema (:func:`credit_recovery.shared.estimate_schema.estimate_row`):
        interval and p-value from t(df) at level ``1 - alpha``, ``cov_type`` = ``se_type``."""
        return estimate_row(
            outcome=self.outcome, treatment=treatment or self.term, estimand=estimand or self.estimand,
            estimator=self.estimator, sample=sample, estimate=self.estimate, std_error=self.std_error,
            n=self.n, estimand_id=estimand_id, fixed_effects=self.blocks or "none", cov_type=self.se_type,
            n_clusters=self.n_clusters, df=self.df, level=1 - self.alpha,
        )


def result_from(table: pd.DataFrame, term: str, *, n: int, vc: RobustCovariance, se_type: str, alpha: float,
                outcome: str, blocks: str | None, estimand: str, estimator: str) -> ExperimentResult:
    """The :class:`ExperimentResult` of coefficient ``term`` of ``table`` (:func:`inference_table`)."""
    r = table.loc[term]
    return ExperimentResult(
        estimate=float(r["estimate"]), std_error=float(r["std_error"]), df=float(r["df"]),
        ci_low=float(r["ci_low"]), ci_high=float(r["ci_high"]), p_value=float(r["p_value"]), n=n,
        n_clusters=vc.n_clusters, se_type=se_type, alpha=alpha, outcome=outcome, term=term, blocks=blocks,
        estimand=estimand, estimator=estimator, coefficients=table,
    )


def itt(
    data: pd.DataFrame,
    outcome: str,
    assignment: str,
    *,
    blocks: str | None = None,
    covariates: Sequence[str] = (),
    cluster: str | None = None,
    se_type: str | None = None,
    weights: str | None = None,
    alpha: float = 0.05,
) -> ExperimentResult:
    """Intention-to-treat effect: least squares of ``outcome`` on the 0/1 ``assignment`` with block fixed effects.

    Parameters
    ----------
    data : pandas.DataFrame
        One row per unit; the named columns must be complete.
    outcome, assignment : str
        Outcome column and the 0/1 (or boolean) random assignment.
    blocks : str, optional
        Randomization blocks: one fixed effect per block (absorbed); every block needs both arms.
    covariates : sequence of str
        Pre-treatment covariates (categorical columns expanded to dummies, first level dropped).
    cluster : str, optional
        Cluster column (e.g. the unit of assignment): clustered standard errors.
    se_type : {"HC2", "CR2", "HC0", "HC1", "HC3", "classical", "CR0", "stata"}, optional
        estimatr's covariance names; default HC2, or CR2 (Bell-McCaffrey df) with ``cluster``.
    weights : str, optional
        Positive analytic weights (weighted least squares).
    alpha : float
        The interval has level ``1 - alpha``.

    Returns
    -------
    ExperimentResult
        ``term`` is the assignment; equal to ``estimatr::lm_robust(outcome ~ assignment + covariates,
        fixed_effects = ~ blocks, clusters = cluster, weights = weights, se_type = se_type)``
        (tests/reference/estimatr).

    Raises
    ------
    ValueError
        Bad input (:func:`prepare_experiment`), an unknown or mismatched ``se_type``, collinear
        covariates, no residual degrees of freedom.
    """
    check_alpha(alpha)
    se_type = check_se_type(se_type, cluster is not None)
    ex = prepare_experiment(data, outcome, assignment, blocks=blocks, covariates=covariates, cluster=cluster,
                            weights=weights)
    exog = ex.exogenous()
    regressors = pd.concat([pd.DataFrame({assignment: ex.z}, index=exog.index), exog], axis=1)
    if "(Intercept)" in regressors.columns:
        regressors = regressors[["(Intercept)"] + [c for c in regressors.columns if c != "(Intercept)"]]
    beta, vc = least_squares(ex, ex.y, regressors, se_type, what="assignment and covariates")
    table = inference_table(regressors.columns, beta, vc, alpha)
    return result_from(table, assignment, n=ex.n, vc=vc, se_type=se_type, alpha=alpha, outcome=outcome,
                       blocks=blocks, estimand="ITT", estimator="itt_wls" if weights else "itt_ols")
