"""Callaway-Sant'Anna ATT(g,t) and aggregations: parity with R `did` on mpdta, brute-force 2x2 means."""
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from credit_recovery.estimation.drdid import CellError, did_panel_2x2
from credit_recovery.estimation.staggered import att_gt

REF = Path(__file__).parent / "reference" / "mpdta"
TOL = 1e-6  # ATT(g,t) are closed form; the logit of the DR propensity score converges far below this
#: scenario -> att_gt arguments (tests/reference/mpdta/README.md: which are R `did` 2.5.0 and which csdid 0.4.3)
SCENARIOS = {
    "mpdta_nev_dr": dict(covariates=[], control_group="never_treated", est_method="dr"),
    "mpdta_nyt_dr": dict(covariates=[], control_group="not_yet_treated", est_method="dr"),
    "mpdta_nev_reg_cov": dict(covariates=["lpop"], control_group="never_treated", est_method="reg"),
    "universal": dict(covariates=[], control_group="never_treated", est_method="reg", base_period="universal"),
    "clustered": dict(covariates=[], control_group="never_treated", est_method="reg", cluster="clust"),
    "mpdta_nev_dr_lpop": dict(covariates=["lpop"], control_group="never_treated", est_method="dr"),
    "mpdta_nyt_dr_lpop": dict(covariates=["lpop"], control_group="not_yet_treated", est_method="dr"),
    "mpdta_nyt_reg_lpop": dict(covariates=["lpop"], control_group="not_yet_treated", est_method="reg"),
    "mpdta_nev_dr_universal": dict(covariates=[], control_group="never_treated", est_method="dr",
                                   base_period="universal"),
    "mpdta_nyt_dr_lpop_universal": dict(covariates=["lpop"], control_group="not_yet_treated", est_method="dr",
                                        base_period="universal"),
    "mpdta_nev_dr_lpop_clust": dict(covariates=["lpop"], control_group="never_treated", est_method="dr",
                                    cluster="clust"),
}
R_SCENARIOS = ("mpdta_nev_dr", "mpdta_nyt_dr", "mpdta_nev_reg_cov", "universal", "clustered")


@pytest.fixture(scope="module")
def mpdta():
    return pd.read_csv(REF / "mpdta.csv").merge(pd.read_csv(REF / "clusters.csv"), on="countyreal")


@pytest.fixture(scope="module")
def ref_attgt():
    return pd.concat([pd.read_csv(REF / f) for f in ("r_did_attgt.csv", "r_did_gaps.csv", "csdid_attgt.csv")])


@pytest.fixture(scope="module")
def ref_aggte():
    return pd.concat([pd.read_csv(REF / f) for f in ("r_did_aggte.csv", "csdid_aggte.csv")])


def _fit(data, **kw):
    return att_gt(data, unit="countyreal", time="year", outcome="lemp", group="first.treat", **kw)


@pytest.mark.parametrize("scenario", list(SCENARIOS))
def test_attgt_matches_reference(mpdta, ref_attgt, scenario):
    ref = ref_attgt[ref_attgt["scenario"] == scenario]
    res = _fit(mpdta, **SCENARIOS[scenario]).attgt
    m = res.merge(ref, left_on=["group", "time"], right_on=["group", "t"], validate="one_to_one")
    assert len(m) == len(res) == len(ref) >= 12
    np.testing.assert_allclose(m["att_x"], m["att_y"], rtol=TOL, atol=1e-12)
    has_se = m["se"].notna()
    assert (has_se == m["std_error"].notna()).all()  # the universal base period's own cell: no SE
    np.testing.assert_allclose(m.loc[has_se, "std_error"], m.loc[has_se, "se"], rtol=TOL)


