"""State-wide studies (data.sources; docs/state.md): district identifiers, pooling, the synthetic state, the
per-district and pooled estimates, and the state pipeline end to end (the small state preset)."""
from __future__ import annotations

import json
import shutil

import jsonschema
import numpy as np
import pandas as pd
import pytest
import yaml

from credit_recovery import build_cohort, simulate_district, validate_tables, write_extract
from credit_recovery.data.extract_io import stack_extracts, stack_parquet
from credit_recovery.data.state import (district_cohort, match_within_districts, namespace_ids, pool_cohorts,
                                        pool_ledger_counts, pool_truth)
from credit_recovery.reporting.state import state_public_table, state_sentence
from credit_recovery.shared.config import schema
from credit_recovery.specs.state import POOLED, STATE_COLUMNS, state_estimates
from credit_recovery.synthetic.state import district_settings, synthetic_districts
from credit_recovery.truth.state import coverage_summary

TINY = {"scale": "tiny", "seed": 3}


@pytest.fixture(scope="module")
def two_districts():
    """Two tiny synthetic districts (raw identifiers, as districts send them)."""
    names = ["east", "west"]
    sim = {**TINY, "state": {"scales": ["tiny"], "n_schools": [4, 6]}}
    return {d: simulate_district(district_settings(sim, names, d)).tables for d in names}


# --- identifiers --------------------------------------------------------------------------------------------

def test_namespace_prefixes_text_identifiers_and_keeps_the_contract(two_districts):
    raw = two_districts["east"]
    out = namespace_ids(raw, "east")
    cr, cr_raw = out["course_records"], raw["course_records"]
    assert (cr["course_record_id"] == "east:" + cr_raw["course_record_id"]).all()
    assert (cr["school_id"] == "east:" + cr_raw["school_id"]).all()
    # missing references stay missing; numeric identifiers are left alone
    assert cr["recovers_record_id"].isna().sum() == cr_raw["recovers_record_id"].isna().sum()
    assert (out["platform_events"]["event_id"] == raw["platform_events"]["event_id"]).all()
    # every key and reference still resolves: the prefixed district passes the whole contract
    assert validate_tables(out, raise_on_failure=False).ok
    assert raw["course_records"]["school_id"].iloc[0] == cr_raw["school_id"].iloc[0]  # input not mutated


def test_districts_never_share_an_identifier(two_districts):
    a = namespace_ids(two_districts["east"], "east")["students"]["student_id"]
    b = namespace_ids(two_districts["west"], "west")["students"]["student_id"]
    assert set(two_districts["east"]["students"]["student_id"]) & set(two_districts["west"]["students"]["student_id"])
    assert not set(a) & set(b)


# --- pooling ------------------------------------------------------------------------------------------------

