"""Abadie-Imbens variance of the matching ATT: parity with R's Matching, brute force, simulation.

References: tests/reference/abadie_imbens/make_reference.R (R Matching 4.10-8 on its lalonde data:
Match()'s est and se, with its matches, for M = 1 and 3, Var.calc = 0, 1 and 4, exact and caliper);
a brute-force loop version of both formulas below; and a small simulation of the Abadie-Imbens (2016)
design for the estimated-propensity-score adjustment (the long one is bench/bench_abadie_imbens.py).
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from credit_recovery.design.matching import match
from credit_recovery.design.propensity import fit_propensity
from credit_recovery.estimation.abadie_imbens import (
    TIE_TOLERANCE, abadie_imbens_att, estimate_att_ai, nearest_neighbours,
)
from credit_recovery.estimation.att import estimate_att
from credit_recovery.shared.model_matrix import design_matrix
from credit_recovery.specs.drivers import matched_estimates
from credit_recovery.specs.matched_variance import with_abadie_imbens

REF = Path(__file__).parent / "reference" / "abadie_imbens"
PS_COVS = ["age", "educ", "black", "hisp", "married", "nodegr", "re74", "re75", "u74", "u75"]


@pytest.fixture(scope="module")
def lalonde() -> pd.DataFrame:
    return pd.read_csv(REF / "lalonde_matching.csv", index_col="row")


@pytest.fixture(scope="module")
def results() -> pd.DataFrame:
    return pd.read_csv(REF / "results.csv", keep_default_na=False, na_values=["NA"]).set_index("case")


def _options(spec: pd.Series) -> dict:
    return dict(metric=spec["X"].split("+"), strata=spec["exact"] or None, var_matches=int(spec["var_calc"]))


def _r_matches(case: str) -> pd.DataFrame:
    return pd.read_csv(REF / f"matches_{case}.csv")


CASES = ["lps_m1_v0", "lps_m1_v1", "lps_m3_v4", "lps_married_exact_m3_v4", "covs_m1_v4"]


@pytest.mark.parametrize("case", CASES)
def test_matching_se_reproduced_from_its_matches(lalonde, results, case):
    """Fed Matching's own matches (ties: several controls per treated with weights), the estimate and
    the AI standard error agree with Match()'s est and se to 1e-10 (relative)."""
    spec = results.loc[case]
    r = abadie_imbens_att(lalonde, _r_matches(case), "re78", "treat", weight="weight", **_options(spec))
    assert r.estimate == pytest.approx(spec["est"], rel=1e-10)
    assert r.std_error == pytest.approx(spec["se"], rel=1e-10)
    assert r.n_treated == spec["n_treated_matched"]
    assert r.std_error != pytest.approx(spec["se_standard"], rel=1e-5)  # not the naive SE


BIAS_CASES = ["lps_m3_v4_bias", "lps_m1_v0_bias", "lps_married_exact_m3_v4_bias"]


@pytest.mark.parametrize("case", BIAS_CASES)
def test_bias_corrected_estimate_and_se_equal_matching_biasadjust(lalonde, results, case):
    """Abadie-Imbens (2011) bias correction: fed Matching's matches, the estimate and SE equal
    Match(..., BiasAdjust = TRUE, Z = ...)'s est and se to 1e-10, and differ from the uncorrected ones."""
    spec = results.loc[case]
    z = spec["Z"].split("+")
    r = abadie_imbens_att(lalonde, _r_matches(case), "re78", "treat", weight="weight", bias_adjust=z,
                          **_options(spec))
    assert r.estimate == pytest.approx(spec["est"], rel=1e-10)
    assert r.std_error == pytest.approx(spec["se"], rel=1e-10)
    assert list(r.bias_slopes.index) == z
    plain = abadie_imbens_att(lalonde, _r_matches(case), "re78", "treat", weight="weight", **_options(spec))
    assert abs(plain.estimate - r.estimate) > 5.0


