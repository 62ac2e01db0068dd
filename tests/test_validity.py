"""Reading a validity matrix (truth.validity) and the brief's caveats drawn from it (reporting.validity)."""
import html
import json
import re

import numpy as np
import pandas as pd
import pytest

from credit_recovery.reporting.numbers import TRANSFORMS
from credit_recovery.reporting.validity import SCENARIO_WORDS, total_replicates, trust_note
from credit_recovery.truth.montecarlo import VALIDITY_COLUMNS
from credit_recovery.truth.validity import MISLEADS_BELOW, flag_cells, pick_scale, trust_by_estimator, validity_table

MATCHED = "matched WLS, covariates, school-by-year FE"
MENTOR = "mentor instructionally supportive vs not, school FE"
SPAN = re.compile(r'<span class="num" ([^>]*)>([^<]*)</span>')


def _cell(scenario, estimand_id, estimator, sample, coverage, bias, holds=True, scale="medium", r=200):
    return {"scenario": scenario, "scale": scale, "estimand_id": estimand_id, "estimator": estimator,
            "sample": sample, "assumptions_hold": holds, "replicates": r, "bias": bias, "bias_mcse": 0.004,
            "rmse": abs(bias) + 0.05, "coverage": coverage, "coverage_mcse": np.sqrt(coverage * (1 - coverage) / r),
            "mean_ci_width": 0.2, "power": 0.5}


@pytest.fixture
def matrix():
    rows = [
        _cell("default", "ocr_math", MATCHED, "matched_fe", 0.95, 0.002),
        _cell("default", "ocr_credits", MATCHED, "matched_fe", 0.94, -0.003),
        _cell("default", "mentor_math", MENTOR, "online", 0.96, 0.001),
        _cell("confounding", "ocr_math", MATCHED, "matched_fe", 0.93, 0.006, holds=False),
        _cell("confounding", "ocr_credits", MATCHED, "matched_fe", 0.81, 0.075, holds=False),
        _cell("confounding", "mentor_math", MENTOR, "online", 0.95, 0.003),
        _cell("mentor_selection", "ocr_math", MATCHED, "matched_fe", 0.95, 0.001),
        _cell("mentor_selection", "ocr_credits", MATCHED, "matched_fe", 0.96, 0.000),
        _cell("mentor_selection", "mentor_math", MENTOR, "online", 0.08, 0.43, holds=False),
        _cell("random", "ocr_math", MATCHED, "matched_fe", 0.94, 0.001),
        _cell("random", "ocr_credits", MATCHED, "matched_fe", 0.93, 0.047),  # holds, biased: fails, not misleads
        _cell("random", "mentor_math", MENTOR, "online", 0.86, 0.0001),  # too narrow, not biased
        _cell("default", "ocr_math", "nearest-neighbour matching, WLS g-computation", "matched", 0.5, 0.3),
    ]
    rows += [dict(r, scale="default", replicates=100) for r in rows[:3]]
    return pd.DataFrame(rows)[VALIDITY_COLUMNS]


@pytest.fixture
def headline():
    return pd.DataFrame([
        {"estimand_id": "ocr_math", "estimator": MATCHED, "sample": "matched_fe", "outcome": "math",
         "comparison": "online"},
        {"estimand_id": "ocr_credits", "estimator": MATCHED, "sample": "matched_fe", "outcome": "credits",
         "comparison": "online"},
        {"estimand_id": "mentor_math", "estimator": MENTOR, "sample": "online", "outcome": "math",
         "comparison": "mentor"},
    ])


def test_cells_fail_beyond_two_coverage_or_three_bias_mcses_and_mislead_below_ninety(matrix):
    f = flag_cells(matrix).set_index(["scenario", "scale", "estimand_id", "sample"])
    assert f.loc[("random", "medium", "ocr_credits", "matched_fe"), "fails"]  # bias 0.047 > 3 x 0.004
    assert not f.loc[("random", "medium", "ocr_credits", "matched_fe"), "misleads"]  # coverage 0.93
    assert f.loc[("random", "medium", "mentor_math", "online"), "fails"]  # 0.86 < 0.95 - 2 x 0.025
    assert not f.loc[("default", "medium", "ocr_credits", "matched_fe"), "fails"]  # 0.94, bias under 1 MCSE
    # boundary: coverage exactly 0.95 - 2 MCSE is not a failure, a hair below is
    edge = pd.DataFrame([_cell("x", "ocr_math", MATCHED, "matched_fe", 0.90, 0.0)])
    edge["coverage_mcse"] = 0.025
    assert not flag_cells(edge)["fails"].iat[0]
    edge["coverage"] = 0.8999
    assert flag_cells(edge)["fails"].iat[0] and flag_cells(edge)["misleads"].iat[0] and MISLEADS_BELOW == 0.90
    # assumptions_hold read from CSV strings as well as booleans
    assert flag_cells(matrix.assign(assumptions_hold=matrix["assumptions_hold"].astype(str)))["holds"].equals(
        flag_cells(matrix)["holds"])


