"""For whom: subgroup levels, Romano-Wolf step-down p-values, shared wild bootstrap draws, subgroup truths and
the subgroup estimates of the primary matched design on a district with planted heterogeneity."""
import numpy as np
import pandas as pd
import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from credit_recovery.data.cohort import build_cohort
from credit_recovery.data.subgroups import SUBGROUP_DIMENSIONS, subgroup_labels
from credit_recovery.estimation.fixed_effects import fit_fixed_effects
from credit_recovery.estimation.fixed_effects.wild import wild_weights
from credit_recovery.estimation.multiple_testing import romano_wolf
from credit_recovery.shared.estimate_schema import collect_estimates
from credit_recovery.specs.drivers import match_cohort
from credit_recovery.specs.subgroups import SUBGROUP_COLUMNS, public_subgroups, run_subgroups
from credit_recovery.synthetic.generator import simulate_district
from credit_recovery.synthetic.planted_truth import subgroup_truth
from credit_recovery.truth.comparison import truth_vs_estimates
from credit_recovery.truth.montecarlo import scenario_settings

CONFIG = yaml.safe_load(open("config.yaml"))


def test_subgroup_levels_follow_their_definitions():
    c = pd.DataFrame({"grade": [9, 10, 11, 12, 9, 10], "subject": ["math", "ela", "math", "science", None, "math"],
                      "gpa_pre": [0.5, 1.0, 1.5, 2.0, 2.5, np.nan], "ell": [True, False, True, False, False, True],
                      "sped": [False, False, True, True, False, False]})
    lab = subgroup_labels(c)
    assert list(lab.columns) == list(SUBGROUP_DIMENSIONS)
    assert lab["grade_band"].tolist() == ["9-10", "9-10", "11-12", "11-12", "9-10", "9-10"]
    assert lab["subject"].tolist()[:4] == ["math", "other", "math", "other"] and lab["subject"].isna().tolist()[4]
    # terciles of 0.5..2.5 cut at 1.1667 and 1.8333; a unit without a GPA has no level
    assert lab["prior_gpa"].tolist()[:5] == ["low", "low", "middle", "high", "high"] and pd.isna(lab["prior_gpa"][5])
    assert lab["ell"].tolist() == ["yes", "no", "yes", "no", "no", "yes"]
    with pytest.raises(ValueError, match="unknown subgroup dimension"):
        subgroup_labels(c, ["user_type"])


def test_romano_wolf_with_one_hypothesis_is_the_bootstrap_p_value():
    rng = np.random.default_rng(1)
    ts = rng.standard_normal((999, 1))
    assert romano_wolf([1.7], ts)[0] == pytest.approx(np.mean(np.abs(ts[:, 0]) >= 1.7))


def test_romano_wolf_pays_nothing_for_identical_statistics_and_sidak_for_independent_ones():
    rng = np.random.default_rng(2)
    z = rng.standard_normal((20000, 1))
    same = romano_wolf([2.0, 2.0, 2.0], np.repeat(z, 3, axis=1))
    assert np.allclose(same, np.mean(np.abs(z[:, 0]) >= 2.0))
    ind = romano_wolf([2.5, 0.1, 0.2], rng.standard_normal((20000, 3)))
    p = 2 * (1 - 0.99379033)  # P(|Z| >= 2.5)
    assert ind[0] == pytest.approx(1 - (1 - p) ** 3, abs=0.006)  # Sidak over the three
    assert ind[1] == ind[2] >= ind[0]  # step-down, monotone


@settings(max_examples=40, deadline=None)
@given(st.integers(2, 8), st.integers(0, 10_000))
def test_romano_wolf_lies_between_the_raw_p_values_and_their_union_bound(m, seed):
    rng = np.random.default_rng(seed)
    cov = np.full((m, m), rng.uniform(-0.1, 0.9)) + np.eye(m)
    ts = rng.multivariate_normal(np.zeros(m), cov / cov[0, 0], size=499)
    t = rng.normal(0, 2, size=m)
    raw = np.array([np.mean(np.abs(ts[:, k]) >= abs(t[k]) * (1 - 1e-12)) for k in range(m)])
    # the union bound over the same draws: P(max_l |t*_l| >= |t_k|) <= sum_l P(|t*_l| >= |t_k|)
    union = np.array([sum(np.mean(np.abs(ts[:, l]) >= abs(t[k]) * (1 - 1e-12)) for l in range(m)) for k in range(m)])
    rw = romano_wolf(t, ts)
    assert np.all(rw >= raw - 1e-12) and np.all(rw <= np.minimum(1, union) + 1e-12)
    order = np.argsort(-np.abs(t), kind="stable")
    assert np.all(np.diff(rw[order]) >= -1e-12)  # larger |t|, smaller adjusted p


