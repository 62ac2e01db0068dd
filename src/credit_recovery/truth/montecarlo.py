"""Monte Carlo study of the pipeline's estimators against planted truth, over a suite of scenarios.

A *scenario* (``monte_carlo.scenarios``) is a named overlay of the ``simulation`` section: a world the
estimators were or were not built for (heterogeneous or dynamic effects, school shocks, differential
attrition, mentor selection, unobserved confounding, random planted effects; see docs/validity.md).
:func:`scenario_settings` builds a replicate's simulation settings (overlay, scale, seed and, for a
scenario with ``effect_ranges``, planted effects drawn uniformly from those ranges with a seed derived
from the replicate seed); :func:`run_replicate` simulates that district and runs the whole design
in-process (cohort, propensity score, matching, every outcome specification), returning each estimate
beside the truth over its own sample and whether the estimator's assumptions hold there (the estimand
registry, :func:`credit_recovery.specs.estimands.assumptions_hold`);
:func:`summarize_replicates` turns many replicates into bias, RMSE, CI coverage and power with their
Monte Carlo standard errors per scenario, scale, estimand and estimator, and :func:`validity_matrix`
selects the columns of ``results/monte_carlo/validity_matrix.csv``;
:mod:`credit_recovery.truth.figures` draws them. The Snakemake rules ``monte_carlo_replicate`` (one job
per scenario x scale x replicate) and ``monte_carlo`` (the summary) are in
``workflow/rules/monte_carlo.smk``.
"""
from __future__ import annotations

import copy
import time
from typing import Any, Callable, Iterable, Mapping

import numpy as np
import pandas as pd

from credit_recovery.data.cohort import build_cohort
from credit_recovery.specs.drivers import matched_design, run_mentor_models, run_panel_models
from credit_recovery.specs.estimands import DESIGNED, assumptions_hold, designed_mask
from credit_recovery.specs.options import resolve_model_options
from credit_recovery.synthetic.generator import simulate_district
from credit_recovery.synthetic.settings import SESSION_KEYS
from credit_recovery.truth.comparison import truth_vs_estimates
from credit_recovery.truth.jobs import replicate_jobs

__all__ = ["run_replicate", "run_replicates", "summarize_replicates", "validity_matrix", "scenario_settings",
           "draw_effects", "merge_overlay", "replicate_jobs", "DESIGNED", "VALIDITY_COLUMNS", "designed_mask"]

# DESIGNED and designed_mask (the registry's designed estimators) live in credit_recovery.specs.estimands, where
# the sensitivity rule (a lower layer) reads them too; they stay importable from here.

#: Columns of the validity matrix (:func:`validity_matrix`).
VALIDITY_COLUMNS = ["scenario", "scale", "estimand_id", "estimator", "sample", "assumptions_hold", "replicates",
                    "bias", "bias_mcse", "rmse", "coverage", "coverage_mcse", "mean_ci_width", "power"]

#: Salt mixed with the replicate seed to draw a ``random`` scenario's planted effects.
EFFECT_DRAW_SALT = 0x5EED


def merge_overlay(base: Mapping[str, Any], overlay: Mapping[str, Any]) -> dict[str, Any]:
    """``base`` with ``overlay`` merged in: nested mappings merge key by key, other values replace."""
    out = copy.deepcopy(dict(base))
    for key, value in overlay.items():
        if isinstance(value, Mapping) and isinstance(out.get(key), Mapping):
            out[key] = merge_overlay(out[key], value)
        else:
            out[key] = copy.deepcopy(value)
    return out


def draw_effects(ranges: Mapping[str, Any], seed: int) -> dict[str, float]:
    """Planted effects drawn uniformly from ``{estimand_id: [low, high]}``, in sorted estimand order.

    The generator is seeded with ``(seed, EFFECT_DRAW_SALT)``, so a replicate's draws depend on its seed
    only (not on the other replicates, nor on the simulation's own random stream).
    """
    rng = np.random.default_rng([int(seed), EFFECT_DRAW_SALT])
    return {k: float(rng.uniform(float(ranges[k][0]), float(ranges[k][1]))) for k in sorted(ranges)}


