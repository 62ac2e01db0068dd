"""The whole pipeline on a tiny synthetic district: end to end, deterministic, and safe on bad input."""
import hashlib
import json
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def run1(tiny_run):
    return tiny_run


@pytest.fixture(scope="module")
def run2(tmp_path_factory, run_snakemake, tiny_config):
    wd = tmp_path_factory.mktemp("run2")
    run_snakemake(wd, tiny_config)
    return wd


def test_dry_run_and_lint_are_clean(tmp_path, run_snakemake, tiny_config):
    dry = run_snakemake(tmp_path, tiny_config, "-n")
    assert "simulate" in dry.stdout and "manifest" in dry.stdout
    lint = run_snakemake(tmp_path, tiny_config, "--lint")
    assert "Congratulations" in lint.stdout + lint.stderr


def test_results_layout(run1):
    r = run1 / "results"
    for path in ("data/students.parquet", "data/platform_events.parquet", "truth/truth.json",
                 "truth/unit_effects.parquet", "truth/types.parquet", "cohort/cohort.parquet",
                 "cohort/ledger.parquet", "matching/matched.parquet", "matching/balance.csv",
                 "models/estimates.csv", "truth_comparison/truth_vs_estimates.csv", "public/estimates.csv",
                 "public/brief.html", "public/figures/cohort_flow.png", "public/figures/love_plot.svg",
                 "manifest.json"):
        assert (r / path).is_file(), path
    est = pd.read_csv(r / "models/estimates.csv", keep_default_na=False)
    assert {"ocr_math", "ocr_reading", "ocr_credits", "ocr_gpa", "ocr_credit_recovered"} <= set(est["estimand_id"])
    truth = json.loads((r / "truth/truth.json").read_text())
    assert {t["estimand_id"] for t in truth} >= {"ocr_math", "mentor_math", "mentor_credit_recovered"}
    manifest = json.loads((r / "manifest.json").read_text())
    assert "config_sha256" in manifest and manifest["inputs"]


def test_a_package_change_reruns_every_rule_that_runs_package_code(run1, tmp_path, run_snakemake, repo, tiny_config):
    from credit_recovery.disclosure.provenance import package_sources_text

    digest = hashlib.sha256(package_sources_text().encode("utf-8")).hexdigest()[:16]
    stamp = run1 / "results" / "code" / f"credit_recovery-{digest}.txt"
    assert stamp.read_text() == package_sources_text()
    # a changed copy of the package, imported first: its stamp has another name
    pkg = tmp_path / "pkg"
    shutil.copytree(repo / "src" / "credit_recovery", pkg / "credit_recovery",
                    ignore=shutil.ignore_patterns("__pycache__"))
    with open(pkg / "credit_recovery" / "shared" / "estimate_schema.py", "a") as fh:
        fh.write("# a change\n")
    wd = tmp_path / "copy"
    shutil.copytree(run1, wd, symlinks=True)
    out = run_snakemake(wd, tiny_config, "-n", "--quiet", "rules", env={"PYTHONPATH": str(pkg)}).stdout
    planned = {line.split()[0] for line in out.splitlines() if line.strip() and line.split()[-1].isdigit()}
    for rule in ("code_stamp", "simulate", "cohort", "match", "models", "models_panel", "truth_comparison", "brief",
                 "manifest"):
        assert rule in planned, (rule, out)


def test_inputs_never_hold_planted_truth(run1):
    for p in (run1 / "results/data").glob("*.parquet"):
        cols = set(pd.read_parquet(p).columns)
        assert not cols & {"user_type", "y0_math", "ocr_math", "supportive", "U", "ability"}, p


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_same_config_gives_byte_identical_tables(run1, run2):
    tables = ["synthetic/students.parquet", "synthetic/platform_events.parquet", "data/course_records.parquet",
              "truth/unit_effects.parquet", "cohort/cohort.parquet", "cohort/ledger.parquet",
              "matching/matched.parquet", "matching/balance.csv", "models/estimates.csv",
              "truth_comparison/truth_vs_estimates.csv", "public/estimates.csv", "public/brief.html",
              "models/effect_sizes.csv", "public/effect_sizes.csv", "public/tables/estimates_table.md",
              "public/tables/estimates_table.tex", "public/figures/forest_plot.svg", "public/figures/event_study.png",
              "public/figures/cohort_flow.png", "public/figures/love_plot.svg",
              "engagement/school_years.csv", "engagement/features.parquet", "engagement/types.parquet",
              "engagement/typology_diagnostics.csv", "models/parts/engagement.csv",
              "models/samples/engagement.parquet", "truth_comparison/engagement.csv"]
    for t in tables:
        assert _digest(run1 / "results" / t) == _digest(run2 / "results" / t), t


def test_every_public_file_and_the_manifest_are_identical_on_rerun(run1, run2):
    """Everything under results/public/ (tables, figures, the executed notebooks' HTML) is byte-identical,
    and the manifest differs only in its times."""
    def public(run):
        root = run / "results/public"
        return {p.relative_to(root).as_posix(): _digest(p) for p in sorted(root.rglob("*")) if p.is_file()}

    a, b = public(run1), public(run2)
    assert {"brief.html", "appendix.html", "estimates.csv"} <= set(a)
    assert a == b
    m1, m2 = (json.loads((r / "results/manifest.json").read_text()) for r in (run1, run2))
    times = ("started", "ended", "duration_seconds")
    assert all(m1[k] for k in ("started", "ended"))
    assert {k: v for k, v in m1.items() if k not in times} == {k: v for k, v in m2.items() if k not in times}


