"""Tests for credit_recovery.estimation.fixed_effects.

References:
* tests/reference/wagepan/reference.csv, frozen by make_reference.R (R 4.2: plm,
  sandwich, estimatr, clubSandwich) on tests/reference/wagepan/wagepan.csv;
* brute-force dummy-variable (LSDV) implementations written here with numpy;
* statsmodels OLS/WLS for the models without fixed effects.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm
from hypothesis import given, settings
from hypothesis import strategies as st

from credit_recovery import ESTIMATE_COLUMNS, fit_fixed_effects
from credit_recovery.estimation.fixed_effects import parse_formula
from credit_recovery.estimation.fixed_effects.wild import wild_weights

REF = Path(__file__).parent / "reference" / "wagepan"
TERMS = ["union", "married", "expersq"]
FORMULA = "lwage ~ union + married + expersq | nr + year"


@pytest.fixture(scope="module")
def wagepan() -> pd.DataFrame:
    return pd.read_csv(REF / "wagepan.csv")


@pytest.fixture(scope="module")
def ref() -> pd.DataFrame:
    r = pd.read_csv(REF / "reference.csv")
    return r


def _q(ref: pd.DataFrame, quantity: str) -> np.ndarray:
    sub = ref[ref["quantity"] == quantity].set_index("term")
    return sub.loc[TERMS, "value"].to_numpy(dtype=float)


def _scalar(ref: pd.DataFrame, quantity: str) -> float:
    return float(ref.loc[ref["quantity"] == quantity, "value"].iloc[0])


# ---------------------------------------------------------------- wagepan parity
def test_coefficients_match_plm_twoways(wagepan, ref):
    res = fit_fixed_effects(wagepan, FORMULA, cluster="nr")
    np.testing.assert_allclose(res.params[TERMS].to_numpy(), _q(ref, "coef_plm"), rtol=0, atol=1e-6)
    assert res.nobs == 4360 and res.n_clusters == 545
    assert res.n_dropped_missing == 0 and res.n_dropped_singletons == 0


def test_default_cr1_is_xtreg_convention_and_all_is_lsdv_vcovcl(wagepan, ref):
    nested = fit_fixed_effects(wagepan, FORMULA, cluster="nr")
    allk = fit_fixed_effects(wagepan, FORMULA, cluster="nr", fe_dof="all")
    assert nested.k_dof == 11 == _scalar(ref, "K_xtreg")
    assert allk.k_dof == 555 == _scalar(ref, "K_lsdv")
    np.testing.assert_allclose(nested.std_errors[TERMS], _q(ref, "se_xtreg_cluster_K11"), rtol=1e-4)
    np.testing.assert_allclose(allk.std_errors[TERMS], _q(ref, "se_lsdv_vcovCL_HC1"), rtol=1e-4)
    # the two conventions differ by the known factor sqrt((N - K_c) / (N - K_a))
    n = 4360
    np.testing.assert_allclose(allk.std_errors / nested.std_errors, np.sqrt((n - 11) / (n - 555)), rtol=1e-10)
    # p-values use t(G - 1), as coeftest(..., df = G - 1)
    np.testing.assert_allclose(allk.pvalues[TERMS], _q(ref, "p_lsdv_vcovCL_HC1_tG1"), rtol=1e-4)


def test_plm_hc1_differs_by_known_factor(wagepan, ref):
    raw = fit_fixed_effects(wagepan, FORMULA, cluster="nr", small_sample=False)
    assert raw.small_sample_factor == 1.0
    np.testing.assert_allclose(raw.std_errors[TERMS], _q(ref, "se_plm_vcovHC_HC0_group"), rtol=1e-4)
    # plm's vcovHC(type = "HC1", cluster = "group") multiplies the raw sandwich by N / (N - p), p = 3
    np.testing.assert_allclose(raw.std_errors[TERMS] * np.sqrt(4360 / 4357), _q(ref, "se_plm_vcovHC_HC1_group"),
                               rtol=1e-4)


def test_robust_and_unadjusted_match_lsdv(wagepan, ref):
    rob = fit_fixed_effects(wagepan, FORMULA, cov_type="robust")
    una = fit_fixed_effects(wagepan, FORMULA, cov_type="unadjusted")
    np.testing.assert_allclose(rob.std_errors[TERMS], _q(ref, "se_lsdv_HC1"), rtol=1e-4)
    np.testing.assert_allclose(una.std_errors[TERMS], _q(ref, "se_lsdv_classical"), rtol=1e-4)
    assert (rob.df == 4360 - 555).all()


def test_cr2_matches_estimatr_and_clubsandwich(wagepan, ref):
    res = fit_fixed_effects(wagepan, FORMULA, cluster="nr", cov_type="cr2")
    np.testing.assert_allclose(res.std_errors[TERMS], _q(ref, "se_estimatr_CR2"), rtol=1e-4)
    np.testing.assert_allclose(res.std_errors[TERMS], _q(ref, "se_clubSandwich_CR2"), rtol=1e-4)
    np.testing.assert_allclose(res.df[TERMS], _q(ref, "df_clubSandwich_CR2_Satt"), rtol=1e-4)
    np.testing.assert_allclose(res.pvalues[TERMS], _q(ref, "p_estimatr_CR2"), rtol=1e-3)


def test_weighted_cr2_matches_estimatr_and_clubsandwich(wagepan):
    # reference: tests/reference/wagepan/make_reference_weighted.R (LSDV fits on the first 150 workers,
    # w = 1 + nr mod 3)
    ref_w = pd.read_csv(REF / "reference_weighted.csv")
    sub = wagepan[wagepan["nr"].isin(np.sort(wagepan["nr"].unique())[:150])]
    res = fit_fixed_effects(sub.assign(w=1.0 + sub["nr"] % 3), FORMULA, cluster="nr", cov_type="cr2", weights="w")
    np.testing.assert_allclose(res.params[TERMS], _q(ref_w, "coef_estimatr_w"), rtol=1e-6)
    np.testing.assert_allclose(res.std_errors[TERMS], _q(ref_w, "se_estimatr_CR2_w"), rtol=1e-4)
    np.testing.assert_allclose(res.std_errors[TERMS], _q(ref_w, "se_clubSandwich_CR2_w"), rtol=1e-4)
    np.testing.assert_allclose(res.df[TERMS], _q(ref_w, "df_clubSandwich_CR2_Satt_w"), rtol=1e-4)
    np.testing.assert_allclose(res.df[TERMS], _q(ref_w, "df_estimatr_CR2_w"), rtol=1e-4)


def test_all_convention_equals_linearmodels_debiased(wagepan):
    from linearmodels.iv.absorbing import AbsorbingLS

    fe = pd.DataFrame({"nr": pd.Categorical(wagepan.nr), "year": pd.Categorical(wagepan.year)})
    lm = AbsorbingLS(wagepan.lwage, wagepan[TERMS], absorb=fe).fit(
        cov_type="clustered", clusters=wagepan.nr.to_numpy(), debiased=True)
    ours = fit_fixed_effects(wagepan, FORMULA, cluster="nr", fe_dof="all")
    np.testing.assert_allclose(ours.std_errors[TERMS], lm.std_errors[TERMS], rtol=1e-8)


# ---------------------------------------------------------------- small synthetic panels
def _panel(n_units=40, n_years=5, n_schools=8, seed=1, beta=0.3):
    rng = np.random.default_rng(seed)
    unit = np.repeat(np.arange(n_units), n_years)
    year = np.tile(np.arange(n_years), n_units)
    school = unit % n_schools
    x = rng.normal(size=unit.size) + 0.2 * school
    z = rng.normal(size=unit.size)
    y = beta * x - 0.2 * z + rng.normal(size=n_units)[unit] + 0.1 * year + rng.normal(size=n_schools)[school] * (
        rng.normal(size=unit.size)) + rng.normal(size=unit.size)
    return pd.DataFrame({"y": y, "x": x, "z": z, "unit": unit, "year": year, "school": school,
                         "w": rng.uniform(0.5, 2.0, unit.size)})


def _dummies(df: pd.DataFrame, fes: list[str]) -> np.ndarray:
    blocks = []
    for k, c in enumerate(fes):
        d = pd.get_dummies(df[c].astype(str), drop_first=k > 0, dtype=float).to_numpy()
        blocks.append(d)
    return np.column_stack(blocks)


def test_formula_grammar():
    f = parse_formula("y ~ x + z | unit + school^year")
    assert f.regressors == ("x", "z") and f.fixed_effects == (("unit",), ("school", "year"))
    assert f.fe_label == "unit + school^year" and not f.intercept
    g = parse_formula("y ~ x")
    assert g.intercept and g.fe_label == "none"
    for bad in ["y ~ log(x)", "y x", "y ~ x | a | b", "y ~ x + x", "y ~ x |", "y ~ y"]:
        with pytest.raises(ValueError):
            parse_formula(bad)


def test_interaction_fe_equals_combined_column():
    df = _panel()
    df["school_year"] = df["school"].astype(str) + "_" + df["year"].astype(str)
    a = fit_fixed_effects(df, "y ~ x + z | unit + school^year", cluster="school")
    b = fit_fixed_effects(df, "y ~ x + z | unit + school_year", cluster="school")
    pd.testing.assert_series_equal(a.params, b.params, rtol=1e-9)
    pd.testing.assert_series_equal(a.std_errors, b.std_errors, rtol=1e-9)
    # brute force: LSDV with school-by-year dummies
    Z = np.column_stack([df[["x", "z"]].to_numpy(), _dummies(df, ["unit", "school_year"])])
    coef = np.linalg.lstsq(Z, df["y"].to_numpy(), rcond=None)[0]
    np.testing.assert_allclose(a.params.to_numpy(), coef[:2], atol=1e-8)


def test_no_bar_matches_statsmodels_ols_cluster_and_wls():
    df = _panel()
    ours = fit_fixed_effects(df, "y ~ x + z", cluster="school")
    X = sm.add_constant(df[["x", "z"]])
    sm_fit = sm.OLS(df["y"], X).fit(cov_type="cluster", cov_kwds={"groups": df["school"]})
    np.testing.assert_allclose(ours.params.to_numpy(), sm_fit.params.to_numpy(), rtol=1e-10)
    np.testing.assert_allclose(ours.std_errors.to_numpy(), sm_fit.bse.to_numpy(), rtol=1e-10)
    assert list(ours.params.index) == ["Intercept", "x", "z"]
    wl = fit_fixed_effects(df, "y ~ x + z", cluster="school", weights="w")
    sm_w = sm.WLS(df["y"], X, weights=df["w"]).fit(cov_type="cluster", cov_kwds={"groups": df["school"]})
    np.testing.assert_allclose(wl.params.to_numpy(), sm_w.params.to_numpy(), rtol=1e-10)
    np.testing.assert_allclose(wl.std_errors.to_numpy(), sm_w.bse.to_numpy(), rtol=1e-8)
    hc1 = fit_fixed_effects(df, "y ~ x + z", cov_type="robust")
    np.testing.assert_allclose(hc1.std_errors.to_numpy(), sm.OLS(df["y"], X).fit(cov_type="HC1").bse, rtol=1e-10)


def test_weighted_fe_matches_weighted_lsdv():
    df = _panel()
    ours = fit_fixed_effects(df, "y ~ x + z | unit + year", cluster="school", weights="w", fe_dof="all")
    Z = np.column_stack([df[["x", "z"]].to_numpy(), _dummies(df, ["unit", "year"])])
    fit = sm.WLS(df["y"].to_numpy(), Z, weights=df["w"].to_numpy()).fit(
        cov_type="cluster", cov_kwds={"groups": df["school"].to_numpy()})
    np.testing.assert_allclose(ours.params.to_numpy(), fit.params[:2], atol=1e-6)
    np.testing.assert_allclose(ours.std_errors.to_numpy(), fit.bse[:2], rtol=1e-5)


@pytest.mark.parametrize("weighted", [False, True])
def test_cr2_matches_brute_force_lsdv_on_unbalanced_panel(weighted):
    df = _panel(n_units=30, seed=3).sample(frac=0.8, random_state=0).sort_index()
    res = fit_fixed_effects(df, "y ~ x + z | unit + year", cluster="school", cov_type="cr2",
                            weights="w" if weighted else None)
    # brute force on the dummy-variable regression, raw scale, weights W, working model I
    # (Pustejovsky & Tipton 2018 with target I: estimatr and clubSandwich for a weighted lm)
    w = df["w"].to_numpy() if weighted else np.ones(len(df))
    Z = np.column_stack([df[["x", "z"]].to_numpy(), _dummies(df, ["unit", "year"])])
    y = df["y"].to_numpy()
    M = np.linalg.pinv(Z.T @ (w[:, None] * Z))
    I_H = np.eye(len(y)) - Z @ M @ Z.T * w[None, :]  # I - H_X, H_X = Z M Z'W
    e = I_H @ y
    cl = df["school"].to_numpy()
    meat = np.zeros((Z.shape[1], Z.shape[1]))
    Fcols = {0: [], 1: []}
    for g in np.unique(cl):
        idx = np.flatnonzero(cl == g)
        vals, vecs = np.linalg.eigh(I_H[idx] @ I_H[idx].T)
        inv = np.where(vals > 1e-10, 1 / np.sqrt(np.clip(vals, 1e-300, None)), 0.0)
        A = (vecs * inv) @ vecs.T
        u = Z[idx].T @ (w[idx] * (A @ e[idx]))
        meat += np.outer(u, u)
        for k in (0, 1):
            pg = A @ (w[idx] * (Z[idx] @ M[:, k]))
            Fcols[k].append(I_H[idx].T @ pg)
    V = M @ meat @ M
    np.testing.assert_allclose(res.std_errors.to_numpy(), np.sqrt(np.diag(V))[:2], rtol=1e-6)
    for k in (0, 1):
        F = np.column_stack(Fcols[k])
        om = F.T @ F
        np.testing.assert_allclose(res.df.iloc[k], np.trace(om) ** 2 / np.sum(om * om), rtol=1e-6)


def test_missing_and_singletons_are_dropped_and_counted():
    df = _panel()
    df.loc[[0, 5], "x"] = np.nan
    df.loc[7, "year"] = np.nan
    extra = pd.DataFrame({"y": [1.0], "x": [0.5], "z": [0.1], "unit": [999], "year": [0], "school": [0], "w": [1.0]})
    df2 = pd.concat([df, extra], ignore_index=True)
    res = fit_fixed_effects(df2, "y ~ x + z | unit + year", cluster="school")
    assert res.n_dropped_missing == 3
    assert res.n_dropped_singletons == 1
    manual = fit_fixed_effects(df.dropna(), "y ~ x + z | unit + year", cluster="school")
    assert res.nobs == manual.nobs == len(df) - 3
    pd.testing.assert_series_equal(res.params, manual.params, rtol=1e-9)
    pd.testing.assert_series_equal(res.std_errors, manual.std_errors, rtol=1e-9)


def test_used_marks_the_complete_non_singleton_rows():
    df = _panel()
    df.loc[[0, 5], "x"] = np.nan
    df.loc[9, "w"] = 0.0
    extra = pd.DataFrame({"y": [1.0], "x": [0.5], "z": [0.1], "unit": [999], "year": [0], "school": [0], "w": [1.0]})
    df2 = pd.concat([df, extra]).set_axis([f"r{i}" for i in range(len(df) + 1)])  # a non-default index
    res = fit_fixed_effects(df2, "y ~ x + z | unit + year", cluster="school", weights="w")
    assert res.used.dtype == bool and res.used.index.equals(df2.index)
    expected = df2[["x", "w"]].notna().all(axis=1) & (df2["w"] != 0) & (df2["unit"] != 999)
    pd.testing.assert_series_equal(res.used, expected.rename("used"))
    assert int(res.used.sum()) == res.nobs == len(df) - 3
    assert res.n_dropped_missing == 3 and res.n_dropped_singletons == 1
    # refitting on exactly those rows, without dropping anything, gives the same estimates
    again = fit_fixed_effects(df2[res.used], "y ~ x + z | unit + year", cluster="school", weights="w",
                              drop_singletons=False)
    assert again.used.all() and again.nobs == res.nobs
    pd.testing.assert_series_equal(again.params, res.params, rtol=1e-12)


@pytest.mark.parametrize("fe", [" | unit + year", ""])
def test_collinear_regressor_is_dropped_recorded_and_changes_nothing(fe):
    df = _panel().assign(z2=lambda d: 2.0 * d["z"])
    ref = fit_fixed_effects(df, f"y ~ x + z{fe}", cluster="school")
    res = fit_fixed_effects(df, f"y ~ x + z + z2{fe}", cluster="school")
    assert res.collinear == ("z2",) and "z2" in res.notes[0] and "z2" in res.summary()
    assert ref.collinear == () and ref.notes == ()
    pd.testing.assert_series_equal(res.params, ref.params, rtol=0, atol=0)
    pd.testing.assert_series_equal(res.std_errors, ref.std_errors, rtol=0, atol=0)
    assert res.k_dof == ref.k_dof and res.used.equals(ref.used)
    with pytest.raises(ValueError, match="collinear"):
        fit_fixed_effects(df, f"y ~ x + z + z2{fe}", cluster="school", drop_collinear=False)


def test_regressor_absorbed_by_the_fixed_effects_is_dropped_but_never_a_protected_term():
    df = _panel().assign(z2=lambda d: -d["z"], school_x=lambda d: d["school"] * 0.5)
    res = fit_fixed_effects(df, "y ~ z2 + x + school_x + z | unit + year", cluster="school", never_drop=["z2"])
    assert res.collinear == ("school_x", "z") and list(res.params.index) == ["z2", "x"]
    ref = fit_fixed_effects(df, "y ~ x + z | unit + year", cluster="school")
    assert res.params["z2"] == pytest.approx(-ref.params["z"], rel=1e-9)
    with pytest.raises(ValueError, match="collinear"):  # the protected term is the dependent one
        fit_fixed_effects(df, "y ~ x + z + z2 | unit + year", cluster="school", never_drop=["z2"])
    with pytest.raises(ValueError, match="not all regressors"):
        fit_fixed_effects(df, "y ~ x + z | unit + year", cluster="school", never_drop=["nope"])


def test_regressor_absorbed_by_crossed_fixed_effects_is_dropped():
    # with two crossed effects the absorption is iterative and leaves rounding noise in an absorbed
    # column: it is recognised by the share of its norm left, not by its (noise) direction
    rng = np.random.default_rng(0)
    n = 600
    df = pd.DataFrame({"y": rng.normal(size=n), "t": rng.integers(0, 2, n).astype(float), "z": rng.normal(size=n),
                       "g": rng.integers(0, 30, n), "h": rng.integers(0, 5, n), "cl": rng.integers(0, 12, n)})
    df["g_x"] = 0.3 * df["g"]
    res = fit_fixed_effects(df, "y ~ t + g_x + z | g + h", cluster="cl", never_drop=["t"])
    ref = fit_fixed_effects(df, "y ~ t + z | g + h", cluster="cl")
    assert res.collinear == ("g_x",)
    pd.testing.assert_series_equal(res.params, ref.params, rtol=0, atol=0)


def test_unknown_options_list_allowed_values():
    df = _panel()
    with pytest.raises(ValueError, match=r"allowed values are \['unadjusted', 'robust', 'clustered', 'cr2', 'wild'\]"):
        fit_fixed_effects(df, "y ~ x | unit", cluster="school", cov_type="HC3")
    with pytest.raises(ValueError, match=r"\['nested', 'all'\]"):
        fit_fixed_effects(df, "y ~ x | unit", cluster="school", fe_dof="some")
    with pytest.raises(ValueError, match=r"\['rademacher', 'webb'\]"):
        fit_fixed_effects(df, "y ~ x | unit", cluster="school", cov_type="wild", bootstrap_weights="mammen")
    with pytest.raises(ValueError, match="needs cluster"):
        fit_fixed_effects(df, "y ~ x | unit", cov_type="clustered")
    with pytest.raises(ValueError, match="not in data"):
        fit_fixed_effects(df, "y ~ nope | unit", cluster="school")


def test_to_rows_follow_tidy_schema():
    df = _panel()
    res = fit_fixed_effects(df, "y ~ x + z | unit + year", cluster="school")
    rows = res.to_rows("x", estimand_id="e1", estimand="ATE", sample="all")
    assert list(rows.columns) == list(ESTIMATE_COLUMNS)
    r = rows.iloc[0]
    assert r["treatment"] == "x" and r["outcome"] == "y" and r["fixed_effects"] == "unit + year"
    assert r["cov_type"] == "clustered" and r["n"] == len(df) and r["n_clusters"] == 8
    assert r["estimate"] == pytest.approx(res.params["x"]) and r["p_value"] == pytest.approx(res.pvalues["x"])
    assert r["ci_low"] == pytest.approx(res.ci.loc["x", "ci_low"])
    assert len(res.to_rows()) == 2
    with pytest.raises(ValueError, match="not a coefficient"):
        res.to_rows("nope")
    assert "ci_low" in res.tidy().columns and "x" in res.summary()


@pytest.mark.parametrize("cov_type", ["unadjusted", "clustered", "wild"])
def test_rows_carry_the_residual_degrees_of_freedom_of_the_dummy_regression(cov_type):
    """``residual_df`` is statsmodels' ``df_resid`` of the same WLS with the fixed effects as dummies, whatever the
    covariance (the robustness values need it; clustered inference has G - 1 df instead)."""
    df = _panel()
    res = fit_fixed_effects(df, "y ~ x + z | unit + year", weights="w", cluster="school", cov_type=cov_type,
                            bootstrap_reps=99)
    X = np.column_stack([df[["x", "z"]].to_numpy(), _dummies(df, ["unit", "year"])])
    lsdv = sm.WLS(df["y"], X, weights=df["w"]).fit()
    assert res.residual_df == lsdv.df_resid == len(df) - 2 - 40 - 4
    assert res.to_rows("x").at[0, "residual_df"] == lsdv.df_resid


# ---------------------------------------------------------------- wild bootstrap
def _brute_force_wild_t(df, j, V, factor, b0=0.0, weights=None):
    """Restricted (null-imposed) wild cluster bootstrap by explicit LSDV refits."""
    X = df[["x", "z"]].to_numpy()
    Z = np.column_stack([X, _dummies(df, ["unit", "year"])])
    y = df["y"].to_numpy()
    sw = np.ones(len(y)) if weights is None else np.sqrt(df[weights].to_numpy())
    cl = pd.factorize(df["school"])[0]
    Zw = Z * sw[:, None]
    Minv = np.linalg.pinv(Zw.T @ Zw)
    keep = [k for k in range(Z.shape[1]) if k != j]
    yr = y - b0 * Z[:, j]
    cr = np.linalg.lstsq(Zw[:, keep], yr * sw, rcond=None)[0]
    fitted = Z[:, keep] @ cr + b0 * Z[:, j]
    resid = y - fitted
    out = np.empty(V.shape[1])
    for b in range(V.shape[1]):
        ystar = fitted + resid * V[cl, b]
        beta = Minv @ Zw.T @ (ystar * sw)
        u = (ystar - Z @ beta) * sw
        scores = np.zeros((cl.max() + 1, Z.shape[1]))
        np.add.at(scores, cl, Zw * u[:, None])
        var = factor * (Minv @ scores.T @ scores @ Minv)[j, j]
        out[b] = (beta[j] - b0) / np.sqrt(var)
    return out


@pytest.mark.parametrize("kind,weights", [("rademacher", None), ("webb", "w")])
def test_wild_matches_brute_force_with_null_imposed(kind, weights):
    df = _panel(n_units=24, n_years=4, n_schools=8, seed=5)
    res = fit_fixed_effects(df, "y ~ x + z | unit + year", cluster="school", cov_type="wild",
                            bootstrap_reps=199, bootstrap_weights=kind, seed=11, weights=weights)
    V = wild_weights(8, 199, kind, 11)
    assert V.shape[1] == res.bootstrap["x"]["reps"]
    assert V.shape == (8, 199)  # 2**8 > 199: drawn, not enumerated
    brute = _brute_force_wild_t(df, 0, V, res.small_sample_factor, weights=weights)
    np.testing.assert_allclose(res.bootstrap["x"]["t_star"], brute, rtol=1e-6, atol=1e-8)
    t_obs = res.params["x"] / res.std_errors["x"]
    assert res.pvalues["x"] == pytest.approx(np.mean(np.abs(brute) >= abs(t_obs) - 1e-12))


def test_wild_ci_is_test_inversion_and_deterministic():
    df = _panel(n_units=24, n_years=4, n_schools=10, seed=7)
    kw = dict(cluster="school", cov_type="wild", bootstrap_reps=399, bootstrap_weights="webb")
    a = fit_fixed_effects(df, "y ~ x + z | unit + year", seed=3, **kw)
    b = fit_fixed_effects(df, "y ~ x + z | unit + year", seed=3, **kw)
    c = fit_fixed_effects(df, "y ~ x + z | unit + year", seed=4, **kw)
    pd.testing.assert_frame_equal(a.tidy(), b.tidy())
    assert not np.array_equal(a.bootstrap["x"]["t_star"], c.bootstrap["x"]["t_star"])
    lo, hi = a.ci.loc["x"]
    assert lo < a.params["x"] < hi
    # brute-force p-value just inside and just outside the bounds
    V = wild_weights(10, 399, "webb", 3)
    width = hi - lo
    for b0, inside in [(lo + 1e-3 * width, True), (lo - 1e-3 * width, False),
                       (hi - 1e-3 * width, True), (hi + 1e-3 * width, False)]:
        ts = _brute_force_wild_t(df, 0, V, a.small_sample_factor, b0=b0)
        p = np.mean(np.abs(ts) >= abs((a.params["x"] - b0) / a.std_errors["x"]))
        assert (p > 0.05) == inside


def test_wild_p_close_to_cr1_with_many_clusters():
    rng = np.random.default_rng(2)
    G, m = 150, 8
    school = np.repeat(np.arange(G), m)
    year = np.tile(np.arange(m), G)
    x = rng.normal(size=G * m) + rng.normal(size=G)[school]
    y = -0.05 * x + rng.normal(size=G)[school] + 0.05 * year + rng.normal(size=G * m)
    df = pd.DataFrame({"y": y, "x": x, "school": school, "year": year})
    cr1 = fit_fixed_effects(df, "y ~ x | year", cluster="school")
    wild = fit_fixed_effects(df, "y ~ x | year", cluster="school", cov_type="wild", bootstrap_reps=1999, seed=1)
    assert 0.02 < cr1.pvalues["x"] < 0.5
    assert wild.pvalues["x"] == pytest.approx(cr1.pvalues["x"], abs=0.03)
    assert wild.ci.loc["x", "ci_low"] == pytest.approx(cr1.ci.loc["x", "ci_low"], abs=0.15 * cr1.std_errors["x"])


def test_rademacher_enumeration_for_few_clusters():
    V = wild_weights(6, 999, "rademacher", 0)
    assert V.shape == (6, 64) and len({tuple(c) for c in V.T}) == 64
    assert wild_weights(12, 999, "rademacher", 0).shape == (12, 999)


# ---------------------------------------------------------------- properties
@settings(max_examples=15, deadline=None)
@given(seed=st.integers(0, 10_000), shift=st.floats(-5, 5), scale=st.floats(0.2, 5))
def test_invariances(seed, shift, scale):
    df = _panel(n_units=15, n_years=4, n_schools=5, seed=seed)
    base = fit_fixed_effects(df, "y ~ x + z | unit + year", cluster="school")
    moved = df.assign(y=df["y"] + shift + 0.3 * df["year"], x=df["x"] * scale)
    res = fit_fixed_effects(moved.sample(frac=1.0, random_state=seed), "y ~ x + z | unit + year", cluster="school")
    np.testing.assert_allclose(res.params["x"] * scale, base.params["x"], rtol=1e-6, atol=1e-9)
    np.testing.assert_allclose(res.std_errors["x"] * scale, base.std_errors["x"], rtol=1e-6)
    np.testing.assert_allclose(res.params["z"], base.params["z"], rtol=1e-6, atol=1e-9)


@pytest.mark.parametrize("weights", [None, "w"])
def test_cr2_iterative_projection_path_matches_dense(monkeypatch, weights):
    import credit_recovery.estimation.fixed_effects.cr2 as fe_mod

    df = _panel(n_units=20, seed=9).sample(frac=0.85, random_state=1)
    dense = fit_fixed_effects(df, "y ~ x + z | unit + year", cluster="school", cov_type="cr2", weights=weights)
    monkeypatch.setattr(fe_mod, "CR2_DENSE_LEVELS", 0)
    iterative = fit_fixed_effects(df, "y ~ x + z | unit + year", cluster="school", cov_type="cr2",
                                  weights=weights)
    pd.testing.assert_series_equal(dense.std_errors, iterative.std_errors, rtol=1e-7)
    pd.testing.assert_series_equal(dense.df, iterative.df, rtol=1e-7)


def _random_panel(seed: int, n_units: int = 60, n_years: int = 8, n_fe3: int = 0) -> pd.DataFrame:
    """An unbalanced two-way (or three-way) panel: each unit observed in a random subset of years,
    some units once (singletons), two disconnected blocks of units and years, uneven weights."""
    rng = np.random.default_rng(seed)
    rows = []
    for u in range(n_units):
        block = u % 2  # even units only in the first years, odd ones only in the last: 2 components
        years = np.arange(n_years // 2) + block * (n_years // 2)
        k = 1 if u % 7 == 0 else int(rng.integers(2, years.size + 1))
        rows += [(u, t) for t in rng.choice(years, size=k, replace=False)]
    df = pd.DataFrame(rows, columns=["unit", "year"])
    n = len(df)
    df["x"] = rng.normal(size=n) + 0.5 * df["unit"] % 3
    df["z"] = rng.normal(size=n) * 2 + df["year"]
    df["y"] = 0.4 * df["x"] - 0.3 * df["z"] + rng.normal(size=n_units)[df["unit"]] + rng.normal(size=n)
    df["w"] = rng.uniform(0.2, 3.0, n)
    if n_fe3:
        df["grp"] = rng.integers(0, n_fe3, n)
        df["y"] += rng.normal(size=n_fe3)[df["grp"]]
    return df


def _lsdv_coefficients(df: pd.DataFrame, fes: list[str], weights: str | None) -> np.ndarray:
    """Brute force: numpy lstsq of y on x, z and explicit dummies of every level of every fixed effect."""
    sw = np.sqrt(df[weights].to_numpy()) if weights else np.ones(len(df))
    dummies = [pd.get_dummies(df[c], dtype=float).to_numpy() for c in fes]
    Z = np.column_stack([df[["x", "z"]].to_numpy()] + dummies) * sw[:, None]
    return np.linalg.lstsq(Z, df["y"].to_numpy() * sw, rcond=None)[0][:2]


@pytest.mark.parametrize("seed", range(6))
@pytest.mark.parametrize("weights", [None, "w"])
@pytest.mark.parametrize("fes", [["unit", "year"], ["unit", "year", "grp"]])
def test_absorber_matches_dummy_variable_lstsq(seed, weights, fes):
    df = _random_panel(seed, n_fe3=5 if "grp" in fes else 0)
    for drop in (False, True):
        res = fit_fixed_effects(df, f"y ~ x + z | {' + '.join(fes)}", weights=weights, cov_type="robust",
                                drop_singletons=drop)
        sub = df[res.used.to_numpy()]
        assert drop or (res.nobs == len(df) and (df.groupby("unit").size() == 1).any())  # singletons kept
        np.testing.assert_allclose(res.params[["x", "z"]].to_numpy(), _lsdv_coefficients(sub, fes, weights),
                                   rtol=1e-8, atol=0)


@pytest.mark.parametrize("weighted", [False, True])
@pytest.mark.parametrize("exact_levels", [None, 0])
def test_absorber_is_the_residual_maker_of_the_dummies(monkeypatch, weighted, exact_levels):
    """M_D z equals z minus its projection on the dummies (sqrt(w)-scaled), on the exact path and on the
    alternating-projections path (``EXACT_LEVELS = 0``); redundant levels (two components) included."""
    import credit_recovery.estimation.fixed_effects.absorb as absorb_mod

    if exact_levels is not None:
        monkeypatch.setattr(absorb_mod, "EXACT_LEVELS", exact_levels)
    df = _random_panel(11, n_fe3=4)
    codes = df[["unit", "year", "grp"]].to_numpy()
    w = df["w"].to_numpy() if weighted else None
    absorber = absorb_mod.Absorber(codes, w)
    assert absorber.method == ("map" if exact_levels == 0 else "exact")
    sw = np.ones(len(df)) if w is None else np.sqrt(w)
    Z = np.column_stack([pd.get_dummies(df[c], dtype=float).to_numpy() for c in ["unit", "year", "grp"]])
    Z = Z * sw[:, None]
    v = np.random.default_rng(0).normal(size=(len(df), 3)) * 5 + 1
    brute = v - Z @ np.linalg.lstsq(Z, v, rcond=None)[0]
    tol = 1e-12 if exact_levels is None else 1e-7
    np.testing.assert_allclose(absorber(v), brute, rtol=0, atol=tol * np.abs(v).max())
    one = absorb_mod.Absorber(codes[:, :1], w)
    assert one.method == "within"
    Z1 = pd.get_dummies(df["unit"], dtype=float).to_numpy() * sw[:, None]
    np.testing.assert_allclose(one(v), v - Z1 @ np.linalg.lstsq(Z1, v, rcond=None)[0], rtol=0,
                               atol=1e-12 * np.abs(v).max())


@pytest.mark.parametrize("seed", range(4))
def test_singletons_are_pyhdfes_iterative_rule(seed):
    import pyhdfe

    from credit_recovery.estimation.fixed_effects.absorb import singletons

    df = _random_panel(seed, n_units=80, n_fe3=30)
    codes = df[["unit", "year", "grp"]].to_numpy()
    ours = singletons(codes)
    ref = pyhdfe.create(codes, drop_singletons=True, compute_degrees=False).singleton_indices
    assert ours is not None and ours.sum() > 0
    np.testing.assert_array_equal(ours, ref)
    assert singletons(codes[~ours]) is None  # nothing left to drop


def test_is_nested_means_each_level_in_one_cluster():
    from credit_recovery.estimation.fixed_effects.groups import is_nested

    rng = np.random.default_rng(5)
    for _ in range(200):
        n_levels, n_clusters, n = (int(v) for v in (rng.integers(1, 30), rng.integers(1, 6), rng.integers(1, 200)))
        fe = rng.integers(0, n_levels, n)
        cl = rng.integers(0, n_clusters, n_levels)[fe]
        if rng.random() < 0.5:
            cl[rng.integers(0, n)] = rng.integers(0, n_clusters)
        expected = bool(pd.DataFrame({"fe": fe, "cl": cl}).drop_duplicates()["fe"].is_unique)
        assert is_nested(fe, cl) == expected
