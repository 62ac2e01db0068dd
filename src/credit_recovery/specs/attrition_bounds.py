"""Lee (2009) bounds on the matched ATT of each outcome: the ``attrition`` rule's answer to outcomes missing
not at random (response weights, :mod:`credit_recovery.design.response`, cover missing at random).

:func:`lee_bounds_table` runs :func:`credit_recovery.estimation.lee_bounds.lee_bounds_interval` on the
matched sample with its match weights, per outcome; :func:`public_lee_bounds` keeps the rows a public
report may show. See docs/attrition.md.
"""
from __future__ import annotations

from typing import Sequence

import numpy as np
import pandas as pd

from credit_recovery.estimation.lee_bounds import lee_bounds_interval
from credit_recovery.shared.model_matrix import binary_treatment

__all__ = ["LEE_COLUMNS", "lee_bounds_table", "public_lee_bounds"]

#: Columns of :func:`lee_bounds_table`.
LEE_COLUMNS = ["sample", "outcome", "n_online_observed", "n_classroom_observed", "response_online",
               "response_classroom", "trimmed_arm", "trim_share", "lower", "upper", "ci_low", "ci_high",
               "se_lower", "se_upper", "bootstrap", "level"]


def lee_bounds_table(matched: pd.DataFrame, outcomes: Sequence[str], treatment: str = "online",
                     weights: str = "weights", cluster: str | None = None, reps: int = 499, seed: int = 1,
                     level: float = 0.95) -> pd.DataFrame:
    """Lee (2009) bounds on the matched ATT of each outcome, for outcomes missing not at random.

    The bounds (:func:`credit_recovery.estimation.lee_bounds.lee_bounds_interval`) need monotone
    response instead of missing at random: they bound the matched online recoverers' effect among those
    who would have the outcome in either arm, trimming the arm that responds more (weighted by the match
    weights). The interval is Imbens-Manski's from a bootstrap over ``cluster`` (units when ``None``)
    that holds the match fixed. Rates in percent; one row per outcome with an observed value in each arm.
    """
    d = np.asarray(binary_treatment(matched, treatment, both_values=False)) == 1
    w = matched[weights].to_numpy(float)
    rows = []
    for y in outcomes:
        v = matched[y].to_numpy(float)
        r = np.isfinite(v)
        if not ((d & r).any() and (~d & r).any()):
            continue
        b = lee_bounds_interval(v, d.astype(int), w, None if cluster is None else matched[cluster].to_numpy(),
                                reps=reps, seed=seed, level=level)
        rows.append({"sample": "matched", "outcome": y, "n_online_observed": int((d & r).sum()),
                     "n_classroom_observed": int((~d & r).sum()), "response_online": 100 * b.response_treated,
                     "response_classroom": 100 * b.response_control,
                     "trimmed_arm": {"treated": "online", "control": "classroom"}.get(b.trimmed_arm, ""),
                     "trim_share": b.trim_share, "lower": b.lower, "upper": b.upper, "ci_low": b.ci_low,
                     "ci_high": b.ci_high, "se_lower": b.se_lower, "se_upper": b.se_upper,
                     "bootstrap": f"{reps} draws, clusters: {cluster or 'units'}", "level": level})
    return pd.DataFrame(rows, columns=LEE_COLUMNS)


def public_lee_bounds(table: pd.DataFrame, min_cell_size: int = 10) -> pd.DataFrame:
    """The rows of a :func:`lee_bounds_table` whose observed students number at least ``min_cell_size`` in
    each arm (the bounds are trimmed means: a small arm's extreme values would show)."""
    ok = (table["n_online_observed"] >= min_cell_size) & (table["n_classroom_observed"] >= min_cell_size)
    return table[ok].reset_index(drop=True)
