"""Student fixed-effects panel and event study: structure, and recovery of a planted effect under confounding."""
import numpy as np
import pandas as pd
import pytest

from credit_recovery.data.cohort import standardize_scores
from credit_recovery.specs.panel import EVENT_TIMES, PRE_COVARIATES, build_panel, event_time_of, panel_estimates

CL = {"cov_type": "clustered"}


def _district(n=2500, tau=-8.0, gamma=1.0, seed=0):
    """Students observed 4 years; a time-invariant trait U drives online choice and scores; the
    online effect (tau scale points) is in the recovery year only; the failure year has a common dip."""
    rng = np.random.default_rng(seed)
    start = rng.integers(2011, 2015, n)
    school = rng.integers(0, 10, n)
    u = rng.normal(size=n)
    r = start + rng.integers(1, 4, n)  # recovery year: 2nd to 4th observed year
    online = (rng.random(n) < 1 / (1 + np.exp(-gamma * u))).astype(int)
    sy_effect = rng.normal(0, 5, (10, 12))
    i = np.repeat(np.arange(n), 4)
    t = start[i] + np.tile(np.arange(4), n)
    k = t - r[i]
    score = (250 + 20 * gamma * u[i] + sy_effect[school[i], t - 2011] + rng.normal(0, 15, len(i))
             + tau * online[i] * (k == 0) - 6 * (k == -1))
    ids = np.array([f"S{j}" for j in range(n)])
    sy = pd.DataFrame({"student_id": ids[i], "school_year": t, "school_id": [f"SCH{s}" for s in school[i]],
                       "grade": 9 + np.tile(np.arange(4), n), "math_score": score, "reading_score": score,
                       "gpa": 2.0, "credits_earned": 5.0})
    # students who never recover (most of a district): the grade-by-year standardization rests on them
    m = 4 * n
    j = np.repeat(np.arange(m), 4)
    start_o = rng.integers(2011, 2015, m)
    t_o = start_o[j] + np.tile(np.arange(4), m)
    score_o = (250 + 20 * rng.normal(size=m)[j] + sy_effect[rng.integers(0, 10, m)[j], t_o - 2011]
               + rng.normal(0, 15, len(j)))
    others = pd.DataFrame({"student_id": [f"N{q}" for q in j], "school_year": t_o, "school_id": "SCH0",
                           "grade": 9 + np.tile(np.arange(4), m), "math_score": score_o, "reading_score": score_o,
                           "gpa": 2.0, "credits_earned": 5.0})
    sy = pd.concat([sy, others], ignore_index=True)
    later = (rng.random(n) < 0.1) & (r + 1 <= start + 3)  # a later (classroom) episode for some students
    cr = pd.concat([pd.DataFrame({"student_id": ids, "school_year": r, "attempt": "recovery",
                                  "delivery": np.where(online == 1, "online", "classroom")}),
                    pd.DataFrame({"student_id": ids[later], "school_year": r[later] + 1, "attempt": "recovery",
                                  "delivery": "classroom"})], ignore_index=True)
    cohort = pd.DataFrame({"student_id": [f"S{i}" for i in range(n)], "recovery_record_id": [f"R{i}" for i in range(n)],
                           "school_year": r, "online": online, "absence_rate_pre": rng.uniform(0, 0.3, n),
                           "gpa_pre": rng.uniform(0, 3, n), "credits_pre": rng.uniform(2, 6, n),
                           "failed_courses_pre": rng.integers(1, 4, n)})
    earlier = (rng.random(n) < 0.1) & (r - 2 >= start)  # an earlier (online) episode for some students
    cr = pd.concat([cr, pd.DataFrame({"student_id": ids[earlier], "school_year": r[earlier] - 2,
                                      "attempt": "recovery", "delivery": "online"})], ignore_index=True)
    return sy, cr, cohort


def test_build_panel_event_time_bins_and_other_episodes():
    sy, cr, cohort = _district(n=300)
    p = build_panel(sy, cr, cohort)
    assert len(p) == sy["student_id"].str.startswith("S").sum()
    assert (p["event_time"] == p["school_year"] - p["student_id"].map(cohort.set_index("student_id")["school_year"])).all()
    rel = p[[c for c in p.columns if c.startswith("rel_")]]
    assert (rel.sum(axis=1) == 1).all()  # every year in exactly one bin
    assert ((p["event_time"] >= 2) == (p["rel_p2"] == 1)).all() and ((p["event_time"] <= -3) == (p["rel_m3"] == 1)).all()
    assert (p["online_0"] == p["rel_0"] * p["online"]).all()
    for c in PRE_COVARIATES:  # failure-year covariate, centred over the cohort, in the recovery year only
        x = p["student_id"].map(cohort.set_index("student_id")[c]) - cohort[c].mean()
        assert np.allclose(p[f"{c}_0"], x * p["rel_0"])
        assert np.allclose(p[f"{c}_m1"], x * p["rel_m1"])
    eps = cr.merge(cohort[["student_id", "school_year"]], on="student_id", suffixes=("", "_r"))
    before = eps[eps["school_year"] < eps["school_year_r"]]
    assert len(before) and (eps["school_year"] > eps["school_year_r"]).any()  # earlier and later episodes exist
    for col in ("earlier_recovery", "earlier_online"):  # only earlier episodes are controlled for (pre-treatment)
        flagged = p.loc[p[col] == 1, ["student_id", "school_year"]]
        assert sorted(map(tuple, flagged.to_numpy())) == sorted(map(tuple, before[["student_id", "school_year"]]
                                                                    .to_numpy()))
    assert (p.loc[p["event_time"] >= 0, ["earlier_recovery", "earlier_online"]] == 0).all().all()
    assert "recovery_courses" not in p.columns and "other_recovery" not in p.columns


