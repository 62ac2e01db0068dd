"""The randomized design's estimates against the planted experiment's truths (synthetic district only).

The simulator's experiment mode writes truth records ``itt_<outcome>`` (mean over the randomized units of
the effect of the assignment) and ``cace_<outcome>`` (mean effect of online recovery over the compliers);
each ``randomized`` estimate row is scored against the record of its estimand id.
"""
from __future__ import annotations

from typing import Any, Iterable, Mapping

import numpy as np
import pandas as pd

__all__ = ["TRUTH_CHECK_COLUMNS", "experiment_truth_check"]

TRUTH_CHECK_COLUMNS = ["estimand_id", "outcome", "estimate", "std_error", "ci_low", "ci_high", "truth", "bias",
                       "z", "covers", "n", "n_truth"]


def experiment_truth_check(estimates: pd.DataFrame, truth: Iterable[Mapping[str, Any]]) -> pd.DataFrame:
    """One row per ``randomized`` estimate with a truth record (no subgroup): the truth, the error, the error
    in standard errors (``z``) and whether the interval covers the truth."""
    rec = {r["estimand_id"]: r for r in truth if not r.get("subgroup") and
           str(r.get("estimand_id", "")).startswith(("itt_", "cace_"))}
    est = estimates[estimates["sample"] == "randomized"]
    rows = []
    for r in est.itertuples():
        t = rec.get(r.estimand_id)
        if t is None:
            continue
        value = float(t["value"])
        rows.append({"estimand_id": r.estimand_id, "outcome": r.outcome, "estimate": r.estimate,
                     "std_error": r.std_error, "ci_low": r.ci_low, "ci_high": r.ci_high, "truth": value,
                     "bias": r.estimate - value, "z": (r.estimate - value) / r.std_error if r.std_error > 0 else np.nan,
                     "covers": bool(r.ci_low <= value <= r.ci_high), "n": int(r.n), "n_truth": int(t.get("n", 0))})
    return pd.DataFrame(rows, columns=TRUTH_CHECK_COLUMNS)
