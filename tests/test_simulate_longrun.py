"""The planted longer-run outcomes (credit_recovery.synthetic.longrun): diplomas, potential outcomes and truth
re-derived by brute force from the extract and the recovery-year credits potential outcomes, and recovered by the
matched designs."""
import numpy as np
import pandas as pd
import pytest

from credit_recovery import build_cohort, simulate_district
from credit_recovery.shared.config import defaults

OUTCOMES = ("cum_credits_2y", "on_track", "graduated")


@pytest.fixture(scope="module")
def dynamic():
    """A tiny district whose credits effect lasts (event-time credits potential outcomes in the unit effects)."""
    return simulate_district({"scale": "tiny", "seed": 3, "effect_dynamics": {"ocr_credits": [0.5, 0.25]}})


def brute_force(sim, need, requirement):
    """Potential outcomes of every episode, one Python loop over the episodes, from the definitions.

    Later years' potential credits are the unit effects' event-time columns ``y<d>_credits_t<k>`` where the
    district has them (credit dynamics), else the observed credits. Graduation of a student who entered grade 9
    before the extract's first year needs the unobserved earlier years: NaN here (checked apart).
    """
    sy = sim.tables["student_years"]
    first, last = int(sy["school_year"].min()), int(sy["school_year"].max())
    credits = {s: dict(zip(g["school_year"].astype(int), g["credits_earned"])) for s, g in sy.groupby("student_id")}
    g9_of = dict(zip(sim.tables["students"]["student_id"], sim.tables["students"]["grade9_year"].astype(int)))
    rows = []
    for _, u in sim.unit_effects.iterrows():
        c, r, g9 = credits[u["student_id"]], int(u["school_year"]), g9_of[u["student_id"]]
        k = r - g9 + 1
        out = {}
        for d in (0, 1):
            def year(j, d=d):
                col = f"y{d}_credits_t{j}"
                return u[col] if col in u.index and not pd.isna(u[col]) else c.get(r + j, np.nan)
            now = u[f"y{d}_credits"]
            cum2 = now + year(1) if r + 1 <= min(last, g9 + 3) and (r + 1) in c else np.nan
            before = [c.get(y) for y in range(g9, r)]
            track = (float(sum(before) + now >= need[k - 1]) if g9 >= first and k <= 4 and None not in before
                     else np.nan)
            grad = np.nan
            if g9 + 3 <= last and g9 >= first:
                total = sum(before) + now + sum(year(j) for j in range(1, g9 + 3 - r + 1))
                grad = float((g9 + 3) in c and total >= requirement)
            out.update({f"y{d}_cum_credits_2y": cum2, f"y{d}_on_track": track, f"y{d}_graduated": grad})
        rows.append(out)
    return pd.DataFrame(rows, index=sim.unit_effects.index)


@pytest.mark.parametrize("which", ["plain", "dynamic", "strict"])
def test_potential_outcomes_equal_brute_force(which, tiny_district, dynamic, tiny_config):
    need = defaults("cohort")["on_track_credits"]
    sim = {"plain": tiny_district, "dynamic": dynamic}.get(which)
    if which == "strict":  # the cohort's thresholds reach the planted truth
        need = [6.0, 12.0, 18.0, 24.0]
        sim = simulate_district(tiny_config["simulation"], cohort={"on_track_credits": need})
    bf = brute_force(sim, need, defaults("simulation")["graduation_credits"])
    ue = sim.unit_effects
    for col in bf.columns:
        known = bf[col].notna() | (not col.endswith("graduated"))
        pd.testing.assert_series_equal(ue.loc[known, col], bf.loc[known, col], check_names=False, atol=1e-12)
    assert ue["y0_graduated"].notna().sum() > bf["y0_graduated"].notna().sum() > 50
    for o in OUTCOMES:
        assert (ue[f"ocr_{o}"] == ue[f"y1_{o}"] - ue[f"y0_{o}"]).where(ue[f"y0_{o}"].notna(), True).all()
        assert ue.loc[ue["online"], f"ocr_{o}"].abs().gt(0).any() or o == "graduated", o  # effects do happen


def test_graduation_of_earlier_entrants_moves_with_their_credits(tiny_district):
    """Entrants before the first year: the observed world is their diploma; the other world moves in the direction
    of its change in credits (their earlier years are latent, the same in both worlds)."""
    sim = tiny_district
    ue = sim.unit_effects
    g9 = ue["student_id"].map(sim.tables["students"].set_index("student_id")["grade9_year"]).astype(int)
    early = (g9 < sim.tables["student_years"]["school_year"].min()) & ue["y0_graduated"].notna()
    assert early.sum() > 20
    e = ue[early]
    obs = np.where(e["online"], e["y1_graduated"], e["y0_graduated"])
    assert (obs == e["student_id"].isin(set(sim.tables["diplomas"]["student_id"]))).all()
    gained = e["y1_credits"] - e["y0_credits"]
    assert ((e["ocr_graduated"] > 0) <= (gained > 0)).all() and ((e["ocr_graduated"] < 0) <= (gained < 0)).all()


