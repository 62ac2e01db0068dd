"""The randomized design end to end (issue 14): an extract with an assignments table runs the experiment
rules instead of matching and publishes the experiment's brief and tables; a broken randomization (a block
with one arm, a student assigned twice) stops at the input checks with a clear message and nothing
published. Runs the workflow on a district folder (the tiny synthetic district's tables plus a lottery
drawn here among its recovery units)."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from credit_recovery import build_cohort, write_extract

pytestmark = pytest.mark.slow


def _lottery(tables: dict[str, pd.DataFrame], seed: int = 0) -> pd.DataFrame:
    """Half of each school-year's recovery units assigned online, drawn at random; dated a week before the
    recovery course."""
    c = build_cohort(tables).cohort
    rng = np.random.default_rng(seed)
    c = c.assign(block=c["school_id"] + "-" + c["school_year"].astype(str))
    c = c[c.groupby("block")["student_id"].transform("size") >= 4]
    arm = pd.Series("classroom", index=c.index)
    for _, idx in c.groupby("block").groups.items():
        arm[rng.permutation(np.asarray(idx))[: len(idx) // 2]] = "online"
    cr = tables["course_records"].set_index("course_record_id")
    enrolled = pd.to_datetime(cr.loc[c["recovery_record_id"], "enrolled_date"].to_numpy())
    return pd.DataFrame({"student_id": c["student_id"].to_numpy(), "failed_record_id": c["failed_record_id"].to_numpy(),
                         "block": c["block"].to_numpy(), "assigned_arm": arm.to_numpy(),
                         "assignment_date": (enrolled - pd.Timedelta(days=7)).date})


@pytest.fixture(scope="module")
def district(tiny_district, tmp_path_factory):
    tables = {k: v.copy() for k, v in tiny_district.tables.items()}
    tables["assignments"] = _lottery(tables)
    folder = tmp_path_factory.mktemp("rct") / "extract"
    write_extract(tables, folder)
    return folder, tables


def test_a_randomized_extract_runs_the_experiment_and_skips_matching(district, run_snakemake, tmp_path):
    folder, tables = district
    wd = tmp_path / "run"
    run_snakemake(wd, {"data": {"source": str(folder)}})
    est = pd.read_csv(wd / "results/experiment/estimates.csv")
    assert {"itt_math", "cace_math", "itt_credit_recovered", "cace_credit_recovered"} <= set(est["estimand_id"])
    assert (est["sample"] == "randomized").all() and (est["cov_type"] == "HC2").all()
    assert not (wd / "results/matching").exists() and not (wd / "results/models").exists()
    brief = (wd / "results/public/experiment/brief.html").read_text()
    assert "This study is an experiment" in brief and "compliers" in brief
    assert "Randomization check" in brief
    assert "first-stage F" in brief  # this lottery did not move delivery (drawn after the fact): a weak instrument
    public = sorted(p.relative_to(wd / "results/public").as_posix() for p in (wd / "results/public").rglob("*")
                    if p.is_file())
    assert "experiment/estimates.csv" in public and "brief.html" not in public
    scan = pd.read_csv(wd / "results/disclosure/privacy_scan.csv")
    assert scan.empty or not scan.get("problem", pd.Series(dtype=str)).astype(bool).any()
    units = pd.read_parquet(wd / "results/experiment/units.parquet")
    assert len(units) == len(tables["assignments"])


@pytest.mark.parametrize("break_it, message", [
    ("one_arm", "every randomization block must have both arms"),
    ("twice", "student_id"),
])
def test_a_broken_randomization_stops_before_analysis(district, run_snakemake, tmp_path, break_it, message):
    _, tables = district
    tables = {k: v.copy() for k, v in tables.items()}
    a = tables["assignments"]
    if break_it == "one_arm":
        block = a["block"].iloc[0]
        a.loc[a["block"] == block, "assigned_arm"] = "online"
    else:
        tables["assignments"] = pd.concat([a, a.iloc[[0]]], ignore_index=True)
    folder = tmp_path / "extract"
    write_extract(tables, folder)
    wd = tmp_path / "run"
    proc = run_snakemake(wd, {"data": {"source": str(folder)}}, check=False)
    assert proc.returncode != 0
    assert message in proc.stderr + proc.stdout
    assert "assignments" in proc.stderr + proc.stdout
    assert not (wd / "results/public").exists() or not any((wd / "results/public").rglob("*.*"))
    assert not (wd / "results/experiment").exists()


def test_the_synthetic_experiment_runs_end_to_end_and_scores_against_its_truth(run_snakemake, tmp_path):
    """data.source synthetic with the experiment mode on (a small Back on Track replica): the simulate rule
    writes the assignments table, the study is randomized, and experiment_truth scores every ITT and CACE
    row against the planted truth."""
    wd = tmp_path / "bot"
    sim = {"scale": "experiment", "n_schools": 6, "seed": 5, "n_years": 5,
           "effects": {"ocr_math": -0.23, "ocr_credits": -0.05},
           "recovery_course": {"base_log_odds": 1.85, "d_share_online": 0.72, "d_share_classroom": 0.33},
           "experiment": {"enabled": True, "start_year": 2012}}
    run_snakemake(wd, {"simulation": sim})
    check = pd.read_csv(wd / "results/experiment/truth_check.csv")
    assert {"itt_math", "cace_math", "itt_df", "cace_df", "itt_credit_recovered"} <= set(check["estimand_id"])
    assert check["covers"].mean() >= 0.8 and check["z"].abs().max() < 3.5
    first = pd.read_csv(wd / "results/experiment/first_stage.csv").iloc[0]
    assert first["first_stage_f"] > 100 and 0.7 < first["compliance_difference"] < 0.95
    assert (wd / "results/synthetic/assignments.parquet").exists()
    assert not (wd / "results/matching").exists()


def test_an_observational_study_says_so_in_its_reports(tiny_run):
    assert "Design: observational" in (tiny_run / "results/public/brief.html").read_text()
    assert "Design: observational" in (tiny_run / "results/public/appendix.html").read_text()
    assert not (tiny_run / "results/experiment").exists()
