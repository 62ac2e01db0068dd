"""Same-cohort Callaway-Sant'Anna on the student panel: planted effects, brute-force 2x2 means, truth wiring."""
import numpy as np
import pandas as pd
import pytest

from credit_recovery.estimation.staggered import att_gt
from credit_recovery.specs.panel import PRE_COVARIATES, build_panel
from credit_recovery.specs.staggered import ESTIMATOR, SAMPLE, staggered_estimates, staggered_fit
from credit_recovery.truth.comparison import truth_vs_estimates

UNIT = {"cluster": "student_id"}


def _panel(n=6000, seed=0):
    """A panel shaped like build_panel's: cohorts g = 2013..2017 observed from g - 3 to g + 2 (10% of
    student-years missing). The failure year g - 1 has a dip that is deeper for students with a high
    failure-year absence shock ``a``; online take-up rises with ``a``, so the raw change from g - 1 to g
    is larger for online takers. Effects differ by cohort and student: tau_i = -0.2 + 0.1 (g - 2015) +
    N(0, 0.05^2) in the recovery year and half of it a year later."""
    rng = np.random.default_rng(seed)
    g = rng.integers(2013, 2018, n)
    a = rng.normal(size=n)
    online = (rng.random(n) < 1 / (1 + np.exp(-1.2 * a))).astype(int)
    tau = -0.2 + 0.1 * (g - 2015) + rng.normal(0, 0.05, n)
    school = rng.integers(0, 20, n)
    i = np.repeat(np.arange(n), 6)
    k = np.tile(np.arange(-3, 3), n)
    y = (rng.normal(size=n)[i] + 0.05 * (g[i] + k) - 0.5 * (k == -1) * (1 + 0.8 * a[i])
         + online[i] * tau[i] * ((k == 0) + 0.5 * (k == 1)) + rng.normal(0, 0.3, len(i)))
    p = pd.DataFrame({"student_id": [f"S{j}" for j in i], "recovery_record_id": [f"R{j}" for j in i],
                      "school_id": [f"SCH{s}" for s in school[i]], "school_year": g[i] + k, "event_year": g[i],
                      "event_time": k, "online": online[i], "math": y, "tau": tau[i]})
    for c in PRE_COVARIATES:
        p[f"{c}_c"] = a[i] if c == "absence_rate_pre" else 0.0
    return p[rng.random(len(p)) > 0.1].reset_index(drop=True)


def _truth(p, e):
    """Mean planted effect at event time e over the online students observed at e and -1."""
    seen = p.groupby("student_id")["event_time"].agg(lambda s: {-1, e} <= set(s))
    on = p[(p["online"] == 1) & p["student_id"].map(seen)].drop_duplicates("student_id")
    return float(on["tau"].mean()) * (1.0 if e == 0 else 0.5 if e == 1 else 0.0)


def test_same_cohort_doubly_robust_recovers_heterogeneous_planted_effects():
    p = _panel()
    est, samples = staggered_estimates(p, ["math"], {"cluster": "school_id"}, covariates=["absence_rate_pre"])
    rows = est.set_index("treatment")
    assert list(rows.index) == ["online_m3", "online_m2", "online_0", "online_p1", "online_p2"]
    for term, e in (("online_0", 0), ("online_p1", 1), ("online_m2", -2), ("online_p2", 2)):
        r = rows.loc[term]
        assert abs(r["estimate"] - _truth(p, e)) < 3 * r["std_error"], (term, r["estimate"], _truth(p, e))
        assert r["std_error"] < 0.03
    r0 = rows.loc["online_0"]
    assert (r0["estimand_id"], r0["estimand"], r0["sample"], r0["estimator"]) == (
        "ocr_math", "ATT in the recovery year", SAMPLE, ESTIMATOR)
    assert (rows.drop("online_0")["estimand_id"] == "").all() and r0["n_clusters"] == 20
    # samples: the students observed in the failure and the recovery year, online and classroom
    seen = p.groupby("student_id")["event_time"].agg(lambda s: {-1, 0} <= set(s))
    assert set(samples["student_id"]) == set(seen.index[seen]) and r0["n"] == seen.sum()
    # without the failure-year covariate the selected-on dip biases the change upwards
    raw = staggered_estimates(p, ["math"], {"cluster": "school_id"}, covariates=())[0].set_index("treatment")
    assert raw.loc["online_0", "estimate"] - _truth(p, 0) > 0.2


