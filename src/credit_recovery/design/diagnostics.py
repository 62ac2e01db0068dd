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
        Output of :func:`credit_recovery.design.balance.balance_before_after`.
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


def imbalance_report(gate: pd.DataFrame, threshold: float) -> str:
    """The balance gate's verdict in words: each flagged covariate's |SMD| before and after matching.

    Empty when nothing is flagged. The message ends with how to relax the gate (``matching.smd_threshold``
    or ``matching.stop_on_imbalance: false``) or, better, to change the design (``matching.ratio``,
    ``caliper``, ``exact``).
    """
    flagged = gate[gate["flagged"]]
    if flagged.empty:
        return ""
    rows = "; ".join(f"{r.variable} {r.smd_before:+.3f} -> {r.smd_after:+.3f}" for r in flagged.itertuples())
    return (f"balance gate: {len(flagged)} of {len(gate)} covariates have |SMD| > {threshold:g} after matching "
            f"(SMD before -> after): {rows}. Change the design (matching.ratio, caliper, exact) or relax the "
            f"gate (matching.smd_threshold, or matching.stop_on_imbalance: false to flag only).")


def common_support(data: pd.DataFrame, treatment: str, distance: str) -> pd.DataFrame:
    """The common-support region of the distance and how many units fall outside it.

    Notes
    -----
    The region is ``[max(min_1, min_0), min(max_1, max_0)]`` where ``min_g`` and
    ``max_g`` are the smallest and largest distance in group ``g`` (the
    "min-max" rule of Dehejia and Wahba). Units outside it have no comparable
    unit in the other group; matching with a caliper drops most of them.

    Returns
    -------
    DataFrame
        One row per group (``treated``, ``control``) with ``n``, ``min``,
        ``max``, ``support_low``, ``support_high``, ``n_below`` and ``n_above``.
    """
    d = data[distance].astype(float)
    t = data[treatment].astype(float) == 1
    lo = max(d[t].min(), d[~t].min())
    hi = min(d[t].max(), d[~t].max())
    rows = []
    for name, mask in (("treated", t), ("control", ~t)):
        x = d[mask]
        rows.append({"group": name, "n": int(mask.sum()), "min": float(x.min()), "max": float(x.max()),
                     "support_low": float(lo), "support_high": float(hi),
                     "n_below": int((x < lo).sum()), "n_above": int((x > hi).sum())})
    return pd.DataFrame(rows)