def test_bias_correction_by_brute_force(lalonde, own_match):
    """Loop version: alpha from the normal equations over the used controls weighted by how often each
    serves; each treated unit's effect is Y_i - mean_j (Y_j + (Z_i - Z_j)' alpha)."""
    z = ["age", "educ", "re74"]
    r = abadie_imbens_att(lalonde, own_match.pairs, "re78", "treat", metric="lps", strata="married",
                          var_matches=4, bias_adjust=z)
    pairs = own_match.pairs
    m_i = pairs.groupby("treated")["control"].transform("size")
    K = (1 / m_i).groupby(pairs["control"]).sum()
    A = np.column_stack([np.ones(len(K)), lalonde.loc[K.index, z].to_numpy(float)])
    W = np.diag(K.to_numpy())
    coef = np.linalg.solve(A.T @ W @ A, A.T @ W @ lalonde.loc[K.index, "re78"].to_numpy(float))
    effects = {}
    for t, grp in pairs.groupby("treated"):
        zc = lalonde.loc[grp["control"], z].to_numpy(float)
        adj = lalonde.loc[grp["control"], "re78"].to_numpy(float) + (lalonde.loc[t, z].to_numpy(float) - zc) @ coef[1:]
        effects[t] = lalonde.loc[t, "re78"] - adj.mean()
    assert r.bias_slopes.to_numpy() == pytest.approx(coef[1:], rel=1e-9)
    assert r.estimate == pytest.approx(np.mean(list(effects.values())), rel=1e-10)


def test_exact_strata_one_dimensional_search_agrees(lalonde, results):
    """Exact matching on `married` as strata with the propensity score alone as metric (the sorted
    one-dimensional search) gives Matching's se as the two-column metric (the all-pairs search) does."""
    spec = results.loc["lps_married_exact_m3_v4"]
    r = abadie_imbens_att(lalonde, _r_matches("lps_married_exact_m3_v4"), "re78", "treat", metric="lps",
                          strata="married", var_matches=4, weight="weight")
    assert r.std_error == pytest.approx(spec["se"], rel=1e-10)


def test_matching_with_a_caliper_counts_dropped_treated_units(lalonde, results):
    """R's Matching with a caliper divides by all 185 treated units and counts the 4 dropped ones as
    zero effects; the variance here is over the 181 matched. The two are related exactly by
    N_all^2 V_R = N_1^2 V + (N_all - N_1) tau^2."""
    spec = results.loc["lps_m3_caliper_v0"]
    r = abadie_imbens_att(lalonde, _r_matches("lps_m3_caliper_v0"), "re78", "treat", weight="weight",
                          **_options(spec))
    n_all, n1 = spec["n_treated"], r.n_treated
    assert (n_all, n1) == (185, 181)
    assert r.estimate == pytest.approx(spec["est"], rel=1e-10)
    v_r = (n1**2 * r.variance + (n_all - n1) * r.estimate**2) / n_all**2
    assert np.sqrt(v_r) == pytest.approx(spec["se"], rel=1e-10)
    assert r.std_error > spec["se"] * 1.01


def _brute_sigma2(y, arm, strata, coords, j, J, tol=TIE_TOLERANCE):
    """Loop version: variance of Y over j and every other unit of its arm and stratum within the J-th
    smallest squared distance (+ tol)."""
    others = [i for i in range(len(y)) if i != j and arm[i] == arm[j] and strata[i] == strata[j]]
    d2 = {i: float(np.sum((coords[i] - coords[j]) ** 2)) for i in others}
    kth = sorted(d2.values())[min(J, len(d2)) - 1]
    members = [j] + [i for i in others if d2[i] <= kth + tol]
    return float(np.var([y[i] for i in members], ddof=1))


