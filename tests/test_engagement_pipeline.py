"""The engagement rules inside the tiny pipeline run: per-year session jobs, features, types, estimates,
figures, validation (byte-identical reruns: tests/test_pipeline.py)."""
import pandas as pd
import pytest


pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def run(tiny_run):
    return tiny_run / "results"


def test_one_session_file_per_school_year_with_events(run):
    years = pd.read_csv(run / "engagement/school_years.csv")
    files = sorted(p.name for p in (run / "engagement/sessions").glob("*.parquet"))
    assert files == [f"school_year={y}.parquet" for y in years["school_year"]]
    for y in years["school_year"]:
        s = pd.read_parquet(run / f"engagement/sessions/school_year={y}.parquet")
        assert (s["school_year"] == y).all()
        assert (s["active_minutes"] + s["idle_minutes"]).to_numpy() == pytest.approx(s["span_minutes"].to_numpy())
    events = pd.read_parquet(run / "data/platform_events.parquet", columns=["event_id"])
    assert years["n_events"].sum() == len(events)


def test_features_types_and_estimates(run):
    f = pd.read_parquet(run / "engagement/features.parquet")
    t = pd.read_parquet(run / "engagement/types.parquet")
    planted = pd.read_parquet(run / "truth/types.parquet")
    keys = ["student_id", "course_record_id"]
    assert set(map(tuple, t[keys].to_numpy())) == set(map(tuple, planted[keys].to_numpy()))
    assert set(map(tuple, f[keys].to_numpy())) == set(map(tuple, planted[keys].to_numpy()))
    assert t["p_engaged"].between(0, 1).all() and t["type"].notna().all()
    diag = pd.read_csv(run / "engagement/typology_diagnostics.csv")
    assert list(diag["k"]) == list(range(2, 9)) and {"bic", "silhouette"} <= set(diag.columns)
    est = pd.read_csv(run / "models/estimates.csv", keep_default_na=False)
    mine = pd.read_csv(run / "models/parts/engagement.csv", keep_default_na=False)
    key = ["estimand_id", "outcome", "treatment", "estimand", "estimator", "sample", "fixed_effects", "cov_type"]
    assert len(mine) > 10 and len(est[key].merge(mine[key])) == len(mine)
    assert (est["estimand_id"] == "engagement_idle_pass").sum() == 1
    assert {"idle_share_10pp", "absence_rate_10pp", "grade_11_12", "school_year_trend"} <= set(mine["treatment"])
    v = pd.read_csv(run / "truth_comparison/engagement.csv")
    assert {"types_adjusted_rand_index", "idle_pass_ci_covers_truth"} <= set(v["check"])


def test_figures_are_public_and_pass_the_privacy_scan(run):
    for name in ("type_profiles", "idle_pass", "login_hours", "efficiency"):
        for ext in ("png", "svg", "json"):
            assert (run / f"public/figures/engagement_{name}.{ext}").is_file()
    scan = pd.read_csv(run / "disclosure/privacy_scan.csv")
    assert not scan["file"].astype(str).str.contains("engagement").any()
