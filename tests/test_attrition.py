"""Attrition by arm (design.attrition): WWC overall and differential attrition and the WWC attrition boundary.

The boundary table is checked at points published with it (WWC Standards Handbook v4.1, Table II.1, as printed
in the baselinr 0.6.0 examples and tests: overall 0% -> 5.7 / 10.0, 30% -> 4.1 / 8.2, 8% -> 6.3, 60% ->
none / 1.4), the rates against hand computation, and the table on a synthetic district with planted attrition.
"""
import math

import numpy as np
import pandas as pd
import pytest

from credit_recovery.design.attrition import (ATTRITION_COLUMNS, WWC_BOUNDARY, attrition_rates, attrition_table,
                                              public_attrition_table, wwc_attrition_level, wwc_max_differential)


@pytest.mark.parametrize("overall, cautious, optimistic", [
    (0, 5.7, 10.0), (8, 6.3, 10.9), (10, 6.3, 10.9), (30, 4.1, 8.2), (50, 1.0, 3.7), (57, 0.0, 2.1),
    (58, None, 1.9), (60, None, 1.4), (65, None, 0.3), (66, None, None), (100, None, None),
])
def test_wwc_boundary_at_published_points(overall, cautious, optimistic):
    for boundary, want in (("cautious", cautious), ("optimistic", optimistic)):
        got = wwc_max_differential(overall, boundary)
        assert (math.isnan(got) if want is None else got == want), (overall, boundary, got)


def test_wwc_boundary_table_shape():
    c, o = WWC_BOUNDARY["cautious"], WWC_BOUNDARY["optimistic"]
    assert len(c) == len(o) == 66
    assert [i for i, v in enumerate(c) if v is None] == list(range(58, 66))
    assert all(v is not None for v in o)
    assert all(a < b for a, b in zip(c, o) if a is not None)  # the optimistic boundary always allows more
    # both rise to a plateau near 10% overall attrition and fall after it
    assert max(c[:58]) == c[8] == 6.3 and max(o) == o[10] == 10.9
    assert all(b <= a for a, b in zip(c[10:57], c[11:58])) and all(b <= a for a, b in zip(o[12:], o[13:]))


def test_wwc_classification():
    assert wwc_attrition_level(0, 5.7) == "low" and wwc_attrition_level(0, 5.8) == "high"
    assert wwc_attrition_level(0, 10.0, "optimistic") == "low" and wwc_attrition_level(0, 10.1, "optimistic") == "high"
    assert wwc_attrition_level(8, 3) == "low"  # baselinr's example: 8% overall, 3 points
    assert wwc_attrition_level(30, 6, "cautious") == "high" and wwc_attrition_level(30, 6, "optimistic") == "low"
    assert wwc_attrition_level(60, 0.0, "cautious") == "high" and wwc_attrition_level(60, 1.4, "optimistic") == "low"
    # overall attrition is rounded to a whole percent (half up) before the lookup
    assert wwc_max_differential(29.5) == 4.1 and wwc_max_differential(29.49) == 4.3
    assert wwc_attrition_level(float("nan"), 1.0) == "" and wwc_attrition_level(5.0, float("nan")) == ""
    with pytest.raises(ValueError, match="boundary"):
        wwc_max_differential(5, "liberal")
    with pytest.raises(ValueError, match="percentage"):
        wwc_max_differential(1.5e2)


def test_attrition_rates_by_hand():
    observed = np.array([1, 0, 1, 1, 0, 1, 1, 1], bool)
    online = np.array([1, 1, 1, 1, 0, 0, 0, 0])
    r = attrition_rates(observed, online)
    assert r["attrition_online"] == pytest.approx(25.0) and r["attrition_classroom"] == pytest.approx(25.0)
    assert r["overall_attrition"] == pytest.approx(25.0) and r["differential_attrition"] == pytest.approx(0.0)
    w = np.array([1, 1, 1, 1, 3, 1, 1, 1.0])  # the missing classroom unit counts three times
    r = attrition_rates(observed, online, w)
    assert r["attrition_classroom"] == pytest.approx(50.0) and r["overall_attrition"] == pytest.approx(4 / 10 * 100)
    assert r["differential_attrition"] == pytest.approx(25.0)


