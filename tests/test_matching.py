"""Greedy nearest-neighbour matching: brute-force equivalence, invariants, R parity."""
from __future__ import annotations


import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings, strategies as st

from credit_recovery.design.matching import ORDERS, match

from lalonde_reference import REF, SPECS, load_lalonde


# --------------------------------------------------------------------------
# Independent brute-force greedy matcher, O(treated x controls), written from
# the documented rules only (shares no code with credit_recovery.design.matching).
# --------------------------------------------------------------------------
def brute_force_match(dist, treat, *, ratio=1, replace=False, width=float("inf"), strata=None, order="largest", seed=None):
    n = len(dist)
    if strata is None:
        strata = [0] * n
    treated = [i for i in range(n) if treat[i] == 1]
    controls = [i for i in range(n) if treat[i] == 0]
    if order == "largest":
        seq = sorted(treated, key=lambda i: -dist[i])  # Python's sort is stable
    elif order == "smallest":
        seq = sorted(treated, key=lambda i: dist[i])
    elif order == "data":
        seq = list(treated)
    else:
        perm = np.random.default_rng(seed).permutation(len(treated))
        seq = [treated[p] for p in perm]
    used = set()
    done = set()
    got = {i: [] for i in treated}
    pairs = []
    for k in range(1, ratio + 1):
        for i in seq:
            if i in done:
                continue
            best, best_d = None, None
            for j in controls:  # data order, strict '<' => first in data wins ties
                if strata[j] != strata[i] or j in got[i]:
                    continue
                if not replace and j in used:
                    continue
                dd = abs(dist[i] - dist[j])
                if best is None or dd < best_d:
                    best, best_d = j, dd
            if best is None or best_d > width:
                done.add(i)
                continue
            got[i].append(best)
            used.add(best)
            pairs.append((i, best, k))
    return pairs


def brute_force_weights(n, pairs):
    n_i = {}
    for i, _, _ in pairs:
        n_i[i] = n_i.get(i, 0) + 1
    w = [0.0] * n
    for i in n_i:
        w[i] = 1.0
    raw = {}
    for i, j, _ in pairs:
        raw[j] = raw.get(j, 0.0) + 1.0 / n_i[i]
    tot = sum(raw.values())
    for j, v in raw.items():
        w[j] = v * len(raw) / tot
    return w


@st.composite
def matching_problem(draw):
    n = draw(st.integers(4, 40))
    # distances on a coarse dyadic grid: many exact ties, exact arithmetic
    dist = draw(st.lists(st.integers(0, 12), min_size=n, max_size=n))
    treat = draw(st.lists(st.integers(0, 1), min_size=n, max_size=n))
    strata = draw(st.lists(st.integers(0, 2), min_size=n, max_size=n))
    return [x / 8 for x in dist], treat, strata


SETTINGS = settings(max_examples=60, deadline=None)


@SETTINGS
@given(
    prob=matching_problem(),
    ratio=st.integers(1, 3),
    replace=st.booleans(),
    caliper=st.sampled_from([None, 0.1, 0.3, 1.0]),
    use_exact=st.booleans(),
    order=st.sampled_from(ORDERS),
    seed=st.integers(0, 3),
)
def test_identical_to_brute_force_and_invariants(prob, ratio, replace, caliper, use_exact, order, seed):
    dist, treat, strata = prob
    n = len(dist)
    df = pd.DataFrame({"t": treat, "d": dist, "s": strata}, index=[f"u{i}" for i in range(n)])
    if sum(treat) == 0:
        return
    kw = dict(ratio=ratio, replace=replace, caliper=caliper, exact="s" if use_exact else None, order=order, seed=seed)
    res = match(df, "t", "d", **kw)
    width = float("inf") if caliper is None else caliper * float(np.std(dist, ddof=1))
    bf = brute_force_match(dist, treat, ratio=ratio, replace=replace, width=width,
                           strata=strata if use_exact else None, order=order, seed=seed)
    pos = {lab: i for i, lab in enumerate(df.index)}
    mine = sorted((pos[a], pos[b], int(k)) for a, b, k in zip(res.pairs.treated, res.pairs.control, res.pairs.k))
    assert mine == sorted(bf)
    # invariants
    p = res.pairs
    assert (p["distance_diff"] <= width).all()
    if use_exact:
        assert (df.loc[p.treated, "s"].to_numpy() == df.loc[p.control, "s"].to_numpy()).all()
    assert (df.loc[p.treated, "t"].to_numpy() == 1).all() and (df.loc[p.control, "t"].to_numpy() == 0).all()
    if not replace:
        assert p["control"].is_unique
    assert (p.groupby("treated").size() <= ratio).all()
    assert not p.duplicated(["treated", "control"]).any()
    # weights as MatchIt: treated 1, controls sum to number of distinct matched controls
    np.testing.assert_allclose(res.weights.to_numpy(), brute_force_weights(n, bf), rtol=1e-12, atol=1e-12)
    w, t = res.weights.to_numpy(), df["t"].to_numpy()
    assert np.isclose(w[t == 1].sum(), p["treated"].nunique())
    assert np.isclose(w[t == 0].sum(), p["control"].nunique())
    # bookkeeping: every treated unit is matched or listed as unmatched
    assert p["treated"].nunique() + res.n_unmatched == int(sum(treat))
    assert set(res.unmatched.index).isdisjoint(set(p["treated"]))
    # determinism
    res2 = match(df, "t", "d", **kw)
    pd.testing.assert_frame_equal(res.pairs, res2.pairs)


