"""Engagement stage pieces: per-year sessions, course features, associations, truth check, figures."""
import duckdb
import numpy as np
import pandas as pd
import pytest

from credit_recovery import simulate_district
from credit_recovery.engagement.features import course_features, engagement_features
from credit_recovery.engagement.figures import (efficiency_figure, idle_pass_figure, login_hour_figure,
                                                type_profile_figure)
from credit_recovery.engagement.models import (IDLE_PASS_ESTIMAND, engagement_estimates, engagement_frame,
                                               run_engagement_models)
from credit_recovery.engagement.options import resolve_engagement_options
from credit_recovery.engagement.sessions import event_school_years, school_year_sessions, sessionize
from credit_recovery.engagement.typology import typology_tables
from credit_recovery.shared.estimate_schema import ESTIMATE_COLUMNS
from credit_recovery.truth.engagement import engagement_truth


@pytest.fixture(scope="module")
def district():
    """A small synthetic district, its per-year sessions and course features (DuckDB over arrow tables)."""
    sim = simulate_district({"scale": "small", "seed": 1})
    tb = sim.tables
    con = duckdb.connect()
    for name in ("platform_events", "course_records", "student_years"):
        con.register(name, tb[name])
    years = event_school_years(con, "platform_events", "course_records")
    parts = {int(y): school_year_sessions(con, "platform_events", "course_records", int(y)).to_pandas()
             for y in years["school_year"]}
    sessions = pd.concat(parts.values(), ignore_index=True)
    con.register("sessions", sessions)
    features = course_features(con, "sessions", "course_records", "student_years")
    return {"sim": sim, "years": years, "parts": parts, "sessions": sessions, "features": features}


# --------------------------------------------------------------------------- sessions and features
def test_years_partition_all_events_and_per_year_sessions_equal_one_pass(district):
    tb = district["sim"].tables
    years = district["years"]
    assert years["n_events"].sum() == len(tb["platform_events"])
    assert years["school_year"].is_monotonic_increasing
    for y, part in district["parts"].items():
        assert (part["school_year"] == y).all()
    whole = sessionize(tb["platform_events"], course_records=tb["course_records"], by_school_year=False)
    got = district["sessions"].sort_values(["student_id", "course_record_id", "session_number"]).reset_index(drop=True)
    pd.testing.assert_frame_equal(got[list(whole.columns)], whole, check_dtype=False)