def test_romano_wolf_controls_the_familywise_error_rate():
    """Ten true nulls with correlated statistics: P(any adjusted p <= 0.05) stays near 5%."""
    rng = np.random.default_rng(3)
    cov = np.full((10, 10), 0.5) + 0.5 * np.eye(10)
    hits = 0
    for _ in range(1000):
        t = rng.multivariate_normal(np.zeros(10), cov)
        ts = rng.multivariate_normal(np.zeros(10), cov, size=399)
        hits += bool(np.any(romano_wolf(t, ts) <= 0.05))
    assert 0.035 <= hits / 1000 <= 0.068


@pytest.fixture(scope="module")
def panel():
    rng = np.random.default_rng(4)
    n = 600
    d = pd.DataFrame({"g": rng.integers(0, 12, n), "x": rng.standard_normal(n), "fe": rng.integers(0, 20, n)})
    d["school"] = [f"s{g:02d}" for g in d["g"]]
    d["y"] = 0.2 * d["x"] + rng.standard_normal(n) + 0.3 * d["g"] / 12
    return d


def test_given_bootstrap_draws_reproduce_the_drawn_ones(panel):
    kw = dict(cluster="school", cov_type="wild", bootstrap_reps=199, bootstrap_weights="webb", seed=5)
    a = fit_fixed_effects(panel, "y ~ x | fe", **kw)
    labels = pd.unique(panel["school"])  # the fit numbers clusters in order of appearance
    V = wild_weights(len(labels), 199, "webb", 5)
    b = fit_fixed_effects(panel, "y ~ x | fe", bootstrap_draws={c: V[i] for i, c in enumerate(labels)}, **kw)
    assert a.pvalues["x"] == b.pvalues["x"] and np.allclose(a.bootstrap["x"]["t_star"], b.bootstrap["x"]["t_star"])
    shuffled = {c: V[(i + 1) % len(labels)] for i, c in enumerate(labels)}
    c = fit_fixed_effects(panel, "y ~ x | fe", bootstrap_draws=shuffled, **kw)
    assert not np.allclose(a.bootstrap["x"]["t_star"], c.bootstrap["x"]["t_star"])
    with pytest.raises(ValueError, match="no weights for cluster"):
        fit_fixed_effects(panel, "y ~ x | fe", bootstrap_draws={c: V[0] for c in labels[:-1]}, **kw)


@pytest.fixture(scope="module")
def heterogeneous():
    """A medium district of the heterogeneous scenario (credits effects fall with grade, math effects vary with
    prior scores, GPA and ELL), its cohort and propensity table, and the subgroup estimates (clustered SEs)."""
    res = simulate_district(scenario_settings(CONFIG, "heterogeneous", 7, "medium"), None, CONFIG.get("cohort"))
    cohort = build_cohort(res.tables, CONFIG.get("cohort")).cohort
    data, _, _ = match_cohort(cohort, CONFIG["matching"])
    models = {**CONFIG["models"], "bootstrap_reps": 199}
    est, samples, table = run_subgroups(data, CONFIG["matching"], models, CONFIG["subgroups"])
    return res, cohort, est, samples, table


def test_subgroup_truth_is_the_mean_effect_of_the_subgroups_online_takers(heterogeneous):
    res, cohort, *_ = heterogeneous
    rec = {(r["estimand_id"], r["subgroup"]): r for r in res.truth if "subgroup" in r}
    assert len(rec) <= 8 * sum(len(v) for v in SUBGROUP_DIMENSIONS.values()) and ("ocr_math", "ell=yes") in rec
    assert all(r["n"] > 0 and np.isfinite(r["value"]) for r in rec.values())
    ue = res.unit_effects.rename(columns={"course_record_id": "recovery_record_id"})
    u = cohort[["student_id", "recovery_record_id", "grade", "online"]].merge(
        ue.drop(columns="online"), on=["student_id", "recovery_record_id"])
    older = u[(u["online"] == 1) & (u["grade"] >= 11)]
    assert rec[("ocr_credits", "grade_band=11-12")]["value"] == pytest.approx(older["ocr_credits"].mean(), abs=1e-12)
    assert rec[("ocr_credits", "grade_band=11-12")]["n"] == len(older)
    younger = rec[("ocr_credits", "grade_band=9-10")]["value"]
    assert younger - rec[("ocr_credits", "grade_band=11-12")]["value"] > 0.04  # planted: falls with grade
    pd.testing.assert_frame_equal(pd.DataFrame(subgroup_truth(res.unit_effects, cohort)),
                                  pd.DataFrame([r for r in res.truth if "subgroup" in r]))


