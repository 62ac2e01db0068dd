"""A synthetic state's estimates against each district's planted truth (docs/state.md).

Each district's rows are compared with the truth over their own samples
(:func:`~credit_recovery.truth.comparison.truth_vs_estimates`), as in a single district; the pooled rows
with the state's truth (the districts' unit effects stacked). :func:`coverage_summary` counts, for each
district and for the pooled state, how many designed intervals (:func:`~credit_recovery.specs.estimands.designed_mask`)
cover their truth.
"""
from __future__ import annotations

from typing import Mapping

import numpy as np
import pandas as pd

from credit_recovery.shared.estimate_schema import ESTIMATE_COLUMNS, estimates_frame
from credit_recovery.specs.estimands import designed_mask
from credit_recovery.specs.state import POOLED, with_pooled
from credit_recovery.truth.comparison import truth_vs_estimates
from credit_recovery.truth.validity import implied_abs_z

__all__ = ["district_truth", "state_truth", "coverage_summary"]


def district_truth(rows: pd.DataFrame, samples: pd.DataFrame, unit_effects: pd.DataFrame,
                   district: str) -> pd.DataFrame:
    """One district's state-table rows against its truth: truth_vs_estimates rows with ``district`` in front."""
    out = truth_vs_estimates(estimates_frame(rows[list(ESTIMATE_COLUMNS)]), samples, unit_effects)
    out.insert(0, "district", district)
    return out


def state_truth(districts: Mapping[str, pd.DataFrame], pooled: pd.DataFrame) -> pd.DataFrame:
    """Every district's comparison (config order), then the pooled design's rows (``district`` ``"pooled"``) of
    the estimators and samples the districts have."""
    return with_pooled(districts, pooled)


def coverage_summary(table: pd.DataFrame) -> pd.DataFrame:
    """Designed intervals with a truth, and how many cover it: one row per district, the pooled state, and
    ``all districts`` (the districts' intervals together).

    Columns ``district, n_intervals, n_covered, coverage, mean_abs_bias, worst_z`` (``worst_z``: the largest
    |estimate - truth| in standard errors, the half-width of the 95% interval read as 1.96 SE).
    """
    rows = table[designed_mask(table) & table["truth"].notna()
                 & ~table["estimand_id"].astype(str).str.startswith("placebo_")]

    def summary(name: str, g: pd.DataFrame) -> dict:
        z = implied_abs_z(g[(g["ci_high"] - g["ci_low"]) > 0]).max()
        return {"district": name, "n_intervals": len(g), "n_covered": int(g["covers"].sum()),
                "coverage": float(g["covers"].mean()) if len(g) else np.nan,
                "mean_abs_bias": float(g["bias"].abs().mean()) if len(g) else np.nan, "worst_z": float(z)}

    out = [summary(d, rows[rows["district"] == d]) for d in dict.fromkeys(rows["district"])]
    out.append(summary("all districts", rows[rows["district"] != POOLED]))
    return pd.DataFrame(out)