def test_comparison_within_the_cohort_is_what_removes_the_other_cohorts_dips():
    # pooling every classroom recoverer as "never treated" compares cohort g with cohort g + 1's own dip
    p = _panel(seed=1).assign(cs_group=lambda d: np.where(d["online"] == 1, d["event_year"], 0))
    pooled = att_gt(p, unit="student_id", time="school_year", outcome="math", group="cs_group",
                    covariates=["absence_rate_pre_c"], base_period="universal")
    same = staggered_fit(p, "math", UNIT, covariates=["absence_rate_pre"])
    e0 = {k: r.aggregate("dynamic").set_index("term").loc[0, "att"] for k, r in (("pooled", pooled), ("same", same))}
    assert abs(e0["same"] - _truth(p, 0)) < 0.03 and abs(e0["pooled"] - _truth(p, 0)) > 0.1


@pytest.fixture(scope="module")
def tiny(tiny_district):
    from credit_recovery import build_cohort

    t = tiny_district.tables
    cohort = build_cohort(t).cohort
    return build_panel(t["student_years"], t["course_records"], cohort), tiny_district.unit_effects


def test_one_cohort_of_the_tiny_district_is_the_brute_force_two_by_two(tiny):
    panel, _ = tiny
    res = staggered_fit(panel, "math", UNIT, covariates=())
    spans = panel.groupby("event_year")["event_time"].agg(lambda k: {-2, -1, 0, 1} <= set(k))
    size = panel[panel["event_year"].map(spans)].groupby("event_year")["student_id"].nunique()
    g = int(size.idxmax())  # the largest cohort observed from event time -2 to +1
    w = panel[panel["event_year"] == g].pivot(index="student_id", columns="event_time", values="math")
    online = panel.drop_duplicates("student_id").set_index("student_id")["online"].reindex(w.index)
    for e in (0, 1, -2):
        dy = w[e] - w[-1]
        ok = dy.notna()
        tr, co = dy[ok & (online == 1)], dy[ok & (online == 0)]
        cell = res.attgt[(res.attgt["group"] == g) & (res.attgt["event_time"] == e)].iloc[0]
        assert cell["att"] == pytest.approx(tr.mean() - co.mean(), rel=1e-10)
        assert (cell["n_treated"], cell["n_control"]) == (len(tr), len(co))
        # unit clusters, with the spec's G/(G-1) over the panel's students
        n = res.units.shape[0]
        se = np.sqrt((tr.var(ddof=0) / len(tr) + co.var(ddof=0) / len(co)) * n / (n - 1))
        assert cell["std_error"] == pytest.approx(se, rel=1e-10)


def test_tiny_district_rows_are_scored_against_the_online_units_of_their_cells(tiny):
    panel, unit_effects = tiny
    est, samples = staggered_estimates(panel, ["math", "credits"], {"cluster": "school_id"})
    scored = est[est["estimand_id"] != ""]
    assert set(scored["treatment"]) == {"online_0"} and set(scored["outcome"]) == {"math", "credits"}
    assert (est["n_clusters"] == panel["school_id"].nunique()).all()
    tv = truth_vs_estimates(est, samples, unit_effects).set_index("outcome")
    for y in ("math", "credits"):
        res = staggered_fit(panel, y, {"cluster": "school_id"})
        cells = (res.attgt["event_time"] == 0).to_numpy()
        online_ids = set(res.units.loc[res.treated_in[:, cells].any(axis=1), "unit"])
        ue = unit_effects[unit_effects["student_id"].isin(online_ids) & unit_effects["online"].astype(bool)]
        ue = ue.merge(panel[["student_id", "recovery_record_id"]].drop_duplicates(),
                      left_on=["student_id", "course_record_id"], right_on=["student_id", "recovery_record_id"])
        assert tv.loc[y, "n_truth"] == len(online_ids) == len(ue) > 0
        assert tv.loc[y, "truth"] == pytest.approx(ue[f"ocr_{y}"].mean(), rel=1e-12)
        assert tv.loc[y, "sample"] == SAMPLE


def test_outcome_and_cluster_checks(tiny):
    panel, _ = tiny
    with pytest.raises(ValueError, match="allowed values"):
        staggered_estimates(panel, ["credit_recovered"], UNIT)
    with pytest.raises(ValueError, match="cluster column"):
        staggered_fit(panel, "math", {"cluster": "subclass"})