@pytest.mark.parametrize("scenario", [s for s in SCENARIOS if s not in ("universal", "clustered")])
@pytest.mark.parametrize("kind", ["simple", "dynamic", "group"])
def test_aggregations_match_reference(mpdta, ref_aggte, scenario, kind):
    ref = ref_aggte[(ref_aggte["scenario"] == scenario) & (ref_aggte["type"] == kind)]
    agg = _fit(mpdta, **SCENARIOS[scenario]).aggregate(kind)
    overall = agg[agg["term"] == "overall"].iloc[0]
    np.testing.assert_allclose(overall["att"], ref["overall_att"].iloc[0], rtol=TOL)
    np.testing.assert_allclose(overall["std_error"], ref["overall_se"].iloc[0], rtol=TOL)
    if kind == "simple":
        return
    terms = agg[agg["term"] != "overall"].assign(egt=lambda d: d["term"].astype(float))
    m = terms.merge(ref, on="egt", validate="one_to_one")
    assert len(m) == len(ref) == len(terms)
    np.testing.assert_allclose(m["att"], m["att_egt"], rtol=TOL, atol=1e-12)
    ok = m["se_egt"].notna()
    np.testing.assert_allclose(m.loc[ok, "std_error"], m.loc[ok, "se_egt"], rtol=TOL)


def test_vignette_numbers_and_clustering_changes_only_the_standard_errors(mpdta):
    res = _fit(mpdta)
    first = res.attgt[res.attgt["group"] == 2004].set_index("time")["att"].round(4)
    assert first.to_dict() == {2004: -0.0105, 2005: -0.0704, 2006: -0.1373, 2007: -0.1008}
    cl = _fit(mpdta, cluster="clust")
    assert np.allclose(cl.attgt["att"], res.attgt["att"])
    assert not np.allclose(cl.attgt["std_error"], res.attgt["std_error"], rtol=0.01)
    adj = _fit(mpdta, cluster="clust", cluster_adjust=True)  # G/(G-1) and t(G-1) intervals
    np.testing.assert_allclose(adj.attgt["std_error"], cl.attgt["std_error"] * np.sqrt(29 / 28))
    assert adj.df == 28 and cl.df is None
    w = adj.attgt.iloc[0]
    assert w["ci_high"] - w["att"] > 1.96 * w["std_error"]


def _unbalanced(mpdta, seed=0):
    """mpdta with 15% of its rows dropped and 5% of outcomes missing."""
    rng = np.random.default_rng(seed)
    d = mpdta[rng.random(len(mpdta)) > 0.15].copy()
    d.loc[rng.random(len(d)) < 0.05, "lemp"] = np.nan
    return d


def _two_by_two(d, g, t, b, control):
    """Brute force: mean outcome change of group g minus that of the comparison units, over the units
    observed in t and b, and its standard error from the two groups' variances (1/n, as the influence
    function)."""
    w = d.pivot(index="countyreal", columns="year", values="lemp")
    grp = d.groupby("countyreal")["first.treat"].first().reindex(w.index)
    dy = (w[t] - w[b]).dropna()
    gg = grp[dy.index]
    tr, co = dy[gg == g], dy[control(gg)]
    return tr.mean() - co.mean(), np.sqrt(tr.var(ddof=0) / len(tr) + co.var(ddof=0) / len(co)), len(tr)


@pytest.mark.parametrize("control_group", ["never_treated", "not_yet_treated"])
def test_unbalanced_panel_cells_are_brute_force_two_by_two_means(mpdta, control_group):
    d = _unbalanced(mpdta)
    res = _fit(d, control_group=control_group)
    for _, c in res.attgt.iterrows():
        g, t, b = c["group"], c["time"], c["base"]
        if control_group == "never_treated":
            def ctrl(G):
                return G == 0
        else:
            def ctrl(G, g=g, t=t, b=b):
                return (G == 0) | ((G > max(t, b)) & (G != g))
        att, se, n1 = _two_by_two(d, g, t, b, ctrl)
        assert c["att"] == pytest.approx(att, rel=1e-10, abs=1e-14)
        assert c["std_error"] == pytest.approx(se, rel=1e-10)
        assert c["n_treated"] == n1
    # aggregation weights: each cell's treated units (not the group's size) on an unbalanced panel
    dyn = res.aggregate("dynamic").set_index("term")
    a = res.attgt[res.attgt["event_time"] == 0]
    assert dyn.loc[0, "att"] == pytest.approx(np.average(a["att"], weights=a["n_treated"]), rel=1e-12)
    assert dyn.loc[0, "n_treated"] == a["n_treated"].sum()


