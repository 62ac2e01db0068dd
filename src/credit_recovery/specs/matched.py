r"""Online vs classroom recovery on the matched sample with school-by-year fixed effects (``matched_fe``), and the
same model response-weighted for outcomes missing at random given the covariates (``matched_rw``)."""
from __future__ import annotations

from typing import Any, Mapping, Sequence

import pandas as pd

from credit_recovery.design.response import response_weights
from credit_recovery.estimation.fixed_effects import fit_fixed_effects
from credit_recovery.shared.estimate_schema import estimates_frame
from credit_recovery.specs.coding import covariate_design
from credit_recovery.specs.estimands import OCR_ESTIMANDS, stack_samples, units_frame
from credit_recovery.specs.options import fe_options, resolve_model_options

__all__ = ["matched_fe_estimates", "fit_matched_fe", "placebo_estimates", "PLACEBO_ESTIMAND"]


#: The ``estimand`` of the placebo rows.
PLACEBO_ESTIMAND = "ATT on an outcome measured before the failure (placebo: zero unless the groups still differ)"


def placebo_estimates(matched: pd.DataFrame, outcomes: Sequence[str], covariates: Sequence[str],
                      options: Mapping[str, Any] | None = None) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The matched school-by-year FE design on placebo outcomes (``models.placebo_outcomes``).

    The outcomes are measured in the year before the failure (``math_pre2``, ``reading_pre2``, ``gpa_pre2``
    of the cohort), which the delivery of the next year's recovery cannot have changed: their estimates
    (estimand id ``placebo_<outcome>``, truth 0) test whether matched online and classroom recoverers still
    differ in ways the covariates of the failure year do not capture. Same rows and units as
    :func:`matched_fe_estimates`.
    """
    est, samples = matched_fe_estimates(matched, outcomes, covariates, options)
    est["estimand_id"] = [f"placebo_{o}" for o in est["outcome"]]
    est["estimand"] = PLACEBO_ESTIMAND
    return est, samples


def fit_matched_fe(design: pd.DataFrame, y: str, names: Sequence[str], opt: Mapping[str, Any], weights: str,
                   bootstrap_draws: Mapping[Any, Any] | None = None):
    """The matched school-by-year FE model of outcome ``y`` on a coded design (:func:`covariate_design`):
    WLS of ``y`` on ``online`` and the coded covariates ``names`` with school-by-year effects, clustered by
    ``opt["cluster"]`` with the resolved ``models`` options' covariance (the wild bootstrap for ``online``
    only, with ``bootstrap_draws`` when given). Returns the
    :class:`~credit_recovery.estimation.fixed_effects.result.FixedEffectsResult`."""
    rhs = " + ".join(["online", *names])
    kw = fe_options(opt)
    wild = kw["cov_type"] == "wild"
    return fit_fixed_effects(design, f"{y} ~ {rhs} | school_id^school_year", weights=weights, cluster=opt["cluster"],
                             never_drop=["online"], bootstrap_terms=["online"] if wild else None,
                             bootstrap_draws=bootstrap_draws if wild else None, **kw)


def matched_fe_estimates(matched: pd.DataFrame, outcomes: Sequence[str], covariates: Sequence[str],
                         options: Mapping[str, Any] | None = None, *,
                         weights: str = "weights",
                         response_covariates: Sequence[str] | None = None) -> tuple[pd.DataFrame, pd.DataFrame]:
    r"""Online vs classroom recovery on the matched sample with school-by-year fixed effects.

    Parameters
    ----------
    matched : DataFrame
        Matched units (``results/matching/matched.parquet``) with match weights,
        imputed covariates, ``school_id`` and ``school_year``.
    outcomes : sequence of str
    covariates : sequence of str
        Baseline covariates (categoricals become dummies; ``school_id`` and
        ``school_year`` are absorbed by the fixed effects).
    options : mapping, optional
        ``models`` config section (cluster, cov_type, bootstrap settings,
        ``response_trim``).
    weights : str
        The match-weight column.
    response_covariates : sequence of str, optional
        Given: the response-weighted variant (sample ``matched_rw``): each
        outcome's weights are the match weights times the stabilized inverse
        probability that the outcome is observed, from a logistic model of
        response on these pre-treatment covariates in each arm
        (:func:`credit_recovery.design.response.response_weights`).

    Returns
    -------
    (estimates, samples)
        One row per outcome (estimand ``ATT``, ``estimand_id`` ``ocr_<outcome>``,
        sample ``matched_fe``, or ``matched_rw``) and its units: the rows the
        fit used; for ``matched_rw`` also the matched units whose outcome is
        missing, in the school-year cells of the fit (its estimand is the ATT
        over all of them, respondents or not).

    Notes
    -----
    Weighted least squares with the match weights :math:`w_i`,

    .. math:: y_i = \beta\,online_i + x_i'\gamma + \alpha_{s(i),t(i)} + e_i,

    :math:`\alpha_{s,t}` school-by-recovery-year effects. Singleton school-year
    cells are dropped, and covariates collinear with earlier ones after
    absorbing the fixed effects (never ``online``), by the estimator; the
    samples are the rows it used. Standard errors clustered by
    ``options["cluster"]`` (school) with ``options["cov_type"]``; the
    headline is the wild cluster bootstrap (WCR, Webb weights) because one
    district has about ten high schools; ``cr2`` is the Bell-McCaffrey
    alternative (on the weighted model).

    Response-weighted (``matched_rw``): the same fit with weights
    :math:`w_i a_i`, :math:`a_i = R_i \bar r_{d(i)} / \hat\pi_i`. Complete-case
    ``matched_fe`` needs the respondents of each arm to be like its
    nonrespondents (missing completely at random within arm); ``matched_rw``
    needs the outcome to be missing at random given the response covariates
    and the arm, and a correct response model.
    """
    opt = resolve_model_options(options)
    design, names = covariate_design(matched, covariates, absorbed=("school_id", "school_year"))
    rw = response_covariates is not None
    sample = "matched_rw" if rw else "matched_fe"
    estimator = "matched WLS, covariates, school-by-year FE" + (", response-weighted" if rw else "")
    rows, samples = [], []
    for y in outcomes:
        w = weights
        if rw:
            a = response_weights(matched, y, list(response_covariates), "online", weights, float(opt["response_trim"]))
            design["_response_weights"] = design[weights].to_numpy(float) * a.to_numpy()
            w = "_response_weights"
        res = fit_matched_fe(design, y, names, opt, w)
        rows.append(res.to_rows("online", outcome=y, estimand_id=OCR_ESTIMANDS.get(y, ""), estimand="ATT",
                                sample=sample, estimator=estimator))
        units = design[res.used]
        if rw:  # the nonrespondents of the fit's school-year cells belong to the estimand too
            cells = set(zip(units["school_id"], units["school_year"]))
            units = design[[c in cells for c in zip(design["school_id"], design["school_year"])]]
        samples.append(units_frame(units, sample, y))
    return estimates_frame(pd.concat(rows, ignore_index=True)), stack_samples(samples)
