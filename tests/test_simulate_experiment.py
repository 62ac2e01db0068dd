"""The randomized experiment mode of the synthetic district (issue 14): a Back-on-Track-like lottery.

Enabled, the district gets an ``assignments`` table that validates (both arms in every block), compliance
types near the configured shares, truths ``itt_*`` / ``cace_*`` equal to a brute-force recomputation from the
unit effects, and, with the Back on Track settings, arm means near the published ones. Disabled, the district
is the one drawn before (``tests/test_simulate_knobs.py`` pins its digests); units the experiment does not
randomize keep their delivery.
"""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from credit_recovery import simulate_district, validate_tables
from credit_recovery.synthetic.planted_truth import EXPERIMENT_OUTCOMES

#: The Back on Track replica's settings (docs/synthetic-district.md); scale experiment gives its size.
BACK_ON_TRACK = {"n_years": 5, "effects": {"ocr_math": -0.23, "ocr_credits": -0.05},
                 "recovery_course": {"base_log_odds": 1.85, "d_share_online": 0.72, "d_share_classroom": 0.33},
                 "experiment": {"enabled": True, "start_year": 2012}}
#: Published arm means (Heppen et al. 2017): assigned classroom, assigned online.
PUBLISHED = {"credit_recovered": (0.76, 0.66), "df": (0.47, 0.70), "graduated": (0.47, 0.47)}


@pytest.fixture(scope="module")
def replica():
    """A smaller Back on Track replica (the experiment scale's cohorts in 6 schools: 400 randomized units)."""
    return simulate_district({"scale": "experiment", "n_schools": 6, "seed": 5, **BACK_ON_TRACK})


def _randomized(sim) -> pd.DataFrame:
    ue = sim.unit_effects
    return ue[ue["assigned"].notna()].reset_index(drop=True)


def test_the_assignments_table_validates_with_both_arms_in_every_block(replica):
    a = replica.tables["assignments"]
    validate_tables(replica.tables)  # raises on any broken rule (both arms per block among them)
    assert len(a) > 300 and a["student_id"].is_unique
    assert (a.groupby("block")["assigned_arm"].nunique() == 2).all()
    assert a["block"].str.fullmatch(r"SCH\d\d-(2012|2013)").all()
    assert a["block"].nunique() == 12  # 6 schools by 2 recovery years
    r = _randomized(replica)
    assert set(zip(a["student_id"], a["failed_record_id"])) == set(zip(r["student_id"], r["failed_record_id"]))
    assert r["in_cohort"].all()  # grade-9 failures with math the index course: the cohort's units
    cr = replica.tables["course_records"].set_index("course_record_id")
    failed = cr.loc[a["failed_record_id"]]
    assert (failed["subject"] == "math").all() and (failed["mark"] == "F").all()
    enrolled = cr.loc[r.set_index("student_id").loc[a["student_id"], "course_record_id"], "enrolled_date"]
    lag = (pd.to_datetime(enrolled.to_numpy()) - pd.to_datetime(a["assignment_date"].to_numpy())).days
    assert lag.min() >= 3 and lag.max() <= 35


def test_delivery_follows_assignment_and_compliance_type(replica):
    r = _randomized(replica)
    kind, z, d = r["complier_type"], r["assigned"].astype(int), r["online"].astype(int)
    assert set(kind) <= {"complier", "never_taker", "always_taker"}
    expected = np.where(kind == "complier", z, (kind == "always_taker").astype(int))
    assert (d.to_numpy() == expected).all()
    a = replica.tables["assignments"].set_index("student_id")
    assert (a.loc[r["student_id"], "assigned_arm"].to_numpy() == np.where(z == 1, "online", "classroom")).all()
    for share, mask in ((0.08, kind == "never_taker"), (0.05, kind == "always_taker")):
        assert abs(mask.mean() - share) < 3 * np.sqrt(share * (1 - share) / len(r))
    # the shares as the experiment sees them: of those assigned online who stay in a classroom, and vice versa
    assert abs(1 - d[z == 1].mean() - 0.08) < 0.05 and abs(d[z == 0].mean() - 0.05) < 0.05
    other = replica.unit_effects[replica.unit_effects["assigned"].isna()]
    assert other["complier_type"].isna().all() and other["y0_df"].isna().all() and other["block"].isna().all()


