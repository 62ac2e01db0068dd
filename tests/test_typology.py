"""Tests for credit_recovery.engagement.typology: planted-truth recovery of the four user types."""
from __future__ import annotations

import inspect

import numpy as np
import pandas as pd
import pytest

from credit_recovery.engagement.features import FEATURE_COLUMNS
from credit_recovery.engagement.typology import DEFAULT_TYPOLOGY_FEATURES, TYPE_NAMES, fit_typology, typology_tables
from credit_recovery.shared.config import defaults

# planted profiles: idle_share, activities_per_day, minutes_per_activity, n_sessions,
# share_outside_school_day, activities, tests_passed, P(grade 9-10), P(math)
PROFILES = {
    "engaged": (0.10, 12.0, 6.0, 15, 0.15, 150, 8, 0.3, 0.3),
    "moonlighter": (0.15, 10.0, 7.0, 18, 0.80, 140, 7, 0.3, 0.3),
    "nominal_exerter": (0.45, 3.0, 25.0, 45, 0.20, 110, 5, 0.3, 0.3),
    "incompatible_struggler": (0.50, 2.0, 30.0, 22, 0.25, 30, 1, 0.85, 0.8),
}


def planted(n_per=90, seed=1):
    rng = np.random.default_rng(seed)
    rows = []
    for name, (idle, apd, mpa, ns, out, acts, tp, g910, math) in PROFILES.items():
        for i in range(n_per):
            m = lambda v: v * np.exp(rng.normal(0, 0.12))  # noqa: E731
            rows.append({
                "student_id": f"{name[:3]}{i}", "course_record_id": f"c-{name[:3]}-{i}", "truth": name,
                "idle_share": float(np.clip(idle + rng.normal(0, 0.04), 0.01, 0.99)),
                "activities_per_day": m(apd), "minutes_per_activity": m(mpa), "n_sessions": round(m(ns)),
                "share_outside_school_day": float(np.clip(out + rng.normal(0, 0.06), 0, 1)),
                "activities": round(m(acts)), "tests_passed": round(m(tp + 1)) - 1,
                "grade": int(rng.choice([9, 10]) if rng.random() < g910 else rng.choice([11, 12])),
                "subject": "math" if rng.random() < math else "ela",
            })
    return pd.DataFrame(rows)


@pytest.fixture(scope="module")
def data():
    return planted()


@pytest.fixture(scope="module")
def fit(data):
    return fit_typology(data, k_range=range(2, 7), method="gmm", n_types=None, seed=0)


def test_bic_chooses_four_planted_groups_and_names_are_recovered(fit, data):
    d = fit.diagnostics
    assert d["k"].tolist() == [2, 3, 4, 5, 6]
    assert fit.k == 4 and d.loc[d["bic"].idxmin(), "k"] == 4 and d["chosen"].sum() == 1
    accuracy = (fit.types["type"] == data["truth"]).mean()
    assert accuracy >= 0.95, accuracy
    assert sorted(fit.profiles["type"]) == sorted(TYPE_NAMES)
    assert d["silhouette"].between(-1, 1).all()


def test_probabilities_are_coherent(fit):
    t = fit.types
    pc = t[[f"p_cluster_{j}" for j in range(fit.k)]].to_numpy()
    np.testing.assert_allclose(pc.sum(axis=1), 1, atol=1e-9)
    pt = t[[f"p_{n}" for n in TYPE_NAMES]].to_numpy()
    np.testing.assert_allclose(pt.sum(axis=1), 1, atol=1e-9)
    # the hard label is the most probable cluster
    assert (pc.argmax(axis=1) == t["cluster"].to_numpy()).all()
    # clusters numbered by decreasing size
    assert fit.profiles["n"].is_monotonic_decreasing
    assert list(t.columns[:2]) == ["student_id", "course_record_id"]


def test_deterministic_and_row_order_invariant(fit, data):
    again = fit_typology(data, k_range=[4], method="gmm", seed=0)  # the k = 4 fit does not depend on the other k
    pd.testing.assert_frame_equal(again.types, fit.types)
    shuffled = data.sample(frac=1, random_state=3).reset_index(drop=True)
    res = fit_typology(shuffled, k_range=[4], method="gmm", seed=0)
    by_id = fit.types.set_index("course_record_id")["type"]
    assert (res.types.set_index("course_record_id")["type"] == by_id.reindex(res.types["course_record_id"])).mean() > 0.98


def test_more_groups_than_types_reuse_names_and_kmeans_works(data):
    res = fit_typology(data, k_range=[5], method="gmm", n_types=None, seed=0)
    assert res.k == 5 and set(res.profiles["type"]) == set(TYPE_NAMES)
    km = fit_typology(data, k_range=range(3, 6), method="kmeans", n_types=None, seed=0)
    assert km.k == int(km.diagnostics.loc[km.diagnostics["silhouette"].idxmax(), "k"])
    assert km.diagnostics["bic"].isna().all()
    if km.k == 4:
        assert (km.types["type"] == data["truth"]).mean() >= 0.9


def test_naming_without_grade_and_subject(data):
    res = fit_typology(data.drop(columns=["grade", "subject"]), k_range=[4], method="gmm", seed=0)
    assert (res.types["type"] == data["truth"]).mean() >= 0.9


def test_missing_minutes_per_activity_is_worst_value(data):
    d = data.copy()
    d.loc[:4, "minutes_per_activity"] = np.nan
    res = fit_typology(d, k_range=[4], method="gmm", seed=0)
    row = res.scaling.set_index("feature").loc["minutes_per_activity"]
    assert row["fill"] == pytest.approx(data.loc[5:, "minutes_per_activity"].max())


@pytest.mark.parametrize("kwargs,match", [
    ({"method": "lca"}, r"method='lca' is not allowed; allowed values are \['gmm', 'kmeans'\]"),
    ({"n_types": 9, "k_range": [2, 3]}, "n_types"),
    ({"columns": ["nope"]}, "nope"),
])
def test_invalid_arguments(data, kwargs, match):
    with pytest.raises(ValueError, match=match):
        fit_typology(data, **kwargs)


def test_default_features_exist_in_engagement_output():
    assert set(DEFAULT_TYPOLOGY_FEATURES) <= set(FEATURE_COLUMNS)


def test_defaults_are_the_config_schema_defaults(data):
    """One copy of each default: fit_typology's are the schema's engagement.typology_* defaults, so a call
    without settings fits what the pipeline fits with the default config."""
    schema = defaults("engagement")
    params = inspect.signature(fit_typology).parameters
    assert params["method"].default == schema["typology_method"]
    assert list(params["k_range"].default) == list(range(schema["typology_k_min"], schema["typology_k_max"] + 1))
    assert params["n_types"].default == schema["typology_n_types"]
    assert params["seed"].default == schema["typology_seed"]
    plain = fit_typology(data)
    types, diagnostics, _, res = typology_tables(data)
    assert (plain.method, plain.k) == (res.method, res.k) == (schema["typology_method"], schema["typology_n_types"])
    pd.testing.assert_frame_equal(plain.diagnostics, diagnostics)
    pd.testing.assert_series_equal(plain.types["type"], types["type"])