def _brute_variance(data, pairs, outcome, treatment, metric, strata, J):
    """Abadie-Imbens (2006) ATT variance by loops over treated units and controls (weights 1/M_i)."""
    y = data[outcome].to_numpy(float)
    arm = data[treatment].to_numpy()
    coords = data[metric].to_numpy(float)
    coords = coords / coords.std(axis=0, ddof=1)
    st = data[strata].to_numpy() if strata else np.zeros(len(data))
    pos = {lab: k for k, lab in enumerate(data.index)}
    sets: dict[int, list[int]] = {}
    for t, c in zip(pairs["treated"], pairs["control"]):
        sets.setdefault(pos[t], []).append(pos[c])
    effects = {i: y[i] - np.mean([y[c] for c in cs]) for i, cs in sets.items()}
    tau = float(np.mean(list(effects.values())))
    K: dict[int, float] = {}
    KK: dict[int, float] = {}
    for i, cs in sets.items():
        for c in cs:
            K[c] = K.get(c, 0.0) + 1 / len(cs)
            KK[c] = KK.get(c, 0.0) + 1 / len(cs) ** 2
    n1 = len(sets)
    total = sum((e - tau) ** 2 for e in effects.values())
    total += sum((K[c] ** 2 - KK[c]) * _brute_sigma2(y, arm, st, coords, c, J) for c in K)
    return tau, total / n1**2


@pytest.fixture(scope="module")
def own_match(lalonde):
    """This package's matcher on lalonde: 3 controls with replacement, a caliper that leaves some
    treated units with fewer than 3 (variable M_i) and exact strata on `married`."""
    m = match(lalonde, "treat", "lps", ratio=3, replace=True, caliper=0.02, exact="married")
    sizes = m.pairs.groupby("treated").size()
    assert set(sizes) == {1, 2, 3} and m.n_unmatched > 0
    return m


def test_brute_force_with_a_variable_number_of_controls(lalonde, own_match):
    tau, v = _brute_variance(lalonde, own_match.pairs, "re78", "treat", ["lps"], "married", 4)
    r = abadie_imbens_att(lalonde, own_match.pairs, "re78", "treat", metric="lps", strata="married", var_matches=4)
    assert r.estimate == pytest.approx(tau, rel=1e-12)
    assert r.variance_ai == pytest.approx(v, rel=1e-12)


def test_estimate_is_the_wls_estimate_on_the_matched_sample(lalonde, own_match):
    """The simple matching estimator is the WLS ATT with MatchIt's weights (estimate_att, no covariates)."""
    row = estimate_att_ai(lalonde, own_match.pairs, "re78", "treat", metric="lps", strata="married")
    wls = estimate_att(own_match.data, "re78", "treat", replace=True)
    assert row["estimate"].iat[0] == pytest.approx(wls["estimate"].iat[0], rel=1e-12)
    assert row["cov_type"].iat[0] == "Abadie-Imbens (J=4)"
    assert row["n"].iat[0] == wls["n"].iat[0]
    assert row["std_error"].iat[0] != pytest.approx(wls["std_error"].iat[0], rel=1e-3)


def test_missing_outcomes_drop_their_pairs(lalonde, own_match):
    """A missing outcome removes its pairs; the result equals the one on the complete pairs."""
    d = lalonde.copy()
    lost = [own_match.pairs["treated"].iat[0], own_match.pairs["control"].iat[5]]
    d.loc[lost, "re78"] = np.nan
    keep = ~own_match.pairs["treated"].isin(lost) & ~own_match.pairs["control"].isin(lost)
    a = abadie_imbens_att(d, own_match.pairs, "re78", "treat", metric="lps", strata="married")
    b = abadie_imbens_att(d.drop(index=lost), own_match.pairs[keep], "re78", "treat", metric="lps",
                          strata="married")
    assert (a.estimate, a.variance_ai) == pytest.approx((b.estimate, b.variance_ai), rel=1e-12)