def _frame():
    return pd.DataFrame({"online": [1, 1, 1, 1, 0, 0, 0, 0], "math": [0.1, np.nan, 0.3, 0.2, np.nan, 1.0, 2.0, 3.0],
                         "credits": np.arange(8.0), "weights": [1, 1, 1, 1, 3, 1, 1, 1.0]})


def test_attrition_table_rows_counts_and_weighting():
    cohort = _frame()
    matched = cohort.drop(index=[3])  # one online unit without a match
    t = attrition_table(cohort, matched, ["math", "credits"])
    assert list(t.columns) == ATTRITION_COLUMNS
    assert t[["sample", "outcome", "weighting"]].values.tolist() == [
        ["cohort", "math", "none"], ["cohort", "credits", "none"], ["matched", "math", "match weights"],
        ["matched", "credits", "match weights"]]
    m = t.set_index(["sample", "outcome"])
    assert m.loc[("cohort", "math"), ["n_online", "n_online_observed", "n_online_missing"]].tolist() == [4, 3, 1]
    assert m.loc[("matched", "math"), "n_online"] == 3
    assert m.loc[("matched", "math"), "attrition_classroom"] == pytest.approx(50.0)  # weighted
    assert m.loc[("cohort", "math"), "attrition_classroom"] == pytest.approx(25.0)  # units
    assert m.loc[("cohort", "credits"), "overall_attrition"] == 0 and m.loc[("cohort", "credits"), "cautious"] == "low"
    assert m.loc[("cohort", "math"), "cautious"] == "low"  # 25% overall allows 4.8 points; the arms lose alike
    assert m.loc[("matched", "math"), "cautious"] == "high"  # 1/3 online vs 50% (weighted) classroom
    assert attrition_table(cohort, None, ["math"])["sample"].tolist() == ["cohort"]


def test_public_table_hides_small_counts_and_small_differences_between_the_samples():
    n = 200
    rng = np.random.default_rng(0)
    cohort = pd.DataFrame({"online": np.r_[np.ones(n), np.zeros(n)].astype(int), "math": rng.normal(size=2 * n),
                           "gpa": rng.normal(size=2 * n), "weights": 1.0})
    cohort.loc[:49, "math"] = np.nan          # 50 online without math
    cohort.loc[n:n + 2, "math"] = np.nan      # 3 classroom without math: a small cell
    cohort.loc[:29, "gpa"] = np.nan           # 30 online without GPA
    cohort.loc[n:n + 39, "gpa"] = np.nan      # 40 classroom without GPA
    matched = cohort.drop(index=[0, 1, 2])    # 3 online units unmatched, all without math and GPA
    t = attrition_table(cohort, matched, ["math", "gpa"])
    pub = public_attrition_table(t, 10).set_index(["sample", "outcome"])
    row = pub.loc[("cohort", "math")]
    assert row["n_classroom_missing"] == "<10" and row["n_classroom_observed"] == "<10"
    assert row["attrition_classroom"] == "<10" and row["overall_attrition"] == "<10"
    assert row["n_online_missing"] == 50 and row["n_classroom"] == n and row["cautious"] in ("low", "high")
    # GPA: no small cell in either sample, but the matched online counts differ from the cohort's by 3
    assert pub.loc[("cohort", "gpa"), "n_online_missing"] == 30
    mg = pub.loc[("matched", "gpa")]
    assert mg["n_online"] == "<10" and mg["n_online_missing"] == "<10" and mg["attrition_online"] == "<10"
    assert mg["n_classroom_missing"] == 40 and mg["optimistic"] in ("low", "high")


