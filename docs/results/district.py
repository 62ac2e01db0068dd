"""The scripts of docs/results/ share this: a simulated district of a Monte Carlo scenario, matched as the pipeline
matches (:func:`credit_recovery.specs.drivers.match_cohort` with the config's matching options)."""
from credit_recovery.data.cohort import build_cohort
from credit_recovery.shared.config import defaults
from credit_recovery.specs.drivers import match_cohort
from credit_recovery.synthetic.generator import simulate_district
from credit_recovery.truth.montecarlo import scenario_settings


def matched_district(cfg, scenario, seed, scale):
    """``(simulation result, cohort, propensity table, match result)`` of one replicate district."""
    res = simulate_district(scenario_settings(cfg, scenario, seed, scale), None, cfg.get("cohort"))
    cohort = build_cohort(res.tables, cfg.get("cohort")).cohort
    data, _, m = match_cohort(cohort, {**defaults("matching"), **cfg["matching"]})
    return res, cohort, data, m
