"""Estimates against planted truth: truth over each estimate's own sample, brute force."""
import numpy as np
import pandas as pd
import pytest

from credit_recovery.truth.comparison import truth_vs_estimates
from credit_recovery.shared.estimate_schema import estimate_row, estimates_frame


def test_truth_is_the_mean_effect_over_the_estimates_own_online_units():
    rng = np.random.default_rng(0)
    n = 60
    ue = pd.DataFrame({"student_id": [f"S{i}" for i in range(n)], "course_record_id": [f"R{i}" for i in range(n)],
                       "online": rng.random(n) < 0.5, "supportive": rng.random(n) < 0.5,
                       "ocr_math": rng.normal(-0.2, 0.05, n), "mentor_math": rng.normal(0.1, 0.05, n)})
    units = ue.sample(40, random_state=1)
    one = pd.DataFrame({"outcome": "math", "student_id": units["student_id"],
                        "recovery_record_id": units["course_record_id"], "online": units["online"].astype(int)})
    samples = pd.concat([one.assign(sample="matched"), one.assign(sample="online")], ignore_index=True)
    est = estimates_frame([
        estimate_row(estimand_id="ocr_math", outcome="math", treatment="online", estimand="ATT", estimator="e",
                     sample="matched", estimate=-0.2, std_error=0.01, n=40),
        estimate_row(estimand_id="mentor_math", outcome="math", treatment="supportive", estimand="ATT",
                     estimator="m", sample="online", estimate=0.5, std_error=0.01, n=40),
        estimate_row(outcome="math", treatment="x", estimand="ATT", estimator="no id", sample="matched", estimate=0,
                     std_error=1, n=40)])
    out = truth_vs_estimates(est, samples, ue).set_index("estimand_id")
    assert len(out) == 2
    on = units[units["online"]]
    assert out.loc["ocr_math", "truth"] == pytest.approx(on["ocr_math"].mean())
    assert out.loc["ocr_math", "n_truth"] == len(on)
    sup = on[on["supportive"]]
    assert out.loc["mentor_math", "truth"] == pytest.approx(sup["mentor_math"].mean())
    assert not out.loc["mentor_math", "covers"]


def test_a_placebo_estimate_has_truth_zero_over_its_own_units():
    from credit_recovery.truth.comparison import truth_vs_estimates
    ue = pd.DataFrame({"student_id": ["a", "b", "c"], "course_record_id": ["r1", "r2", "r3"],
                       "online": [1, 1, 0], "supportive": [True, False, False], "ocr_math": [0.1, 0.2, 0.3]})
    est = pd.DataFrame({"estimand_id": ["placebo_math_pre2"], "outcome": ["math_pre2"], "estimator": ["e"],
                        "sample": ["matched_fe"], "estimate": [0.05], "ci_low": [-0.01], "ci_high": [0.11]})
    samples = pd.DataFrame({"sample": "matched_fe", "outcome": "math_pre2", "student_id": ["a", "b", "c"],
                            "recovery_record_id": ["r1", "r2", "r3"]})
    out = truth_vs_estimates(est, samples, ue)
    assert out["truth"].tolist() == [0.0] and out["n_truth"].tolist() == [2] and out["covers"].tolist() == [True]
