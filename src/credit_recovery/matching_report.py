"""Glue between matching results and the balance stage of the pipeline."""
from __future__ import annotations

import pandas as pd

UNIT_KEY = "recovery_record_id"


def matched_weights(full: pd.DataFrame, matched: pd.DataFrame, key: str = UNIT_KEY) -> pd.Series:
    """Matching weights aligned to ``full`` (0 for units left unmatched)."""
    w = full[key].map(matched.set_index(key)["weights"]).fillna(0.0).astype(float)
    w.name = "weights"
    return w


def balance_gate(table: pd.DataFrame, threshold: float) -> pd.DataFrame:
    """Flag covariates whose |SMD| after matching exceeds ``threshold``.

    Parameters
    ----------
    table : DataFrame
        Output of :func:`credit_recovery.balance.balance_before_after`.
    threshold : float
        Largest acceptable absolute SMD (What Works Clearinghouse: 0.25).
    """
    after = table[("after", "smd")].astype(float)
    out = pd.DataFrame({
        "variable": table.index.astype(str),
        "smd_before": table[("before", "smd")].astype(float).to_numpy(),
        "smd_after": after.to_numpy(),
        "wwc_after": table[("after", "wwc")].to_numpy(),
    })
    out["flagged"] = out["smd_after"].abs() > threshold
    return out
