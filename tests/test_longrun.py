"""The cohort's longer-run outcomes (credit_recovery.data.longrun) on hand-made tables with exact expected values."""
import numpy as np
import pandas as pd
import pytest

from credit_recovery.data.longrun import longrun_outcomes, resolve_cohort_options

#: Student -> (grade9_year, {school_year: credits earned}); the extract's years are 2011-2016.
HISTORY = {
    "A": (2012, {2012: 6.0, 2013: 5.0, 2014: 5.5, 2015: 6.0, 2016: 1.0}),  # a fifth-year row in 2016
    "B": (2012, {2012: 5.0, 2013: 4.5, 2014: 5.0, 2015: 5.5, 2016: 3.0}),  # recovers in the on-time senior year
    "C": (2010, {2011: 5.0, 2012: 4.0, 2013: 6.0}),                         # entered before the extract
    "D": (2013, {2013: 5.5, 2014: 5.0, 2015: 6.0}),                         # gone in 2016: left the district
    "E": (2014, {2014: 6.0, 2015: 5.0, 2016: 6.0}),                         # recovery in the last year
    "F": (2012, {2012: 6.0, 2014: 6.0, 2015: 6.0}),                         # no record in 2013
    "G": (2011, {2011: 6.0, 2012: 0.5, 2013: 5.0, 2014: 6.0}),             # early recovery, graduates
}
#: Unit -> recovery year.
RECOVERY = {"A": 2014, "B": 2015, "C": 2012, "D": 2015, "E": 2016, "F": 2014, "G": 2013}
DIPLOMAS = {"A": 2015, "B": 2016, "G": 2014}

#: Expected (cum_credits_2y, on_track, graduated), worked out by hand from the definitions.
EXPECTED = {
    "A": (5.5 + 6.0, 1.0, 1.0),          # k = 3: 6 + 5 + 5.5 = 16.5 >= 16.5; diploma 2015 = 2012 + 3
    "B": (np.nan, 0.0, 0.0),             # r + 1 = 2016 > g9 + 3; k = 4: 20 < 22; diploma 2016 is a fifth year
    "C": (4.0 + 6.0, np.nan, 0.0),       # entered before 2011: credits since grade 9 unknown; no diploma by 2013
    "D": (np.nan, 1.0, 0.0),             # no 2016 record; k = 3: 16.5 >= 16.5; no diploma by 2016
    "E": (np.nan, 1.0, np.nan),          # r + 1 = 2017 after the extract; k = 3: 17 >= 16.5; g9 + 3 = 2017 too
    "F": (6.0 + 6.0, np.nan, 0.0),       # a year missing since grade 9
    "G": (5.0 + 6.0, 0.0, 1.0),          # k = 3: 6 + 0.5 + 5 = 11.5 < 16.5; diploma 2014 = 2011 + 3
}


def tables(with_diplomas: bool = True) -> dict[str, pd.DataFrame]:
    students = pd.DataFrame({"student_id": list(HISTORY), "grade9_year": [g for g, _ in HISTORY.values()]})
    sy = pd.DataFrame([{"student_id": s, "school_year": y, "credits_earned": c}
                       for s, (_, years) in HISTORY.items() for y, c in years.items()])
    out = {"students": students, "student_years": sy}
    if with_diplomas:
        out["diplomas"] = pd.DataFrame({"student_id": list(DIPLOMAS), "school_year": list(DIPLOMAS.values())})
    return out


def units() -> pd.DataFrame:
    return pd.DataFrame({"student_id": list(RECOVERY), "school_year": list(RECOVERY.values())})


def test_definitions_on_hand_made_tables():
    got = longrun_outcomes(units(), tables()).set_index("student_id")
    want = pd.DataFrame(EXPECTED, index=["cum_credits_2y", "on_track", "graduated"]).T
    pd.testing.assert_frame_equal(got, want.loc[got.index], check_names=False, check_exact=True)


def test_without_a_diplomas_table_graduation_is_missing_and_the_rest_unchanged():
    with_d = longrun_outcomes(units(), tables())
    without = longrun_outcomes(units(), tables(with_diplomas=False))
    assert without["graduated"].isna().all()
    pd.testing.assert_frame_equal(with_d.drop(columns="graduated"), without.drop(columns="graduated"))


def test_on_track_thresholds_come_from_the_config():
    strict = longrun_outcomes(units(), tables(), {"on_track_credits": [6, 12, 18, 24]}).set_index("student_id")
    assert strict["on_track"].to_dict() == pytest.approx(
        {"A": 0.0, "B": 0.0, "C": np.nan, "D": 0.0, "E": 0.0, "F": np.nan, "G": 0.0}, nan_ok=True)
    lax = longrun_outcomes(units(), tables(), {"on_track_credits": [0, 0, 11.5, 20]}).set_index("student_id")
    assert lax.loc[["A", "B", "D", "E", "G"], "on_track"].tolist() == [1.0, 1.0, 1.0, 1.0, 1.0]


def test_outcomes_follow_the_units_order_and_ignore_later_years_for_on_track():
    u = units().iloc[::-1].reset_index(drop=True)
    got = longrun_outcomes(u, tables())
    assert got["student_id"].tolist() == u["student_id"].tolist()
    t = tables()
    t["student_years"].loc[(t["student_years"]["student_id"] == "A") & (t["student_years"]["school_year"] == 2015),
                           "credits_earned"] = 0.0  # a later year cannot change on-track status at the end of 2014
    a = longrun_outcomes(units(), t).set_index("student_id").loc["A"]
    assert a["on_track"] == 1.0 and a["cum_credits_2y"] == 5.5


@pytest.mark.parametrize("bad", [[5.5, 11, 16.5], [6, 5, 16, 22], [-1, 5, 10, 20]])
def test_on_track_credits_must_be_four_non_decreasing_numbers(bad):
    with pytest.raises(ValueError, match="on_track_credits"):
        resolve_cohort_options({"on_track_credits": bad})
    with pytest.raises(ValueError, match="unknown cohort option"):
        resolve_cohort_options({"graduation_credits": 22})