def test_attrition_table_on_a_district_with_planted_attrition():
    """15% of every episode's and 20% more of online takers' next-year GPA and scores are lost (at random)."""
    from credit_recovery import build_cohort, simulate_district

    sim = simulate_district({"scale": "small", "seed": 21, "attrition": {"base": 0.15, "online_extra": 0.2}})
    t = attrition_table(build_cohort(sim.tables).cohort, None, ["gpa", "credits"]).set_index("outcome")
    g = t.loc["gpa"]
    assert abs(g["attrition_online"] - 35) < 5 and abs(g["attrition_classroom"] - 15) < 5
    assert g["differential_attrition"] > 12 and g["cautious"] == g["optimistic"] == "high"
    assert t.loc["credits", "overall_attrition"] == 0  # credits are always reported (data contract)


def _spans(page):
    import html
    import re

    out = []
    for m in re.finditer(r'<span class="num"([^>]*)>([^<]*)</span>', page):
        attrs = {k: html.unescape(a or b) for k, a, b in re.findall(r'(data-[a-z]+)=(?:"([^"]*)"|\'([^\']*)\')',
                                                                     m.group(1))}
        out.append((attrs, m.group(2)))
    return out


def test_attrition_sentence_tags_its_numbers_and_never_shows_a_suppressed_cell():
    import json

    from credit_recovery.reporting.narrative import attrition_sentence

    n = 200
    rng = np.random.default_rng(1)
    cohort = pd.DataFrame({"online": np.r_[np.ones(n), np.zeros(n)].astype(int), "math": rng.normal(size=2 * n),
                           "gpa": rng.normal(size=2 * n), "weights": 1.0})
    cohort.loc[:59, "math"] = np.nan      # math: 30% online, 2.5% classroom missing (5: a small cell)
    cohort.loc[n:n + 4, "math"] = np.nan
    cohort.loc[:19, "gpa"] = np.nan       # GPA: 10% online, 6% classroom missing
    cohort.loc[n:n + 11, "gpa"] = np.nan
    t = attrition_table(cohort, cohort, ["math", "gpa"])
    text = attrition_sentence(public_attrition_table(t, 10))
    assert "GPA" in text and "math" not in text  # math has the larger differential, but a suppressed cell
    row = t.set_index(["sample", "outcome"]).loc[("matched", "gpa")]
    spans = _spans(text)
    assert len(spans) == 4
    for attrs, shown in spans:
        assert attrs["data-source"] == "attrition" and json.loads(attrs["data-key"]) == ["matched", "gpa"]
        assert shown.rstrip("%") == f"{row[attrs['data-field']]:.1f}"
    assert "low attrition" in text or "high attrition" in text
    cohort_only = attrition_sentence(public_attrition_table(t[t["sample"] == "cohort"], 10))
    assert cohort_only.startswith("In the analytic cohort")
    assert {tuple(json.loads(a["data-key"])) for a, _ in _spans(cohort_only)} == {("cohort", "gpa")}
    nothing_missing = t.assign(**{c: 0.0 for c in ["attrition_online", "attrition_classroom", "overall_attrition",
                                                   "differential_attrition"]})
    assert attrition_sentence(nothing_missing) == ""


@pytest.mark.slow
def test_the_pipeline_writes_the_attrition_table_and_the_appendix_shows_it(tiny_run):
    import json

    t = pd.read_csv(tiny_run / "results/matching/attrition.csv", keep_default_na=False, na_values=[""])
    assert list(t.columns) == ATTRITION_COLUMNS and set(t["sample"]) == {"cohort", "matched"}
    page = (tiny_run / "results/public/appendix.html").read_text()
    assert "Missing outcomes (attrition)" in page and "optimistic max differential" in page
    idx = t.set_index(["sample", "outcome"])
    spans = [(a, s) for a, s in _spans(page) if a.get("data-source") == "attrition"]
    assert all(json.loads(a["data-key"])[0] in ("matched", "cohort") for a, _ in spans)
    for attrs, shown in spans:
        value = float(idx.loc[tuple(json.loads(attrs["data-key"])), attrs["data-field"]])
        assert shown.rstrip("%") == f"{value:.1f}", (attrs, shown)