def test_student_fe_recovers_planted_effect_while_naive_is_confounded():
    # over 12 seeds of this district: mean error -0.012 (MC SE 0.007), SD 0.025, mean SE 0.029
    sy, cr, cohort = _district(seed=1)
    p = build_panel(sy, cr, cohort)
    est, samples = panel_estimates(p, ["math"], CL)
    # truth in SD units: tau over the grade-by-year SD, averaged over the online recovery years
    z = sy.assign(sd=sy.groupby(["school_year", "grade"])["math_score"].transform("std"))
    k0 = z.merge(cohort.rename(columns={"school_year": "r"}), on="student_id")
    k0 = k0[(k0["school_year"] == k0["r"]) & (k0["online"] == 1)]
    truth = float(np.mean(-8.0 / k0["sd"]))
    static = est[(est["sample"] == "panel")].iloc[0]
    assert static["estimand_id"] == "ocr_math"
    assert abs(static["estimate"] - truth) < min(3 * static["std_error"], 0.05)
    es = est[est["sample"] == "panel_es"].set_index("treatment")
    assert set(es.index) == {"online_m3", "online_m2", "online_0", "online_p1", "online_p2"}
    assert abs(es.loc["online_0", "estimate"] - truth) < 0.06
    for lead in ("online_m2", "online_p1"):  # no pre-trend, no lasting effect planted
        assert es.loc[lead, "ci_low"] <= 0 <= es.loc[lead, "ci_high"]
    # the naive recovery-year comparison is biased upwards by U (online takers have higher U)
    zz = p[p["event_time"] == 0]
    naive = zz.loc[zz["online"] == 1, "math"].mean() - zz.loc[zz["online"] == 0, "math"].mean()
    assert naive - truth > 0.3
    # samples: the online and classroom episodes whose recovery year entered the fit: the static model compares
    # it with years before the failure year, so students observed since at most one year before it drop out
    s = samples[(samples["sample"] == "panel") & (samples["outcome"] == "math")]
    first = sy.groupby("student_id")["school_year"].min()
    with_pre = cohort[cohort["student_id"].map(first) <= cohort["school_year"] - 2]
    assert len(s) == len(with_pre) < len(cohort) and s["online"].sum() == with_pre["online"].sum()


def test_failure_year_shock_that_shifts_the_recovery_year_is_conditioned_on():
    """Delivery is chosen on the failure year's absences, which also lower the next year's credits
    (fewer failed courses recovered): a time-varying path the student effect does not absorb."""
    rng = np.random.default_rng(7)
    n, tau = 4000, -0.1
    start = rng.integers(2011, 2014, n)
    r = start + rng.integers(1, 4, n)
    a = rng.normal(size=n)  # failure-year absence shock
    online = (rng.random(n) < 1 / (1 + np.exp(-1.5 * a))).astype(int)
    i = np.repeat(np.arange(n), 4)
    t = start[i] + np.tile(np.arange(4), n)
    k = t - r[i]
    school = rng.integers(0, 20, n)
    credits = (5 + rng.normal(0, 0.5, n)[i] + rng.normal(0, 0.3, (20, 12))[school[i], t - 2011]
               + rng.normal(0, 0.4, len(i)) - 0.6 * (k == -1) * (1 + 0.5 * a[i])
               + (k == 0) * (-0.3 * a[i] + tau * online[i]))
    ids = np.array([f"S{j}" for j in range(n)])
    sy = pd.DataFrame({"student_id": ids[i], "school_year": t, "school_id": [f"SCH{s}" for s in school[i]],
                       "grade": 9 + np.tile(np.arange(4), n), "math_score": 250.0, "reading_score": 250.0,
                       "gpa": 2.0, "credits_earned": credits})
    cr = pd.DataFrame({"student_id": ids, "school_year": r, "attempt": "recovery",
                       "delivery": np.where(online == 1, "online", "classroom")})
    cohort = pd.DataFrame({"student_id": ids, "recovery_record_id": [f"R{j}" for j in range(n)], "school_year": r,
                           "online": online, "absence_rate_pre": 0.15 + 0.05 * a, "gpa_pre": rng.uniform(0, 3, n),
                           "credits_pre": rng.uniform(2, 6, n), "failed_courses_pre": 1})
    est = panel_estimates(build_panel(sy, cr, cohort), ["credits"], CL, event_study=False)[0].iloc[0]
    assert abs(est["estimate"] - tau) < 3 * est["std_error"] and est["std_error"] < 0.03
    # without the failure-year covariates (constant, so dropped) the estimate is biased downwards
    flat = cohort.assign(absence_rate_pre=0.15)
    naive = panel_estimates(build_panel(sy, cr, flat), ["credits"], CL, event_study=False)[0].iloc[0]
    assert naive["estimate"] - tau < -0.15


def test_event_time_names_and_outcome_check():
    assert [event_time_of(t) for t in ("online_m3", "online_m2", "online_0", "online_p1", "online_p2")] == \
        [-3, -2, 0, 1, 2]
    assert EVENT_TIMES == (-3, -2, -1, 0, 1, 2)
    with pytest.raises(ValueError, match="allowed values"):
        panel_estimates(pd.DataFrame(), ["credit_recovered"], CL)


def test_scores_standardized_like_the_cohort():
    sy, cr, cohort = _district(n=200)
    p = build_panel(sy, cr, cohort).set_index(["student_id", "school_year"])
    z = standardize_scores(sy).assign(student_id=sy["student_id"], school_year=sy["school_year"]).set_index(
        ["student_id", "school_year"])
    assert np.allclose(p["math"], z.loc[p.index, "math_z"])
