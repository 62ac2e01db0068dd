"""Plain-language sentences: right numbers, right direction, the comparison group named, traceable tags."""
import html
import json
import re

import pandas as pd
import pytest
from hypothesis import given, settings, strategies as st
from scipy import stats

from credit_recovery.reporting.headline import classify_comparison, headline_rows, naive_row
from credit_recovery.reporting.narrative import (balance_summary, certainty_sentence, design_table, dropped_sentence,
                                                 effect_sentence, robustness_sentence, type_shares, types_list)
from credit_recovery.reporting.numbers import num, row_key, transform_value
from credit_recovery.reporting.public import public_estimates
from credit_recovery.reporting.vocabulary import OUTCOMES, USER_TYPES, covariate_words, outcome_words
from credit_recovery.shared.estimate_schema import estimate_row, estimates_frame

SPAN = re.compile(r'<span class="num" ([^>]*)>([^<]*)</span>')
ATTR = re.compile(r'(data-[a-z]+)="([^"]*)"')


def spans(fragment):
    out = []
    for m in SPAN.finditer(fragment):
        attrs = {k: html.unescape(v) for k, v in ATTR.findall(m.group(1))}
        attrs["key"] = json.loads(attrs["data-key"])
        out.append((attrs, m.group(2)))
    return out


def text(fragment):
    return html.unescape(re.sub(r"<[^>]+>", "", fragment))


def row(outcome="math", est=-0.15, se=0.05, treatment="online", estimator="matched WLS", sample="matched",
        estimand_id="ocr_math", n=500, **kw):
    return pd.Series(estimate_row(outcome=outcome, treatment=treatment, estimand="ATT", estimator=estimator,
                                  sample=sample, estimate=est, std_error=se, n=n, estimand_id=estimand_id, **kw))


def test_percentile_points_are_the_improvement_index():
    # the domain example: 0.15 SD lower is about 6 percentile points; WWC: g = 0.25 gives +10
    assert round(transform_value(-0.15, "percentile")) == 6
    assert round(transform_value(0.25, "percentile")) == 10
    assert transform_value(0.4, "percentile") == pytest.approx(100 * (stats.norm.cdf(0.4) - 0.5))
    with pytest.raises(ValueError, match="abs_x100"):
        transform_value(1.0, "square")


def test_math_sentence_matches_the_domain_wording():
    r = row(est=-0.15)
    s = effect_sentence(r)
    t = text(s)
    assert t.startswith("Compared with similar students who retook the course in a classroom, students who "
                        "recovered the course online scored 0.15 standard deviations lower in math")
    assert "about 6 percentile points" in t
    tags = spans(s)
    assert [a["data-transform"] for a, _ in tags] == ["abs", "percentile"]
    assert all(a["key"] == row_key(r) and a["data-field"] == "estimate" for a, _ in tags)
    assert float(tags[0][0]["data-value"]) == pytest.approx(-0.15)


def test_proportions_in_percentage_points_and_counts_in_everyday_words():
    t = text(effect_sentence(row("credit_recovered", est=-0.0912, estimand_id="ocr_credit_recovered")))
    assert "were 9.1 percentage points less likely to recover the failed credit" in t
    t = text(effect_sentence(row("credits", est=0.114, estimand_id="ocr_credits")))
    assert "earned 0.11 more credits in the next school year" in t
    t = text(effect_sentence(row("gpa", est=-0.0536, estimand_id="ocr_gpa")))
    assert "had a GPA 0.05 grade points lower the next year" in t
    t = text(effect_sentence(row("attendance", est=0.3, estimand_id="")))
    assert "0.30" in t and "higher" in t
    # an outcome not in OUTCOMES is described in generic words
    assert outcome_words("math") is OUTCOMES["math"]
    assert (outcome_words("days_attended").label, outcome_words("days_attended").unit) == ("Days attended", "units")