def scenario_settings(config: Mapping[str, Any], scenario: str, seed: int, scale: str) -> dict[str, Any]:
    """The ``simulation`` section of one replicate: the config's, the scenario's overlay, seed and scale.

    Parameters
    ----------
    config : mapping
        The study config (``simulation`` and ``monte_carlo.scenarios``).
    scenario : str
        A key of ``monte_carlo.scenarios``.
    seed : int
        The replicate seed (``simulation.seed``).
    scale : str
        ``simulation.scale``.

    Notes
    -----
    The overlay's ``effect_ranges`` (if any) are not a simulation setting: each
    planted effect it names is drawn by :func:`draw_effects` from the replicate
    seed and replaces ``effects.<estimand_id>``.
    """
    scenarios = dict(config.get("monte_carlo", {}).get("scenarios", {"default": {}}))
    if scenario not in scenarios:
        raise KeyError(f"no Monte Carlo scenario {scenario!r}; scenarios are {sorted(scenarios)}")
    overlay = dict(scenarios[scenario] or {})
    ranges = overlay.pop("effect_ranges", None) or {}
    sim = merge_overlay(config.get("simulation", {}), overlay)
    if ranges:
        sim = merge_overlay(sim, {"effects": draw_effects(ranges, seed)})
    sim["seed"] = int(seed)
    sim["scale"] = str(scale)
    return sim


def _estimate(cfg: Mapping[str, Any], result: Any) -> pd.DataFrame:
    """Every specification on a simulated district, as :func:`truth_vs_estimates` rows."""
    tables = result.tables
    cohort = build_cohort(tables, cfg.get("cohort")).cohort
    data, covariates, _, est, samples = matched_design(cohort, cfg["matching"], cfg.get("models"))
    opt = resolve_model_options(cfg.get("models"))
    parts = [(est, samples),
             run_panel_models(tables["student_years"], tables["course_records"], cohort, opt),
             run_mentor_models(data, None, covariates, opt)]
    est = pd.concat([p[0] for p in parts], ignore_index=True)
    samples = pd.concat([p[1] for p in parts], ignore_index=True)
    return truth_vs_estimates(est, samples, result.unit_effects)


def run_replicate(config: Mapping[str, Any], seed: int, scenario: str = "default",
                  scale: str | None = None) -> pd.DataFrame:
    """Simulate one district of a scenario and estimate everything in-process; estimates beside their truth.

    Parameters
    ----------
    config : mapping
        The study config (sections ``simulation``, ``matching``, ``models``,
        ``engagement``, ``monte_carlo``, ``cohort``); missing sections take defaults.
    seed : int
        Seed of the replicate district (``simulation.seed``).
    scenario : str
        Key of ``monte_carlo.scenarios`` (default ``"default"``: no overlay).
    scale : str, optional
        ``simulation.scale`` (default: the first of ``monte_carlo.scales``, else the config's).

    Returns
    -------
    DataFrame
        :func:`credit_recovery.truth.comparison.truth_vs_estimates` rows (estimand_id,
        outcome, estimator, sample, truth, estimate, ci_low, ci_high, bias,
        covers, n_truth) plus ``planted`` (the planted effect of the estimand),
        ``assumptions_hold`` (registry verdict for this estimand in this
        district), ``scenario``, ``scale``, ``seed``.

    Notes
    -----
    Same steps and options as the pipeline's rules simulate -> cohort ->
    propensity -> match -> models / models_panel / models_mentor ->
    truth_comparison, without files; the mentor outcomes from platform events
    (tests taken, pass rate) have no planted truth and are skipped.
    """
    cfg = copy.deepcopy(dict(config))
    mc = dict(cfg.get("monte_carlo", {}))
    scale = scale or (list(mc.get("scales") or []) or [cfg.get("simulation", {}).get("scale", "default")])[0]
    sim = scenario_settings(cfg, scenario, seed, scale)
    eng = {k: v for k, v in cfg.get("engagement", {}).items() if k in SESSION_KEYS}
    result = simulate_district(sim, eng, cfg.get("cohort"))
    out = _estimate(cfg, result)
    effects = result.settings["effects"]
    out["planted"] = [float(effects.get(e, np.nan)) for e in out["estimand_id"]]
    out["assumptions_hold"] = [assumptions_hold(s, sim, e) for s, e in zip(out["sample"], out["estimand_id"])]
    return out.assign(scenario=scenario, scale=sim["scale"], seed=int(seed))


