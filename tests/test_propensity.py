"""Propensity scores: parity with R's glm on lalonde, separation handling."""
from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest

from credit_recovery.design.propensity import (
    PerfectSeparationError,
    SeparationWarning,
    fit_propensity,
)
from credit_recovery.shared.model_matrix import design_matrix

from lalonde_reference import COVS, REF, load_lalonde


@pytest.fixture(scope="module")
def lalonde() -> pd.DataFrame:
    return load_lalonde(None)


def test_logit_matches_r_glm(lalonde):
    res = fit_propensity(lalonde, "treat", COVS)
    ref = pd.read_csv(REF / "ps.csv", index_col="id")
    assert res.propensity.index.equals(lalonde.index)
    np.testing.assert_allclose(res.propensity.to_numpy(), ref["ps"].to_numpy(), rtol=0, atol=1e-6)
    np.testing.assert_allclose(res.linear_predictor.to_numpy(), ref["lp"].to_numpy(), rtol=0, atol=1e-6)
    np.testing.assert_allclose(res.logit.to_numpy(), ref["lp"].to_numpy(), rtol=0, atol=1e-6)
    coef = pd.read_csv(REF / "glm_coef.csv", index_col="term")
    # labels follow R's naming for drop-first dummies (racehispan, racewhite)
    assert list(res.params.index) == list(coef.index)
    np.testing.assert_allclose(res.params.to_numpy(), coef["estimate"].to_numpy(), rtol=1e-6, atol=1e-9)
    # R evaluates the information matrix at the last-but-one IRLS iterate
    np.testing.assert_allclose(res.bse.to_numpy(), coef["std_error"].to_numpy(), rtol=1e-3)
    assert res.converged
    assert list(res.summary().columns) == ["estimate", "std_error", "z", "p_value"]


def test_probit_matches_r_glm(lalonde):
    res = fit_propensity(lalonde, "treat", COVS, link="probit")
    ref = pd.read_csv(REF / "ps_probit.csv", index_col="id")
    # R's probit fit stops at a looser point (deviance criterion 1e-8)
    np.testing.assert_allclose(res.propensity.to_numpy(), ref["ps"].to_numpy(), rtol=0, atol=1e-5)


def test_bad_link_lists_allowed(lalonde):
    with pytest.raises(ValueError, match="allowed values are \\['logit', 'probit'\\]"):
        fit_propensity(lalonde, "treat", COVS, link="cloglog")


def test_design_matrix_dummies_sorted_and_categorical_order():
    df = pd.DataFrame({"g": ["b", "a", "c", "a"], "x": [1, 2, 3, 4], "h": pd.Categorical(["z", "y", "z", "y"], categories=["z", "y"])})
    X = design_matrix(df, ["g", "x", "h"])
    assert list(X.columns) == ["gb", "gc", "x", "hy"]
    np.testing.assert_array_equal(X["gb"].to_numpy(), [1, 0, 0, 0])
    np.testing.assert_array_equal(X["hy"].to_numpy(), [0, 1, 0, 1])
    assert list(design_matrix(df, ["g"], drop_first=False).columns) == ["ga", "gb", "gc"]


def test_perfect_separation_raises():
    df = pd.DataFrame({"t": [0, 0, 0, 0, 1, 1, 1, 1], "x": [1.0, 2, 3, 4, 5, 6, 7, 8]})
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with pytest.raises(PerfectSeparationError):
            fit_propensity(df, "t", ["x"])


def test_quasi_separation_warns():
    rng = np.random.default_rng(1)
    x = rng.normal(size=200)
    t = (rng.uniform(size=200) < 1 / (1 + np.exp(-x))).astype(int)
    g = np.where(np.arange(200) < 20, "a", "b")
    t[:20] = 1  # every unit in level "a" is treated
    df = pd.DataFrame({"t": t, "x": x, "g": g})
    with pytest.warns(SeparationWarning):
        fit_propensity(df, "t", ["x", "g"])


def test_input_validation(lalonde):
    with pytest.raises(ValueError, match="0/1"):
        fit_propensity(lalonde.assign(treat=lalonde["treat"] * 2), "treat", COVS)
    with pytest.raises(KeyError):
        fit_propensity(lalonde, "treat", ["nope"])
    with pytest.raises(ValueError, match="missing"):
        fit_propensity(lalonde.assign(age=lalonde["age"].where(lalonde["age"] > 20)), "treat", COVS)
