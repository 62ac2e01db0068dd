"""Tests for credit_recovery.estimation.experiments (ITT) and credit_recovery.estimation.iv (CACE, 2SLS).

References:
* tests/reference/estimatr/results.csv, frozen by tests/reference/estimatr/make_reference.R (R 4.2.2,
  estimatr 1.0.0, AER 1.2-10; ``Rscript tests/reference/estimatr/make_reference.R`` from the repository
  root) on Project STAR as written to star_kindergarten.csv (ITT) and star_grade1.csv (2SLS) in that folder;
* exact identities: HC2 of a difference in means is the Neyman variance; 2SLS with one binary instrument
  is the Wald ratio; absorbed blocks equal block dummies.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from credit_recovery import ESTIMATE_COLUMNS, cace, estimates_frame, itt
from credit_recovery.estimation.iv import CaceResult

REF = Path(__file__).parent / "reference" / "estimatr"
RTOL = 1e-6
QUANTITIES = ["estimate", "std_error", "df", "ci_low", "ci_high", "p_value"]
FIRST_STAGE = ["first_stage_estimate", "first_stage_std_error", "first_stage_f", "first_stage_df"]


@pytest.fixture(scope="module")
def kindergarten() -> pd.DataFrame:
    return pd.read_csv(REF / "star_kindergarten.csv")


@pytest.fixture(scope="module")
def grade1() -> pd.DataFrame:
    return pd.read_csv(REF / "star_grade1.csv")


def _reference() -> pd.DataFrame:
    ref = pd.read_csv(REF / "results.csv")
    text = ["instrument", "blocks", "covariates", "cluster", "weights"]
    ref[text] = ref[text].fillna("")
    return ref


REFERENCE = _reference()


def _fit(row: pd.Series, kindergarten: pd.DataFrame, grade1: pd.DataFrame):
    kw = dict(blocks=row["blocks"] or None, covariates=[c for c in row["covariates"].split("+") if c],
              cluster=row["cluster"] or None, se_type=row["se_type"], weights=row["weights"] or None)
    if row["model"] == "itt":
        return itt(kindergarten, row["outcome"], row["treatment"], **kw)
    return cace(grade1, row["outcome"], row["treatment"], row["instrument"], **kw)


# ---------------------------------------------------------------- parity with estimatr
def test_reference_covers_the_required_specifications():
    specs = set(REFERENCE["spec"])
    required = {"itt_math_hc2_dummies", "itt_math_hc2_fe", "itt_math_cr2_fe", "itt_math_cov_hc2_fe",
                "itt_math_hc2_fe_weighted", "itt_math_cr2_dummies_weighted", "cace_math_hc2_fe",
                "cace_math_cr2_fe", "cace_math_hc2_fe_weighted", "cace_math_cr2_dummies_weighted"}
    assert required <= specs
    # estimatr's fixed_effects = ~ school and factor(school) dummies agree (the Python fit has one path)
    by = REFERENCE.set_index("spec")
    for a, b in [("itt_math_hc2_dummies", "itt_math_hc2_fe"), ("itt_math_cr2_dummies", "itt_math_cr2_fe"),
                 ("cace_math_hc2_dummies", "cace_math_hc2_fe"), ("cace_math_cr2_dummies", "cace_math_cr2_fe")]:
        np.testing.assert_allclose(by.loc[a, QUANTITIES].astype(float), by.loc[b, QUANTITIES].astype(float),
                                   rtol=1e-9)


@pytest.mark.parametrize("spec", list(REFERENCE["spec"]))
def test_matches_estimatr(spec, kindergarten, grade1):
    row = REFERENCE.set_index("spec").loc[spec]
    res = _fit(row, kindergarten, grade1)
    got = np.array([getattr(res, q) for q in QUANTITIES])
    np.testing.assert_allclose(got, row[QUANTITIES].to_numpy(dtype=float), rtol=RTOL, atol=0)
    assert res.n == row["n"]
    assert res.n_clusters == (None if pd.isna(row["n_clusters"]) else int(row["n_clusters"]))
    assert res.se_type == row["se_type"] and res.term == row["term"]


@pytest.mark.parametrize("spec", list(REFERENCE.loc[REFERENCE["model"] == "cace", "spec"]))
def test_first_stage_matches_estimatr(spec, kindergarten, grade1):
    row = REFERENCE.set_index("spec").loc[spec]
    res = _fit(row, kindergarten, grade1)
    assert isinstance(res, CaceResult)
    got = np.array([getattr(res, q) for q in FIRST_STAGE])
    np.testing.assert_allclose(got, row[FIRST_STAGE].to_numpy(dtype=float), rtol=RTOL, atol=0)
    if not pd.isna(row["first_stage_f_diagnostics"]):  # iv_robust(diagnostics = TRUE)
        np.testing.assert_allclose(res.first_stage_f, row["first_stage_f_diagnostics"], rtol=RTOL)


def test_take_up_and_compliance_difference(grade1):
    res = cace(grade1, "math1", "small_1", "small_k", blocks="school")
    on = grade1["small_k"] == 1
    assert res.take_up_assigned == pytest.approx(grade1.loc[on, "small_1"].mean(), rel=1e-12)
    assert res.take_up_control == pytest.approx(grade1.loc[~on, "small_1"].mean(), rel=1e-12)
    assert res.compliance_difference == pytest.approx(res.take_up_assigned - res.take_up_control)
    assert 0.8 < res.compliance_difference < 0.9  # STAR: most students stayed in their assigned class type


# ---------------------------------------------------------------- exact identities
def _neyman(y: np.ndarray, z: np.ndarray) -> float:
    y1, y0 = y[z == 1], y[z == 0]
    return y1.var(ddof=1) / y1.size + y0.var(ddof=1) / y0.size


def test_hc2_difference_in_means_is_the_neyman_variance(kindergarten):
    res = itt(kindergarten, "math", "small")
    y, z = kindergarten["math"].to_numpy(float), kindergarten["small"].to_numpy(float)
    assert res.estimate == pytest.approx(y[z == 1].mean() - y[z == 0].mean(), rel=1e-12)
    assert res.std_error ** 2 == pytest.approx(_neyman(y, z), rel=1e-12)
    assert res.df == len(y) - 2


@settings(max_examples=40, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), n1=st.integers(2, 40), n0=st.integers(2, 40))
def test_hc2_is_neyman_on_random_data(seed, n1, n0):
    rng = np.random.default_rng(seed)
    z = np.r_[np.ones(n1), np.zeros(n0)]
    y = rng.normal(size=n1 + n0) * (1 + 2 * z) + 3 * z
    res = itt(pd.DataFrame({"y": y, "z": z}), "y", "z", se_type="HC2")
    assert res.std_error ** 2 == pytest.approx(_neyman(y, z), rel=1e-9)


def _experiment(seed: int, n: int, n_blocks: int, never_taker: float, always_taker: float) -> pd.DataFrame:
    """Blocks with both arms; take-up = assignment except never-takers (0) and always-takers (1)."""
    rng = np.random.default_rng(seed)
    block = np.arange(n) % n_blocks
    z = np.zeros(n)
    for b in range(n_blocks):  # at least one of each arm per block
        idx = np.flatnonzero(block == b)
        z[rng.permutation(idx)[: max(1, idx.size // 2)]] = 1
    kind = rng.uniform(size=n)
    d = np.where(kind < never_taker, 0.0, np.where(kind > 1 - always_taker, 1.0, z))
    y = 2.0 * d + block * 0.3 + rng.normal(size=n)
    return pd.DataFrame({"y": y, "d": d, "z": z, "block": block, "x": rng.normal(size=n),
                         "c": block % 4, "w": rng.uniform(0.5, 2.0, size=n)})


@settings(max_examples=40, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), n=st.integers(12, 120), n_blocks=st.integers(1, 4),
       never=st.floats(0, 0.3), always=st.floats(0, 0.3))
def test_2sls_with_one_binary_instrument_is_the_wald_ratio(seed, n, n_blocks, never, always):
    df = _experiment(seed, n, n_blocks, never, always)
    blocks = "block" if n_blocks > 1 else None
    first = itt(df, "d", "z", blocks=blocks)
    assume(abs(first.estimate) > 0.05)
    iv = cace(df, "y", "d", "z", blocks=blocks)
    ratio = itt(df, "y", "z", blocks=blocks).estimate / first.estimate
    assert iv.estimate == pytest.approx(ratio, rel=1e-8, abs=1e-10)
    assert iv.first_stage_estimate == pytest.approx(first.estimate, rel=1e-10, abs=1e-12)
    if blocks is None:  # no blocks: the first stage is the raw compliance difference
        assert iv.compliance_difference == pytest.approx(first.estimate, rel=1e-10, abs=1e-12)


@pytest.mark.parametrize("se_type", ["HC2", "CR2"])
@pytest.mark.parametrize("weighted", [False, True])
@pytest.mark.parametrize("model", ["itt", "cace"])
def test_absorbed_blocks_equal_block_dummies(model, se_type, weighted):
    df = _experiment(7, 150, 5, 0.1, 0.1)
    df["block_label"] = "b" + df["block"].astype(str)  # a categorical covariate: dummies, first level dropped
    kw = dict(cluster="c" if se_type == "CR2" else None, se_type=se_type, weights="w" if weighted else None)
    if model == "itt":
        absorbed = itt(df, "y", "z", blocks="block", covariates=["x"], **kw)
        dummies = itt(df, "y", "z", covariates=["x", "block_label"], **kw)
    else:
        absorbed = cace(df, "y", "d", "z", blocks="block", covariates=["x"], **kw)
        dummies = cace(df, "y", "d", "z", covariates=["x", "block_label"], **kw)
    np.testing.assert_allclose([getattr(absorbed, q) for q in QUANTITIES],
                               [getattr(dummies, q) for q in QUANTITIES], rtol=1e-9)


# ---------------------------------------------------------------- result rows
def test_to_row_follows_the_estimate_schema(kindergarten, grade1):
    res = itt(kindergarten, "math", "small", blocks="school", cluster="school")
    row = res.to_row(sample="star_k", estimand_id="itt_small_class")
    assert list(row) == list(ESTIMATE_COLUMNS)
    assert row["estimand"] == "ITT" and row["cov_type"] == "CR2" and row["fixed_effects"] == "school"
    assert row["n"] == 5769 and row["n_clusters"] == 79
    np.testing.assert_allclose([row["ci_low"], row["ci_high"], row["p_value"]],
                               [res.ci_low, res.ci_high, res.p_value], rtol=1e-12)
    frame = estimates_frame([row, cace(grade1, "math1", "small_1", "small_k", blocks="school").to_row()])
    assert list(frame["estimand"]) == ["ITT", "CACE"] and list(frame["treatment"]) == ["small", "small_1"]


def test_coefficients_table_lists_covariates(kindergarten):
    res = itt(kindergarten, "math", "small", covariates=["female", "freelunch"])
    assert list(res.coefficients.index) == ["(Intercept)", "small", "female", "freelunch"]
    assert res.coefficients.loc["small", "estimate"] == res.estimate


# ---------------------------------------------------------------- bad input fails clearly
def test_assignment_that_is_not_zero_one_is_refused(kindergarten):
    bad = kindergarten.assign(small=kindergarten["small"] * 2)
    with pytest.raises(ValueError, match=r"assignment column 'small' must be 0/1.*\[2\.0\]"):
        itt(bad, "math", "small", blocks="school")
    with pytest.raises(ValueError, match=r"instrument column 'small' must be 0/1"):
        cace(bad.assign(d=kindergarten["small"]), "math", "d", "small")


def test_block_with_one_arm_is_refused(kindergarten):
    bad = kindergarten[~((kindergarten["school"] == 63) & (kindergarten["small"] == 0))]
    with pytest.raises(ValueError, match=r"1 block\(s\) of 'school' have one arm only.*\[63\]"):
        itt(bad, "math", "small", blocks="school")
    itt(bad, "math", "small")  # without blocks there is no within-block contrast to miss


def test_missing_column_is_named(kindergarten, grade1):
    with pytest.raises(ValueError, match=r"columns not in data: outcome 'maths'"):
        itt(kindergarten, "maths", "small")
    with pytest.raises(ValueError, match=r"blocks 'schoolid'.*covariate 'age'"):
        itt(kindergarten, "math", "small", blocks="schoolid", covariates=["age"])
    with pytest.raises(ValueError, match=r"treatment 'small_2'"):
        cace(grade1, "math1", "small_2", "small_k")


def test_other_bad_input_fails_clearly(kindergarten):
    with pytest.raises(ValueError, match=r"outcome column 'math' has 1 missing values"):
        itt(kindergarten.assign(math=kindergarten["math"].where(kindergarten.index != 0)), "math", "small")
    with pytest.raises(ValueError, match=r"one arm only"):
        itt(kindergarten.assign(small=1), "math", "small")
    with pytest.raises(ValueError, match=r"weights column 'w' must be positive"):
        itt(kindergarten.assign(w=0.0), "math", "small", weights="w")
    with pytest.raises(ValueError, match=r"se_type='CR2' needs cluster"):
        itt(kindergarten, "math", "small", se_type="CR2")
    with pytest.raises(ValueError, match=r"se_type='HC2' ignores the clusters"):
        itt(kindergarten, "math", "small", cluster="school", se_type="HC2")
    with pytest.raises(ValueError, match=r"se_type='HC4' is not allowed"):
        itt(kindergarten, "math", "small", se_type="HC4")
    with pytest.raises(ValueError, match=r"collinear"):
        itt(kindergarten.assign(x=kindergarten["small"]), "math", "small", covariates=["x"])
    with pytest.raises(ValueError, match=r"no first stage"):
        # within each block the treatment received is uncorrelated with the assignment
        cace(pd.DataFrame({"y": np.arange(8.0), "z": [1, 1, 0, 0] * 2, "d": [1, 0, 1, 0] * 2,
                           "b": [0] * 4 + [1] * 4}), "y", "d", "z", blocks="b")


def test_default_se_type_is_hc2_or_cr2(kindergarten):
    assert itt(kindergarten, "math", "small", blocks="school").se_type == "HC2"
    assert itt(kindergarten, "math", "small", blocks="school", cluster="school").se_type == "CR2"