def test_stacking_district_cohorts_equals_the_cohort_of_the_stacked_state(two_districts, tmp_path):
    named = {d: namespace_ids(t, d) for d, t in two_districts.items()}
    folders = {d: write_extract(t, tmp_path / d) for d, t in named.items()}
    stack_extracts(folders, tmp_path / "state", district_column={"student_years": "district"})
    stacked = {p.stem: pd.read_parquet(p) for p in sorted((tmp_path / "state").glob("*.parquet"))}
    for name, df in stacked.items():  # every row of every district, in district order
        alone = [pd.read_parquet(tmp_path / d / f"{name}.parquet") for d in named]
        pd.testing.assert_frame_equal(df.drop(columns="district", errors="ignore"),
                                      pd.concat(alone, ignore_index=True))
    assert list(dict.fromkeys(stacked["student_years"]["district"])) == ["east", "west"]
    parts = {d: district_cohort(t, None, d) for d, t in named.items()}
    for d, r in parts.items():
        r.ledger.to_parquet(tmp_path / f"{d}.ledger.parquet", index=False)
    pooled = pool_cohorts({d: r.cohort for d, r in parts.items()}, {d: r.flow for d, r in parts.items()})
    direct = build_cohort(stacked)
    # the same cohort: a district's scores are standardized within the district (its own grade-by-year
    # distribution) whether it is analysed alone or in the state
    def rows(df, key):
        return df.sort_values(key, kind="stable").reset_index(drop=True)

    pd.testing.assert_frame_equal(rows(pooled.cohort.drop(columns="district"), ["student_id"]),
                                  rows(direct.cohort, ["student_id"]), check_dtype=False)  # Int64 in memory, int64 read
    assert list(pooled.flow["n"]) == list(direct.flow["n"])
    assert list(pooled.flow["excluded"]) == list(direct.flow["excluded"])
    stack_parquet([(d, tmp_path / f"{d}.ledger.parquet") for d in named], tmp_path / "ledger.parquet")
    ledger = pd.read_parquet(tmp_path / "ledger.parquet")
    pd.testing.assert_frame_equal(rows(ledger, ["table", "record_id"]), rows(direct.ledger, ["table", "record_id"]),
                                  check_dtype=False)
    counts = pool_ledger_counts({d: r.ledger_counts() for d, r in parts.items()})
    pd.testing.assert_frame_equal(counts, direct.ledger_counts(), check_dtype=False)
    assert set(pooled.cohort["district"]) == {"east", "west"}
    assert (pooled.cohort["school_id"].str.split(":").str[0] == pooled.cohort["district"]).all()
    # without the district column the state's own distribution standardizes: other scores
    other = build_cohort({**stacked, "student_years": stacked["student_years"].drop(columns="district")}).cohort
    assert not np.allclose(other["math_pre"], direct.cohort["math_pre"], equal_nan=True)


def test_stacked_extract_is_byte_identical_on_a_rerun(two_districts, tmp_path):
    folders = {d: write_extract(namespace_ids(t, d), tmp_path / d) for d, t in two_districts.items()}
    a = stack_extracts(folders, tmp_path / "a", district_column={"student_years": "district"})
    b = stack_extracts(folders, tmp_path / "b", district_column={"student_years": "district"})
    for f in sorted(a.glob("*.parquet")):
        assert f.read_bytes() == (b / f.name).read_bytes(), f.name


def test_pool_cohorts_refuses_districts_whose_flow_steps_differ(two_districts):
    r = district_cohort(namespace_ids(two_districts["east"], "east"), None, "east")
    with pytest.raises(ValueError, match="'b'.*flow steps"):
        pool_cohorts({"a": r.cohort, "b": r.cohort}, {"a": r.flow, "b": r.flow.assign(step=r.flow["step"] + " v2")})


def test_pool_truth_weights_each_district_by_its_population():
    a = [{"estimand_id": "ocr_math", "value": 1.0, "n": 1, "description": "x"},
         {"estimand_id": "ocr_math", "value": 10.0, "n": 5, "subgroup": "ell=1", "description": "x"}]
    b = [{"estimand_id": "ocr_math", "value": 4.0, "n": 3, "description": "x"},
         {"estimand_id": "ocr_math", "value": 20.0, "n": 5, "subgroup": "ell=1", "description": "x"}]
    out = pool_truth({"a": a, "b": b})
    assert out[0]["value"] == pytest.approx((1 + 12) / 4) and out[0]["n"] == 4
    assert out[1]["value"] == pytest.approx(15.0) and out[1]["subgroup"] == "ell=1"


def test_pool_truth_equals_the_mean_over_the_stacked_units():
    rng = np.random.default_rng(0)
    units = {d: rng.normal(size=n) for d, n in {"a": 7, "b": 30, "c": 2}.items()}
    truths = {d: [{"estimand_id": "e", "value": float(u.mean()), "n": len(u)}] for d, u in units.items()}
    assert pool_truth(truths)[0]["value"] == pytest.approx(np.concatenate(list(units.values())).mean(), abs=1e-12)


