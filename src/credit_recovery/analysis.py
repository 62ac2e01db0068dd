"""Effect estimates drawn by the pipeline's models rule, and their comparison with planted truth."""
from __future__ import annotations

from typing import Sequence

import numpy as np
import pandas as pd
import statsmodels.api as sm

from credit_recovery.estimates import estimate_row, estimates_frame

#: Outcome -> estimand id of online vs classroom recovery.
OCR_ESTIMANDS = {o: f"ocr_{o}" for o in ("math", "reading", "credits", "gpa", "credit_recovered")}


def naive_estimates(cohort: pd.DataFrame, outcomes: Sequence[str], treatment: str = "online") -> pd.DataFrame:
    """Naive comparison: difference in mean outcomes, no matching, no fixed effects.

    Notes
    -----
    OLS of ``y = a + b·online + e`` over all cohort units with the outcome,
    heteroskedasticity-robust (HC1) standard errors; ``b`` is the raw
    difference in means, kept beside the designed estimates to show how much
    the design changes the answer.
    """
    rows = []
    for y in outcomes:
        d = cohort[[y, treatment]].dropna()
        X = sm.add_constant(d[treatment].astype(float))
        fit = sm.OLS(d[y].astype(float), X).fit(cov_type="HC1")
        rows.append(estimate_row(
            estimand_id=OCR_ESTIMANDS.get(y, ""), outcome=y, treatment=treatment,
            estimand="ATT", estimator="naive difference in means (OLS)", sample="cohort",
            fixed_effects="none", cov_type="HC1", estimate=fit.params[treatment], std_error=fit.bse[treatment],
            n=len(d), df=fit.df_resid,
        ))
    return estimates_frame(rows)


def estimate_samples(cohort: pd.DataFrame, outcomes: Sequence[str], sample: str) -> pd.DataFrame:
    """The units behind each estimate: one row per (sample, outcome, unit) with a non-missing outcome."""
    parts = []
    for y in outcomes:
        d = cohort.loc[cohort[y].notna(), ["student_id", "recovery_record_id", "online"]]
        parts.append(d.assign(sample=sample, outcome=y))
    out = pd.concat(parts, ignore_index=True)
    return out[["sample", "outcome", "student_id", "recovery_record_id", "online"]]


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
    The truth of an ``ocr_*`` estimate is the mean individual effect over the
    online units of its sample; of a ``mentor_*`` estimate, over the online
    units with a supportive mentor. ``covers`` is ``ci_low <= truth <= ci_high``.
    """
    ue = unit_effects.rename(columns={"course_record_id": "recovery_record_id"})
    rows = []
    for _, e in estimates[estimates["estimand_id"] != ""].iterrows():
        eid = e["estimand_id"]
        if eid not in ue.columns:
            continue
        units = samples[(samples["sample"] == e["sample"]) & (samples["outcome"] == e["outcome"])]
        u = ue.merge(units[["student_id", "recovery_record_id"]], on=["student_id", "recovery_record_id"])
        mask = u["online"].to_numpy(bool)
        if eid.startswith("mentor_"):
            mask = mask & u["supportive"].to_numpy(bool)
        truth = float(u.loc[mask, eid].mean()) if mask.any() else float("nan")
        rows.append({
            "estimand_id": eid, "outcome": e["outcome"], "estimator": e["estimator"], "sample": e["sample"],
            "truth": truth, "estimate": e["estimate"], "ci_low": e["ci_low"], "ci_high": e["ci_high"],
            "bias": e["estimate"] - truth, "covers": bool(e["ci_low"] <= truth <= e["ci_high"]),
            "n_truth": int(mask.sum()),
        })
    cols = ["estimand_id", "outcome", "estimator", "sample", "truth", "estimate", "ci_low", "ci_high", "bias",
            "covers", "n_truth"]
    return pd.DataFrame(rows, columns=cols)


def matched_estimates(matched: pd.DataFrame, outcomes: Sequence[str], covariates: Sequence[str] | None = None,
                      treatment: str = "online", replace: bool = False) -> pd.DataFrame:
    """ATT of online vs classroom recovery on the matched sample, one row per outcome.

    Uses :func:`credit_recovery.estimate_att` (weighted regression, pair-clustered
    standard errors), without and, if ``covariates`` are given, with covariate
    adjustment.
    """
    from credit_recovery.att import estimate_att

    rows = []
    for y in outcomes:
        d = matched[matched[y].notna()]
        for covs in ([None, list(covariates)] if covariates else [None]):
            r = estimate_att(d, y, treatment, covs, replace=replace)
            r = dict(r.iloc[0]) if isinstance(r, pd.DataFrame) else dict(r)
            r["estimand_id"] = OCR_ESTIMANDS.get(y, "")
            r["sample"] = "matched"
            rows.append(r)
    return estimates_frame(rows)


def run_models(cohort: pd.DataFrame, matched: pd.DataFrame, outcomes: Sequence[str],
               covariates: Sequence[str], replace: bool = False) -> tuple[pd.DataFrame, pd.DataFrame]:
    """All estimates of the models stage and the units behind each (for validation against truth)."""
    est = pd.concat([naive_estimates(cohort, outcomes),
                     matched_estimates(matched, outcomes, covariates, replace=replace)], ignore_index=True)
    samples = pd.concat([estimate_samples(cohort, outcomes, "cohort"),
                         estimate_samples(matched, outcomes, "matched")], ignore_index=True)
    return estimates_frame(est), samples
