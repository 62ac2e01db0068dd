"""What the specifications estimate (estimand ids) and the units behind each estimate.

Every specification returns ``(estimates, samples)``: tidy estimate rows and,
per estimate, its units (``sample, outcome, student_id, recovery_record_id,
online``), so that the truth comparison can recompute the planted effect over
exactly those units (:mod:`credit_recovery.truth.comparison`).
"""
from __future__ import annotations

import pandas as pd

__all__ = ["OCR_ESTIMANDS", "MENTOR_ESTIMANDS", "SAMPLE_COLUMNS", "units_frame", "stack_samples"]

#: Outcome -> estimand id of online vs classroom recovery.
OCR_ESTIMANDS = {o: f"ocr_{o}" for o in ("math", "reading", "credits", "gpa", "credit_recovered")}
#: Outcome -> estimand id of a supportive vs a non-supportive mentor (planted in the synthetic district).
MENTOR_ESTIMANDS = {"credit_recovered": "mentor_credit_recovered", "math": "mentor_math"}
#: Columns of a samples table.
SAMPLE_COLUMNS = ["sample", "outcome", "student_id", "recovery_record_id", "online"]


def units_frame(rows: pd.DataFrame, sample: str, outcome: str) -> pd.DataFrame:
    """``sample, outcome, student_id, recovery_record_id, online`` of the units behind an estimate."""
    u = rows[["student_id", "recovery_record_id", "online"]].drop_duplicates(["student_id", "recovery_record_id"])
    u = u.assign(sample=sample, outcome=outcome, online=u["online"].astype(int))
    return u[SAMPLE_COLUMNS]


def stack_samples(parts: list[pd.DataFrame]) -> pd.DataFrame:
    """One samples table from :func:`units_frame` parts: duplicates dropped, sorted by sample, outcome, unit."""
    cols = SAMPLE_COLUMNS
    if not parts:
        return pd.DataFrame(columns=cols)
    out = pd.concat(parts, ignore_index=True).drop_duplicates(["sample", "outcome", "student_id",
                                                               "recovery_record_id"])
    return out.sort_values(cols[:4], kind="stable").reset_index(drop=True)