def test_table_marks_broken_assumptions_and_failures_where_they_hold(matrix):
    assert pick_scale(matrix) == "default" and pick_scale(matrix[matrix["scale"] == "medium"]) == "medium"
    t = validity_table(matrix, "medium").set_index(["estimand_id", "sample"])
    assert list(t.columns) == ["default", "confounding", "mentor_selection", "random"]
    assert t.loc[("ocr_credits", "matched_fe"), "confounding"] == "0.81 / +0.075*"
    assert t.loc[("ocr_credits", "matched_fe"), "random"] == "0.93 / +0.047!"
    assert t.loc[("ocr_math", "matched_fe"), "default"] == "0.95 / +0.002"
    assert ("ocr_math", "matched") not in t.index  # g-computation variant and undesigned samples left out
    trust = trust_by_estimator(matrix, "medium").set_index(["estimand_id", "sample"])
    assert trust.loc[("ocr_credits", "matched_fe"), "trusted_in"] == "default, mentor_selection"
    assert trust.loc[("ocr_credits", "matched_fe"), "fails_where_assumed"] == "random"
    assert trust.loc[("ocr_credits", "matched_fe"), "broken_in"] == "confounding!"
    assert "selection_on_observables" in trust.loc[("ocr_credits", "matched_fe"), "assumptions"]


def _numbers(text):
    return [({k: html.unescape(v) for k, v in re.findall(r'([\w-]+)="([^"]*)"', a)}, shown)
            for a, shown in SPAN.findall(text)]


def test_trust_note_names_the_worlds_where_a_headline_estimate_misleads(matrix, headline):
    note = trust_note(matrix[matrix["scale"] == "medium"], headline)
    items = re.findall(r"<li>(.*?)</li>", note)
    plain = [re.sub(r"<[^>]+>", "", SPAN.sub(r"\2", i)) for i in items]
    assert len(plain) == 3  # in SCENARIO_WORDS order: mentor_selection, confounding, random
    assert plain[1].startswith("If " + html.escape(SCENARIO_WORDS["confounding"]))
    assert "online vs classroom, credits earned: its confidence interval held the true effect in 81%" in plain[1]
    assert "0.07 credits too high on average" in plain[1] and "math" not in plain[1]
    assert "supportive mentor vs not, math score" in plain[0] and "43%" not in plain[0] and "8%" in plain[0]
    assert "not off on average: its intervals were too narrow" in plain[2]
    tail = re.sub(r"<[^>]+>", "", SPAN.sub(r"\2", note.split("</ul>")[1]))
    assert "at least 90%" in tail and SCENARIO_WORDS["default"] in tail and "confounding" not in tail
    # every number traces back to the matrix
    m = matrix.set_index(["scenario", "scale", "estimand_id", "estimator", "sample"])
    for attrs, shown in _numbers(note):
        key = json.loads(attrs["data-key"])
        field = attrs["data-field"]
        if field == "replicates_total":
            value = total_replicates(matrix[matrix["scale"] == "medium"], key[0])
        elif field == "scenarios":
            value = 4
        elif field == "misleads_below":
            value = MISLEADS_BELOW
        else:
            value = m.loc[tuple(key), field]
        assert float(attrs["data-value"]) == pytest.approx(value)
        expected = TRANSFORMS[attrs["data-transform"]](float(value))
        assert shown.rstrip("%") == f"{expected:,.{int(attrs['data-digits'])}f}".lstrip("-")
    assert total_replicates(matrix[matrix["scale"] == "medium"], "medium") == 4 * 200


