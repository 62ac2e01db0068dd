"""Monte Carlo study: one replicate in-process, the summary against brute force, the Snakemake fan-out (tiny)."""
import numpy as np
import pandas as pd
import pytest

from credit_recovery.truth.figures import mc_plot
from credit_recovery.truth.montecarlo import DESIGNED, summarize_replicates


def test_summary_equals_brute_force():
    rng = np.random.default_rng(0)
    rows = pd.DataFrame({"confounding": 0.0, "estimand_id": "ocr_math", "outcome": "math", "estimator": "e",
                         "sample": "panel", "truth": rng.normal(-0.2, 0.01, 50),
                         "estimate": rng.normal(-0.19, 0.05, 50)})
    rows["ci_low"], rows["ci_high"] = rows["estimate"] - 0.1, rows["estimate"] + 0.1
    rows["covers"] = (rows["ci_low"] <= rows["truth"]) & (rows["truth"] <= rows["ci_high"])
    s = summarize_replicates(rows).iloc[0]
    err = rows["estimate"] - rows["truth"]
    assert s["replicates"] == 50 and s["designed"]
    assert s["bias"] == pytest.approx(err.mean())
    assert s["rmse"] == pytest.approx(np.sqrt(np.mean(err**2)))
    assert s["coverage"] == pytest.approx(rows["covers"].mean())
    assert s["mean_ci_width"] == pytest.approx(0.2)
    assert "cohort" not in DESIGNED
    mc_plot(summarize_replicates(rows))


@pytest.mark.slow
def test_monte_carlo_rule_fans_out_replicates(tmp_path, run_snakemake):
    cfg = {"monte_carlo": {"replicates": 3, "scale": "tiny", "unobserved_confounding": [1.0]},
           "models": {"bootstrap_reps": 199}}
    all_dry = run_snakemake(tmp_path, cfg, "-n")
    assert "monte_carlo_replicate" not in all_dry.stdout  # not part of rule all
    run_snakemake(tmp_path, cfg, "monte_carlo")  # run_replicate in-process, one job per seed
    assert len(list((tmp_path / "results/monte_carlo/replicates").glob("replicate_*.csv"))) == 3
    summary = pd.read_csv(tmp_path / "results/monte_carlo/monte_carlo.csv")
    assert summary["replicates"].max() == 3
    assert {"ocr_math", "mentor_math"} <= set(summary["estimand_id"])
    assert (tmp_path / "results/monte_carlo/monte_carlo.png").is_file()
