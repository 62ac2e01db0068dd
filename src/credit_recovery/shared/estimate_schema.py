"""One tidy schema for every estimate the pipeline produces.

Every table, figure and report is drawn from rows of this shape, so that a
number in a report can always be traced to one row of
``results/models/estimates.csv``.
"""
from __future__ import annotations

import math
from typing import Any, Iterable, Mapping

import numpy as np
import pandas as pd
from scipy import stats

#: Column order of the tidy estimate table.
ESTIMATE_COLUMNS: tuple[str, ...] = (
    "estimand_id",
    "outcome",
    "treatment",
    "estimand",
    "estimator",
    "sample",
    "fixed_effects",
    "cov_type",
    "estimate",
    "std_error",
    "ci_low",
    "ci_high",
    "p_value",
    "n",
    "n_clusters",
    "residual_df",
    "share_treated_dropped",
    "subgroup",
)

#: Columns a row may leave out (they are then missing): ``residual_df``, the residual degrees of freedom of the
#: (weighted) least-squares fit whose coefficient the row reports (observations minus regressors and absorbed
#: fixed effects; the robustness values of :mod:`credit_recovery.specs.sensitivity` need it), missing for other
#: estimators; the share of the target population's treated units
#: that the design dropped (matching: no control within the caliper or the exact stratum), for the estimates
#: whose sample is a subset of the treated population they describe.
#: ``subgroup``: the subgroup an estimate describes, ``<dimension>=<level>`` (:mod:`credit_recovery.data.subgroups`),
#: empty for the whole sample.
OPTIONAL_COLUMNS: tuple[str, ...] = ("residual_df", "share_treated_dropped", "subgroup")

_TEXT = ("estimand_id", "outcome", "treatment", "estimand", "estimator", "sample", "fixed_effects", "cov_type",
         "subgroup")
_FLOAT = ("estimate", "std_error", "ci_low", "ci_high", "p_value", "residual_df", "share_treated_dropped")
_INT = ("n", "n_clusters")


def estimate_row(
    *,
    outcome: str,
    treatment: str,
    estimand: str,
    estimator: str,
    sample: str,
    estimate: float,
    std_error: float,
    n: int,
    estimand_id: str = "",
    fixed_effects: str = "none",
    cov_type: str = "",
    n_clusters: int | None = None,
    df: float | None = None,
    level: float = 0.95,
    share_treated_dropped: float | None = None,
    residual_df: float | None = None,
) -> dict[str, Any]:
    """Build one tidy estimate row with a Wald confidence interval and p-value.

    Parameters
    ----------
    df : float, optional
        Degrees of freedom for a t reference distribution; the normal
        distribution is used when omitted.
    level : float
        Confidence level of the interval.
    share_treated_dropped : float, optional
        Share of the treated units of the population the estimate describes that the design dropped
        (e.g. matched ATT: treated units without a control in the caliper); missing where nothing is dropped
        by design.
    residual_df : float, optional
        Residual degrees of freedom of the least-squares fit behind a regression coefficient (observations
        minus regressors and absorbed fixed effects, whatever the covariance estimator); missing for
        estimators that are not a regression coefficient.

    Notes
    -----
    ``ci = estimate ± q * std_error`` with ``q`` the ``(1 + level) / 2``
    quantile of :math:`t_{df}` (or the standard normal), and
    ``p = 2 * (1 - F(|estimate / std_error|))``.
    """
    ref = stats.t(df) if df is not None and np.isfinite(df) else stats.norm()
    q = float(ref.ppf(0.5 + level / 2))
    est = float(estimate)
    se = float(std_error)
    if se > 0 and math.isfinite(se):
        p = float(2 * ref.sf(abs(est / se)))
    else:
        p = float("nan")
    return {
        "estimand_id": estimand_id or "",
        "outcome": outcome,
        "treatment": treatment,
        "estimand": estimand,
        "estimator": estimator,
        "sample": sample,
        "fixed_effects": fixed_effects or "none",
        "cov_type": cov_type,
        "estimate": est,
        "std_error": se,
        "ci_low": est - q * se,
        "ci_high": est + q * se,
        "p_value": p,
        "n": int(n),
        "n_clusters": None if n_clusters is None else int(n_clusters),
        "residual_df": None if residual_df is None else float(residual_df),
        "share_treated_dropped": None if share_treated_dropped is None else float(share_treated_dropped),
        "subgroup": "",
    }


def estimates_frame(rows: Iterable[Mapping[str, Any]] | pd.DataFrame) -> pd.DataFrame:
    """Return rows as a DataFrame with exactly :data:`ESTIMATE_COLUMNS`, typed.

    Raises
    ------
    ValueError
        If a required column is missing or an unknown column is present.
    """
    df = rows.copy() if isinstance(rows, pd.DataFrame) else pd.DataFrame(list(rows))
    if df.empty and len(df.columns) == 0:
        df = pd.DataFrame(columns=list(ESTIMATE_COLUMNS))
    for c in OPTIONAL_COLUMNS:
        if c not in df.columns:
            df[c] = "" if c in _TEXT else np.nan
    missing = [c for c in ESTIMATE_COLUMNS if c not in df.columns]
    extra = [c for c in df.columns if c not in ESTIMATE_COLUMNS]
    if missing or extra:
        raise ValueError(
            f"estimate rows do not follow the tidy schema: missing {missing}, unknown {extra}; "
            f"allowed columns are {list(ESTIMATE_COLUMNS)}"
        )
    df = df[list(ESTIMATE_COLUMNS)]
    for c in _TEXT:
        df[c] = df[c].astype(object).fillna("").astype(str)
    for c in _FLOAT:
        df[c] = pd.to_numeric(df[c], errors="coerce").astype("float64")
    for c in _INT:
        df[c] = pd.to_numeric(df[c], errors="coerce").astype("Int64")
    return df.reset_index(drop=True)


def collect_estimates(parts: Iterable[pd.DataFrame]) -> pd.DataFrame:
    """Concatenate stages' estimate tables into one, in the tidy schema.

    Raises
    ------
    ValueError
        If two rows describe the same estimate (same estimand_id, outcome,
        treatment, estimand, estimator, sample, fixed_effects and cov_type).
    """
    frames = [estimates_frame(p) for p in parts]
    out = pd.concat(frames, ignore_index=True) if frames else estimates_frame([])
    key = list(_TEXT)
    dup = out.duplicated(key, keep=False)
    if dup.any():
        raise ValueError(f"{int(dup.sum())} estimate rows share the same description, e.g.\n"
                         f"{out.loc[dup, key].head().to_string()}")
    return out
