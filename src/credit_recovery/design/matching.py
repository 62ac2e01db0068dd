"""Greedy nearest-neighbour matching on a scalar distance (MatchIt semantics).

Matching only builds the matched sample (weights, subclasses, pairs); it
estimates nothing. Balance is :func:`credit_recovery.design.balance.balance_table`,
effects are :func:`credit_recovery.estimation.att.estimate_att`.

This module checks the arguments, puts the treated units in matching order
and turns the pairs into MatchIt's weights, subclasses and matched data; the
matcher itself, O(n log n), is :func:`credit_recovery.design.nearest.greedy_nn`.
See ``docs/matching.md``.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Sequence

import numpy as np
import pandas as pd

from credit_recovery.design.nearest import UNMATCHED_REASONS, greedy_nn
from credit_recovery.shared.config import check_choice
from credit_recovery.shared.model_matrix import binary_treatment

__all__ = ["match", "MatchResult", "ORDERS", "UNMATCHED_REASONS"]

#: Allowed values of ``order``.
ORDERS: tuple[str, ...] = ("largest", "smallest", "data", "random")


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


def _check_arguments(data: pd.DataFrame, treatment: str, *, order: str, ratio: Any,
                     caliper: float | None) -> np.ndarray:
    """Check the options, the index and the treatment column of :func:`match`; the treated units as a mask."""
    check_choice("order", order, ORDERS)
    if not isinstance(ratio, (int, np.integer)) or isinstance(ratio, bool) or ratio < 1:
        raise ValueError(f"ratio must be a positive integer, got {ratio!r}")
    if caliper is not None and not (np.isfinite(caliper) and caliper > 0):
        raise ValueError(f"caliper must be a positive number or None, got {caliper!r}")
    if not data.index.is_unique:
        raise ValueError("data must have a unique index (pairs are reported by index label)")
    return binary_treatment(data, treatment, both_values=False) == 1


def _distance_values(data: pd.DataFrame, distance: str | pd.Series) -> np.ndarray:
    """The distance of every row of ``data``, in data order (a column name or a Series indexed like data)."""
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
    return d


def _matching_order(d: np.ndarray, treated: np.ndarray, order: str, seed: int | None) -> np.ndarray:
    """Positions of the treated units in the order they choose their controls (ties in data order)."""
    tpos = np.flatnonzero(treated)
    if order == "largest":
        return tpos[np.argsort(-d[tpos], kind="stable")]
    if order == "smallest":
        return tpos[np.argsort(d[tpos], kind="stable")]
    if order == "data":
        return tpos
    return tpos[np.random.default_rng(seed).permutation(len(tpos))]


def _weights_and_subclasses(n: int, t_pos: np.ndarray, c_pos: np.ndarray, replace: bool):
    """MatchIt's ATT weights and subclasses of all ``n`` units from the matched pairs.

    Returns ``(weights, subclass, pair_subclass, n_controls)``: subclass 0
    means none; ``pair_subclass`` is the set of each pair; ``n_controls`` the
    number of controls of each matched treated unit.
    """
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
    return w, sc, pair_sub, n_i[matched_t]


def _pairs_frame(idx: pd.Index, t_pos, c_pos, k, pair_sub, d: np.ndarray) -> pd.DataFrame:
    """One row per (treated, control) match, by matched set then match number."""
    pair_order = np.lexsort((k, pair_sub))
    return pd.DataFrame(
        {
            "treated": idx[t_pos[pair_order]],
            "control": idx[c_pos[pair_order]],
            "subclass": pair_sub[pair_order],
            "k": k[pair_order],
            "distance_diff": np.abs(d[t_pos] - d[c_pos])[pair_order],
        }
    )


def _unmatched_frame(idx: pd.Index, unm_pos: np.ndarray, unm_reason: np.ndarray) -> pd.DataFrame:
    """Treated units without a control, in data order, with the reason."""
    ro = np.argsort(unm_pos, kind="stable")
    unmatched = pd.DataFrame(
        {"reason": pd.Series([UNMATCHED_REASONS[r] for r in unm_reason[ro]], dtype=object)},
    )
    unmatched.index = idx[unm_pos[ro]]
    return unmatched


def _matched_data(data: pd.DataFrame, d: np.ndarray, w: np.ndarray, subclass: pd.Series) -> pd.DataFrame:
    """The matched rows (weight > 0) with ``distance``, ``weights`` and ``subclass`` (MatchIt's ``match.data``)."""
    keep = w > 0
    md = data.loc[keep].copy()
    for col in ("weights", "subclass"):
        if col in md.columns:
            raise ValueError(f"data already has a column named {col!r}; rename it before matching")
    if "distance" not in md.columns:
        md["distance"] = d[keep]
    md["weights"] = w[keep]
    md["subclass"] = subclass[keep]
    return md


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
    treated = _check_arguments(data, treatment, order=order, ratio=ratio, caliper=caliper)
    d = _distance_values(data, distance)
    strata = _strata_codes(data, exact)
    width = np.inf if caliper is None else float(caliper) * (float(np.std(d, ddof=1)) if std_caliper else 1.0)
    order_pos = _matching_order(d, treated, order, seed)
    t_pos, c_pos, k, unm_pos, unm_reason = greedy_nn(
        d, treated, strata, order_pos, int(ratio), bool(replace), width
    )
    idx = data.index
    w, sc, pair_sub, n_controls = _weights_and_subclasses(len(data), t_pos, c_pos, replace)
    subclass_arr = pd.array(sc, dtype="Int64")
    subclass_arr[sc == 0] = pd.NA
    weights_s = pd.Series(w, index=idx, name="weights")
    subclass_s = pd.Series(subclass_arr, index=idx, name="subclass")
    spec = dict(treatment=treatment, distance=distance if isinstance(distance, str) else getattr(distance, "name", None),
                ratio=int(ratio), replace=bool(replace), caliper=caliper, std_caliper=std_caliper, exact=exact,
                order=order, seed=seed)
    return MatchResult(
        data=_matched_data(data, d, w, subclass_s),
        pairs=_pairs_frame(idx, t_pos, c_pos, k, pair_sub, d),
        weights=weights_s,
        subclass=subclass_s,
        unmatched=_unmatched_frame(idx, unm_pos, unm_reason),
        treat=pd.Series(treated.astype(int), index=idx, name=treatment),
        n_short=int(np.sum((n_controls > 0) & (n_controls < ratio))),
        caliper_width=None if caliper is None else width,
        spec=spec,
    )