def test_df_potential_outcomes_match_the_recorded_marks(replica):
    r = _randomized(replica)
    mark = replica.tables["course_records"].set_index("course_record_id").loc[r["course_record_id"], "mark"]
    observed = np.where(r["online"], r["y1_df"], r["y0_df"])
    assert (observed == mark.isin(["D", "F"]).to_numpy()).all()
    assert ((r["y1_df"] - r["y0_df"]) == r["ocr_df"]).all()


def _brute_force(r: pd.DataFrame, y: str) -> tuple[float, int, float, int]:
    itt, cace = [], []
    for _, u in r.iterrows():
        take = {1: u["complier_type"] != "never_taker", 0: u["complier_type"] == "always_taker"}
        pot = {True: u[f"y1_{y}"], False: u[f"y0_{y}"]}
        if not np.isnan(pot[take[1]] - pot[take[0]]):
            itt.append(pot[take[1]] - pot[take[0]])
        if u["complier_type"] == "complier" and not np.isnan(pot[True] - pot[False]):
            cace.append(pot[True] - pot[False])
    return float(np.mean(itt)), len(itt), float(np.mean(cace)), len(cace)


def test_truths_equal_a_brute_force_recomputation(replica):
    truth = {t["estimand_id"]: t for t in replica.truth}
    r = _randomized(replica)
    for y in EXPERIMENT_OUTCOMES:
        itt, n_itt, cace, n_cace = _brute_force(r, y)
        assert truth[f"itt_{y}"]["value"] == pytest.approx(itt, abs=1e-12)
        assert truth[f"cace_{y}"]["value"] == pytest.approx(cace, abs=1e-12)
        assert (truth[f"itt_{y}"]["n"], truth[f"cace_{y}"]["n"]) == (n_itt, n_cace)
        assert truth[f"itt_{y}"]["description"] and truth[f"cace_{y}"]["description"]
    assert truth["itt_graduated"]["n"] < len(r) or r["y0_graduated"].notna().all()
    # the observational truths are still there, unchanged in kind
    assert {"ocr_math", "mentor_math", "engagement_idle_pass"} <= set(truth)


def test_arm_means_of_the_replica_are_near_back_on_tracks(replica):
    """Observed means by assigned arm (over 400 units: a looser tolerance than the full-size table in
    docs/synthetic-district.md, where 8 replicas of ~1,200 units average within 3 points)."""
    r = _randomized(replica)
    cr = replica.tables["course_records"].set_index("course_record_id")
    r["df"] = cr.loc[r["course_record_id"], "mark"].isin(["D", "F"]).to_numpy().astype(float)
    for y in ("credit_recovered", "math", "graduated"):
        r[y] = np.where(r["online"], r[f"y1_{y}"], r[f"y0_{y}"])
    means = r.groupby("assigned")[["credit_recovered", "df", "math", "graduated"]].mean()
    for y, (classroom, online) in PUBLISHED.items():
        assert means.loc[0.0, y] == pytest.approx(classroom, abs=0.08), y
        assert means.loc[1.0, y] == pytest.approx(online, abs=0.08), y
    assert means.loc[1.0, "math"] - means.loc[0.0, "math"] == pytest.approx(-0.2, abs=0.15)
    truth = {t["estimand_id"]: t["value"] for t in replica.truth}
    assert truth["itt_credit_recovered"] == pytest.approx(-0.10, abs=0.04)
    assert truth["itt_df"] == pytest.approx(0.23, abs=0.05)
    assert truth["itt_math"] == pytest.approx(-0.20, abs=0.03)


