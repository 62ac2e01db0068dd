"""Monte Carlo scenario suite: the summary and the validity matrix against brute force, the scenario
settings, the Snakemake fan-out (dry run of the full matrix) and the quick preset end to end."""
import re

import numpy as np
import pandas as pd
import pytest
import yaml

from credit_recovery.shared.config import defaults
from credit_recovery.specs.estimands import REGISTRY
from credit_recovery.truth.figures import mc_plot, validity_heatmap
from credit_recovery.truth.montecarlo import (DESIGNED, VALIDITY_COLUMNS, draw_effects, merge_overlay,
                                              replicate_jobs, scenario_settings, summarize_replicates,
                                              validity_matrix)


def _replicates(seed=0, n=50):
    rng = np.random.default_rng(seed)
    parts = []
    for scenario, shift in (("default", 0.0), ("confounding", 0.08)):
        truth = rng.normal(-0.2, 0.01, n)
        est = truth + shift + rng.normal(0.01, 0.05, n)
        width = rng.uniform(0.05, 0.3, n)
        parts.append(pd.DataFrame({"scenario": scenario, "scale": "medium", "estimand_id": "ocr_math",
                                   "outcome": "math", "estimator": "e", "sample": "panel", "truth": truth,
                                   "estimate": est, "ci_low": est - width, "ci_high": est + width,
                                   "assumptions_hold": scenario == "default"}))
    rows = pd.concat(parts, ignore_index=True)
    rows["covers"] = (rows["ci_low"] <= rows["truth"]) & (rows["truth"] <= rows["ci_high"])
    return rows


def test_summary_and_validity_matrix_equal_brute_force():
    rows = _replicates()
    summary = summarize_replicates(rows)
    vm = validity_matrix(summary)
    assert list(vm.columns) == VALIDITY_COLUMNS and len(vm) == 2
    for scenario, g in rows.groupby("scenario"):
        s = vm.set_index("scenario").loc[scenario]
        err = (g["estimate"] - g["truth"]).to_numpy()
        r = len(g)
        c = float(np.mean((g["ci_low"] <= g["truth"]) & (g["truth"] <= g["ci_high"])))
        power = float(np.mean((g["ci_low"] > 0) | (g["ci_high"] < 0)))
        assert s["replicates"] == r
        assert s["bias"] == pytest.approx(sum(err) / r)
        assert s["bias_mcse"] == pytest.approx(np.sqrt(sum((err - err.mean()) ** 2) / (r - 1)) / np.sqrt(r))
        assert s["rmse"] == pytest.approx(np.sqrt(sum(err**2) / r))
        assert s["coverage"] == pytest.approx(c)
        assert s["coverage_mcse"] == pytest.approx(np.sqrt(c * (1 - c) / r))
        assert s["mean_ci_width"] == pytest.approx(float(np.mean(g["ci_high"] - g["ci_low"])))
        assert s["power"] == pytest.approx(power)
        assert s["assumptions_hold"] == (scenario == "default")
    assert 0 < vm["coverage"].min() < vm["coverage"].max() < 1  # the brute force is not trivial
    assert 0 < vm["power"].min() and vm["power"].max() < 1
    assert summary["designed"].all() and "cohort" not in DESIGNED
    assert set(DESIGNED) == {s for s, spec in REGISTRY.items() if spec.designed}
    mc_plot(summary)
    validity_heatmap(summary, scenarios=["confounding", "default"])


def test_summary_of_old_replicate_tables_groups_by_confounding():
    rows = _replicates().drop(columns=["scenario", "scale", "assumptions_hold"])
    rows["confounding"] = np.repeat([0.0, 1.0], 50)
    s = summarize_replicates(rows)
    assert s["confounding"].tolist() == [0.0, 1.0] and s["assumptions_hold"].all()
    mc_plot(s)


def test_scenario_settings_overlay_seed_scale_and_random_effects():
    config = {"simulation": defaults("simulation"), "monte_carlo": defaults("monte_carlo")}
    sim = scenario_settings(config, "school_shocks", 1003, "medium")
    assert sim["seed"] == 1003 and sim["scale"] == "medium" and sim["n_schools"] == 6
    assert sim["school_shocks"] == {"school_sd": 0.2, "school_year_sd": 0.1}
    assert sim["effects"] == defaults("simulation")["effects"]
    assert scenario_settings(config, "confounding", 1, "tiny")["unobserved_confounding"] == 1.0
    ranges = config["monte_carlo"]["scenarios"]["random"]["effect_ranges"]
    a, b = (scenario_settings(config, "random", s, "tiny")["effects"] for s in (1000, 1001))
    assert a == scenario_settings(config, "random", 1000, "medium")["effects"]  # the seed decides, not the scale
    assert a != b and "effect_ranges" not in scenario_settings(config, "random", 1000, "tiny")
    for k, (lo, hi) in ranges.items():
        assert lo <= a[k] <= hi
    assert a["idle_share_pass"] == defaults("simulation")["effects"]["idle_share_pass"]  # not in the ranges
    draws = pd.DataFrame([draw_effects(ranges, s) for s in range(400)])
    for k, (lo, hi) in ranges.items():  # uniform over the range: both ends reached, both signs where allowed
        assert draws[k].min() < lo + 0.05 * (hi - lo) and draws[k].max() > hi - 0.05 * (hi - lo)
    assert (draws["ocr_math"] > 0).any() and (draws["ocr_math"] < 0).any()
    assert merge_overlay({"a": {"x": 1, "y": 2}, "b": 1}, {"a": {"y": 3}, "b": [2]}) == {"a": {"x": 1, "y": 3},
                                                                                         "b": [2]}
    with pytest.raises(KeyError, match="scenarios are"):
        scenario_settings(config, "nope", 1, "tiny")


