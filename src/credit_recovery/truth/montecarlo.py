"""Monte Carlo study of the pipeline's estimators against planted truth.

:func:`run_replicate` simulates one synthetic district and runs the whole
design in-process (cohort, propensity score, matching, every outcome
specification), returning each estimate beside the truth over its own sample;
:func:`summarize_replicates` turns many replicates into bias, RMSE and CI
coverage per estimator, estimand and confounding level;
:func:`credit_recovery.truth.figures.mc_plot` draws them. The Snakemake rule
``monte_carlo`` fans the replicates out as separate jobs
(``workflow/rules/monte_carlo.smk``).
"""
from __future__ import annotations

import copy
from typing import Any, Mapping

import numpy as np
import pandas as pd

from credit_recovery.data.cohort import build_cohort
from credit_recovery.data.imputation import impute_missing
from credit_recovery.design.matching import match
from credit_recovery.design.propensity import fit_propensity
from credit_recovery.specs.drivers import run_mentor_models, run_models, run_panel_models
from credit_recovery.specs.options import resolve_model_options
from credit_recovery.synthetic.generator import simulate_district
from credit_recovery.truth.comparison import truth_vs_estimates

__all__ = ["run_replicate", "run_replicates", "summarize_replicates", "DESIGNED"]

#: Samples of the designed estimators (everything but the naive comparison and the
#: unadjusted matched difference): they should be unbiased without unobserved confounding.
DESIGNED: tuple[str, ...] = ("matched_fe", "panel", "panel_es", "online", "ipw3")


def run_replicate(config: Mapping[str, Any], seed: int, confounding: float | None = None,
                  scale: str | None = None) -> pd.DataFrame:
    """Simulate one district and estimate everything in-process; estimates beside their truth.

    Parameters
    ----------
    config : mapping
        The study config (sections ``simulation``, ``matching``, ``models``,
        ``engagement``, ``monte_carlo``); missing sections take defaults.
    seed : int
        Seed of the replicate district (``simulation.seed``).
    confounding : float, optional
        ``simulation.unobserved_confounding`` of this replicate (default: the config's).
    scale : str, optional
        ``simulation.scale`` (default ``monte_carlo.scale``, else the config's).

    Returns
    -------
    DataFrame
        :func:`credit_recovery.truth.comparison.truth_vs_estimates` rows (estimand_id,
        outcome, estimator, sample, truth, estimate, ci_low, ci_high, bias,
        covers, n_truth) plus ``seed``, ``confounding``, ``scale``.

    Notes
    -----
    Same steps and options as the pipeline's rules simulate -> cohort ->
    propensity -> match -> models / models_panel / models_mentor ->
    truth_comparison, without files; the mentor outcomes from platform events
    (tests taken, pass rate) have no planted truth and are skipped.
    """
    cfg = copy.deepcopy(dict(config))
    sim = dict(cfg.get("simulation", {}))
    mc = dict(cfg.get("monte_carlo", {}))
    sim["seed"] = int(seed)
    sim["scale"] = scale or mc.get("scale", sim.get("scale", "default"))
    if confounding is not None:
        sim["unobserved_confounding"] = float(confounding)
    eng = {k: v for k, v in cfg.get("engagement", {}).items()
           if k in ("session_gap_minutes", "idle_threshold_minutes", "timezone")}
    result = simulate_district(sim, eng)
    tables = result.tables
    cohort = build_cohort(tables).cohort
    mopt = cfg["matching"]
    data, covariates = impute_missing(cohort, mopt["covariates"])
    ps = fit_propensity(data, "online", covariates)
    data["propensity"] = ps.propensity
    data["logit"] = ps.logit
    m = match(data, "online", mopt["distance"], ratio=mopt["ratio"], replace=mopt["replace"],
              caliper=mopt["caliper"], std_caliper=mopt["std_caliper"], exact=mopt["exact"] or None,
              order=mopt["order"], seed=mopt["seed"])
    matched = m.data
    numeric = [c for c in covariates if matched[c].dtype.kind in "biuf" and matched[c].nunique() > 1]
    opt = resolve_model_options(cfg.get("models"))
    parts = [run_models(cohort, matched, opt["outcomes"], numeric, replace=mopt["replace"], options=opt,
                        design_covariates=covariates),
             run_panel_models(tables["student_years"], tables["course_records"], cohort, opt),
             run_mentor_models(data, None, covariates, opt)]
    est = pd.concat([p[0] for p in parts], ignore_index=True)
    samples = pd.concat([p[1] for p in parts], ignore_index=True)
    out = truth_vs_estimates(est, samples, result.unit_effects)
    return out.assign(seed=int(seed), confounding=float(sim.get("unobserved_confounding", 0.0)),
                      scale=sim["scale"])


