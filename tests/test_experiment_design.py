"""The randomized design's units and estimates (issue 14): assignments joined to the cohort, exclusions with
their reason, ITT and CACE rows in the tidy schema, the first stage, the randomization check and attrition by
assigned arm."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from credit_recovery.data.experiment import randomized_units, resolve_design
from credit_recovery.estimation.experiments import itt
from credit_recovery.shared.estimate_schema import ESTIMATE_COLUMNS
from credit_recovery.specs.experiment import randomization_check, run_experiment


def _world(n=800, seed=0, imbalance=0.0, never=0.1, always=0.05, effect=-0.2):
    rng = np.random.default_rng(seed)
    block = np.repeat([f"B{b}" for b in range(8)], n // 8)
    x = rng.normal(size=n)
    z = np.zeros(n, int)
    for b in np.unique(block):  # complete randomization within block, half online
        idx = np.flatnonzero(block == b)
        z[rng.permutation(idx)[: len(idx) // 2]] = 1
    if imbalance:  # a broken randomization: the online arm has higher x
        z = (x + rng.normal(scale=1 / imbalance, size=n) > 0).astype(int)
    kind = rng.choice(["c", "n", "a"], size=n, p=[1 - never - always, never, always])
    d = np.where(kind == "c", z, np.where(kind == "a", 1, 0))
    y = 0.5 * x + effect * d + rng.normal(size=n)
    students = [f"S{i:04d}" for i in range(n)]
    cohort = pd.DataFrame({"student_id": students, "failed_record_id": [f"F{i:04d}" for i in range(n)],
                           "online": d, "math": y, "math_pre": x, "gpa_pre": rng.normal(size=n),
                           "recovery_mark": rng.choice(["A", "C", "D", "F", "W"], size=n),
                           "credit_recovered": rng.integers(0, 2, n).astype(float)})
    assignments = pd.DataFrame({"student_id": students, "failed_record_id": cohort["failed_record_id"],
                                "block": block, "assigned_arm": np.where(z == 1, "online", "classroom")})
    return assignments, cohort, kind


def test_design_is_inferred_from_the_assignments_table():
    assert resolve_design("auto", True) == "randomized" and resolve_design("auto", False) == "observational"
    assert resolve_design("observational", True) == "observational"
    with pytest.raises(ValueError, match="needs the optional assignments table"):
        resolve_design("randomized", False)
    with pytest.raises(ValueError, match="design must be one of"):
        resolve_design("rct", True)


def test_units_join_the_cohort_and_exclusions_keep_their_reason():
    a, cohort, _ = _world(n=80)
    ledger = pd.DataFrame({"table": ["course_records"], "record_id": ["F0003"], "status": ["failed_no_recovery_attempt"]})
    units, excluded = randomized_units(a, cohort.drop(index=[3, 5]), ledger)
    assert len(units) == 78 and excluded["student_id"].tolist() == ["S0003", "S0005"]
    assert excluded.set_index("student_id")["status"].to_dict() == {"S0003": "failed_no_recovery_attempt",
                                                                     "S0005": "not_in_cohort"}
    assert (units["assigned"] == (units["assigned_arm"] == "online")).all()
    assert (units["took_online"] == units["online"]).all()
    mark = units["recovery_mark"]
    assert (units["df"] == mark.isin(["D", "F"]).astype(float)).all()  # W is neither D nor F


def test_itt_and_cace_rows_follow_the_schema_and_recover_the_planted_effect():
    a, cohort, kind = _world(n=4000, seed=1)
    out = run_experiment(a, cohort, None, {"outcomes": ["math"], "covariates": ["math_pre", "gpa_pre"]})
    est = out["estimates"].set_index("estimand_id")
    assert list(out["estimates"].columns)[: len(ESTIMATE_COLUMNS) - 2] == list(ESTIMATE_COLUMNS)[: len(ESTIMATE_COLUMNS) - 2]
    assert set(est.index) == {"itt_math", "cace_math"} and (est["sample"] == "randomized").all()
    assert est.loc["itt_math", "cov_type"] == "HC2" and est.loc["itt_math", "fixed_effects"] == "block"
    complier = 1 - 0.1 - 0.05
    # the CACE is the planted effect; the ITT is diluted by the compliance difference
    assert abs(est.loc["cace_math", "estimate"] + 0.2) < 3 * est.loc["cace_math", "std_error"]
    assert abs(est.loc["itt_math", "estimate"] + 0.2 * complier) < 3 * est.loc["itt_math", "std_error"]
    # the ITT row is estimation.experiments.itt's, unchanged
    units = out["units"]
    direct = itt(units, "math", "assigned", blocks="block")
    assert est.loc["itt_math", "estimate"] == pytest.approx(direct.estimate, rel=1e-12)
    fs = out["first_stage"].iloc[0]
    assert fs["compliance_difference"] == pytest.approx(complier, abs=0.03) and fs["first_stage_f"] > 1000
    comp = out["compliance"].set_index("arm")
    assert comp.loc["assigned online", "took online"] == int(((units["assigned"] == 1) & (units["took_online"] == 1)).sum())


def test_randomization_check_passes_a_fair_draw_and_flags_a_broken_one():
    a, cohort, _ = _world(n=2000, seed=2)
    units, _ = randomized_units(a, cohort)
    bal, joint = randomization_check(units, ["math_pre", "gpa_pre"])
    assert joint["p_value"].iloc[0] > 0.01 and bal["smd"].abs().max() < 0.1
    a, cohort, _ = _world(n=2000, seed=2, imbalance=2.0)
    units, _ = randomized_units(a, cohort)
    bal, joint = randomization_check(units, ["math_pre", "gpa_pre"])
    assert joint["p_value"].iloc[0] == pytest.approx(1 / 1000) and joint["p_value_f"].iloc[0] < 1e-6
    assert bal.loc["math_pre", "smd"] > 0.5


def test_the_joint_statistic_is_the_classical_f_test_with_block_dummies():
    import statsmodels.formula.api as smf

    a, cohort, _ = _world(n=400, seed=4)
    units, _ = randomized_units(a, cohort)
    _, joint = randomization_check(units, ["math_pre", "gpa_pre"], draws=9)
    fit = smf.ols("assigned ~ math_pre + gpa_pre + C(block)", data=units).fit()
    ref = fit.f_test("math_pre = 0, gpa_pre = 0")
    assert joint["statistic"].iloc[0] == pytest.approx(float(ref.fvalue), rel=1e-9)
    assert joint["p_value_f"].iloc[0] == pytest.approx(float(ref.pvalue), rel=1e-7)


def test_the_permutation_p_value_of_fair_lotteries_is_uniform():
    """Over 200 fair lotteries (same units, assignment re-drawn within blocks) the share with p < 0.05 is
    near 5% and with p < 0.5 near 50%: the test is exact, whatever the covariates look like (a skewed one
    and a rare category here)."""
    rng = np.random.default_rng(5)
    a, cohort, _ = _world(n=160, seed=5)
    cohort["rare"] = np.where(rng.random(len(cohort)) < 0.03, "x", "y")
    cohort["skewed"] = rng.exponential(size=len(cohort)) ** 3
    units, _ = randomized_units(a, cohort)
    ps = []
    for i in range(200):
        z = units.groupby("block")["assigned"].transform(lambda s: rng.permutation(s.to_numpy()))
        ps.append(randomization_check(units.assign(assigned=z), ["math_pre", "rare", "skewed"], draws=99,
                                      seed=i)[1]["p_value"].iloc[0])
    ps = np.array(ps)
    assert 0.01 <= (ps < 0.05).mean() <= 0.11 and 0.38 <= (ps < 0.5).mean() <= 0.62


def test_attrition_is_reported_by_assigned_arm():
    a, cohort, _ = _world(n=800, seed=3)
    cohort.loc[cohort.index[:40], "math"] = np.nan  # 40 lost scores
    out = run_experiment(a, cohort, None, {"outcomes": ["math"], "covariates": ["math_pre"]})
    att = out["attrition"].iloc[0]
    assert att["n_online_missing"] + att["n_classroom_missing"] == 40
    assert att["overall_attrition"] == pytest.approx(100 * 40 / 800)
    assert out["estimates"].set_index("estimand_id").loc["itt_math", "n"] == 760
