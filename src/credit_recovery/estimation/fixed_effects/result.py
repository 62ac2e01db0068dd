"""The result of :func:`credit_recovery.fit_fixed_effects`: labelled coefficients, inference, the sample used."""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Sequence

import pandas as pd

from credit_recovery.estimation.fixed_effects.formula import FixedEffectsFormula
from credit_recovery.shared.estimate_schema import estimate_row, estimates_frame

__all__ = ["FixedEffectsResult"]


@dataclass
class FixedEffectsResult:
    """Result of :func:`fit_fixed_effects`.

    Attributes
    ----------
    params, std_errors, df, pvalues : pandas.Series
        Coefficients, standard errors, degrees of freedom of the t reference
        (``inf`` = normal) and p-values (H0: coefficient = 0), indexed by
        regressor name. For ``cov_type='wild'`` the p-values are the
        bootstrap p-values and ``std_errors`` the CR1 standard errors.
    cov : pandas.DataFrame
        Covariance matrix of the coefficients.
    ci : pandas.DataFrame
        Confidence intervals (``ci_low``, ``ci_high``) at ``level``.
    nobs : int
        Observations used (after dropping missing values and singletons).
    n_clusters : int or None
    n_dropped_missing, n_dropped_singletons : int
    k_dof : int
        The K of the small-sample factor (regressors + counted fixed-effect
        degrees of freedom); ``k_absorbed`` are all degrees of freedom that the
        fixed effects absorb.
    small_sample_factor : float
        Factor applied to the raw sandwich (1 if ``small_sample=False``).
    bootstrap : dict
        For ``cov_type='wild'``: per term, ``t_obs``, ``t_star`` (draws under
        H0: coefficient = 0), ``reps``.
    used : pandas.Series of bool
        The estimation sample: one entry per row of the input data, indexed
        like it, True for the ``nobs`` rows the fit used (no missing value in a
        used column, non-zero weight, not a singleton). ``data[res.used]`` are
        the rows behind the estimates.
    collinear : tuple of str
        Regressors of the formula dropped because they are collinear (after
        absorbing the fixed effects) with earlier ones; empty if none. The
        coefficients are those of the formula without them.
    notes : tuple of str
        Messages about the fit (e.g. which regressors were dropped and why).
    """

    spec: FixedEffectsFormula
    params: pd.Series
    std_errors: pd.Series
    df: pd.Series
    pvalues: pd.Series
    cov: pd.DataFrame
    ci: pd.DataFrame
    cov_type: str
    level: float
    nobs: int
    n_clusters: int | None
    n_dropped_missing: int
    n_dropped_singletons: int
    k_dof: int
    k_absorbed: int
    small_sample_factor: float
    cluster: str | None = None
    bootstrap: dict[str, dict[str, Any]] = field(default_factory=dict)
    used: pd.Series | None = None
    collinear: tuple[str, ...] = ()
    notes: tuple[str, ...] = ()

    @property
    def tstats(self) -> pd.Series:
        return self.params / self.std_errors

    @property
    def residual_df(self) -> int:
        """Residual degrees of freedom of the (weighted) least-squares fit, :math:`N - K_a` (observations used
        minus the regressors and every degree of freedom the fixed effects absorb), whatever ``cov_type``."""
        return int(self.nobs - self.k_absorbed)

    @property
    def fixed_effects(self) -> str:
        return self.spec.fe_label

    def tidy(self) -> pd.DataFrame:
        """One row per coefficient: term, estimate, std_error, statistic, df, p_value, ci_low, ci_high."""
        return pd.DataFrame({
            "term": list(self.params.index),
            "estimate": self.params.to_numpy(),
            "std_error": self.std_errors.to_numpy(),
            "statistic": self.tstats.to_numpy(),
            "df": self.df.to_numpy(),
            "p_value": self.pvalues.to_numpy(),
            "ci_low": self.ci["ci_low"].to_numpy(),
            "ci_high": self.ci["ci_high"].to_numpy(),
        })

    def to_rows(
        self,
        treatment: str | Sequence[str] | None = None,
        *,
        outcome: str | None = None,
        estimand_id: str = "",
        estimand: str = "",
        sample: str = "",
        estimator: str = "fixed_effects_ols",
    ) -> pd.DataFrame:
        """Rows of the tidy estimate schema (:data:`credit_recovery.ESTIMATE_COLUMNS`).

        Parameters
        ----------
        treatment : str or sequence of str, optional
            Coefficient(s) to report; all regressors (not the intercept) by default.
        outcome : str, optional
            Defaults to the formula's outcome.
        """
        if treatment is None:
            terms = [t for t in self.params.index if t != "Intercept"]
        else:
            terms = [treatment] if isinstance(treatment, str) else list(treatment)
        unknown = [t for t in terms if t not in self.params.index]
        if unknown:
            raise ValueError(f"treatment {unknown} is not a coefficient; coefficients are {list(self.params.index)}")
        rows = []
        for t in terms:
            df = float(self.df[t])
            row = estimate_row(
                outcome=outcome or self.spec.outcome, treatment=t, estimand=estimand,
                estimator=estimator, sample=sample, estimate=float(self.params[t]),
                std_error=float(self.std_errors[t]), n=self.nobs, estimand_id=estimand_id,
                fixed_effects=self.spec.fe_label, cov_type=self.cov_type,
                n_clusters=self.n_clusters, df=df if math.isfinite(df) else None, level=self.level,
                residual_df=self.residual_df,
            )
            row["p_value"] = float(self.pvalues[t])
            row["ci_low"] = float(self.ci.loc[t, "ci_low"])
            row["ci_high"] = float(self.ci.loc[t, "ci_high"])
            rows.append(row)
        return estimates_frame(rows)

    def summary(self) -> str:
        head = (
            f"{self.spec.outcome} ~ {' + '.join(self.spec.regressors)} | {self.spec.fe_label}; "
            f"cov_type={self.cov_type}, N={self.nobs}, clusters={self.n_clusters}, "
            f"dropped: {self.n_dropped_missing} missing, {self.n_dropped_singletons} singletons"
        )
        return "\n".join([head, *self.notes, self.tidy().to_string(index=False)])