def test_course_features_carry_course_and_student_year_facts(district):
    f = district["features"]
    tb = district["sim"].tables
    ref = engagement_features(district["sessions"], tb["course_records"])
    pd.testing.assert_frame_equal(f[list(ref.columns)].reset_index(drop=True), ref, check_dtype=False)
    cr = tb["course_records"].set_index("course_record_id")
    sy = tb["student_years"].set_index(["student_id", "school_year"])
    row = f.iloc[len(f) // 2]
    assert row["mark"] == cr.loc[row["course_record_id"], "mark"]
    assert row["school_id"] == cr.loc[row["course_record_id"], "school_id"]
    s = sy.loc[(row["student_id"], row["school_year"])]
    assert row["grade"] == s["grade"]
    assert row["absence_rate"] == pytest.approx(s["days_absent"] / s["days_enrolled"])
    # every online recovery course with events is there, once
    online = cr[(cr["delivery"] == "online")].index
    assert set(f["course_record_id"]) == set(online) and f["course_record_id"].is_unique


def test_planted_idle_pass_association_recovered_on_simulated_district(district):
    sim = district["sim"]
    est, samples = run_engagement_models(district["features"], None, sim.tables["student_years"],
                                         sim.tables["students"], models={"cov_type": "clustered"})
    assert list(est.columns) == list(ESTIMATE_COLUMNS)
    row = est[est["estimand_id"] == IDLE_PASS_ESTIMAND]
    assert len(row) == 1
    truth = {t["estimand_id"]: t["value"] for t in sim.truth}[IDLE_PASS_ESTIMAND]
    r = row.iloc[0]
    assert r["ci_low"] <= truth <= r["ci_high"], (r["estimate"], r["ci_low"], r["ci_high"])
    assert r["ci_high"] < 0 and r["ci_high"] - r["ci_low"] < 0.04  # informative, not just wide
    # idle time also goes with lower grades; the samples match the rows
    gp = est[(est["outcome"] == "grade_points") & (est["treatment"] == "idle_share_10pp")].iloc[0]
    assert gp["ci_high"] < 0
    assert list(samples.columns) == ["sample", "outcome", "student_id", "recovery_record_id", "online"]
    n = samples.groupby(["sample", "outcome"]).size()
    for _, e in est.iterrows():
        assert n[(e["sample"], e["outcome"])] == e["n"]


def _planted_frame(n=3000, seed=0, beta=-0.04, theta=-0.03, kappa=0.08):
    """Online courses with a known linear pass model (idle share, absences, grade, a prior score)."""
    rng = np.random.default_rng(seed)
    school = rng.integers(0, 12, n)
    prior = rng.normal(0, 1, n)
    idle = np.clip(0.3 + 0.08 * prior * 0 + rng.normal(0, 0.15, n) - 0.05 * prior, 0, 0.9)
    absence = np.clip(rng.gamma(2, 0.06, n), 0, 0.8)
    grade = rng.integers(9, 13, n)
    p = 0.75 + beta * 10 * (idle - 0.3) + theta * 10 * (absence - 0.12) + kappa * (grade >= 11) + 0.05 * prior
    passed = rng.random(n) < np.clip(p, 0, 1)
    ids = [f"S{i:05d}" for i in range(n)]
    features = pd.DataFrame({
        "student_id": ids, "course_record_id": [f"C{i:05d}" for i in range(n)],
        "school_year": rng.integers(2014, 2017, n), "subject": rng.choice(["math", "ela"], n),
        "school_id": [f"SCH{s:02d}" for s in school], "idle_share": idle, "grade": grade,
        "mark": np.where(passed, "C", "F"), "credits_earned": np.where(passed, 0.5, 0.0),
        "activities_per_active_hour": rng.gamma(4, 2, n),
    })
    sy = pd.DataFrame({"student_id": ids, "school_year": features["school_year"] - 1, "grade": grade - 1,
                       "math_score": 250 + 40 * prior, "reading_score": 250 + 40 * prior + rng.normal(0, 20, n),
                       "gpa": 2 + 0.5 * prior, "credits_earned": 5.0, "days_enrolled": 180,
                       "days_absent": np.round(absence * 180), "frl": True, "ell": False, "sped": False})
    students = pd.DataFrame({"student_id": ids, "gender": rng.choice(["F", "M"], n),
                             "race_ethnicity": rng.choice(["Black", "Hispanic"], n)})
    return features, sy, students


def test_planted_linear_associations_recovered_exactly_enough():
    features, sy, students = _planted_frame()
    frame = engagement_frame(features, sy, students)
    est, _ = engagement_estimates(frame, outcomes=["passed"], models={"cov_type": "clustered"})
    got = est.set_index("treatment")
    for term, value in (("idle_share_10pp", -0.04), ("absence_rate_10pp", -0.03 * 180 / 180),
                        ("grade_11_12", 0.08)):
        assert got.loc[term, "ci_low"] <= value <= got.loc[term, "ci_high"], (term, got.loc[term, "estimate"])
    # the estimate is per 10 percentage points: a per-unit slope would be 10x larger
    assert abs(got.loc["idle_share_10pp", "estimate"] - -0.04) < 0.015


def test_frame_outcomes_and_baseline():
    features, sy, students = _planted_frame(n=50)
    features.loc[0, "mark"] = "W"
    features.loc[0, "credits_earned"] = 0.0
    f = engagement_frame(features, sy, students)
    w = f[f["course_record_id"] == "C00000"].iloc[0]
    assert np.isnan(w["grade_points"]) and w["completed"] == 0 and w["passed"] == 0
    assert set(f["grade_points"].dropna()) <= {0.0, 2.0}
    assert f["idle_share_10pp"].to_numpy() == pytest.approx(10 * f["idle_share"].to_numpy())
    assert f["math_pre"].abs().max() < 5 and f["gpa_pre"].notna().all()  # baseline = the year before


def test_options_are_validated_in_one_place():
    assert resolve_engagement_options(None)["typology_method"] == "kmeans"
    with pytest.raises(ValueError, match="gmm"):
        resolve_engagement_options({"typology_method": "lca"})
    with pytest.raises(ValueError, match="allowed options"):
        resolve_engagement_options({"typology_k": 4})
    with pytest.raises(ValueError, match="typology_n_types"):
        resolve_engagement_options({"typology_n_types": 9})


# --------------------------------------------------------------------------- types and validation
def test_recovered_types_agree_with_planted_types_on_small_district(district):
    sim = district["sim"]
    types, diag, prof, res = typology_tables(district["features"], {"typology_method": "kmeans", "typology_k_min": 3,
                                                                    "typology_k_max": 5, "typology_n_types": 4})
    assert list(types.columns[:5]) == ["student_id", "course_record_id", "school_year", "type", "cluster"]
    assert list(diag["k"]) == [3, 4, 5] and diag["chosen"].sum() == 1
    v = engagement_truth(types, sim.types, pd.DataFrame({"estimand_id": []}), sim.truth)
    ari = v.loc[v["check"] == "types_adjusted_rand_index"].iloc[0]
    assert ari["estimate"] >= 0.8 and ari["passes"] and ari["n"] == len(sim.types)
    shares = v[v["check"] == "planted_type_recovered_share"].set_index("type")["estimate"]
    assert (shares > 0.8).all(), shares


def test_validation_checks_can_fail():
    planted = pd.DataFrame({"student_id": list("abcdefgh"), "course_record_id": list("12345678"),
                            "user_type": ["engaged"] * 4 + ["moonlighter"] * 4})
    relabeled = planted.rename(columns={"user_type": "type"}).assign(
        type=lambda d: d["type"].map({"engaged": "x", "moonlighter": "y"}))
    shuffled = relabeled.assign(type=["x", "y"] * 4)
    est = pd.DataFrame({"estimand_id": [IDLE_PASS_ESTIMAND], "estimate": [-0.02], "ci_low": [-0.03],
                        "ci_high": [-0.01], "n": [8]})
    truth = [{"estimand_id": IDLE_PASS_ESTIMAND, "value": -0.05}]
    good = engagement_truth(relabeled, planted, est, truth).set_index("check")
    bad = engagement_truth(shuffled, planted, est, truth).set_index("check")
    assert good.loc["types_adjusted_rand_index", "estimate"] == pytest.approx(1.0)  # names do not matter
    assert not bad.loc["types_adjusted_rand_index", "passes"]
    assert not good.loc["idle_pass_ci_covers_truth", "passes"]


# --------------------------------------------------------------------------- figures
def test_figures_suppress_small_cells(district):
    f = district["features"]
    types = f[["student_id", "course_record_id"]].assign(type=np.where(np.arange(len(f)) < 5, "moonlighter",
                                                                       "engaged"))
    fig, t = type_profile_figure(f, types, min_cell_size=10)
    assert t.set_index("type").loc["moonlighter", "suppressed"]
    assert t.set_index("type").drop(columns=["n_students", "suppressed"]).loc["moonlighter"].isna().all()
    fig, t = idle_pass_figure(f, bins=20, min_cell_size=10)
    shown = t[~t["suppressed"]]
    assert (shown["n_students"] >= 10).all() and t["n_students"].isna().eq(t["suppressed"]).all()
    assert ((shown["ci_low"] <= shown["pass_rate"]) & (shown["pass_rate"] <= shown["ci_high"])).all()
    fig, t = login_hour_figure(district["sessions"], types, min_cell_size=10)
    assert t.loc[t["type"] == "moonlighter", "share"].isna().all()
    eng = t[(t["type"] == "engaged")]
    assert eng["share"].sum() == pytest.approx(1 - eng.loc[eng["suppressed"], "share"].fillna(0).sum(), abs=0.05)
    fig, t = efficiency_figure(f, types, min_cell_size=10)
    assert (t.loc[~t["suppressed"], "n_students"] >= 10).all()
    assert t.loc[t["type"] == "moonlighter", "mean"].isna().all()


def test_holidays_move_school_day_logins_outside():
    """The optional calendar table reaches the sessions: a log-in on a closed day is outside the school day."""
    ev = pd.DataFrame({
        "event_id": [1, 2],
        "student_id": ["S1", "S1"],
        "course_record_id": ["C1", "C1"],
        "timestamp": pd.to_datetime(["2014-11-27 15:00:00", "2014-11-27 15:10:00"], utc=True),  # 9 am Chicago
        "event_type": ["login", "logout"],
        "score": [None, None],
    })
    cr = pd.DataFrame({"course_record_id": ["C1"], "school_year": [2015]})
    con = duckdb.connect()
    con.register("ev", ev)
    con.register("cr", cr)
    plain = school_year_sessions(con, "ev", "cr", 2015).to_pandas()
    closed = school_year_sessions(con, "ev", "cr", 2015, holidays=[pd.Timestamp("2014-11-27")]).to_pandas()
    assert bool(plain["in_school_day"].iloc[0]) is True
    assert bool(closed["in_school_day"].iloc[0]) is False