# --- the synthetic state ------------------------------------------------------------------------------------

def test_synthetic_state_districts_differ_in_seed_size_and_roll_out():
    names = [f"d{i:02d}" for i in range(20)]
    sims = [district_settings({"seed": 5, "state": {}}, names, d) for d in names]
    assert len({s["seed"] for s in sims}) == 20
    assert {s["scale"] for s in sims} == {"small", "medium", "default"}
    assert {s["rollout_delay"] for s in sims} == {0, 1, 2}
    assert min(s["n_schools"] for s in sims) == 4 and max(s["n_schools"] for s in sims) == 12
    assert len({s["n_schools"] for s in sims}) == 9
    # a district's settings depend on its position only: adding a district leaves the others as they were
    assert district_settings({"seed": 5}, names[:3], "d01") == district_settings({"seed": 5}, names, "d01")
    assert "state" not in sims[0]


def test_synthetic_state_refuses_unknown_districts_and_experiments():
    with pytest.raises(ValueError, match="not a synthetic district"):
        district_settings({}, ["a"], "b")
    with pytest.raises(ValueError, match="no randomized experiment"):
        district_settings({"experiment": {"enabled": True}}, ["a"], "a")
    assert synthetic_districts({"a": "synthetic", "b": "/data/b", "c": "synthetic"}) == ["a", "c"]


def test_rollout_delay_moves_every_school_later():
    base = simulate_district(TINY).settings["rollout_year"]
    later = simulate_district({**TINY, "rollout_delay": 2}).settings["rollout_year"]
    last = 2011 + 7 - 1  # the default first year and number of years
    assert later == {s: min(y + 2, last) for s, y in base.items()}
    assert len(set(later.values())) > 1  # still staggered


# --- config -------------------------------------------------------------------------------------------------

def test_state_matching_is_exact_on_district_and_single_districts_are_untouched():
    cfg = {"data": {"sources": {"a": "synthetic"}}, "matching": {"exact": ["school_year"]}}
    match_within_districts(cfg)
    assert cfg["matching"]["exact"] == ["district", "school_year"]
    match_within_districts(cfg)
    assert cfg["matching"]["exact"] == ["district", "school_year"]
    single = {"data": {"sources": {}}, "matching": {"exact": ["school_year"]}}
    match_within_districts(single)
    assert single["matching"]["exact"] == ["school_year"]


@pytest.mark.parametrize("name", ["1st", "north-east", "a b", ""])
def test_district_names_must_be_identifiers(name):
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate({"data": {"sources": {name: "synthetic"}}}, schema())


# --- the state table ----------------------------------------------------------------------------------------

def _rows(district, n, estimate=0.1, sample="matched_fe", eid="ocr_math", outcome="math"):
    return {"district": district, "estimand_id": eid, "outcome": outcome, "treatment": "online", "estimand": "ATT",
            "estimator": "e", "sample": sample, "fixed_effects": "", "cov_type": "wild", "estimate": estimate,
            "std_error": 0.1, "ci_low": estimate - 0.2, "ci_high": estimate + 0.2, "p_value": 0.5, "n": n,
            "n_clusters": 4, "residual_df": np.nan, "share_treated_dropped": np.nan, "subgroup": "",
            "max_abs_smd": 0.05}


