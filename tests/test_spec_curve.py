"""Specification curve: the grid and its ids, the fan-out (one Snakemake job per specification), the summary,
and a small curve run on the tiny district whose primary specification reproduces the matched FE estimates."""
import re
import shutil

import numpy as np
import pandas as pd
import pytest
import yaml

from credit_recovery.specs.curve import CURVE_CHOICES, curve_grid, curve_summary, parse_spec_id, spec_id


def test_grid_is_the_product_of_the_choices_and_ids_round_trip():
    opt = {"caliper": [0.05, 0.2], "ratio": [1, 2, 4], "replace": [True], "covariates": ["full", "no_school"],
           "fixed_effects": ["none"], "cluster": ["school_id", "none"]}
    g = curve_grid(opt)
    assert len(g) == 2 * 3 * 1 * 2 * 1 * 2 and g["spec_id"].is_unique
    for r in g.to_dict("records"):
        assert parse_spec_id(r["spec_id"]) == {k: r[k] for k in CURVE_CHOICES} and spec_id(r) == r["spec_id"]
    assert len(curve_grid()) == 96  # the default grid
    with pytest.raises(ValueError):
        curve_grid({"covariates": ["everything"]})


def test_summary_counts_signs_and_significance_against_the_primary():
    curve = pd.DataFrame({"spec_id": list("abcd"), "outcome": "math", "estimate": [-0.2, -0.1, 0.05, -0.3],
                          "p_value": [0.01, 0.2, 0.5, 0.001]})
    s = curve_summary(curve, "a").iloc[0]
    assert s["specifications"] == 4 and s["primary_estimate"] == -0.2
    assert s["share_same_sign"] == 0.75 and s["share_same_sign_significant"] == 0.5
    assert (s["min"], s["max"], s["median"]) == (-0.3, 0.05, pytest.approx(-0.15))


def test_dry_run_fans_out_one_job_per_specification(tmp_path, run_snakemake, repo):
    cfg = yaml.safe_load((repo / "config.yaml").read_text())
    dry = run_snakemake(tmp_path, cfg, "-n", "--quiet", "rules", "--", "spec_curve")
    counts = dict(re.findall(r"^(spec_curve_job|spec_curve)\s+(\d+)$", dry.stdout, re.M))
    assert int(counts["spec_curve_job"]) == 96 and int(counts["spec_curve"]) == 1
    assert "spec_curve_job" not in run_snakemake(tmp_path, cfg, "-n").stdout  # on demand, not in rule all


def test_small_curve_on_the_tiny_district_reproduces_the_primary_design(tiny_run, tmp_path, run_snakemake,
                                                                      tiny_config):
    wd = tmp_path / "curve"
    shutil.copytree(tiny_run, wd, symlinks=True)
    curve_opt = {"caliper": [0.1, 0.25], "ratio": [3], "replace": [True], "covariates": ["full"],
                 "fixed_effects": ["school_year", "none"], "cluster": ["school_id"], "outcomes": ["math", "gpa"]}
    run_snakemake(wd, {**tiny_config, "specification_curve": curve_opt}, "spec_curve")
    curve = pd.read_csv(wd / "results/spec_curve/curve.csv")
    assert len(curve) == 4 * 2 and set(curve["outcome"]) == {"math", "gpa"}
    primary = "cal0.1_r3_rep_full_fe-school_year_cl-school_id"
    est = pd.read_csv(wd / "results/models/estimates.csv", keep_default_na=False, na_values=[""])
    fe = est[(est["sample"] == "matched_fe") & est["estimand_id"].str.startswith("ocr_")].set_index("outcome")
    for r in curve[curve["spec_id"] == primary].itertuples():
        assert r.estimate == pytest.approx(fe.loc[r.outcome, "estimate"], abs=1e-9)
        assert r.std_error == pytest.approx(fe.loc[r.outcome, "std_error"], rel=1e-9)  # CR1: the wild row's SE
        assert r.n == fe.loc[r.outcome, "n"]
    summary = pd.read_csv(wd / "results/spec_curve/summary.csv")
    assert set(summary["specifications"]) == {4} and summary["share_same_sign"].between(0, 1).all()
    assert np.allclose(summary.set_index("outcome").loc[["math", "gpa"], "primary_estimate"],
                       curve[curve["spec_id"] == primary].set_index("outcome").loc[["math", "gpa"], "estimate"])
    assert (wd / "results/spec_curve/figures/spec_curve_math.png").read_bytes().startswith(b"\x89PNG")