def test_diplomas_follow_the_rule_for_students_seen_from_grade_9(tiny_district):
    sim = tiny_district
    sy, st = sim.tables["student_years"], sim.tables["students"].set_index("student_id")
    first, last = sy["school_year"].min(), sy["school_year"].max()
    g = sy.groupby("student_id").agg(n=("school_year", "size"), total=("credits_earned", "sum"))
    g["g9"] = st.loc[g.index, "grade9_year"].astype(int)
    seen = g[(g["g9"] >= first) & (g["g9"] + 3 <= last)]
    want = set(seen.index[(seen["n"] == 4) & (seen["total"] >= defaults("simulation")["graduation_credits"])])
    d = sim.tables["diplomas"].set_index("student_id")
    assert set(d.index) & set(seen.index) == want and len(want) > 50
    assert (d["school_year"] == st.loc[d.index, "grade9_year"] + 3).all()
    assert not (set(d.index) & set(g.index[g["g9"] + 3 > last]))  # nobody graduates after the extract


@pytest.mark.parametrize("which", ["plain", "dynamic"])
def test_cohort_outcomes_are_the_potential_outcome_of_the_observed_treatment(which, tiny_district, dynamic):
    sim = {"plain": tiny_district, "dynamic": dynamic}[which]
    cohort = build_cohort(sim.tables).cohort
    ue = sim.unit_effects.rename(columns={"course_record_id": "recovery_record_id"})
    m = cohort.merge(ue, on=["student_id", "recovery_record_id"], validate="one_to_one")
    assert len(m) == len(cohort)
    for o in OUTCOMES:
        pot = np.where(m["online_y"], m[f"y1_{o}"], m[f"y0_{o}"])
        np.testing.assert_array_equal(np.isnan(m[o].to_numpy(float)), np.isnan(pot), err_msg=o)
        np.testing.assert_allclose(m[o].to_numpy(float), pot, atol=1e-9, err_msg=o)


@pytest.mark.parametrize("which", ["plain", "dynamic"])
def test_recovery_year_failures_of_the_observed_world_are_the_extract_s(which, tiny_district, dynamic):
    """``y<D>_failed_core`` (the size of what the truth leaves out) is the count of F marks in the recovery
    year's original core courses of the extract; the other world differs only where the episode shifts courses."""
    sim = {"plain": tiny_district, "dynamic": dynamic}[which]
    cr = sim.tables["course_records"]
    f = cr[(cr["attempt"] == "original") & (cr["mark"] == "F") & (cr["subject"] != "elective")]
    counts = f.groupby(["student_id", "school_year"]).size()
    ue = sim.unit_effects
    seen = counts.reindex(pd.MultiIndex.from_arrays([ue["student_id"], ue["school_year"]])).fillna(0).to_numpy()
    np.testing.assert_array_equal(np.where(ue["online"], ue["y1_failed_core"], ue["y0_failed_core"]), seen)
    assert (ue["y1_failed_core"] != ue["y0_failed_core"]).any()


def test_truth_is_the_mean_effect_over_online_cohort_units_with_the_outcome(tiny_district):
    ue = tiny_district.unit_effects
    truth = {t["estimand_id"]: t for t in tiny_district.truth if "subgroup" not in t}
    for o in OUTCOMES:
        on = ue[ue["in_cohort"] & ue["online"] & ue[f"y0_{o}"].notna()]
        assert truth[f"ocr_{o}"]["n"] == len(on) > 30
        assert truth[f"ocr_{o}"]["value"] == pytest.approx(float((on[f"y1_{o}"] - on[f"y0_{o}"]).mean()), abs=1e-12)


@pytest.mark.slow
def test_matched_designs_cover_the_longer_run_truth_on_a_small_district():
    """One small district (seed 3): every matched and matched FE interval of the three outcomes covers its truth,
    and the naive comparison (selection on prior achievement) does not cover two of them."""
    from credit_recovery.truth.montecarlo import run_replicate

    cfg = {"matching": {**defaults("matching"), "stop_on_imbalance": False}, "models": {"bootstrap_reps": 199}}
    out = run_replicate(cfg, 3, scale="small")
    rows = out[out["estimand_id"].isin([f"ocr_{o}" for o in OUTCOMES])]
    designed = rows[rows["sample"].isin(["matched", "matched_fe"])]
    assert set(designed["estimand_id"]) == {f"ocr_{o}" for o in OUTCOMES} and designed["covers"].all(), designed
    assert (designed["n_truth"] > 200).all()
    assert (~rows.loc[rows["sample"] == "cohort", "covers"]).sum() >= 2