def test_state_table_puts_pooled_rows_of_the_district_designs_last_and_hides_small_districts():
    districts = {"a": pd.DataFrame([_rows("a", 300, -0.3)]), "b": pd.DataFrame([_rows("b", 6, 0.4)])}
    pooled = pd.DataFrame([_rows("", 306, -0.25), _rows("", 306, sample="panel")]).drop(
        columns=["district", "max_abs_smd"])
    balance = pd.DataFrame({"variable": ["x", "y"], "after_smd": [0.02, -0.07]})
    state = state_estimates(districts, pooled, balance)
    assert list(state.columns) == list(STATE_COLUMNS)
    assert list(state["district"]) == ["a", "b", POOLED]  # the pooled panel row has no district counterpart
    assert state["max_abs_smd"].iloc[-1] == pytest.approx(0.07)
    public = state_public_table(state, {"online": "matched_fe"}, 10)
    b = public[public["district"] == "b"].iloc[0]
    assert np.isnan(b["estimate"]) and np.isnan(b["n"]) and "fewer than 10" in b["note"]
    assert public.loc[public["district"] == "a", "estimate"].iloc[0] == pytest.approx(-0.3)
    sentence = state_sentence(public)
    assert "-0.25 [-0.45, -0.05]" in sentence and "1 intervals lie below zero" in sentence


def test_coverage_summary_counts_designed_intervals_per_district():
    rows = []
    for d, covers in (("a", [True, True, False]), ("b", [True, True, True]), (POOLED, [True, False, True])):
        for i, c in enumerate(covers):
            rows.append({"district": d, "estimand_id": f"ocr_{i}", "estimator": "matched WLS", "sample": "matched_fe",
                         "truth": 0.0, "estimate": 0.1 if c else 1.0, "ci_low": -0.2 if c else 0.5,
                         "ci_high": 0.4 if c else 1.5, "bias": 0.1 if c else 1.0, "covers": c})
    rows.append({**rows[0], "sample": "cohort"})  # naive: not a designed interval
    s = coverage_summary(pd.DataFrame(rows)).set_index("district")
    assert s.loc["a", "n_intervals"] == 3 and s.loc["a", "n_covered"] == 2
    assert s.loc["all districts", "n_intervals"] == 6 and s.loc["all districts", "n_covered"] == 5
    assert s.loc[POOLED, "coverage"] == pytest.approx(2 / 3)
    assert s.loc["a", "worst_z"] == pytest.approx(1.0 / (0.5 / 1.959963984540054))  # the miss: 1 from 0, SE 0.5/1.96


# --- the pipeline -------------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def state_run(tmp_path_factory, run_snakemake, repo):
    """The small state preset (three tiny districts) run end to end (read-only)."""
    cfg = yaml.safe_load((repo / "workflow/presets/state_small.yaml").read_text())
    wd = tmp_path_factory.mktemp("state-run")
    run_snakemake(wd, cfg)
    return wd, cfg


def test_state_runs_each_district_in_jobs_of_its_own(state_run):
    wd, cfg = state_run
    logs = wd / "results/logs/state"
    for d in cfg["data"]["sources"]:
        for step in ("simulate", "check_inputs", "cohort", "engagement_years", "engagement_features", "estimates",
                     "truth"):
            assert (logs / d / f"{step}.log").exists(), (d, step)
        years = pd.read_csv(wd / f"results/state/engagement/{d}/school_years.csv")["school_year"]
        assert len(years) >= 2
        assert sorted(p.name for p in (logs / d / "sessions").iterdir()) == [f"school_year={y}.log" for y in years]


def test_state_pools_the_districts_for_the_single_district_stages(state_run):
    wd, cfg = state_run
    names = list(cfg["data"]["sources"])
    cohort = pd.read_parquet(wd / "results/cohort/cohort.parquet")
    parts = [pd.read_parquet(wd / f"results/state/cohort/{d}/cohort.parquet") for d in names]
    pd.testing.assert_frame_equal(cohort, pd.concat(parts, ignore_index=True))
    students = pd.read_parquet(wd / "results/data/students.parquet")
    assert students["student_id"].is_unique
    assert set(students["student_id"].str.split(":").str[0]) == set(names)
    # matching stays within districts (matching.exact gets district in a state study)
    pairs = pd.read_parquet(wd / "results/matching/pairs.parquet")  # row positions in the propensity table
    district = pd.read_parquet(wd / "results/matching/propensity.parquet")["district"].to_numpy()
    assert len(pairs) and set(district[pairs["treated"]]) == set(names)
    assert (district[pairs["treated"]] == district[pairs["control"]]).all()
    # clusters are schools of a district: the pooled design counts every district's schools
    est = pd.read_csv(wd / "results/models/estimates.csv", keep_default_na=False, na_values=[""])
    fe = est[(est["sample"] == "matched_fe") & (est["estimand_id"] == "ocr_math")].iloc[0]
    assert fe["n_clusters"] == cohort["school_id"].nunique()