def _brute_ps_terms(data, pairs, outcome, treatment, metric, X, p, ratio, J):
    """Abadie-Imbens (2016) c'Vc and d'Vd by loops (no strata, no ties in the metric)."""
    y, w = data[outcome].to_numpy(float), data[treatment].to_numpy()
    s = data[metric].to_numpy(float)
    pos = {lab: k for k, lab in enumerate(data.index)}
    sets: dict[int, list[int]] = {}
    for t, c in zip(pairs["treated"], pairs["control"]):
        sets.setdefault(pos[t], []).append(pos[c])
    treated = sorted(sets)
    controls = [i for i in range(len(y)) if w[i] == 0]
    eff = {i: y[i] - np.mean([y[c] for c in sets[i]]) for i in treated}
    tau = np.mean(list(eff.values()))
    for i in controls:
        near = sorted(treated, key=lambda j: abs(s[j] - s[i]))[:ratio]
        eff[i] = np.mean([y[j] for j in near]) - y[i]
    f = p * (1 - p)
    V = np.linalg.inv(sum(f[i] * np.outer(X[i], X[i]) for i in range(len(y))))
    c = np.zeros(X.shape[1])
    d = np.zeros(X.shape[1])
    for i in treated + controls:
        cov = {}
        for arm, pool in ((1, treated), (0, controls)):
            near = sorted((j for j in pool if j != i), key=lambda j: abs(s[j] - s[i]))[:J]
            cov[arm] = np.cov(X[near].T, y[near])[:-1, -1]
        c += f[i] * (cov[1] + p[i] / (1 - p[i]) * cov[0])
        d += f[i] * X[i] * (eff[i] - tau)
    c, d = c / len(treated), d / len(treated)
    return c @ V @ c, d @ V @ d


def test_brute_force_propensity_adjustment(lalonde):
    ps = fit_propensity(lalonde, "treat", PS_COVS)
    d = lalonde.assign(ps=ps.propensity, lps=ps.logit)
    assert d["lps"].to_numpy() == pytest.approx(lalonde["lps"].to_numpy(), abs=1e-6)  # R's glm
    d["lps"] += np.arange(len(d)) * 1e-9  # break R's ties: the loop version has no tie rule
    m = match(d, "treat", "lps", ratio=2, replace=True)
    X = design_matrix(d, PS_COVS, drop_first=True, intercept=True)
    r = abadie_imbens_att(d, m.pairs, "re78", "treat", metric="lps", var_matches=4, ps_design=X,
                          propensity="ps", ratio=2, tie_tolerance=0.0)
    c_term, d_term = _brute_ps_terms(d, m.pairs, "re78", "treat", "lps", X.to_numpy(float),
                                     d["ps"].to_numpy(), 2, 4)
    assert (r.c_term, r.d_term) == pytest.approx((c_term, d_term), rel=1e-9)
    assert r.variance == pytest.approx(r.variance_ai - c_term + d_term, rel=1e-12)
    assert r.label == "Abadie-Imbens (J=4), estimated-PS adjusted"


def test_one_dimensional_and_all_pairs_searches_agree():
    """The sorted search (one metric column) and the all-pairs search (the same column twice, so every
    squared distance doubles) find the same neighbours, ties included."""
    rng = np.random.default_rng(3)
    x = np.round(rng.normal(size=400), 1)  # many ties
    groups = rng.integers(0, 3, size=400)
    query, pool = np.arange(0, 400, 2), np.arange(400)
    one = nearest_neighbours(x, groups, query, pool, 3, tie_tolerance=1e-9)
    two = nearest_neighbours(np.column_stack([x, x]), groups, query, pool, 3, tie_tolerance=2e-9)
    assert all(np.array_equal(a, b) for a, b in zip(one, two))
    owner, member = one
    assert not np.any(query[owner] == member) and np.all(groups[query[owner]] == groups[member])
    assert np.bincount(owner).min() >= 3 and np.bincount(owner).max() > 3  # ties add neighbours


