"""The engagement stage against the synthetic district's planted truth (the ``engagement_truth`` rule).

:func:`engagement_truth` compares the recovered user types with the planted ones (adjusted Rand
index, share of each planted type given its own name) and the idle share -> pass estimate
(:data:`credit_recovery.engagement.models.IDLE_PASS_ESTIMAND`) with its planted value.
"""
from __future__ import annotations

from typing import Any, Mapping, Sequence

import numpy as np
import pandas as pd
from sklearn.metrics import adjusted_rand_score

from credit_recovery.engagement.models import IDLE_PASS_ESTIMAND

__all__ = ["engagement_truth"]


def engagement_truth(types: pd.DataFrame, planted: pd.DataFrame, estimates: pd.DataFrame,
                     truth: Sequence[Mapping[str, Any]], *, min_ari: float = 0.8) -> pd.DataFrame:
    """Recovered user types and the idle-share association against the planted truth.

    Parameters
    ----------
    types : DataFrame
        Recovered types (``student_id, course_record_id, type``).
    planted : DataFrame
        ``results/truth/types.parquet`` (``student_id, course_record_id, user_type``).
    estimates : DataFrame
        Tidy estimate rows (the ``engagement`` part).
    truth : sequence of mapping
        ``results/truth/truth.json`` records (``estimand_id``, ``value``).
    min_ari : float
        Target adjusted Rand index.

    Returns
    -------
    DataFrame
        ``check, type, estimate, ci_low, ci_high, target, passes, n``: the
        adjusted Rand index of recovered vs planted types (``passes`` when
        ``>= min_ari``), the share of each planted type given its own name,
        and the ``engagement_idle_pass`` estimate against its planted value
        (``passes`` when the CI covers it).

    Notes
    -----
    The adjusted Rand index compares the two partitions of the student-courses
    found in both tables (chance agreement 0, identical partitions 1); it does
    not depend on the names.
    """
    m = types[["student_id", "course_record_id", "type"]].merge(
        planted[["student_id", "course_record_id", "user_type"]], on=["student_id", "course_record_id"], how="inner")
    rows = []
    ari = float(adjusted_rand_score(m["user_type"], m["type"])) if len(m) else float("nan")
    rows.append({"check": "types_adjusted_rand_index", "type": "", "estimate": ari, "ci_low": np.nan,
                 "ci_high": np.nan, "target": float(min_ari), "passes": bool(ari >= min_ari), "n": len(m)})
    for t, g in m.groupby("user_type", sort=True):
        share = float((g["type"] == t).mean())
        rows.append({"check": "planted_type_recovered_share", "type": str(t), "estimate": share, "ci_low": np.nan,
                     "ci_high": np.nan, "target": np.nan, "passes": bool(share >= 0.5), "n": len(g)})
    values = {r["estimand_id"]: float(r["value"]) for r in truth if "estimand_id" in r and "value" in r}
    est = estimates[(estimates["estimand_id"] == IDLE_PASS_ESTIMAND)]
    for _, e in est.iterrows():
        v = values.get(IDLE_PASS_ESTIMAND, np.nan)
        rows.append({"check": "idle_pass_ci_covers_truth", "type": "", "estimate": float(e["estimate"]),
                     "ci_low": float(e["ci_low"]), "ci_high": float(e["ci_high"]), "target": v,
                     "passes": bool(e["ci_low"] <= v <= e["ci_high"]), "n": int(e["n"])})
    return pd.DataFrame(rows, columns=["check", "type", "estimate", "ci_low", "ci_high", "target", "passes", "n"])