def test_validated_folder_can_be_the_data_source(run1, tmp_path, run_snakemake):
    district = tmp_path / "district"
    shutil.copytree(run1 / "results/data", district)
    run_snakemake(tmp_path / "wd", {"data": {"source": str(district)}}, "results/cohort/cohort.parquet")
    a = pd.read_parquet(run1 / "results/cohort/cohort.parquet")
    b = pd.read_parquet(tmp_path / "wd/results/cohort/cohort.parquet")
    pd.testing.assert_frame_equal(a, b)


def test_broken_input_stops_before_analysis_and_leaves_nothing(run1, tmp_path, run_snakemake):
    district = tmp_path / "district"
    shutil.copytree(run1 / "results/data", district)
    sy = pd.read_parquet(district / "student_years.parquet")
    sy.loc[sy.index[:7], "math_score"] = 999.0
    sy.to_parquet(district / "student_years.parquet", index=False)
    wd = tmp_path / "wd"
    proc = run_snakemake(wd, {"data": {"source": str(district)}}, check=False)
    assert proc.returncode != 0
    log = (wd / "results/logs/check_inputs.log").read_text()
    assert "student_years" in log and "math_score" in log and "7" in log
    assert not (wd / "results/data").exists()
    assert not (wd / "results/cohort").exists()
    assert not (wd / "results/public").exists()


def test_missing_source_folder_is_a_clear_error(tmp_path, run_snakemake):
    proc = run_snakemake(tmp_path, {"data": {"source": str(tmp_path / "nowhere")}}, "-n", check=False)
    assert proc.returncode != 0
    assert "does not exist" in proc.stdout + proc.stderr


def test_config_is_validated_before_any_job(tmp_path, run_snakemake):
    proc = run_snakemake(tmp_path, {"matching": {"order": "biggest"}}, "-n", check=False)
    assert proc.returncode != 0
    assert "biggest" in proc.stdout + proc.stderr
    assert not (tmp_path / "results").exists()


def test_every_estimate_with_an_estimand_gets_its_truth(run1):
    r = run1 / "results"
    est = pd.read_csv(r / "models/estimates.csv", keep_default_na=False)
    # engagement_* estimands are structural coefficients, not means of unit effects: they are checked
    # against truth.json in results/truth_comparison/engagement.csv (tests/test_engagement_pipeline.py)
    with_id = est[(est["estimand_id"] != "") & ~est["estimand_id"].str.startswith("engagement_")]
    assert {"matched_fe", "panel", "online"} <= set(with_id["sample"])
    val = pd.read_csv(r / "truth_comparison/truth_vs_estimates.csv")
    assert len(val) == len(with_id)
    assert val["n_truth"].gt(0).all() and val["truth"].notna().all()


def test_every_designed_whole_sample_estimate_has_a_sensitivity_row(run1):
    """results/models/sensitivity.csv has one row per designed estimate of the whole sample (the registry's designed
    samples without the g-computation variant, truth.montecarlo.designed_mask; no placebo outcome, no subgroup; of
    the event studies the recovery year), with the reported numbers, robustness values exactly where the fit has
    residual degrees of freedom and Rosenbaum bounds exactly on the matched samples."""
    from credit_recovery.specs.panel import event_time_of
    from credit_recovery.truth.montecarlo import designed_mask

    r = run1 / "results"
    est = pd.read_csv(r / "models/estimates.csv", keep_default_na=False, na_values=[""])
    sens = pd.read_csv(r / "models/sensitivity.csv", keep_default_na=False, na_values=[""])
    est[["subgroup", "estimand_id"]] = est[["subgroup", "estimand_id"]].fillna("")
    keep = designed_mask(est) & (est["subgroup"] == "") & ~est["estimand_id"].str.startswith("placebo_")
    event = est["sample"].isin(["panel_es", "panel_cs"])
    at_zero = [not e or event_time_of(t) == 0 for e, t in zip(event, est["treatment"])]
    want = est[keep & np.asarray(at_zero, dtype=bool)].set_index(["outcome", "sample", "treatment"])
    assert {"matched", "matched_fe", "matched_rw", "panel", "panel_es", "panel_cs", "online"} <= \
        set(want.index.get_level_values("sample"))
    got = sens.set_index(["outcome", "sample", "treatment"])
    assert not got.index.duplicated().any() and sorted(got.index) == sorted(want.index)
    got = got.loc[want.index]
    assert (got["estimator"] == want["estimator"]).all()
    assert ((got[["estimate", "ci_low", "ci_high"]] - want[["estimate", "ci_low", "ci_high"]]).abs() < 1e-9).all().all()
    fe = want.index.get_level_values("sample") == "matched_fe"
    assert (got["rv"].notna() == (want["residual_df"].notna() | fe)).all()
    assert (got.loc[fe, "dof"] == want.loc[fe, "residual_df"]).all()  # the unadjusted refit is the reported fit
    matched = want.index.get_level_values("sample").isin(["matched", "matched_fe", "matched_rw"])
    assert (got["rosenbaum_gamma"].notna() == matched).all()
    assert got["e_value"].notna().mean() > 0.9 and (got["e_value"].dropna() >= 1).all()