def test_tie_rules_explicit():
    # treated a (0.5) and b (0.5) tie: a first (data order). Controls c1 (0.4)
    # and c2 (0.6) are equally close to a: c1 first in data wins; c3 is a
    # duplicate of c2's value later in the data.
    df = pd.DataFrame(
        {"t": [0, 1, 0, 1, 0], "d": [0.625, 0.5, 0.375, 0.5, 0.625]},
        index=["c2", "a", "c1", "b", "c3"],
    )
    p = match(df, "t", "d").pairs
    assert list(zip(p.treated, p.control)) == [("a", "c2"), ("b", "c1")]
    # ratio 2: both treated get a first control before either gets a second
    p2 = match(df, "t", "d", ratio=2).pairs
    assert list(zip(p2.treated, p2.control, p2.k)) == [("a", "c2", 1), ("a", "c3", 2), ("b", "c1", 1)]


def test_unmatched_reasons_and_summary():
    df = pd.DataFrame(
        {"t": [1, 0, 1, 1, 0], "d": [0.1, 0.12, 0.9, 0.5, 0.55], "s": ["x", "x", "x", "y", "x"]},
        index=list("abcde"),
    )
    r = match(df, "t", "d", exact="s", caliper=0.1, std_caliper=False)
    assert r.unmatched.loc["d", "reason"] == "stratum without controls"
    assert r.unmatched.loc["c", "reason"] == "no control within caliper"
    s = r.summary()
    assert s.loc["Matched", "Treated"] == 1 and s.loc["Unmatched", "Treated"] == 2
    assert s.loc["Unmatched: no control within caliper", "Treated"] == 1
    r2 = match(df.assign(s="x"), "t", "d")  # 3 treated, 2 controls
    assert r2.unmatched["reason"].tolist() == ["controls exhausted"]


def test_validation_errors():
    df = pd.DataFrame({"t": [1, 0], "d": [0.1, 0.2]})
    with pytest.raises(ValueError, match="allowed values are"):
        match(df, "t", "d", order="closest")
    with pytest.raises(ValueError, match="ratio"):
        match(df, "t", "d", ratio=0)
    with pytest.raises(ValueError, match="non-finite"):
        match(df.assign(d=[np.nan, 0.2]), "t", "d")
    # distance as a Series in another order is aligned by index
    r = match(df, "t", pd.Series([0.2, 0.1], index=[1, 0]))
    assert r.pairs["distance_diff"].iloc[0] == pytest.approx(0.1)


# ----------------------------------------------------------------- lalonde
@pytest.fixture(scope="module")
def lalonde() -> pd.DataFrame:
    return load_lalonde()


@pytest.mark.parametrize("spec", sorted(SPECS))
def test_lalonde_matches_r_reference(lalonde, spec):
    """Pairs, MatchIt weights and MatchIt's sample-size table agree with R."""
    res = match(lalonde, "treat", "ps", **SPECS[spec])
    ref = pd.read_csv(REF / f"pairs_{spec}.csv")
    assert set(zip(res.pairs.treated, res.pairs.control, res.pairs.k)) == set(zip(ref.treated, ref.control, ref.k))
    w = pd.read_csv(REF / f"weights_{spec}.csv", index_col="id")
    np.testing.assert_allclose(res.weights.to_numpy(), w["weights"].to_numpy(), rtol=1e-12, atol=1e-12)
    if not SPECS[spec].get("replace"):
        # same partition into subclasses (labels may differ from MatchIt's)
        a = res.subclass.astype("Float64").to_numpy(dtype=float, na_value=np.nan)
        b = w["subclass"].to_numpy(dtype=float)
        assert np.array_equal(np.isnan(a), np.isnan(b))
        m = ~np.isnan(a)
        assert pd.crosstab(a[m], b[m]).gt(0).sum(axis=1).eq(1).all()
    nn = pd.read_csv(REF / f"nn_{spec}.csv", index_col="row")
    s = res.summary().loc[nn.index]
    np.testing.assert_allclose(s[["Control", "Treated"]].to_numpy(), nn[["control", "treated"]].to_numpy(), rtol=1e-10)
    assert len(res.data) == int((w["weights"] > 0).sum())