def test_every_default_scenario_is_defined_and_the_jobs_cover_scenarios_scales_seeds():
    mc = defaults("monte_carlo")
    assert {"default", "heterogeneous", "dynamic", "school_shocks", "attrition", "mentor_selection",
            "confounding", "random"} <= set(mc["scenarios"])
    assert mc["scales"] == ["medium", "default"] and mc["replicates"]["medium"] == 200
    jobs = replicate_jobs({"monte_carlo": mc})
    assert mc["batch_size"] == 10 and len(jobs) == len(mc["scenarios"]) * (20 + 10) == len(set(jobs))
    assert jobs[0] == ("default", "medium", 1000, 1009) and ("random", "default", 1090, 1099) in jobs
    seeds = [(sc, scale, s) for sc, scale, first, last in jobs for s in range(first, last + 1)]
    assert len(seeds) == len(set(seeds)) == len(mc["scenarios"]) * (200 + 100)


@pytest.mark.parametrize("reps,size,batches", [(25, 10, [(1000, 1009), (1010, 1019), (1020, 1024)]),
                                               (3, 1, [(1000, 1000), (1001, 1001), (1002, 1002)]),
                                               (2, 10, [(1000, 1001)])])
def test_replicate_batches_cover_each_seed_once_in_order(reps, size, batches):
    mc = {"scales": ["small"], "replicates": {"small": reps}, "first_seed": 1000, "batch_size": size,
          "scenarios": {"a": {}, "b": {}}}
    jobs = replicate_jobs({"monte_carlo": mc})
    assert jobs == [(sc, "small", f, l) for sc in ("a", "b") for f, l in batches]


def test_dry_run_shows_the_full_fan_out(tmp_path, run_snakemake, repo):
    cfg = yaml.safe_load((repo / "config.yaml").read_text())
    dry = run_snakemake(tmp_path, cfg, "-n", "--quiet", "rules", "--", "monte_carlo")
    counts = dict(re.findall(r"^(monte_carlo_replicate|monte_carlo)\s+(\d+)$", dry.stdout, re.M))
    mc = cfg["monte_carlo"]
    n = len(mc["scenarios"]) * sum(-(-mc["replicates"][s] // mc["batch_size"]) for s in mc["scales"])
    assert int(counts["monte_carlo_replicate"]) == n == 8 * 30 and int(counts["monte_carlo"]) == 1
    one_each = run_snakemake(tmp_path, {**cfg, "monte_carlo": {**mc, "batch_size": 1}}, "-n", "--quiet", "rules",
                             "--", "monte_carlo")  # batch_size 1: one job per replicate
    assert re.search(r"^monte_carlo_replicate\s+2400$", one_each.stdout, re.M)


@pytest.mark.slow
def test_quick_preset_runs_every_scenario_end_to_end(tmp_path, run_snakemake, quick_monte_carlo):
    cfg, run = quick_monte_carlo  # the quick preset's monte_carlo target, run once per session
    all_dry = run_snakemake(tmp_path, cfg, "-n")
    assert "monte_carlo_replicate" not in all_dry.stdout  # not part of rule all
    out = run / "results/monte_carlo"
    scenarios = list(cfg["monte_carlo"]["scenarios"])
    assert len(list((out / "replicates").glob("*/tiny/seeds_1000-1001.csv"))) == len(scenarios)
    vm = pd.read_csv(out / "validity_matrix.csv", keep_default_na=False)
    assert list(vm.columns) == VALIDITY_COLUMNS
    # scenario rows in the config's order (the fixture writes the config with sorted keys)
    assert list(dict.fromkeys(vm["scenario"])) == sorted(scenarios) and (vm["scale"] == "tiny").all()
    # a fit may be skipped in a tiny district (e.g. a rank-deficient g-computation): the matrix counts the
    # replicates each cell really has, never more than were run
    assert vm["replicates"].between(1, 2).all() and (vm["replicates"] == 2).mean() > 0.9
    for scenario, g in vm.groupby("scenario"):  # a row per scenario x estimator
        # every registered sample but the subgroups' (their own Monte Carlo: docs/results/subgroup_monte_carlo.py)
        assert set(g["sample"]) == set(REGISTRY) - {"matched_sub"}, scenario
        assert {"ocr_math", "ocr_credits", "mentor_math"} <= set(g["estimand_id"]), scenario
    holds = vm.set_index(["scenario", "estimand_id", "sample"])["assumptions_hold"].astype(str) == "True"
    assert holds["default", "ocr_math", "panel"] and holds["dynamic", "ocr_math", "panel"]
    assert not holds["confounding", "ocr_math", "matched_fe"] and holds["confounding", "ocr_math", "panel"]
    assert not holds["confounding", "ocr_credits", "panel"] and not holds["mentor_selection", "mentor_math", "online"]
    assert (out / "validity_matrix.png").is_file() and (out / "monte_carlo.png").is_file()
