"""Abadie-Imbens standard errors for the matched ATT without covariates, after matching with replacement.

The ``models`` rule's row "nearest-neighbour matching, WLS" (sample ``matched``) is the simple matching
estimator. With ``matching.replace``, ``models.matched_variance`` chooses its standard error:
``abadie_imbens`` (the default) is the Abadie-Imbens (2006) variance from the match structure with the
Abadie-Imbens (2016) adjustment for the estimated logit propensity score
(:func:`credit_recovery.estimation.abadie_imbens.abadie_imbens_att`; conditional variances and
covariances estimated by matching on the matching distance within arm and ``matching.exact`` stratum,
J = 4 units, the function's default); ``abadie_imbens_unadjusted`` leaves the adjustment out (the score
taken as known); ``hc3`` keeps the WLS row's HC3 standard errors, which treat the matching weights as
fixed. With ``models.matched_bias_correction`` (the default) the Abadie-Imbens row is the bias-corrected
matching estimator (Abadie-Imbens 2011: the propensity model's covariates, dummies for categories, as
the regression covariates), labelled :data:`MATCHED_BC_ESTIMATOR`. The row with covariates
(g-computation) keeps HC3 either way. Simulation evidence for the choices is in ``docs/matching.md``.
"""
from __future__ import annotations

import warnings
from typing import Any, Mapping, Sequence

import pandas as pd

from credit_recovery.estimation.abadie_imbens import estimate_att_ai
from credit_recovery.shared.estimate_schema import estimates_frame
from credit_recovery.shared.model_matrix import design_matrix
from credit_recovery.specs.estimands import OCR_ESTIMANDS

__all__ = ["propensity_covariates", "abadie_imbens_estimates", "with_abadie_imbens", "MATCHED_ESTIMATOR",
           "MATCHED_BC_ESTIMATOR"]

#: The estimator label of the unadjusted matched ATT (:func:`credit_recovery.estimation.att.estimate_att`).
MATCHED_ESTIMATOR = "nearest-neighbour matching, WLS"
#: The label of the same row bias-corrected (Abadie-Imbens 2011).
MATCHED_BC_ESTIMATOR = "nearest-neighbour matching, bias-corrected"


def propensity_covariates(scores: pd.DataFrame, covariates: Sequence[str]) -> list[str]:
    """The propensity model's covariates: each of ``covariates`` followed by its ``<name>_missing``
    indicator when the (imputed) scores have one (:func:`credit_recovery.data.imputation.impute_missing`)."""
    return [x for c in covariates for x in ([c, f"{c}_missing"] if f"{c}_missing" in scores.columns else [c])]


def abadie_imbens_estimates(scores: pd.DataFrame, pairs: pd.DataFrame, outcomes: Sequence[str],
                            matching: Mapping[str, Any], treatment: str = "online", adjust: bool = True,
                            bias_correct: bool = False) -> pd.DataFrame:
    """The matched ATT without covariates with Abadie-Imbens standard errors, one row per outcome.

    Parameters
    ----------
    scores : DataFrame
        Every unit of the propensity model (``results/matching/propensity.parquet``): imputed
        covariates, outcomes, ``propensity`` (fitted logit probabilities) and the matching distance;
        its index labels are the ones ``pairs`` uses.
    pairs : DataFrame
        :attr:`credit_recovery.design.matching.MatchResult.pairs`.
    outcomes : sequence of str
    matching : mapping
        The ``matching`` config section (covariates, distance, exact, ratio).
    adjust : bool
        Apply the Abadie-Imbens (2016) adjustment for the estimated score.
    bias_correct : bool
        The bias-corrected matching estimator (Abadie-Imbens 2011) on the propensity model's covariates
        (its design matrix without the intercept), labelled :data:`MATCHED_BC_ESTIMATOR`.
    """
    X = design_matrix(scores, propensity_covariates(scores, matching["covariates"]), drop_first=True, intercept=True)
    ps = {"ps_design": X, "propensity": "propensity"} if adjust else {}
    data, label = scores, MATCHED_ESTIMATOR
    if bias_correct:
        Z = X.drop(columns=X.columns[0]).add_prefix("_bc_")
        data, label = scores.join(Z), MATCHED_BC_ESTIMATOR
        ps["bias_adjust"] = list(Z.columns)
    rows = []
    for y in outcomes:
        try:
            rows.append(estimate_att_ai(data, pairs, y, treatment, estimator=label, sample="matched",
                                        estimand_id=OCR_ESTIMANDS.get(y, ""), metric=matching["distance"],
                                        strata=list(matching["exact"]) or None, ratio=int(matching["ratio"]), **ps))
        except ValueError as err:  # e.g. a sparse outcome: a control's conditional variance has no neighbour
            warnings.warn(f"matched ATT of {y!r}: no Abadie-Imbens standard error ({err}); the row keeps HC3",
                          stacklevel=2)
    return estimates_frame(pd.concat(rows, ignore_index=True) if rows else [])


def with_abadie_imbens(estimates: pd.DataFrame, scores: pd.DataFrame, pairs: pd.DataFrame,
                       outcomes: Sequence[str], matching: Mapping[str, Any], treatment: str = "online",
                       adjust: bool = True, bias_correct: bool = False) -> pd.DataFrame:
    """``estimates`` with each unadjusted matched row replaced by its Abadie-Imbens row (same place).

    Without ``bias_correct`` the estimate is unchanged when no outcome is missing; with missing outcomes it
    is the matching estimator over the complete pairs (each treated unit's observed controls, equally weighted). An
    outcome whose Abadie-Imbens variance cannot be estimated (a matched control with no other control
    with the outcome in its stratum, in tiny or sparse samples) keeps its HC3 row, with a warning.
    """
    ai = abadie_imbens_estimates(scores, pairs, outcomes, matching, treatment, adjust,
                                 bias_correct).set_index("outcome")
    out = estimates.copy()
    for i in out.index[(out["estimator"] == MATCHED_ESTIMATOR) & (out["sample"] == "matched")]:
        if out.at[i, "outcome"] not in ai.index:  # no Abadie-Imbens standard error: the HC3 row stays
            continue
        new = ai.loc[out.at[i, "outcome"]]
        for col in ai.columns:
            out.at[i, col] = new[col]
    return estimates_frame(out)
