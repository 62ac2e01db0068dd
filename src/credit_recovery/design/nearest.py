"""The greedy nearest-neighbour matcher on positions, O(n log n).

:func:`greedy_nn` matches treated to control units on a scalar distance
within exact strata, with or without replacement, k controls each in rounds,
within a caliper; :func:`credit_recovery.design.matching.match` wraps it with
argument checks, the matching order and MatchIt's weights.

Controls are sorted once by (stratum, distance, data position) and once by
(stratum, distance descending, data position); the nearest unused control on
either side of a treated unit is the first unused entry after its insertion
point, found with two union-find "next unused" structures, so each treated
unit costs amortised near-constant time. Ties go to the control first in the
data. See ``docs/matching.md``.
"""
from __future__ import annotations

from typing import NamedTuple

import numpy as np

__all__ = ["greedy_nn", "UNMATCHED_REASONS"]

#: Reasons a treated unit gets no control (``greedy_nn`` returns their index).
UNMATCHED_REASONS: tuple[str, ...] = (
    "stratum without controls",
    "controls exhausted",
    "no control within caliper",
)
_NO_CTRL, _EXHAUSTED, _CALIPER = 0, 1, 2


class _Neighbours(NamedTuple):
    """Where to look for each treated unit's nearest controls (see :func:`_neighbour_bounds`)."""

    tp: np.ndarray  # treated positions in matching order
    dt: np.ndarray  # their distances
    posA: np.ndarray  # control positions sorted by (stratum, distance ascending, data position)
    posB: np.ndarray  # control positions sorted by (stratum, distance descending, data position)
    valA: np.ndarray  # distances in A order
    valB: np.ndarray  # distances in B order
    a2b: np.ndarray  # index in B of each control in A order
    b2a: np.ndarray  # index in A of each control in B order
    startA: np.ndarray  # first control at distance >= d (own stratum), per treated unit
    endA: np.ndarray  # end of the own stratum in A
    startB: np.ndarray  # first control at distance < d (own stratum) in B
    endB: np.ndarray  # end of the own stratum in B
    has_ctrl: np.ndarray  # whether the own stratum has controls at all


def _neighbour_bounds(d: np.ndarray, treated: np.ndarray, strata: np.ndarray, order_pos: np.ndarray) -> _Neighbours:
    """Controls sorted twice, and for each treated unit where its neighbours start in each order.

    A: controls by (stratum, distance ascending, data position); walking
    right from the insertion point visits controls at distance >= d in
    order of closeness, ties in data order.
    B: controls by (stratum, distance descending, data position); walking
    from the first control with distance < d visits the left side in order
    of closeness, ties in data order.
    """
    ctrl_pos = np.flatnonzero(~treated)
    nc = len(ctrl_pos)
    # dense ranks make equal distances exactly equal keys
    _, rank = np.unique(d, return_inverse=True)
    rank = rank.astype(np.int64).ravel()
    M = int(rank.max()) + 2
    rc, sc = rank[ctrl_pos], strata[ctrl_pos]
    keyA_c = sc * M + rc
    keyB_c = sc * M + (M - 1 - rc)
    oA = np.lexsort((ctrl_pos, keyA_c))
    oB = np.lexsort((ctrl_pos, keyB_c))
    keyA, keyB = keyA_c[oA], keyB_c[oB]
    posA, posB = ctrl_pos[oA], ctrl_pos[oB]
    tp = order_pos
    st, rt = strata[tp], rank[tp]
    endA = np.searchsorted(keyA, (st + 1) * M, side="left")
    a2b = np.empty(nc, dtype=np.int64)
    inv_b = np.empty(nc, dtype=np.int64)
    inv_b[oB] = np.arange(nc)
    a2b[:] = inv_b[oA]
    b2a = np.empty(nc, dtype=np.int64)
    b2a[a2b] = np.arange(nc)
    return _Neighbours(
        tp=tp,
        dt=d[tp],
        posA=posA,
        posB=posB,
        valA=d[posA],
        valB=d[posB],
        a2b=a2b,
        b2a=b2a,
        startA=np.searchsorted(keyA, st * M + rt, side="left"),
        endA=endA,
        startB=np.searchsorted(keyB, st * M + (M - 1 - rt), side="right"),
        endB=np.searchsorted(keyB, (st + 1) * M, side="left"),
        has_ctrl=np.searchsorted(keyA, st * M, side="left") < endA,
    )


def greedy_nn(
    d: np.ndarray,
    treated: np.ndarray,
    strata: np.ndarray,
    order_pos: np.ndarray,
    ratio: int,
    replace: bool,
    width: float,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Greedy nearest-neighbour matching on positions (the core of :func:`credit_recovery.design.matching.match`).

    Parameters
    ----------
    d : distance per unit; treated : bool mask; strata : int code per unit;
    order_pos : positions of the treated units in matching order;
    width : caliper width (``inf`` for none).

    Returns
    -------
    t_pos, c_pos, k : arrays of matched (treated position, control position, match number)
    unm_pos, unm_reason : treated positions with no control and reason codes (indices into
        :data:`UNMATCHED_REASONS`)
    """
    nb = _neighbour_bounds(d, treated, strata, order_pos)
    if replace:
        return _nn_replace(nb, ratio, width)
    return _nn_without_replacement(nb, ratio, width)


def _nn_without_replacement(nb: _Neighbours, ratio: int, width: float):
    """Greedy and sequential: each treated unit takes the nearest control no one has taken yet.

    Two union-find "next unused" structures (one per sort order, path
    halving) skip the controls already taken, so each look-up costs amortised
    near-constant time. Plain Python lists: this loop is the hot path.
    """
    nc = len(nb.posA)
    parA = list(range(nc + 1))
    parB = list(range(nc + 1))
    L_startA, L_endA = nb.startA.tolist(), nb.endA.tolist()
    L_startB, L_endB = nb.startB.tolist(), nb.endB.tolist()
    L_valA, L_valB = nb.valA.tolist(), nb.valB.tolist()
    L_posA, L_posB = nb.posA.tolist(), nb.posB.tolist()
    L_a2b, L_b2a = nb.a2b.tolist(), nb.b2a.tolist()
    L_dt = nb.dt.tolist()
    L_has = nb.has_ctrl.tolist()
    nt = len(nb.tp)
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
        nb.tp[oi] if len(oi) else np.empty(0, dtype=np.int64),
        np.asarray(out_c, dtype=np.int64),
        np.asarray(out_k, dtype=np.int64),
        nb.tp[unm],
        reason_arr[unm],
    )


def _nn_replace(nb: _Neighbours, ratio: int, width: float):
    """With replacement the treated units do not interact: vectorised k-way merge."""
    tp, dt, posA, posB, valA, valB = nb.tp, nb.dt, nb.posA, nb.posB, nb.valA, nb.valB
    startA, endA, startB, endB, has_ctrl = nb.startA, nb.endA, nb.startB, nb.endB, nb.has_ctrl
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