def _simulate(n: int, rng: np.random.Generator) -> dict[str, float]:
    """One draw of the Abadie-Imbens (2016) design (bench/bench_abadie_imbens.py), matched 1:1 on an
    estimated logit score; the estimate and its variances."""
    x = rng.uniform(-0.5, 0.5, size=(n, 2))
    w = (rng.uniform(size=n) < 1 / (1 + np.exp(-(x[:, 0] + 2 * x[:, 1])))).astype(int)
    y = np.where(w == 1, 5 + 5 * x[:, 0] + x[:, 1], 3 * x[:, 0] - 3 * x[:, 1]) + rng.normal(size=n)
    d = pd.DataFrame({"x1": x[:, 0], "x2": x[:, 1], "w": w, "y": y})
    ps = fit_propensity(d, "w", ["x1", "x2"])
    d["ps"], d["lps"] = ps.propensity, ps.logit
    m = match(d, "w", "lps", replace=True)
    X = design_matrix(d, ["x1", "x2"], intercept=True)
    r = abadie_imbens_att(d, m.pairs, "y", "w", metric="lps", ps_design=X, propensity="ps")
    return {"estimate": r.estimate, "v_ai": r.variance_ai, "v_adj": r.variance}


def test_adjustment_for_the_estimated_score_fits_the_sampling_variance():
    """400 samples of n = 1000 (seeded): the adjusted variance is within 10% of the Monte Carlo variance
    of the estimate, closer than the unadjusted one, which overstates it (the 2016 paper's point: the
    adjustment matters for the ATT; its sign depends on the design)."""
    rng = np.random.default_rng(20160301)
    sims = pd.DataFrame([_simulate(1000, rng) for _ in range(400)])
    mc_var = sims["estimate"].var(ddof=1)
    adj, unadj = sims["v_adj"].mean() / mc_var, sims["v_ai"].mean() / mc_var
    assert abs(adj - 1) < 0.10
    assert unadj > 1.10 and abs(adj - 1) < abs(unadj - 1)


def test_arguments_are_checked(lalonde, own_match):
    with pytest.raises(ValueError, match="treated unit to a control"):
        abadie_imbens_att(lalonde, own_match.pairs.rename(columns={"treated": "control", "control": "treated"}),
                          "re78", "treat", metric="lps")
    with pytest.raises(ValueError, match="var_matches >= 2"):
        abadie_imbens_att(lalonde, own_match.pairs, "re78", "treat", metric="lps", propensity="lps")
    with pytest.raises(KeyError):
        abadie_imbens_att(lalonde, own_match.pairs, "re78", "treat", metric="nope")


def test_the_models_rule_row_takes_abadie_imbens_standard_errors(lalonde):
    """specs.matched_variance swaps the unadjusted matched row for its Abadie-Imbens row (same place,
    estimate and estimator label) and leaves the covariate-adjusted row alone; the SE is the one of
    abadie_imbens_att with the propensity model's design and the matching options."""
    ps = fit_propensity(lalonde, "treat", PS_COVS)
    d = lalonde.assign(propensity=ps.propensity, logit=ps.logit)
    m = match(d, "treat", "logit", ratio=3, replace=True, caliper=0.1, exact="married")
    matching = {"covariates": PS_COVS, "distance": "logit", "exact": ["married"], "ratio": 3}
    before = matched_estimates(m.data, ["re78"], ["age", "educ"], treatment="treat", replace=True)
    after = with_abadie_imbens(before, d, m.pairs, ["re78"], matching, treatment="treat")
    direct = abadie_imbens_att(d, m.pairs, "re78", "treat", metric="logit", strata=["married"],
                               ps_design=design_matrix(d, PS_COVS, drop_first=True, intercept=True),
                               propensity="propensity", ratio=3)
    assert list(after["estimator"]) == list(before["estimator"])
    assert list(after["cov_type"]) == ["Abadie-Imbens (J=4), estimated-PS adjusted", "HC3, delta method"]
    assert after["estimate"].iat[0] == pytest.approx(before["estimate"].iat[0], rel=1e-12)
    assert after["std_error"].iat[0] == pytest.approx(direct.std_error, rel=1e-12)
    pd.testing.assert_frame_equal(after.iloc[[1]], before.iloc[[1]])
    unadjusted = with_abadie_imbens(before, d, m.pairs, ["re78"], matching, treatment="treat", adjust=False)
    assert unadjusted["cov_type"].iat[0] == "Abadie-Imbens (J=4)"
    assert unadjusted["std_error"].iat[0] == pytest.approx(np.sqrt(direct.variance_ai), rel=1e-12)