def test_mentor_and_idle_rows_name_their_comparison():
    m = row("credit_recovered", est=0.1, treatment="supportive", estimand_id="mentor_credit_recovered",
            sample="online")
    assert classify_comparison(m) == "mentor"
    assert "similar online students whose mentor did not" in text(effect_sentence(m))
    i = row("pass", est=-0.05, treatment="idle_share_10pp", estimand_id="engagement_idle_pass", sample="online")
    assert classify_comparison(i) == "idle"
    p = row("math_pre2", est=0.02, estimand_id="placebo_math_pre2", sample="matched_fe")
    assert classify_comparison(p) == "placebo"  # a check, never a headline of the online comparison
    assert "online" not in set(headline_rows(pd.DataFrame([p]))["comparison"])
    t = text(effect_sentence(i))
    assert t.startswith("Each 10 percentage points more idle time went with a 5.0 percentage point less chance")


@pytest.mark.parametrize("treatment,estimand,expected", [
    ("online", "ATT", "online"),
    ("online_0", "ATT in the recovery year", "other"),
    ("supportive", "ATT among online takers with a supportive mentor", "mentor"),
    ("online_supportive vs classroom", "ATT vs classroom", "other"),
    ("online_supportive vs online_low", "ATT vs online with little support", "mentor"),
    ("certified", "ATT among online takers with a certified mentor", "other"),
])
def test_classify_comparison(treatment, estimand, expected):
    r = {"treatment": treatment, "estimand": estimand, "outcome": "math", "estimand_id": ""}
    assert classify_comparison(r) == expected


@settings(max_examples=60, deadline=None)
@given(est=st.floats(-2, 2, allow_nan=False), se=st.floats(0.001, 1.5),
       outcome=st.sampled_from(["math", "reading", "credits", "gpa", "credit_recovered", "cum_credits_2y", "on_track",
                                "graduated"]))
def test_sentences_show_the_row_rounded_with_the_right_direction(est, se, outcome):
    r = row(outcome, est=est, se=se, estimand_id=f"ocr_{outcome}")
    o = OUTCOMES[outcome]
    s = effect_sentence(r) + " " + certainty_sentence(r)
    for attrs, shown in spans(s):
        value = float(r[attrs["data-field"]])
        assert float(attrs["data-value"]) == value
        expected = transform_value(value, attrs["data-transform"])
        assert float(shown.replace(",", "")) == pytest.approx(round(expected, int(attrs["data-digits"])), abs=1e-9)
    t = text(s)
    if round(abs(est) * o.scale, o.digits) > 0:
        word = o.up if est > 0 else o.down
        assert f" {word} " in t
    assert ("cannot tell this apart from no difference" in t) == (r["ci_low"] <= 0 <= r["ci_high"])
    assert "Compared with similar students who retook the course in a classroom" in t


def _table():
    rows = [
        estimate_row(outcome="math", treatment="online", estimand="ATT", estimator="naive difference in means (OLS)",
                     sample="cohort", estimate=-0.3, std_error=0.05, n=4000, estimand_id="ocr_math"),
        estimate_row(outcome="math", treatment="online", estimand="ATT", estimator="nearest-neighbour matching, WLS",
                     sample="matched", estimate=-0.25, std_error=0.05, n=2000, estimand_id="ocr_math"),
        estimate_row(outcome="math", treatment="online", estimand="ATT", estimator="matched WLS, covariates, FE",
                     sample="matched_fe", fixed_effects="school_id^school_year", estimate=-0.2, std_error=0.05,
                     n=2000, estimand_id="ocr_math"),
        estimate_row(outcome="math", treatment="online", estimand="ATT", estimator="subgroup grade 9",
                     sample="grade9", estimate=-0.5, std_error=0.05, n=5, estimand_id=""),
        estimate_row(outcome="gpa", treatment="online", estimand="ATT", estimator="nearest-neighbour matching, WLS",
                     sample="matched", estimate=-0.05, std_error=0.02, n=8, estimand_id="ocr_gpa"),
        estimate_row(outcome="math", treatment="supportive", estimand="ATE among online takers",
                     estimator="mentor supportive vs not", sample="online", estimate=0.1, std_error=0.04, n=900,
                     estimand_id="mentor_math"),
    ]
    return public_estimates(estimates_frame(rows), 10)


