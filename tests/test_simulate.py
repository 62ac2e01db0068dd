"""The synthetic district: determinism, separation of truth from inputs, planted effects."""
import numpy as np
import pandas as pd
import pytest

from credit_recovery import TABLES, simulate_district, truth_from_unit_effects
from credit_recovery.synthetic.planted_truth import TRUTH_ESTIMANDS
from credit_recovery.synthetic.settings import DEFAULTS, resolve_settings



@pytest.fixture(scope="module")
def sim(tiny_district):
    return tiny_district


def test_same_seed_gives_identical_tables(sim, tiny_config):
    again = simulate_district(tiny_config["simulation"])
    for name, df in sim.tables.items():
        pd.testing.assert_frame_equal(df, again.tables[name], check_exact=True)
    pd.testing.assert_frame_equal(sim.unit_effects, again.unit_effects, check_exact=True)
    assert sim.truth == again.truth


def test_different_seed_gives_different_district(sim, tiny_config):
    other = simulate_district({**tiny_config["simulation"], "seed": 8})
    assert not sim.tables["student_years"].equals(other.tables["student_years"])
    assert len(sim.tables["platform_events"]) != len(other.tables["platform_events"])


def test_inputs_follow_the_contract_and_hide_latents(sim):
    latent = {"user_type", "ability", "U", "idle_share", "supportive", "y0_math", "type_code"}
    for name, df in sim.tables.items():
        assert list(df.columns) == TABLES[name].column_names, name
        assert not latent & set(df.columns), name


def test_inputs_pass_validation(sim):
    from credit_recovery import validate_tables

    report = validate_tables(sim.tables)
    assert report.ok, report.failures


def test_truth_records_and_recomputation(sim):
    ids = [t["estimand_id"] for t in sim.truth if "subgroup" not in t]
    for required in ("ocr_math", "ocr_reading", "ocr_credits", "ocr_gpa", "ocr_credit_recovered",
                     "mentor_credit_recovered", "mentor_math"):
        assert required in ids
    for rec in sim.truth:
        assert set(rec) >= {"estimand_id", "description", "value"}
    recomputed = {t["estimand_id"]: t["value"] for t in truth_from_unit_effects(sim.unit_effects)}
    for rec in sim.truth:
        if rec["estimand_id"] in TRUTH_ESTIMANDS and "subgroup" not in rec:  # subgroups: tests/test_subgroups.py
            assert recomputed[rec["estimand_id"]] == pytest.approx(rec["value"], abs=1e-12)


def test_truth_by_brute_force_over_cohort(sim):
    """Independent recomputation: mean of y1 - y0 over online cohort units, from the potential outcomes."""
    ue = sim.unit_effects
    on = ue[ue["in_cohort"] & ue["online"]]
    for o in ("math", "reading", "credits", "gpa", "credit_recovered"):
        truth = next(t["value"] for t in sim.truth if t["estimand_id"] == f"ocr_{o}")
        assert truth == pytest.approx(float((on[f"y1_{o}"] - on[f"y0_{o}"]).mean()), abs=1e-12)


def test_observed_outcomes_are_the_potential_outcome_of_the_observed_treatment(sim):
    from credit_recovery import build_cohort

    cohort = build_cohort(sim.tables).cohort
    ue = sim.unit_effects.rename(columns={"course_record_id": "recovery_record_id"})
    m = cohort.merge(ue, on=["student_id", "recovery_record_id"], validate="one_to_one")
    assert len(m) == len(cohort) == int(ue["in_cohort"].sum())
    assert (m["online_x"].astype(bool) == m["online_y"]).all()
    for o in ("math", "reading", "credits", "gpa", "credit_recovered"):
        obs = m[o].to_numpy(float)
        pot = np.where(m["online_y"], m[f"y1_{o}"], m[f"y0_{o}"])
        ok = ~np.isnan(obs)
        np.testing.assert_allclose(obs[ok], pot[ok], atol=1e-9, err_msg=o)


