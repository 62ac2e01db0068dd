import math

import pandas as pd
import pytest
from scipy import stats

from credit_recovery import ESTIMATE_COLUMNS, estimate_row, estimates_frame


def test_row_has_wald_interval_and_p_value():
    r = estimate_row(outcome="y", treatment="d", estimand="ATT", estimator="ols", sample="all",
                     estimate=0.5, std_error=0.25, n=100)
    assert list(r) == list(ESTIMATE_COLUMNS)
    q = stats.norm.ppf(0.975)
    assert r["ci_low"] == pytest.approx(0.5 - q * 0.25, rel=1e-12)
    assert r["ci_high"] == pytest.approx(0.5 + q * 0.25, rel=1e-12)
    assert r["p_value"] == pytest.approx(2 * stats.norm.sf(2.0), rel=1e-12)


def test_row_uses_t_reference_when_df_given():
    r = estimate_row(outcome="y", treatment="d", estimand="ATT", estimator="ols", sample="all",
                     estimate=1.0, std_error=0.5, n=12, df=9, n_clusters=10)
    assert r["ci_high"] - 1.0 == pytest.approx(stats.t(9).ppf(0.975) * 0.5, rel=1e-12)
    assert r["n_clusters"] == 10


def test_zero_se_gives_nan_p():
    r = estimate_row(outcome="y", treatment="d", estimand="ATT", estimator="ols", sample="all",
                     estimate=1.0, std_error=0.0, n=3)
    assert math.isnan(r["p_value"])


def test_frame_rejects_unknown_columns():
    r = estimate_row(outcome="y", treatment="d", estimand="ATT", estimator="ols", sample="all",
                     estimate=1.0, std_error=0.1, n=3)
    r["oops"] = 1
    with pytest.raises(ValueError, match="unknown \\['oops'\\]"):
        estimates_frame([r])


def test_frame_orders_and_types_columns():
    r = estimate_row(outcome="y", treatment="d", estimand="ATT", estimator="ols", sample="all",
                     estimate=1.0, std_error=0.1, n=3)
    df = estimates_frame(pd.DataFrame([dict(reversed(list(r.items())))]))
    assert tuple(df.columns) == ESTIMATE_COLUMNS
    assert str(df["n"].dtype) == "Int64"


def test_collect_estimates_concatenates_and_rejects_duplicates():
    from credit_recovery.shared.estimate_schema import collect_estimates

    a = estimate_row(outcome="y", treatment="d", estimand="ATT", estimator="ols", sample="all",
                     estimate=1.0, std_error=0.1, n=30)
    b = dict(a, estimator="matching")
    out = collect_estimates([pd.DataFrame([a]), pd.DataFrame([b])])
    assert list(out["estimator"]) == ["ols", "matching"]
    with pytest.raises(ValueError, match="share the same description"):
        collect_estimates([pd.DataFrame([a]), pd.DataFrame([a])])