def test_headline_rows_prefer_the_designed_estimate_and_skip_naive_and_suppressed():
    est = _table()
    head = headline_rows(est)
    assert list(zip(head["comparison"], head["outcome"])) == [("online", "math"), ("mentor", "math")]
    assert head.iloc[0]["sample"] == "matched_fe"          # fixed effects preferred among matched designs
    assert naive_row(est, "math")["sample"] == "cohort"
    # gpa rests on 8 students: suppressed, so not reported
    assert "gpa" not in set(head["outcome"])


def test_design_table_and_robustness_come_from_the_rows():
    est = _table()
    head = headline_rows(est)
    table = design_table(est, head)
    assert text(table).count("standard deviations lower") == 2
    assert [a["data-value"] for a, _ in spans(table)] == ["-0.3", "-0.2"]
    rob = text(robustness_sentence(est, head.iloc[0]))
    # the designed estimates range over -0.25 .. -0.2 (the grade-9 subgroup is suppressed, naive excluded)
    assert "from 0.25 standard deviations lower to 0.20 standard deviations lower" in rob
    assert "same direction" in rob


def test_balance_summary_counts_and_worst_covariate():
    bal = pd.DataFrame({"variable": ["math_pre", "gpa_pre", "race_ethnicityBlack", "logit"],
                        "after_smd": [0.01, -0.12, 0.3, 0.9]})
    s = balance_summary(bal, ["math_pre", "gpa_pre", "race_ethnicity"])
    t = text(s)
    assert "0.30 standard deviations (race and ethnicity: Black)" in t
    assert "1 of 3 characteristics differed by at most 0.05" in t
    assert "not fully comparable" in t
    assert covariate_words("subjectsocial_studies", ["subject"]) == "subject of the course: social studies"


def test_type_shares_suppress_small_types_with_a_complement():
    types = pd.DataFrame({"user_type": ["engaged"] * 50 + ["moonlighter"] * 30 + ["nominal_exerter"] * 4
                          + ["incompatible_struggler"] * 20})
    s = type_shares(types, 10)
    assert list(s["user_type"]) == list(USER_TYPES)
    # nominal exerters (4) suppressed, and the next smallest type too, so 4 cannot be recovered from the total
    assert s.set_index("user_type")["suppressed"].to_dict() == {
        "engaged": False, "moonlighter": False, "nominal_exerter": True, "incompatible_struggler": True}
    assert s.loc[0, "share"] == pytest.approx(50 / 104)
    t = text(types_list(s))
    assert "48% of online course attempts" in t and t.count("too few attempts to report") == 2
    assert "4" not in re.sub(r"48%", "", t)


def test_num_is_traceable_and_rejects_unknown_transforms():
    s = num(1234.5, source="estimates", key=["a", "b"], field="n", digits=0)
    (attrs, shown), = spans(s)
    assert shown == "1,234" or shown == "1,235"
    assert attrs["key"] == ["a", "b"] and attrs["data-source"] == "estimates"
    assert num(-0.001, source="x", key="k", field="f", digits=2).endswith(">0.00</span>")
    with pytest.raises(ValueError):
        num(1.0, source="x", key="k", field="f", transform="log")


def test_dropped_sentence_says_whom_the_matched_estimates_describe():
    summary = pd.DataFrame({"index": ["All", "Matched", "Unmatched"], "Control": [1296, 1144, 152],
                            "Treated": [1732, 1661, 71]})
    text = re.sub(r"<[^>]+>", "", dropped_sentence(summary))
    assert text == ("Of the 1,732 students who recovered online, 71 had no classroom student close enough in the same "
                    "school year and are left out: the matched estimates describe the other 1,661.")
    few = summary.assign(Treated=[1732, 1727, 5])
    assert "A few students" in dropped_sentence(few) and "1,727" not in dropped_sentence(few)  # no complement
    assert dropped_sentence(summary.assign(Treated=[1732, 1732, 0])) == ""
