"""The publishable estimate table (``results/public/estimates.csv``): rows on too few students suppressed.

Drawn from the aggregate estimate table only; the brief and the appendix
show the same public version.
"""
from __future__ import annotations

import pandas as pd

from credit_recovery.shared.estimate_schema import ESTIMATE_COLUMNS

__all__ = ["public_estimates"]


def public_estimates(estimates: pd.DataFrame, min_cell_size: int = 10) -> pd.DataFrame:
    """Estimates fit to publish: rows resting on fewer than ``min_cell_size`` students are suppressed.

    Suppressed rows keep their labels; their numbers become empty and
    ``suppressed`` is true.
    """
    out = estimates[list(ESTIMATE_COLUMNS)].copy()
    small = out["n"].astype(float) < min_cell_size
    for c in ("estimate", "std_error", "ci_low", "ci_high", "p_value", "residual_df"):  # residual df: about n
        out[c] = out[c].astype(float).where(~small)
    out["n"] = out["n"].astype("Int64").where(~small)
    out["suppressed"] = small.to_numpy()
    return out