def test_state_table_has_each_district_and_the_pooled_design(state_run):
    wd, cfg = state_run
    state = pd.read_csv(wd / "results/state/estimates.csv", keep_default_na=False, na_values=[""])
    assert list(dict.fromkeys(state["district"])) == [*cfg["data"]["sources"], POOLED]
    pooled = pd.read_csv(wd / "results/models/estimates.csv", keep_default_na=False, na_values=[""])
    mine = state[(state["district"] == POOLED) & (state["sample"] == "matched_fe")].set_index(["estimand_id"])
    theirs = pooled[(pooled["sample"] == "matched_fe")].set_index(["estimand_id"])
    assert np.allclose(mine["estimate"], theirs.loc[mine.index, "estimate"], rtol=0, atol=1e-12)
    public = pd.read_csv(wd / "results/public/state/district_estimates.csv", keep_default_na=False, na_values=[""])
    assert set(public["sample"]) == {"matched_fe"} and not public["estimand_id"].str.startswith("placebo").any()
    brief = (wd / "results/public/brief.html").read_text()
    assert "District by district" in brief and state_sentence(public) in brief.replace("&#x27;", "'")
    appendix = (wd / "results/public/appendix.html").read_text()
    assert "district_estimates.csv" in appendix and "State districts" in appendix


def test_state_estimates_cover_each_districts_planted_truth(state_run):
    wd, cfg = state_run
    summary = pd.read_csv(wd / "results/state/truth_coverage.csv").set_index("district")
    assert set(summary.index) == {*cfg["data"]["sources"], POOLED, "all districts"}
    assert (summary["n_intervals"] >= 20).all()
    # a tiny district's intervals: 24 designed estimands each; planted truths are covered at about 95%
    assert summary.loc["all districts", "coverage"] >= 0.9
    assert summary.loc[POOLED, "coverage"] >= 0.9
    truth = json.loads((wd / "results/truth/truth.json").read_text())
    assert any(r["estimand_id"] == "ocr_math" for r in truth)


def test_state_publishes_no_identifier(state_run):
    wd, _ = state_run
    scan = pd.read_csv(wd / "results/disclosure/privacy_scan.csv")
    assert scan.empty, scan  # no identifier, no small cell
    for path in (wd / "results/public").rglob("*.csv"):
        assert ":ST" not in path.read_text() and ":SCH" not in path.read_text(), path


def test_a_broken_district_stops_the_state_before_pooling(tmp_path, run_snakemake, two_districts):
    folder = tmp_path / "broken"
    tables = {k: v.copy() for k, v in two_districts["west"].items()}
    sy = tables["student_years"]
    sy.loc[sy.index[:7], "math_score"] = 999.0
    write_extract(tables, folder)
    wd = tmp_path / "wd"
    cfg = {"data": {"sources": {"good": "synthetic", "broken": str(folder)}},
           "simulation": {"state": {"scales": ["tiny"]}}}
    proc = run_snakemake(wd, cfg, "results/data", check=False)
    assert proc.returncode != 0
    log = (wd / "results/logs/state/broken/check_inputs.log").read_text()
    assert "student_years" in log and "math_score" in log and "7" in log
    assert not (wd / "results/state/data/broken").exists()
    assert not (wd / "results/data").exists() and not (wd / "results/public").exists()
    shutil.rmtree(wd, ignore_errors=True)