def test_planted_effects_are_recovered_as_truth_at_small_scale():
    """Realized truth is close to the configured effect (sampling and discreteness only)."""
    sim = simulate_district({"scale": "small", "seed": 3})
    truth = {t["estimand_id"]: t["value"] for t in sim.truth if "subgroup" not in t}
    eff = DEFAULTS["effects"]
    assert truth["ocr_math"] == pytest.approx(eff["ocr_math"], abs=0.02)
    assert truth["ocr_reading"] == pytest.approx(eff["ocr_reading"], abs=0.02)
    assert truth["ocr_credits"] == pytest.approx(eff["ocr_credits"], abs=0.06)
    assert truth["ocr_gpa"] == pytest.approx(eff["ocr_gpa"], abs=0.03)
    assert truth["ocr_credit_recovered"] == pytest.approx(eff["ocr_credit_recovered"], abs=0.04)
    assert truth["mentor_credit_recovered"] == pytest.approx(eff["mentor_credit_recovered"], abs=0.06)
    assert truth["mentor_math"] == pytest.approx(eff["mentor_math"], abs=0.02)


def test_unobserved_confounder_biases_selection():
    """With the confounder on, online takers have better unobserved outcomes than classroom takers."""
    from credit_recovery import build_cohort

    plain = simulate_district({"scale": "tiny", "seed": 11})
    conf = simulate_district({"scale": "tiny", "seed": 11, "unobserved_confounding": 2.0})
    def gap(sim):
        c = build_cohort(sim.tables).cohort
        ue = sim.unit_effects.rename(columns={"course_record_id": "recovery_record_id"}).drop(columns="online")
        m = c.merge(ue, on=["student_id", "recovery_record_id"])
        return m.loc[m["online"] == 1, "y0_math"].mean() - m.loc[m["online"] == 0, "y0_math"].mean()
    assert gap(conf) > gap(plain) + 0.1


def test_types_are_planted_for_every_online_attempt(sim):
    cr = sim.tables["course_records"]
    online = cr[(cr["delivery"] == "online")]
    assert set(sim.types["course_record_id"]) == set(online["course_record_id"])
    assert set(sim.types["user_type"]) <= {"engaged", "moonlighter", "nominal_exerter", "incompatible_struggler"}
    events = sim.tables["platform_events"]
    assert set(events["course_record_id"]) <= set(online["course_record_id"])


def test_moonlighters_log_in_outside_school_hours(sim):
    ev = sim.tables["platform_events"]
    logins = ev[ev["event_type"] == "login"].merge(sim.types, on=["student_id", "course_record_id"])
    local = logins["timestamp"].dt.tz_convert("America/Chicago")
    inside = (local.dt.day_of_week < 5) & (local.dt.hour * 60 + local.dt.minute >= 450) & (
        local.dt.hour * 60 + local.dt.minute < 930)
    share_out = (~inside).groupby(logins["user_type"]).mean()
    assert share_out["moonlighter"] > 0.7
    assert share_out["engaged"] < 0.4


def test_settings_reject_unknown_keys_listing_allowed():
    with pytest.raises(ValueError, match="allowed"):
        resolve_settings({"sead": 1})
    with pytest.raises(ValueError, match="scale must be one of"):
        resolve_settings({"scale": "huge"})
    with pytest.raises(ValueError, match="allowed"):
        resolve_settings({"effects": {"ocr_maths": 0.1}})


def test_grouped_cumsum_restarts_in_each_run_of_a_group():
    from credit_recovery.synthetic.events import grouped_cumsum

    values = np.array([1, 2, 3, 10, 20, 5])
    groups = np.array([0, 0, 0, 1, 1, 2])
    np.testing.assert_array_equal(grouped_cumsum(values, groups), [1, 3, 6, 10, 30, 5])


def test_an_unreachable_planted_effect_is_an_error(tiny_config):
    with pytest.raises(ValueError, match="out of reach"):
        simulate_district({**tiny_config["simulation"], "effects": {"ocr_credits": 50.0}})