def run_replicates(config: Mapping[str, Any], seeds: Iterable[int], scenario: str = "default",
                   scale: str | None = None, log: Callable[[str], None] | None = None) -> pd.DataFrame:
    """:func:`run_replicate` for each seed of ``seeds`` (one scenario, one scale), stacked in seed order.

    ``log``, when given, receives one line per replicate with its wall time.
    """
    parts = []
    for seed in seeds:
        start = time.perf_counter()
        parts.append(run_replicate(config, seed, scenario, scale))
        if log is not None:
            log(f"scenario {scenario}, scale {parts[-1]['scale'].iat[0]}, replicate {seed}: "
                f"{len(parts[-1])} estimates in {time.perf_counter() - start:.1f} s")
    return pd.concat(parts, ignore_index=True)


def summarize_replicates(rows: pd.DataFrame) -> pd.DataFrame:
    r"""Bias, RMSE, CI coverage and power per scenario, scale, estimand, estimator and sample.

    Parameters
    ----------
    rows : DataFrame
        Concatenated :func:`run_replicate` outputs. The world columns
        ``scenario``, ``scale`` (and ``confounding``, in older replicate tables)
        group the rows when present.

    Returns
    -------
    DataFrame
        The world columns, ``estimand_id, outcome, estimator, sample, designed,
        assumptions_hold, replicates, mean_truth, mean_estimate, bias,
        bias_mcse, rmse, sd_estimate, coverage, coverage_mcse, mean_ci_width,
        power, power_mcse``, sorted.

    Notes
    -----
    With :math:`e_r = \hat\theta_r - \theta_r` (estimate minus the truth over
    the replicate's own sample), bias :math:`= \bar e`, its Monte Carlo SE
    :math:`s_e/\sqrt{R}`, RMSE :math:`= \sqrt{\overline{e^2}}`, coverage the
    share of replicates whose CI contains :math:`\theta_r`, MCSE
    :math:`\sqrt{c(1-c)/R}`; power the share whose CI excludes 0 (at the planted
    effect), MCSE :math:`\sqrt{p(1-p)/R}`. ``assumptions_hold`` is true when
    the registry says so in every replicate of the cell (missing: true).
    """
    world = [c for c in ("scenario", "scale", "confounding") if c in rows.columns]
    keys = world + ["estimand_id", "outcome", "estimator", "sample"]
    d = rows.dropna(subset=["estimate", "truth"]).copy()
    d["err"] = d["estimate"] - d["truth"]
    d["width"] = d["ci_high"] - d["ci_low"]
    d["covers"] = d["covers"].astype(float)
    d["rejects"] = ((d["ci_low"] > 0) | (d["ci_high"] < 0)).astype(float)
    d["holds"] = d["assumptions_hold"].astype(bool) if "assumptions_hold" in d else True
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
        "power": g["rejects"].mean(),
        "assumptions_hold": g["holds"].all(),
    }).reset_index()
    out["coverage_mcse"] = np.sqrt(out["coverage"] * (1 - out["coverage"]) / out["replicates"])
    out["power_mcse"] = np.sqrt(out["power"] * (1 - out["power"]) / out["replicates"])
    out["designed"] = designed_mask(out)
    cols = keys + ["designed", "assumptions_hold", "replicates", "mean_truth", "mean_estimate", "bias", "bias_mcse",
                   "rmse", "sd_estimate", "coverage", "coverage_mcse", "mean_ci_width", "power", "power_mcse"]
    return out[cols].sort_values(keys, kind="stable").reset_index(drop=True)


def validity_matrix(summary: pd.DataFrame) -> pd.DataFrame:
    """The validity matrix: :data:`VALIDITY_COLUMNS` of a :func:`summarize_replicates` table, in its order."""
    return summary[VALIDITY_COLUMNS].reset_index(drop=True)