def test_the_models_rule_row_is_bias_corrected_on_the_propensity_covariates(lalonde):
    """With bias_correct the matched row is relabelled and equals abadie_imbens_att with the propensity
    model's design matrix (dummies, no intercept) as the bias-correction covariates."""
    ps = fit_propensity(lalonde, "treat", PS_COVS)
    d = lalonde.assign(propensity=ps.propensity, logit=ps.logit)
    m = match(d, "treat", "logit", ratio=3, replace=True, caliper=0.1, exact="married")
    matching = {"covariates": PS_COVS, "distance": "logit", "exact": ["married"], "ratio": 3}
    before = matched_estimates(m.data, ["re78"], ["age", "educ"], treatment="treat", replace=True)
    after = with_abadie_imbens(before, d, m.pairs, ["re78"], matching, treatment="treat", bias_correct=True)
    X = design_matrix(d, PS_COVS, drop_first=True, intercept=True)
    Z = X.drop(columns=X.columns[0])
    direct = abadie_imbens_att(d.join(Z.add_prefix("z_")), m.pairs, "re78", "treat", metric="logit",
                               strata=["married"], ps_design=X, propensity="propensity", ratio=3,
                               bias_adjust=list(Z.add_prefix("z_").columns))
    assert after["estimator"].iat[0] == "nearest-neighbour matching, bias-corrected"
    assert after["estimate"].iat[0] == pytest.approx(direct.estimate, rel=1e-12)
    assert after["std_error"].iat[0] == pytest.approx(direct.std_error, rel=1e-12)
    assert abs(after["estimate"].iat[0] - before["estimate"].iat[0]) > 1.0
    pd.testing.assert_frame_equal(after.iloc[[1]], before.iloc[[1]])


def test_residual_variance_is_the_plain_estimator_on_the_residualised_outcome(lalonde, own_match):
    """bias_variance="residual": the corrected estimate and its variance (2016 terms included) are those
    of the uncorrected estimator applied to Y - Z'alpha; "outcome" (Matching's) differs."""
    z = ["age", "educ", "re74", "re75"]
    ps = fit_propensity(lalonde, "treat", PS_COVS)
    d = lalonde.assign(ps=ps.propensity)
    X = design_matrix(d, PS_COVS, drop_first=True, intercept=True)
    opts = dict(metric="lps", strata="married", var_matches=4, ps_design=X, propensity="ps", ratio=3)
    r = abadie_imbens_att(d, own_match.pairs, "re78", "treat", bias_adjust=z, bias_variance="residual", **opts)
    res = d.assign(res=d["re78"] - d[z].to_numpy(float) @ r.bias_slopes.to_numpy())
    plain = abadie_imbens_att(res, own_match.pairs, "res", "treat", **opts)
    assert r.estimate == pytest.approx(plain.estimate, rel=1e-10)
    assert (r.variance_ai, r.c_term, r.d_term) == pytest.approx((plain.variance_ai, plain.c_term, plain.d_term),
                                                                rel=1e-10)
    outcome = abadie_imbens_att(d, own_match.pairs, "re78", "treat", bias_adjust=z, **opts)
    assert outcome.estimate == pytest.approx(r.estimate, rel=1e-12)
    assert (outcome.variance_ai, outcome.c_term) != pytest.approx((r.variance_ai, r.c_term), rel=1e-3)
    with pytest.raises(ValueError, match="bias_variance"):
        abadie_imbens_att(d, own_match.pairs, "re78", "treat", bias_adjust=z, bias_variance="nope", **opts)
