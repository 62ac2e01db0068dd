"""The drivers of the pipeline's model rules, and the two comparisons without a specification module.

* :func:`run_models` (rule ``models``): the naive comparison
  (:func:`naive_estimates`), the matched ATT without and with covariate
  adjustment (:func:`matched_estimates`) and the matched school-by-year FE
  specification, complete-case and response-weighted (:mod:`credit_recovery.specs.matched`);
* :func:`run_panel_models` (rule ``models_panel``): the student fixed-effects
  panel and event study (:mod:`credit_recovery.specs.panel`) and the same-cohort
  Callaway-Sant'Anna event-time estimates (:mod:`credit_recovery.specs.staggered`);
* :func:`run_mentor_models` (rule ``models_mentor``): mentor support
  (:mod:`credit_recovery.specs.mentor`) and the three-way IPW comparison
  (:mod:`credit_recovery.specs.ipw`).

Each returns ``(estimates, samples)`` (:mod:`credit_recovery.specs.estimands`).
The comparison of the estimates with the planted truth is
:mod:`credit_recovery.truth.comparison`.
"""
from __future__ import annotations

import warnings
from typing import Any, Mapping, Sequence

import pandas as pd
from statsmodels.regression.linear_model import OLS
from statsmodels.tools.tools import add_constant

from credit_recovery.data.imputation import impute_missing
from credit_recovery.design.matching import MatchResult, match
from credit_recovery.design.propensity import fit_propensity
from credit_recovery.estimation.att import RankDeficientError, estimate_att
from credit_recovery.shared.estimate_schema import estimate_row, estimates_frame
from credit_recovery.specs.estimands import OCR_ESTIMANDS, SAMPLE_COLUMNS, stack_samples
from credit_recovery.specs.ipw import three_way_ipw_estimates
from credit_recovery.specs.matched import matched_fe_estimates, placebo_estimates
from credit_recovery.specs.matched_variance import with_abadie_imbens
from credit_recovery.specs.mentor import course_test_stats, mentor_estimates
from credit_recovery.specs.options import resolve_model_options
from credit_recovery.specs.panel import build_panel, panel_estimates
from credit_recovery.specs.staggered import staggered_estimates

__all__ = ["treated_dropped_share", "modelled_outcomes", "numeric_covariates", "naive_estimates", "estimate_samples", "matched_estimates", "run_models", "run_panel_models",
           "run_mentor_models", "match_cohort", "matched_design"]


def modelled_outcomes(cohort: pd.DataFrame, outcomes: Sequence[str], treatment: str = "online") -> list[str]:
    """The ``outcomes`` observed for some online and some classroom unit of ``cohort``; a warning names the others.

    An extract without the optional ``diplomas`` table has ``graduated`` missing for every unit (and a short
    extract may have no unit whose two-year window fits): those outcomes are left out, not fitted.
    """
    keep, left = [], []
    for y in outcomes:
        has = cohort[y].notna() if y in cohort.columns else pd.Series(False, index=cohort.index)
        (keep if has.any() and cohort.loc[has, treatment].nunique() == 2 else left).append(y)
    if left:
        warnings.warn(f"outcome(s) {left} left out: not observed for both online and classroom units "
                      "(graduated needs the optional diplomas table)", stacklevel=2)
    return keep


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
        X = add_constant(d[treatment].astype(float))
        fit = OLS(d[y].astype(float), X).fit(cov_type="HC1")
        rows.append(estimate_row(
            estimand_id=OCR_ESTIMANDS.get(y, ""), outcome=y, treatment=treatment,
            estimand="difference in means, online - classroom", estimator="naive difference in means (OLS)",
            sample="cohort", fixed_effects="none", cov_type="HC1", estimate=fit.params[treatment],
            std_error=fit.bse[treatment], n=len(d), df=fit.df_resid,
        ))
    return estimates_frame(rows)


def estimate_samples(cohort: pd.DataFrame, outcomes: Sequence[str], sample: str) -> pd.DataFrame:
    """The units behind each estimate: one row per (sample, outcome, unit) with a non-missing outcome."""
    parts = []
    for y in outcomes:
        d = cohort.loc[cohort[y].notna(), ["student_id", "recovery_record_id", "online"]]
        parts.append(d.assign(sample=sample, outcome=y))
    out = pd.concat(parts, ignore_index=True)
    return out[SAMPLE_COLUMNS]


