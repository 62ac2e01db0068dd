"""Greedy nearest-neighbour matching on a scalar distance (MatchIt semantics).

Matching only builds the matched sample (weights, subclasses, pairs); it
estimates nothing. Balance is :func:`credit_recovery.design.balance.balance_table`,
effects are :func:`credit_recovery.estimation.att.estimate_att`.

The algorithm is O(n log n): controls are sorted once, and the nearest unused
control on either side of a treated unit is found with two union-find "next
unused" structures, so each treated unit costs amortised near-constant time.
See ``docs/matching.md``.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Sequence

import numpy as np
import pandas as pd

__all__ = ["match", "MatchResult", "ORDERS", "UNMATCHED_REASONS"]

#: Allowed values of ``order``.
ORDERS: tuple[str, ...] = ("largest", "smallest", "data", "random")

#: Reasons a treated unit gets no control.
UNMATCHED_REASONS: tuple[str, ...] = (
    "stratum without controls",
    "controls exhausted",
    "no control within caliper",
)
_NO_CTRL, _EXHAUSTED, _CALIPER = 0, 1, 2


def _check_option(name: str, value: Any, allowed: Sequence[Any]) -> Any:
    if value not in allowed:
        raise ValueError(f"{name}={value!r} is not allowed; allowed values are {list(allowed)}")
    return value


@dataclass
class MatchResult:
    """Result of :func:`match`.

    Attributes
    ----------
    data : pandas.DataFrame
        Matched rows (weight > 0) in data order with the columns ``weights``
        (MatchIt's ATT matching weights), ``subclass`` (pair / matched-set id,
        ``Int64``; missing when matching with replacement, as MatchIt's
        ``match.data``) and ``distance``.
    pairs : pandas.DataFrame
        One row per (treated, control) match: ``treated`` and ``control``
        index labels, ``subclass`` (id of the treated unit's matched set),
        ``k`` (1 for the first control, 2 for the second, ...) and
        ``distance_diff`` = \\|d_treated - d_control\\|.
    weights : pandas.Series
        Matching weights for every row of the input (0 = not matched).
    subclass : pandas.Series
        Subclass for every row of the input (``Int64``, missing if unmatched).
    unmatched : pandas.DataFrame
        Treated units with no control, indexed by their label, with column
        ``reason`` (one of :data:`UNMATCHED_REASONS`).
    n_short : int
        Matched treated units that got fewer than ``ratio`` controls.
    caliper_width : float or None
        Caliper on the distance scale (after multiplying by the SD).
    spec : dict
        The arguments of the call.
    """

    data: pd.DataFrame
    pairs: pd.DataFrame
    weights: pd.Series
    subclass: pd.Series
    unmatched: pd.DataFrame
    treat: pd.Series = field(repr=False)
    n_short: int = 0
    caliper_width: float | None = None
    spec: dict = field(default_factory=dict)

    @property
    def n_unmatched(self) -> int:
        """Number of treated units without any control."""
        return len(self.unmatched)

    def summary(self) -> pd.DataFrame:
        """Sample sizes, as MatchIt's ``summary(m)$nn``, plus unmatched reasons.

        Rows ``All (ESS)``, ``All``, ``Matched (ESS)``, ``Matched``,
        ``Unmatched``, ``Discarded`` and one ``Unmatched: <reason>`` row per
        reason in :data:`UNMATCHED_REASONS`; columns ``Control`` and
        ``Treated``. ESS is Kish's effective sample size
        :math:`(\\sum w)^2 / \\sum w^2`.
        """
        t = self.treat.to_numpy() == 1
        w = self.weights.to_numpy()
        rows: dict[str, list[float]] = {}

        def ess(x: np.ndarray) -> float:
            s2 = float(np.sum(x**2))
            return float(np.sum(x)) ** 2 / s2 if s2 > 0 else 0.0

        for name, fn in (
            ("All (ESS)", lambda g: float(g.sum())),
            ("All", lambda g: float(g.sum())),
            ("Matched (ESS)", lambda g: ess(w[g])),
            ("Matched", lambda g: float(np.sum(w[g] > 0))),
            ("Unmatched", lambda g: float(np.sum(w[g] == 0))),
            ("Discarded", lambda g: 0.0),
        ):
            rows[name] = [fn(~t), fn(t)]
        reasons = self.unmatched["reason"].value_counts()
        for r in UNMATCHED_REASONS:
            rows[f"Unmatched: {r}"] = [float("nan"), float(reasons.get(r, 0))]
        return pd.DataFrame.from_dict(rows, orient="index", columns=["Control", "Treated"])


def _strata_codes(data: pd.DataFrame, exact: str | Sequence[str] | None) -> np.ndarray:
    n = len(data)
    if exact is None:
        return np.zeros(n, dtype=np.int64)
    cols = [exact] if isinstance(exact, str) else list(exact)
    if not cols:
        return np.zeros(n, dtype=np.int64)
    missing = [c for c in cols if c not in data.columns]
    if missing:
        raise KeyError(f"exact columns not in data: {missing}")
    if data[cols].isna().any().any():
        raise ValueError(f"exact columns {cols} have missing values")
    return data.groupby(cols, sort=True).ngroup().to_numpy(dtype=np.int64)


def _greedy_nn(
    d: np.ndarray,
    treated: np.ndarray,
    strata: np.ndarray,
    order_pos: np.ndarray,
    ratio: int,
    replace: bool,
    width: float,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Core matcher on positions.

    Parameters
    ----------
    d : distance per unit; treated : bool mask; strata : int code per unit;
    order_pos : positions of the treated units in matching order;
    width : caliper width (``inf`` for none).

    Returns
    -------
    t_pos, c_pos, k : arrays of matched (treated position, control position, match number)
    unm_pos, unm_reason : treated positions with no control and reason codes
    """
    ctrl_pos = np.flatnonzero(~treated)
    nc = len(ctrl_pos)
    # dense ranks make equal distances exactly equal keys
    _, rank = np.unique(d, return_inverse=True)
    rank = rank.astype(np.int64).ravel()
    M = int(rank.max()) + 2
    rc, sc = rank[ctrl_pos], strata[ctrl_pos]
    # A: controls by (stratum, distance ascending, data position); walking
    #    right from the insertion point visits controls at distance >= d in
    #    order of closeness, ties in data order.
    # B: controls by (stratum, distance descending, data position); walking
    #    from the first control with distance < d visits the left side in order
    #    of closeness, ties in data order.
    keyA_c = sc * M + rc
    keyB_c = sc * M + (M - 1 - rc)
    oA = np.lexsort((ctrl_pos, keyA_c))
    oB = np.lexsort((ctrl_pos, keyB_c))
    keyA, keyB = keyA_c[oA], keyB_c[oB]
    posA, posB = ctrl_pos[oA], ctrl_pos[oB]
    valA, valB = d[posA], d[posB]
    tp = order_pos
    st, rt = strata[tp], rank[tp]
    startA = np.searchsorted(keyA, st * M + rt, side="left")
    endA = np.searchsorted(keyA, (st + 1) * M, side="left")
    startB = np.searchsorted(keyB, st * M + (M - 1 - rt), side="right")
    endB = np.searchsorted(keyB, (st + 1) * M, side="left")
    has_ctrl = np.searchsorted(keyA, st * M, side="left") < endA
    dt = d[tp]

    if replace:
        return _nn_replace(tp, dt, startA, endA, startB, endB, posA, posB, valA, valB, has_ctrl, ratio, width)

    # without replacement: greedy, sequential
    a2b = np.empty(nc, dtype=np.int64)
    inv_b = np.empty(nc, dtype=np.int64)
    inv_b[oB] = np.arange(nc)
    a2b[:] = inv_b[oA]
    b2a = np.empty(nc, dtype=np.int64)
    b2a[a2b] = np.arange(nc)
    parA = list(range(nc + 1))
    parB = list(range(nc + 1))
    L_startA, L_endA = startA.tolist(), endA.tolist()
    L_startB, L_endB = startB.tolist(), endB.tolist()
    L_valA, L_valB = valA.tolist(), valB.tolist()
    L_posA, L_posB = posA.tolist(), posB.tolist()
    L_a2b, L_b2a = a2b.tolist(), b2a.tolist()
    L_dt = dt.tolist()
    L_has = has_ctrl.tolist()
    nt = len(tp)
    active = list(range(nt))
    out_i: list[int] = []
    out_c: list[int] = []
    out_k: list[int] = []
    reason = [-1] * nt
    for k in range(1, ratio + 1):
        still: list[int] = []
        for i in active:
            # next unused in A from startA (path halving)
            x = L_startA[i]
            while parA[x] != x:
                parA[x] = parA[parA[x]]
                x = parA[x]
            a = x if x < L_endA[i] else -1
            x = L_startB[i]
            while parB[x] != x:
                parB[x] = parB[parB[x]]
                x = parB[x]
            b = x if x < L_endB[i] else -1
            di = L_dt[i]
            if a >= 0:
                da = L_valA[a] - di
                if b >= 0:
                    db = di - L_valB[b]
                    if db < da or (db == da and L_posB[b] < L_posA[a]):
                        a = L_b2a[b]
                        da = db
                    else:
                        b = L_a2b[a]
                else:
                    b = L_a2b[a]
            elif b >= 0:
                da = di - L_valB[b]
                a = L_b2a[b]
            else:
                if k == 1:
                    reason[i] = _EXHAUSTED if L_has[i] else _NO_CTRL
                continue
            if da > width:
                if k == 1:
                    reason[i] = _CALIPER
                continue
            out_i.append(i)
            out_c.append(L_posA[a])
            out_k.append(k)
            parA[a] = a + 1
            parB[b] = b + 1
            still.append(i)
        active = still
        if not active:
            break
    oi = np.asarray(out_i, dtype=np.int64)
    reason_arr = np.asarray(reason, dtype=np.int64)
    unm = np.flatnonzero(reason_arr >= 0)
    return (
        tp[oi] if len(oi) else np.empty(0, dtype=np.int64),
        np.asarray(out_c, dtype=np.int64),
        np.asarray(out_k, dtype=np.int64),
        tp[unm],
        reason_arr[unm],
    )


def _nn_replace(tp, dt, startA, endA, startB, endB, posA, posB, valA, valB, has_ctrl, ratio, width):
    """With replacement the treated units do not interact: vectorised k-way merge."""
    a, b = startA.copy(), startB.copy()
    alive = np.ones(len(tp), dtype=bool)
    ti, ci, ks = [], [], []
    reason = np.full(len(tp), -1, dtype=np.int64)
    for k in range(1, ratio + 1):
        va = alive & (a < endA)
        vb = alive & (b < endB)
        ia = np.minimum(a, len(posA) - 1) if len(posA) else a
        ib = np.minimum(b, len(posB) - 1) if len(posB) else b
        da = np.where(va, valA[ia] - dt if len(posA) else 0.0, np.inf)
        db = np.where(vb, dt - valB[ib] if len(posB) else 0.0, np.inf)
        pa = np.where(va, posA[ia] if len(posA) else 0, -1)
        pb = np.where(vb, posB[ib] if len(posB) else 0, -1)
        take_b = vb & (~va | (db < da) | ((db == da) & (pb < pa)))
        take_a = va & ~take_b
        got = take_a | take_b
        dist = np.where(take_b, db, da)
        ok = got & (dist <= width)
        if k == 1:
            reason[alive & ~got] = np.where(has_ctrl[alive & ~got], _EXHAUSTED, _NO_CTRL)
            reason[got & ~ok] = _CALIPER
        idx = np.flatnonzero(ok)
        ti.append(idx)
        ci.append(np.where(take_b[idx], pb[idx], pa[idx]))
        ks.append(np.full(len(idx), k, dtype=np.int64))
        a = a + (take_a & ok)
        b = b + (take_b & ok)
        alive = ok
        if not alive.any():
            break
    ti_ = np.concatenate(ti)
    ci_ = np.concatenate(ci).astype(np.int64)
    ks_ = np.concatenate(ks)
    o = np.lexsort((ks_, ti_))  # group by treated, then k (order is irrelevant with replacement)
    unm = np.flatnonzero(reason >= 0)
    return tp[ti_[o]], ci_[o], ks_[o], tp[unm], reason[unm]


def match(
    data: pd.DataFrame,
    treatment: str,
    distance: str | pd.Series,
    *,
    ratio: int = 1,
    replace: bool = False,
    caliper: float | None = None,
    std_caliper: bool = True,
    exact: str | Sequence[str] | None = None,
    order: str = "largest",
    seed: int | None = None,
) -> MatchResult:
    """Greedy nearest-neighbour matching of treated to control units (ATT).

    Parameters
    ----------
    data : pandas.DataFrame
        One row per unit, unique index. Row order is "data order".
    treatment : str
        0/1 or boolean treatment column.
    distance : str or pandas.Series
        The scalar distance (propensity score or its logit): a column name or
        a Series aligned to ``data.index``.
    ratio : int
        Controls per treated unit (k:1 matching).
    replace : bool
        Whether a control may be matched to several treated units.
    caliper : float, optional
        Maximum allowed \\|d_t - d_c\\|; with ``std_caliper`` in units of the
        standard deviation (ddof = 1) of the distance over all units.
    std_caliper : bool
        Interpret ``caliper`` in SD units (MatchIt's ``std.caliper``).
    exact : str or list of str, optional
        Columns on which matches must agree exactly (strata).
    order : {"largest", "smallest", "data", "random"}
        Order in which treated units are matched (MatchIt's ``m.order``):
        by decreasing or increasing distance, in data order, or in a random
        order drawn with ``seed``.
    seed : int, optional
        Seed for ``order="random"`` (``numpy.random.default_rng(seed)``).

    Returns
    -------
    MatchResult

    Notes
    -----
    Tie rules (exact, deterministic): treated units with equal distance are
    taken in data order (stable sort); among equally close eligible controls
    the one first in the data wins. With ``ratio > 1`` matching proceeds in
    rounds: every treated unit gets its first control before any gets its
    second (as MatchIt). A treated unit whose nearest eligible control lies
    outside the caliper gets no (further) control. Matching within ``exact``
    strata uses the same global order.

    Weights (MatchIt, ATT): matched treated units get 1; control *j* gets
    :math:`\\tilde w_j = \\sum_{i \\in T(j)} 1 / n_i` (sum over the treated
    units it is matched to, :math:`n_i` = number of controls of treated
    *i*), rescaled so that control weights sum to the number of distinct
    matched controls: :math:`w_j = \\tilde w_j\\, N^{c}_{m} / \\sum_j \\tilde w_j`.
    Unmatched units get 0.

    ``subclass`` numbers matched sets 1, 2, ... by the treated unit's data
    order (MatchIt numbers them by the string-sorted row number; only the
    labels differ). With replacement a control can belong to several sets, so
    ``data["subclass"]`` is missing (as MatchIt); ``pairs`` keeps the sets.
    """
    _check_option("order", order, ORDERS)
    if not isinstance(ratio, (int, np.integer)) or isinstance(ratio, bool) or ratio < 1:
        raise ValueError(f"ratio must be a positive integer, got {ratio!r}")
    if caliper is not None and not (np.isfinite(caliper) and caliper > 0):
        raise ValueError(f"caliper must be a positive number or None, got {caliper!r}")
    if not data.index.is_unique:
        raise ValueError("data must have a unique index (pairs are reported by index label)")
    if treatment not in data.columns:
        raise KeyError(f"treatment column {treatment!r} not in data")
    tcol = data[treatment]
    if tcol.isna().any():
        raise ValueError(f"treatment column {treatment!r} has missing values")
    tv = tcol.to_numpy(dtype=float)
    if not np.isin(tv, (0.0, 1.0)).all():
        raise ValueError(f"treatment column {treatment!r} must be 0/1 or boolean")
    treated = tv == 1
    if isinstance(distance, str):
        if distance not in data.columns:
            raise KeyError(f"distance column {distance!r} not in data")
        dist = data[distance]
    else:
        dist = pd.Series(distance)
        if not dist.index.equals(data.index):
            if len(dist.index) != len(data.index) or not dist.index.sort_values().equals(data.index.sort_values()):
                raise ValueError("distance Series must be indexed like data")
            dist = dist.reindex(data.index)
    d = dist.to_numpy(dtype=float)
    if not np.isfinite(d).all():
        raise ValueError("distance has missing or non-finite values")
    strata = _strata_codes(data, exact)

    if caliper is None:
        width = np.inf
    else:
        width = float(caliper) * (float(np.std(d, ddof=1)) if std_caliper else 1.0)

    tpos = np.flatnonzero(treated)
    if order == "largest":
        order_pos = tpos[np.argsort(-d[tpos], kind="stable")]
    elif order == "smallest":
        order_pos = tpos[np.argsort(d[tpos], kind="stable")]
    elif order == "data":
        order_pos = tpos
    else:
        order_pos = tpos[np.random.default_rng(seed).permutation(len(tpos))]

    t_pos, c_pos, k, unm_pos, unm_reason = _greedy_nn(
        d, treated, strata, order_pos, int(ratio), bool(replace), width
    )

    n = len(data)
    # subclass: matched treated units numbered in data order
    matched_t = np.unique(t_pos)
    sub_of_pos = np.zeros(n, dtype=np.int64)
    sub_of_pos[matched_t] = np.arange(1, len(matched_t) + 1)
    pair_sub = sub_of_pos[t_pos]
    # weights
    n_i = np.bincount(t_pos, minlength=n)
    w = np.zeros(n)
    w[matched_t] = 1.0
    if len(c_pos):
        wc = np.bincount(c_pos, weights=1.0 / n_i[t_pos], minlength=n)
        cm = wc > 0
        w[cm] = wc[cm] * cm.sum() / wc[cm].sum()
    sc = np.zeros(n, dtype=np.int64)
    if not replace:
        sc[matched_t] = sub_of_pos[matched_t]
        sc[c_pos] = pair_sub
    subclass_arr = pd.array(sc, dtype="Int64")
    subclass_arr[sc == 0] = pd.NA
    idx = data.index
    weights_s = pd.Series(w, index=idx, name="weights")
    subclass_s = pd.Series(subclass_arr, index=idx, name="subclass")

    pair_order = np.lexsort((k, pair_sub))
    pairs = pd.DataFrame(
        {
            "treated": idx[t_pos[pair_order]],
            "control": idx[c_pos[pair_order]],
            "subclass": pair_sub[pair_order],
            "k": k[pair_order],
            "distance_diff": np.abs(d[t_pos] - d[c_pos])[pair_order],
        }
    )
    ro = np.argsort(unm_pos, kind="stable")
    unmatched = pd.DataFrame(
        {"reason": pd.Series([UNMATCHED_REASONS[r] for r in unm_reason[ro]], dtype=object)},
    )
    unmatched.index = idx[unm_pos[ro]]
    n_short = int(np.sum((n_i[matched_t] > 0) & (n_i[matched_t] < ratio)))

    keep = w > 0
    md = data.loc[keep].copy()
    for col in ("weights", "subclass"):
        if col in md.columns:
            raise ValueError(f"data already has a column named {col!r}; rename it before matching")
    if "distance" not in md.columns:
        md["distance"] = d[keep]
    md["weights"] = w[keep]
    md["subclass"] = subclass_s[keep]
    return MatchResult(
        data=md,
        pairs=pairs,
        weights=weights_s,
        subclass=subclass_s,
        unmatched=unmatched,
        treat=pd.Series(treated.astype(int), index=idx, name=treatment),
        n_short=n_short,
        caliper_width=None if caliper is None else width,
        spec=dict(
            treatment=treatment,
            distance=distance if isinstance(distance, str) else getattr(distance, "name", None),
            ratio=int(ratio),
            replace=bool(replace),
            caliper=caliper,
            std_caliper=std_caliper,
            exact=exact,
            order=order,
            seed=seed,
        ),
    )