def test_stratum_restricts_the_comparison_units(mpdta):
    # strata: two halves of the counties; group 2004 sits in half 1 only
    d = mpdta.assign(half=np.where(mpdta["countyreal"] % 2 == 0, 1, 2))
    d = d[~((d["first.treat"] > 0) & (d["half"] == 2))]
    with_s = _fit(d, stratum="half").attgt.set_index(["group", "time"])
    alone = _fit(d[d["half"] == 1]).attgt.set_index(["group", "time"])
    np.testing.assert_allclose(with_s["att"], alone["att"], rtol=1e-12)
    assert (with_s["n_control"] == alone["n_control"]).all()
    mixed = mpdta.assign(half=np.where(mpdta["countyreal"] % 2 == 0, 1, 2))
    with pytest.raises(ValueError, match="strata"):
        _fit(mixed, stratum="half")


def test_two_by_two_without_covariates_is_the_difference_in_mean_changes():
    rng = np.random.default_rng(1)
    dy, D = rng.normal(size=200), (rng.random(200) < 0.3).astype(int)
    for method in ("dr", "reg"):
        att, psi = did_panel_2x2(dy, D, None, method)
        assert att == pytest.approx(dy[D == 1].mean() - dy[D == 0].mean(), rel=1e-12)
        assert abs(psi.mean()) < 1e-12
    # a covariate constant among the comparison units is dropped, not fatal
    x = np.where(D == 1, rng.normal(size=200), 1.0)
    assert did_panel_2x2(dy, D, x, "reg")[0] == pytest.approx(att, rel=1e-12)
    with pytest.raises(CellError, match="comparison"):
        did_panel_2x2(dy[:5], np.array([1, 1, 1, 1, 0]), rng.normal(size=(5, 2)), "dr")


def test_doubly_robust_recovers_a_planted_effect_under_covariate_trends():
    # trends depend on x, and so does treatment: unconditional DiD is biased, DR and reg are not
    rng = np.random.default_rng(5)
    n = 20000
    x = rng.normal(size=n)
    D = (rng.random(n) < 1 / (1 + np.exp(-x))).astype(int)
    dy = 0.5 * x + 0.3 * D + rng.normal(size=n)
    for method in ("dr", "reg"):
        att, psi = did_panel_2x2(dy, D, x[:, None], method)
        assert abs(att - 0.3) < 4 * np.sqrt(np.sum(psi ** 2)) / n
    assert did_panel_2x2(dy, D, None, "dr")[0] - 0.3 > 0.2


def test_argument_and_input_checks(mpdta):
    with pytest.raises(ValueError, match="allowed values"):
        _fit(mpdta, control_group="never")
    with pytest.raises(ValueError, match="allowed values"):
        _fit(mpdta, base_period="fixed")
    with pytest.raises(ValueError, match="allowed values"):
        _fit(mpdta, est_method="ipw")
    with pytest.raises(ValueError, match="vary within a unit"):
        _fit(mpdta.assign(x=np.arange(len(mpdta))), covariates=["x"])
    with pytest.raises(ValueError, match="more than one row"):
        _fit(pd.concat([mpdta, mpdta.head(1)]))
    with pytest.raises(ValueError, match="aggregation"):
        _fit(mpdta).aggregate("calendar")
    # never treated coded as inf works as 0
    inf = _fit(mpdta.assign(**{"first.treat": mpdta["first.treat"].replace(0, np.inf)}))
    np.testing.assert_allclose(inf.attgt["att"], _fit(mpdta).attgt["att"])


def test_cells_below_the_minimum_size_are_left_out_of_the_aggregations(mpdta):
    # groups 2004 (20 counties), 2006 (40), 2007 (131), never treated 309: with lpop 2 coefficients,
    # 15 per coefficient leaves group 2004 (20 < 30) out
    full = _fit(mpdta, covariates=["lpop"])
    small = _fit(mpdta, covariates=["lpop"], min_units_per_coef=15)
    skipped = small.attgt["att"].isna()
    assert set(small.attgt.loc[skipped, "group"]) == {2004} and small.attgt.loc[skipped, "note"].str.contains(
        "regression coefficients").all()
    keep = small.attgt["group"] != 2004
    np.testing.assert_allclose(small.attgt.loc[keep, "att"], full.attgt.loc[keep, "att"])
    dyn = small.aggregate("dynamic").set_index("term")
    a = small.attgt[(small.attgt["event_time"] == 0) & keep]
    assert dyn.loc[0, "att"] == pytest.approx(np.average(a["att"], weights=a["n_treated"]), rel=1e-12)
    assert 3 not in dyn.index  # only group 2004 reaches event time 3