def matched_estimates(matched: pd.DataFrame, outcomes: Sequence[str], covariates: Sequence[str] | None = None,
                      treatment: str = "online", replace: bool = False) -> pd.DataFrame:
    """ATT of online vs classroom recovery on the matched sample, one row per outcome.

    Uses :func:`credit_recovery.estimate_att` (weighted regression, pair-clustered
    standard errors), without and, if ``covariates`` are given, with covariate
    adjustment; an adjusted design that is rank deficient (tiny samples) gives no adjusted row.
    """
    rows = []
    for y in outcomes:
        d = matched[matched[y].notna()]
        # g-computation interacts covariates with treatment: keep those that vary within both groups
        varying = [c for c in (covariates or []) if d.groupby(treatment)[c].nunique().min() > 1]
        for covs in ([None, varying] if varying else [None]):
            try:
                r = estimate_att(d, y, treatment, covs, replace=replace)
            except RankDeficientError:
                if covs is None:
                    raise
                continue
            r = dict(r.iloc[0]) if isinstance(r, pd.DataFrame) else dict(r)
            r["estimand_id"] = OCR_ESTIMANDS.get(y, "")
            r["sample"] = "matched"
            rows.append(r)
    return estimates_frame(rows)


def match_cohort(cohort: pd.DataFrame, matching: Mapping[str, Any],
                 treatment: str = "online") -> tuple[pd.DataFrame, list[str], MatchResult]:
    """Impute, fit the propensity model and match, as the ``propensity`` and ``match`` rules do in one process.

    Returns ``(data, covariates, match_result)``: the cohort with imputed covariates, ``propensity`` and
    ``logit`` (every unit the matching drew from), the covariate list after imputation (missing-value
    indicators added) and the :class:`~credit_recovery.design.matching.MatchResult`. ``matching`` is the
    ``matching`` config section (``covariates``, ``distance``, ``ratio``, ``replace``, ``caliper``,
    ``std_caliper``, ``exact``, ``order``, ``seed``).
    """
    data, covariates = impute_missing(cohort, matching["covariates"])
    ps = fit_propensity(data, treatment, covariates)
    data["propensity"] = ps.propensity
    data["logit"] = ps.logit
    m = match(data, treatment, matching["distance"], ratio=matching["ratio"], replace=matching["replace"],
              caliper=matching["caliper"], std_caliper=matching["std_caliper"], exact=matching["exact"] or None,
              order=matching["order"], seed=matching["seed"])
    return data, covariates, m


def matched_design(cohort: pd.DataFrame, matching: Mapping[str, Any], models: Mapping[str, Any] | None
                   ) -> tuple[pd.DataFrame, list[str], MatchResult, pd.DataFrame, pd.DataFrame]:
    """The rules propensity -> match -> models in one process: :func:`match_cohort`, then :func:`run_models`
    with the ``models`` section's outcomes and options.

    Returns ``(data, covariates, match_result, estimates, samples)``.
    """
    data, covariates, m = match_cohort(cohort, matching)
    opt = resolve_model_options(models)
    est, samples = run_models(cohort, m.data, opt["outcomes"], numeric_covariates(m.data, covariates),
                              replace=matching["replace"], options=opt, design_covariates=covariates,
                              design={"scores": data, "pairs": m.pairs, "matching": matching})
    return data, covariates, m, est, samples


def numeric_covariates(matched: pd.DataFrame, covariates: Sequence[str]) -> list[str]:
    """The covariates of the matched ATT's regression adjustment: numeric ones that vary in ``matched``."""
    return [c for c in covariates if matched[c].dtype.kind in "biuf" and matched[c].nunique() > 1]