def test_subgroup_estimates_cover_their_subgroup_truths(heterogeneous):
    res, cohort, est, samples, table = heterogeneous
    assert set(est["sample"]) == {"matched_sub"} and (est["subgroup"] != "").all()
    assert list(table.columns) == SUBGROUP_COLUMNS and len(table) == len(est)
    assert (table["fwer_method"].str.startswith("Romano-Wolf")).all()
    assert (table["p_fwer"] >= table["p_value"] - 1e-12).all()
    comp = truth_vs_estimates(est, samples, res.unit_effects)
    assert len(comp) == len(est) and comp["covers"].mean() >= 0.85
    credits = comp[comp["outcome"] == "credits"].set_index("subgroup")["truth"]
    assert credits["grade_band=9-10"] - credits["grade_band=11-12"] > 0.04  # each row scored on its own truth
    # whole-sample rows and subgroup rows of one stage collect without clashing
    whole = est.assign(subgroup="").drop_duplicates(["outcome"])
    assert len(collect_estimates([est, whole])) == len(est) + len(whole)


def test_public_subgroups_drop_levels_below_the_cell_minimum(heterogeneous):
    table = heterogeneous[4]
    small = public_subgroups(table, min_cell_size=int(table["n_treated"].median()))
    assert len(small) < len(table) and (small["n_treated"] >= table["n_treated"].median()).all()
    assert len(public_subgroups(table, 10)) == int(((table["n_treated"] >= 10) & (table["n_control"] >= 10)).sum())


def test_program_model_is_a_level_of_online_units_only():
    c = pd.DataFrame({"grade": [9, 10, 11], "subject": ["math"] * 3, "gpa_pre": [1.0, 2.0, 3.0], "ell": [False] * 3,
                      "sped": [False] * 3, "online": [1, 1, 0], "program_model": ["blended", None, None]})
    assert subgroup_labels(c)["program_model"].tolist()[:1] == ["blended"]
    assert subgroup_labels(c)["program_model"].isna().tolist() == [False, True, True]
    # an extract without the optional column: no unit has a level
    assert subgroup_labels(c.drop(columns="program_model"))["program_model"].isna().all()


@pytest.fixture(scope="module")
def program_models():
    """A medium district where blended and competency-based online courses do better (math and credit
    recovery effects rise with the program-model indicators), estimated within program models only."""
    sim = scenario_settings(CONFIG, "default", 11, "medium")
    sim["effect_heterogeneity"] = {"ocr_math": {"program_blended": 0.12, "program_competency": 0.08},
                                   "ocr_credit_recovered": {"program_blended": 0.06}}
    res = simulate_district(sim, None, CONFIG.get("cohort"))
    cohort = build_cohort(res.tables, CONFIG.get("cohort")).cohort
    data, _, _ = match_cohort(cohort, CONFIG["matching"])
    models = {**CONFIG["models"], "bootstrap_reps": 199}
    est, samples, table = run_subgroups(data, CONFIG["matching"], models,
                                        {**CONFIG["subgroups"], "dimensions": ["program_model"]})
    return res, cohort, est, samples, table


def test_program_model_estimates_track_planted_differences(program_models):
    """Each program model's online takers against classroom retakers: the subgroup truths differ as planted
    (blended > competency-based > fully online for math) and the intervals cover their own truths; the
    controls are classroom units, matched again for each model."""
    res, cohort, est, samples, table = program_models
    assert set(table["level"]) == {"fully_online", "blended", "competency_based"}
    comp = truth_vs_estimates(est, samples, res.unit_effects)
    assert len(comp) == len(est) == 15
    math = comp[comp["outcome"] == "math"].set_index("subgroup")["truth"]
    assert math["program_model=blended"] - math["program_model=fully_online"] > 0.15
    assert math["program_model=competency_based"] - math["program_model=fully_online"] > 0.08
    assert comp["covers"].mean() >= 0.85
    est_math = comp[comp["outcome"] == "math"].set_index("subgroup")["estimate"]
    assert est_math["program_model=blended"] > est_math["program_model=fully_online"]  # the estimates follow
    s = samples[samples["subgroup"] == "program_model=blended"]
    units = cohort.set_index(["student_id", "recovery_record_id"])
    keys = list(zip(s["student_id"], s["recovery_record_id"]))
    online = units.loc[keys, "online"].to_numpy()
    pm = units.loc[keys, "program_model"].to_numpy()
    assert set(pm[online == 1]) == {"blended"} and pd.isna(pm[online == 0]).all() and (online == 0).any()