def test_without_non_compliance_itt_equals_cace():
    sim = simulate_district({"scale": "tiny", "seed": 4, "n_years": 5,
                             "experiment": {"enabled": True, "start_year": 2012, "never_takers": 0.0,
                                            "always_takers": 0.0}})
    r = _randomized(sim)
    assert len(r) >= 4 and (r["complier_type"] == "complier").all()
    assert (r["online"].astype(int) == r["assigned"].astype(int)).all()
    truth = {t["estimand_id"]: t for t in sim.truth}
    for y in EXPERIMENT_OUTCOMES:
        assert truth[f"itt_{y}"]["value"] == pytest.approx(truth[f"cace_{y}"]["value"], abs=1e-15)
        assert truth[f"itt_{y}"]["n"] == truth[f"cace_{y}"]["n"]
    validate_tables(sim.tables)


def test_disabled_is_the_district_without_the_experiment():
    a = simulate_district({"scale": "tiny", "seed": 2})
    b = simulate_district({"scale": "tiny", "seed": 2, "experiment": {"enabled": False, "years": 3}})
    assert set(a.tables) == set(b.tables) and "assignments" not in a.tables
    for name, df in a.tables.items():
        pd.testing.assert_frame_equal(df, b.tables[name], check_exact=True)
    pd.testing.assert_frame_equal(a.unit_effects, b.unit_effects, check_exact=True)
    assert a.truth == b.truth
    assert not any(t["estimand_id"].startswith(("itt_", "cace_")) for t in a.truth)
    assert "assigned" not in a.unit_effects.columns


def test_units_the_experiment_leaves_alone_keep_their_delivery():
    """Without a roll-out override (start_year null: the last roll-out year), the years before the experiment
    are the same draw, and every episode of its first year that it does not randomize takes the delivery of
    the district without the experiment (later years differ: the randomized units' outcomes change which
    courses are failed, and so the main stream's path)."""
    cfg = {"scale": "tiny", "seed": 6, "n_years": 8}
    off = simulate_district(cfg)
    on = simulate_district({**cfg, "experiment": {"enabled": True}})
    start = on.settings["experiment_years"][0]
    assert start == max(on.settings["rollout_year"].values()) == max(off.settings["rollout_year"].values())
    keys = ["student_id", "course_record_id"]
    first = [ue[ue["school_year"] == start] for ue in (off.unit_effects, on.unit_effects)]
    both = first[0].merge(first[1], on=keys, suffixes=("_off", "_on"), validate="one_to_one")
    assert len(both) == len(first[0]) == len(first[1])
    kept = both["assigned"].isna()
    assert kept.sum() > 0 and (~kept).sum() > 0
    assert (both.loc[kept, "online_off"] == both.loc[kept, "online_on"]).all()
    for name in ("students", "mentors"):
        pd.testing.assert_frame_equal(off.tables[name], on.tables[name], check_exact=True)
    original = [cr[(cr["school_year"] < start) & (cr["attempt"] == "original")].drop(columns="program_model")
                for cr in (off.tables["course_records"], on.tables["course_records"])]
    pd.testing.assert_frame_equal(*original, check_exact=True)


def test_bad_experiment_settings_are_refused():
    with pytest.raises(ValueError, match="never_takers \\+ always_takers"):
        simulate_district({"scale": "tiny", "experiment": {"enabled": True, "never_takers": 0.6,
                                                           "always_takers": 0.5}})
    with pytest.raises(ValueError, match="must lie within the simulated years"):
        simulate_district({"scale": "tiny", "n_years": 5, "experiment": {"enabled": True, "start_year": 2011}})
    with pytest.raises(ValueError, match="experiment"):
        simulate_district({"scale": "tiny", "experiment": {"enabled": True, "share_online": 1.0}})