def run_models(cohort: pd.DataFrame, matched: pd.DataFrame, outcomes: Sequence[str],
               covariates: Sequence[str], replace: bool = False,
               options: Mapping[str, Any] | None = None,
               design_covariates: Sequence[str] | None = None,
               design: Mapping[str, Any] | None = None) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Online vs classroom estimates of the ``models`` rule and the units behind each.

    Parameters
    ----------
    cohort, matched : DataFrame
        The cohort and the matched sample (with imputed covariates).
    outcomes : sequence of str
    covariates : sequence of str
        Numeric covariates for the matched ATT's regression adjustment.
    replace : bool
        Whether matching was with replacement.
    options : mapping, optional
        ``models`` config section; enables the matched school-by-year FE
        specification (:func:`credit_recovery.specs.matched.matched_fe_estimates`).
    design_covariates : sequence of str, optional
        Covariates of the FE specification (categoricals allowed); default ``covariates``.
        With ``options``, ``options["adjust_for"]`` (default ``failed_courses_pre``:
        the core courses failed in the failure year, the credits there are to
        recover) is added to both covariate lists.
    design : mapping, optional
        ``{"scores", "pairs", "matching"}``: every unit of the propensity model, the matched pairs and the
        ``matching`` config section. With ``replace`` and ``options``, the unadjusted matched ATT gets the
        standard errors ``models.matched_variance`` names and, with ``models.matched_bias_correction``,
        the bias correction (:mod:`credit_recovery.specs.matched_variance`).

    Returns
    -------
    (estimates, samples)
        Naive (sample ``cohort``), matched ATT without and with covariates
        (``matched``) and, with ``options``, matched FE (``matched_fe``, complete
        case) and the same response-weighted (``matched_rw``: the response model
        on the FE specification's covariates, :mod:`credit_recovery.design.response`), and the matched FE
        design on ``models.placebo_outcomes`` (estimand ids ``placebo_*``, :func:`placebo_estimates`); the
        matched rows carry :func:`treated_dropped_share` in ``share_treated_dropped``.
    """
    if options is not None:
        extra = [c for c in resolve_model_options(options)["adjust_for"] if c in matched.columns]
        design_covariates = list(dict.fromkeys([*(design_covariates or covariates), *extra]))
        covariates = list(dict.fromkeys([*covariates, *extra]))
    outcomes = modelled_outcomes(cohort, outcomes)
    est = [naive_estimates(cohort, outcomes), matched_estimates(matched, outcomes, covariates, replace=replace)]
    opt = resolve_model_options(options) if options is not None else {"matched_variance": "hc3"}
    if replace and design is not None and opt["matched_variance"] != "hc3":
        est[1] = with_abadie_imbens(est[1], design["scores"], design["pairs"], outcomes, design["matching"],
                                    adjust=opt["matched_variance"] == "abadie_imbens",
                                    bias_correct=bool(opt["matched_bias_correction"]))
    samples = [estimate_samples(cohort, outcomes, "cohort"), estimate_samples(matched, outcomes, "matched")]
    if options is not None:
        fe_covariates = design_covariates or covariates
        for response in (None, fe_covariates):  # complete case, then response-weighted (matched_rw)
            e, s = matched_fe_estimates(matched, outcomes, fe_covariates, options, response_covariates=response)
            est.append(e)
            samples.append(s)
        placebo = [o for o in opt["placebo_outcomes"] if o in matched.columns and matched[o].notna().any()]
        if placebo:  # pre-failure outcomes through the same design: null unless the groups still differ
            e, s = placebo_estimates(matched, placebo, fe_covariates, options)
            est.append(e)
            samples.append(s)
    out = estimates_frame(pd.concat(est, ignore_index=True))
    out.loc[out["sample"] != "cohort", "share_treated_dropped"] = treated_dropped_share(cohort, matched)
    return out, pd.concat(samples, ignore_index=True)


def treated_dropped_share(cohort: pd.DataFrame, matched: pd.DataFrame, treatment: str = "online") -> float:
    """Share of the cohort's treated units that matching left out (no control within the caliper or the
    exact stratum): the matched ATT describes the others. Rows of ``matched`` with weight 0 do not count."""
    n_treated = int((cohort[treatment].astype(int) == 1).sum())
    kept = matched[treatment].astype(int) == 1
    if "weights" in matched.columns:
        kept &= matched["weights"].to_numpy(dtype=float) > 0
    return 1.0 - int(kept.sum()) / n_treated if n_treated else float("nan")


def run_panel_models(student_years: pd.DataFrame, course_records: pd.DataFrame, cohort: pd.DataFrame,
                     options: Mapping[str, Any] | None = None) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Student fixed-effects panel and event study (:mod:`credit_recovery.specs.panel`) and the same-cohort
    Callaway-Sant'Anna estimates (:mod:`credit_recovery.specs.staggered`, sample ``panel_cs``) for the
    configured outcomes."""
    opt = resolve_model_options(options)
    panel = build_panel(student_years, course_records, cohort)
    e1, s1 = panel_estimates(panel, opt["panel_outcomes"], opt)
    e2, s2 = staggered_estimates(panel, opt["panel_outcomes"], opt)
    return estimates_frame(pd.concat([e1, e2], ignore_index=True)), stack_samples([s1, s2])


def run_mentor_models(cohort: pd.DataFrame, events: pd.DataFrame | None, covariates: Sequence[str],
                      options: Mapping[str, Any] | None = None,
                      pass_mark: float = 60.0) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Mentor support among online takers and the three-way IPW comparison.

    Parameters
    ----------
    cohort : DataFrame
        The cohort with imputed covariates.
    events : DataFrame or None
        Platform events (for tests taken and test pass rate); ``None`` skips
        those outcomes.
    covariates : sequence of str
        Baseline covariates of the multinomial propensity model.
    options : mapping, optional
        ``models`` config section.
    pass_mark : float
        ``engagement.pass_mark``.
    """
    opt = resolve_model_options(options)
    outcomes = list(opt["mentor_outcomes"])
    stats_ = None
    if events is not None:
        stats_ = course_test_stats(events, pass_mark)
    else:
        outcomes = [y for y in outcomes if y not in ("tests_taken", "test_pass_rate")]
    e1, s1 = mentor_estimates(cohort, outcomes, stats_, opt)
    three = modelled_outcomes(cohort, opt["outcomes"])
    extra = [c for c in opt["adjust_for"] if c in cohort.columns]
    e2, s2 = three_way_ipw_estimates(cohort, three, list(dict.fromkeys([*covariates, *extra])), opt)
    return (estimates_frame(pd.concat([e1, e2], ignore_index=True)),
            pd.concat([s1, s2], ignore_index=True))
