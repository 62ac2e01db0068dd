"""Each estimate against the planted truth of the synthetic district, over the estimate's own sample."""
from __future__ import annotations

import pandas as pd

from credit_recovery.specs.estimands import truth_mask

__all__ = ["truth_vs_estimates"]


def truth_vs_estimates(estimates: pd.DataFrame, samples: pd.DataFrame, unit_effects: pd.DataFrame) -> pd.DataFrame:
    """Compare each estimate that names an estimand with the truth over its own sample.

    Parameters
    ----------
    estimates : DataFrame
        Tidy estimate rows.
    samples : DataFrame
        ``sample, outcome, student_id, recovery_record_id`` of each estimate's units.
    unit_effects : DataFrame
        ``results/truth/unit_effects.parquet``.

    Notes
    -----
    The truth of an estimate is the mean individual effect over the units of
    its own sample that its estimand's population names in the estimand
    registry (:func:`credit_recovery.specs.estimands.truth_mask`): the online
    units for the ``ocr_*`` samples, the online units with a supportive mentor
    for the mentor samples. A placebo estimate (``placebo_*``, an outcome measured before the failure) has
    truth 0. ``covers`` is ``ci_low <= truth <= ci_high``.
    """
    ue = unit_effects.rename(columns={"course_record_id": "recovery_record_id"})
    rows = []
    for _, e in estimates[estimates["estimand_id"] != ""].iterrows():
        eid = e["estimand_id"]
        placebo = str(eid).startswith("placebo_")  # a pre-failure outcome: the treatment cannot move it
        if eid not in ue.columns and not placebo:
            continue
        units = samples[(samples["sample"] == e["sample"]) & (samples["outcome"] == e["outcome"])]
        if "subgroup" in samples.columns:
            units = units[units["subgroup"].fillna("") == e.get("subgroup", "")]
        u = ue.merge(units[["student_id", "recovery_record_id"]], on=["student_id", "recovery_record_id"])
        mask = truth_mask(e["sample"], u["online"].to_numpy(bool), u["supportive"].to_numpy(bool))
        truth = (0.0 if placebo else float(u.loc[mask, eid].mean())) if mask.any() else float("nan")
        rows.append({
            "estimand_id": eid, "outcome": e["outcome"], "estimator": e["estimator"], "sample": e["sample"],
            "truth": truth, "estimate": e["estimate"], "ci_low": e["ci_low"], "ci_high": e["ci_high"],
            "bias": e["estimate"] - truth, "covers": bool(e["ci_low"] <= truth <= e["ci_high"]),
            "n_truth": int(mask.sum()), "subgroup": e.get("subgroup", ""),
        })
    cols = ["estimand_id", "outcome", "estimator", "sample", "truth", "estimate", "ci_low", "ci_high", "bias",
            "covers", "n_truth", "subgroup"]
    return pd.DataFrame(rows, columns=cols)