def test_trust_note_is_empty_without_a_matching_row_and_reads_the_preferred_scale(matrix, headline):
    assert trust_note(matrix.iloc[0:0], headline) == ""
    assert trust_note(matrix, headline.assign(estimator="another estimator")) == ""
    # the default scale has only the default scenario, where nothing misleads
    note = trust_note(matrix, headline)
    assert "<li>" not in note and "on 100 simulated districts of 1 kinds" in SPAN.sub(r"\2", note)
    # a scenario a study added gets generic words
    extra = pd.DataFrame([_cell("my_world", "ocr_math", MATCHED, "matched_fe", 0.5, 0.2)])[VALIDITY_COLUMNS]
    assert "“my_world” scenario" in trust_note(extra, headline)


def test_primary_note_names_the_primary_design_and_its_coverage_where_assumptions_hold(matrix, headline):
    from credit_recovery.reporting.validity import primary_note
    note = primary_note(matrix[matrix["scale"] == "medium"], headline, {"online": "matched_fe", "mentor": "ipw3"})
    plain = re.sub(r"<[^>]+>", "", SPAN.sub(r"\2", note))
    # online: the cells where the assumptions hold are default, mentor_selection, random (0.93 to 0.96);
    # confounding (0.81, assumptions broken) is left out; mentor: the headline row is not from ipw3
    assert "For online vs classroom, the numbers above come from the matched comparison with school-by-year" in plain
    assert "held the true effect in 93% to 96% of districts" in plain
    assert "supportive mentor" not in plain
    for attrs, shown in _numbers(note):
        key = json.loads(attrs["data-key"])
        assert key[0] != "confounding"
    assert primary_note(None, headline, {"mentor": "online"}).startswith(
        "For supportive mentor vs not, the numbers above come from the comparison of mentors within each school")


def test_headline_rows_prefer_the_configured_primary_design():
    from credit_recovery.reporting.headline import headline_rows
    from credit_recovery.shared.estimate_schema import estimate_row, estimates_frame
    rows = [estimate_row(outcome="math", treatment=t, estimand="ATT", estimator=e, sample=s, estimate=-0.1,
                         std_error=0.05, n=500, estimand_id=i, fixed_effects=fe)
            for t, e, s, i, fe in (("online", "matched WLS", "matched", "ocr_math", "none"),
                                   ("online", MATCHED, "matched_fe", "ocr_math", "school^year"),
                                   ("supportive", MENTOR, "online", "mentor_math", "school"),
                                   ("online_supportive vs online_low", "ipw", "ipw3", "mentor_math", "none"))]
    est = estimates_frame(rows)
    default = headline_rows(est).set_index("comparison")["sample"]
    assert default.to_dict() == {"online": "matched_fe", "mentor": "online"}
    chosen = headline_rows(est, {"online": "matched", "mentor": "ipw3"}).set_index("comparison")["sample"]
    assert chosen.to_dict() == {"online": "matched", "mentor": "ipw3"}


def test_interval_check_counts_covering_designed_intervals_and_the_worst_z_per_district():
    from credit_recovery.truth.validity import interval_check
    half = 1.959963984540054 * 0.1  # SE 0.1

    def r(seed, sample, est, truth=0.0, holds=True, estimator=MATCHED, eid="ocr_math"):
        return {"scenario": "random", "scale": "default", "seed": seed, "estimand_id": eid, "estimator": estimator,
                "sample": sample, "truth": truth, "estimate": est, "ci_low": est - half, "ci_high": est + half,
                "covers": abs(est - truth) <= half, "assumptions_hold": holds}
    rows = pd.DataFrame([
        r(1, "matched_fe", 0.05), r(1, "panel", -0.1), r(1, "online", 0.36, eid="mentor_math"),  # z 0.5, 1, 3.6
        r(2, "matched_fe", 0.0), r(2, "panel", 0.1),
        r(2, "matched", 5.0, estimator="nearest-neighbour matching, WLS g-computation"),  # not designed
        r(2, "online", 5.0, holds=False, eid="mentor_math"),                               # assumptions broken
    ])
    out = interval_check(rows).set_index("seed")
    assert out.loc[1, "intervals"] == 3 and out.loc[1, "covered"] == 2
    assert out.loc[1, "max_abs_z"] == pytest.approx(3.6) and out.loc[1, "worst_sample"] == "online"
    assert not out.loc[1, "passes"]  # 2 of 3 cover and one interval is 3.6 SE off
    assert out.loc[2, "intervals"] == 2 and out.loc[2, "coverage"] == 1.0 and out.loc[2, "passes"]