def run_replicates(config: Mapping[str, Any], seed: int) -> pd.DataFrame:
    """:func:`run_replicate` for every level of ``monte_carlo.unobserved_confounding``, stacked.

    Each level gets its own district from the same seed (the confounder changes
    who chooses online recovery, so the districts differ beyond ``U``).
    """
    levels = dict(config.get("monte_carlo", {})).get("unobserved_confounding", [0.0])
    return pd.concat([run_replicate(config, seed, confounding=float(lev)) for lev in levels], ignore_index=True)


def summarize_replicates(rows: pd.DataFrame) -> pd.DataFrame:
    r"""Bias, RMSE and CI coverage per confounding level, estimand, estimator and sample.

    Parameters
    ----------
    rows : DataFrame
        Concatenated :func:`run_replicate` outputs.

    Returns
    -------
    DataFrame
        ``confounding, estimand_id, outcome, estimator, sample, designed,
        replicates, mean_truth, mean_estimate, bias, bias_mcse, rmse,
        sd_estimate, coverage, coverage_mcse, mean_ci_width``, sorted.

    Notes
    -----
    With :math:`e_r = \hat\theta_r - \theta_r` (estimate minus the truth over
    the replicate's own sample), bias :math:`= \bar e`, its Monte Carlo SE
    :math:`s_e/\sqrt{R}`, RMSE :math:`= \sqrt{\overline{e^2}}`, coverage the
    share of replicates whose CI contains :math:`\theta_r`, MCSE
    :math:`\sqrt{c(1-c)/R}`.
    """
    keys = ["confounding", "estimand_id", "outcome", "estimator", "sample"]
    d = rows.dropna(subset=["estimate", "truth"]).copy()
    d["err"] = d["estimate"] - d["truth"]
    d["width"] = d["ci_high"] - d["ci_low"]
    d["covers"] = d["covers"].astype(float)
    g = d.groupby(keys, sort=True)
    out = pd.DataFrame({
        "replicates": g.size(),
        "mean_truth": g["truth"].mean(),
        "mean_estimate": g["estimate"].mean(),
        "bias": g["err"].mean(),
        "bias_mcse": g["err"].std(ddof=1) / np.sqrt(g.size()),
        "rmse": np.sqrt(g["err"].apply(lambda e: float(np.mean(e.to_numpy() ** 2)))),
        "sd_estimate": g["estimate"].std(ddof=1),
        "coverage": g["covers"].mean(),
        "mean_ci_width": g["width"].mean(),
    }).reset_index()
    out["coverage_mcse"] = np.sqrt(out["coverage"] * (1 - out["coverage"]) / out["replicates"])
    out["designed"] = out["sample"].isin(DESIGNED)
    cols = keys[:3] + ["estimator", "sample", "designed", "replicates", "mean_truth", "mean_estimate", "bias",
                       "bias_mcse", "rmse", "sd_estimate", "coverage", "coverage_mcse", "mean_ci_width"]
    return out[cols].sort_values(keys, kind="stable").reset_index(drop=True)
