r"""Callaway & Sant'Anna (2021) group-time average treatment effects for staggered adoption.

:func:`att_gt` estimates :math:`ATT(g, t)`, the average effect in period *t* on the units first treated in
period *g*, from a long panel (balanced or not), each by a two-period comparison of group *g* with units
not treated in either period (:func:`credit_recovery.estimation.drdid.did_panel_2x2`: unconditional,
outcome regression or doubly robust). :meth:`StaggeredResult.aggregate` averages them as R
``did::aggte`` does (``simple``, ``dynamic``, ``group``), with influence-function standard errors that
count the estimated weights. Intervals are pointwise (no uniform bands).

The choices follow R ``did`` (``att_gt`` with ``bstrap = FALSE``): comparison group ``never_treated`` or
``not_yet_treated``, base period ``varying`` or ``universal``, ``est_method`` ``"dr"`` (the default) or
``"reg"``; analytic standard errors :math:`\sqrt{\sum_c (\sum_{i \in c} \psi_i)^2} / n` over clusters
*c* (each unit its own cluster by default). What is added: ``stratum`` (a comparison unit must share the
treated group's stratum) and unbalanced panels (below); what is left out: anticipation periods, sampling
weights, repeated cross sections, the multiplier bootstrap and uniform bands.

Unbalanced panels: each :math:`ATT(g,t)` uses the units observed (outcome not missing) in both of its
periods, and an aggregation weights it by the share of units that are its treated units, so the
aggregate is the mean over the treated unit-cells it covers. On a balanced panel these are ``did``'s
group shares. (``did`` instead balances the panel or, with ``allow_unbalanced_panel``, treats it as
repeated cross sections.)
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Sequence

import numpy as np
import pandas as pd
from scipy import stats

from credit_recovery.estimation.drdid import EST_METHODS, CellError, did_panel_2x2

__all__ = ["att_gt", "StaggeredResult", "CONTROL_GROUPS", "BASE_PERIODS", "AGGREGATIONS"]

CONTROL_GROUPS = ("never_treated", "not_yet_treated")
BASE_PERIODS = ("varying", "universal")
AGGREGATIONS = ("simple", "dynamic", "group")


@dataclass
class StaggeredResult:
    r"""Group-time ATTs, their influence functions and the aggregations.

    Attributes
    ----------
    attgt : DataFrame
        One row per (group, time): ``group, time, base, event_time, att, std_error, ci_low, ci_high,
        n_treated, n_control, note`` (``note``: why a cell has no estimate; with a universal base period
        the base cell itself has att 0 and no standard error, as in ``did``).
    influence : ndarray, shape (n_units, n_cells)
        :math:`\psi_{ik}`, zero for units outside cell *k*; :math:`\widehat V_k = \sum_c (\sum_{i\in c}
        \psi_{ik})^2 / n^2`.
    units : DataFrame
        ``unit, group, cluster`` in the row order of ``influence``.
    treated_in : ndarray of bool, shape (n_units, n_cells)
        Unit *i* is a treated unit of cell *k*.
    in_cell : ndarray of bool, shape (n_units, n_cells)
        Unit *i* entered cell *k* (treated or comparison).
    cluster_adjust : bool
        Small-sample adjustment: variance times :math:`G/(G-1)` and :math:`t_{G-1}` intervals.
    level : float
        Confidence level of the intervals.
    """

    attgt: pd.DataFrame
    influence: np.ndarray
    units: pd.DataFrame
    treated_in: np.ndarray
    in_cell: np.ndarray
    cluster_adjust: bool = False
    level: float = 0.95
    settings: dict[str, Any] = field(default_factory=dict)

    @property
    def n_clusters(self) -> int:
        return int(self.units["cluster"].nunique())

    @property
    def df(self) -> float | None:
        """Degrees of freedom of the intervals: ``G - 1`` with ``cluster_adjust``, else normal (None)."""
        return float(self.n_clusters - 1) if self.cluster_adjust else None

    def std_error(self, psi: np.ndarray) -> float:
        """Clustered standard error of an estimate with influence function ``psi`` (length n_units)."""
        n = len(psi)
        codes = pd.factorize(self.units["cluster"])[0]
        sums = np.bincount(codes, weights=psi)
        g = len(sums)
        factor = g / (g - 1) if self.cluster_adjust and g > 1 else 1.0
        return float(np.sqrt(factor * np.sum(sums ** 2)) / n)

    def interval(self, est: np.ndarray, se: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Pointwise ``level`` intervals (normal, or t with ``G - 1`` df under ``cluster_adjust``)."""
        q = (stats.t(self.df) if self.df else stats.norm()).ppf(0.5 + self.level / 2)
        return est - q * se, est + q * se

    def _combine(self, keep: np.ndarray, weights: np.ndarray, indicators: np.ndarray | None,
                 att: np.ndarray, psi: np.ndarray) -> tuple[float, np.ndarray]:
        r"""Weighted mean of ``att[keep]`` and its influence function, counting estimated weights.

        With weights :math:`w_k = \bar{1}_{ik}` (shares of units, ``indicators`` :math:`1_{ik}`), the
        weights' influence function is ``did``'s ``wif``: :math:`(1_{ik} - w_k)/\sum w - \sum_j (1_{ij} -
        w_j)\, w_k / (\sum w)^2`.
        """
        w = weights[keep]
        sw = w.sum()
        out_psi = psi[:, keep] @ (w / sw)
        if indicators is not None:
            dev = indicators[:, keep].astype(float) - w
            wif = dev / sw - np.outer(dev.sum(axis=1), w / sw ** 2)
            out_psi = out_psi + wif @ att[keep]
        return float(att[keep] @ (w / sw)), out_psi

    def aggregate(self, kind: str = "simple", min_e: float = -np.inf, max_e: float = np.inf) -> pd.DataFrame:
        r"""Aggregated effects, as R ``did::aggte(type = kind, min_e, max_e, bstrap = FALSE)``.

        Returns
        -------
        DataFrame
            ``aggregation, term, att, std_error, ci_low, ci_high, n_treated, n_units``; ``term`` is the
            event time (``dynamic``), the group (``group``) or ``"overall"``; ``n_treated`` / ``n_units``:
            treated units and all units in the cells averaged.

        Notes
        -----
        With :math:`w_{gt}` the share of units that are treated units of cell *(g, t)* (the group share
        :math:`P(G = g)` on a balanced panel):

        * ``simple``: :math:`\sum_{t \ge g} w_{gt} ATT(g,t) / \sum_{t \ge g} w_{gt}`;
        * ``dynamic``: :math:`\theta(e) = \sum_{t - g = e} w_{gt} ATT(g,t) / \sum_{t - g = e} w_{gt}`,
          overall the mean of :math:`\theta(e)` over :math:`e \ge 0`;
        * ``group``: :math:`\theta(g)` the mean of :math:`ATT(g,t)` over :math:`g \le t \le g + e_{max}`,
          overall :math:`\sum_g P(G=g)\theta(g) / \sum_g P(G=g)`.

        Cells without an estimate are left out.
        """
        if kind not in AGGREGATIONS:
            raise ValueError(f"aggregation {kind!r} is not allowed; allowed values are {list(AGGREGATIONS)}")
        a = self.attgt
        att = a["att"].to_numpy(float)
        ok = np.isfinite(att)
        e = a["event_time"].to_numpy()
        post = (e >= 0) & (e <= max_e)
        w = self.treated_in.mean(axis=0)
        out = []  # (term, att, psi, keep)
        if kind == "simple":
            keep = ok & post
            out.append(("overall", *self._combine(keep, w, self.treated_in, att, self.influence), keep))
        elif kind == "dynamic":
            window = ok & (e >= min_e) & (e <= max_e)
            for k in sorted(set(e[window])):
                keep = window & (e == k)
                out.append((int(k), *self._combine(keep, w, self.treated_in, att, self.influence), keep))
            post_terms = [o for o in out if o[0] >= 0]
            if post_terms:
                keep = np.any([o[3] for o in post_terms], axis=0)
                out.append(("overall", float(np.mean([o[1] for o in post_terms])),
                            np.mean([o[2] for o in post_terms], axis=0), keep))
        else:
            groups = sorted(set(a.loc[ok & post, "group"]))
            g_att, g_psi, g_keep = [], [], []
            for g in groups:
                keep = ok & post & (a["group"].to_numpy() == g)
                g_att.append(float(att[keep].mean()))
                g_psi.append(self.influence[:, keep].mean(axis=1))
                g_keep.append(keep)
                out.append((int(g), g_att[-1], g_psi[-1], keep))
            if groups:
                ind = np.column_stack([self.units["group"].to_numpy() == g for g in groups])
                est, psi = self._combine(np.ones(len(groups), bool), ind.mean(axis=0), ind, np.array(g_att),
                                         np.column_stack(g_psi))
                out.append(("overall", est, psi, np.any(g_keep, axis=0)))
        rows = []
        for term, est, psi, keep in out:
            base_only = (a.loc[keep, "note"] == "base period").all()
            se = np.nan if base_only else self.std_error(psi)
            rows.append({"aggregation": kind, "term": term, "att": est, "std_error": se,
                         "n_treated": int(self.treated_in[:, keep].any(axis=1).sum()),
                         "n_units": int(self.in_cell[:, keep].any(axis=1).sum())})
        df = pd.DataFrame(rows, columns=["aggregation", "term", "att", "std_error", "n_treated", "n_units"])
        lo, hi = self.interval(df["att"].to_numpy(float), df["std_error"].to_numpy(float))
        df.insert(4, "ci_low", lo)
        df.insert(5, "ci_high", hi)
        return df


def _unit_table(data: pd.DataFrame, unit: str, time: str, group: str, covariates: Sequence[str],
                cluster: str | None, stratum: str | None) -> pd.DataFrame:
    """One row per unit: ``group`` (0 = never treated), covariates, ``cluster`` and ``stratum``; checks
    that each is constant within a unit."""
    cols = [group, *covariates, *(c for c in (cluster, stratum) if c)]
    varying = [c for c in dict.fromkeys(cols) if (data.groupby(unit)[c].nunique(dropna=False) > 1).any()]
    if varying:
        raise ValueError(f"columns {varying} vary within a unit; the group, covariates, cluster and stratum "
                         "must be constant within a unit")
    u = data.groupby(unit, sort=True)[list(dict.fromkeys(cols))].first()
    if u[list(covariates)].isna().any().any():
        raise ValueError("covariates have missing values; impute or drop those units first")
    g = pd.to_numeric(u[group], errors="raise").astype(float)
    last = data[time].max()
    u["_g"] = np.where(~np.isfinite(g) | (g <= 0) | (g > last), 0.0, g)
    u["_cluster"] = u[cluster] if cluster else u.index.to_numpy()
    u["_stratum"] = u[stratum] if stratum else 0
    first = data[time].min()
    return u[(u["_g"] == 0) | (u["_g"] > first)]  # already treated in the first period: no information


def _cells(wide: pd.DataFrame, G: np.ndarray, S: np.ndarray, X: np.ndarray | None, periods: list,
           control_group: str, base_period: str, est_method: str, min_units_per_coef: float) -> tuple[list, list, list, list]:
    """Every (group, time) cell: its row, influence function in the full sample, treated and all units."""
    n = len(G)
    rows, psis, treated_in, in_cell = [], [], [], []
    for g in sorted(set(G[G > 0])):
        before = [p for p in periods if p < g]
        strata = set(S[G == g])
        if len(strata) > 1:
            raise ValueError(f"the treated units of group {g} lie in {len(strata)} strata; they must share one")
        same = S == next(iter(strata))
        for i, t in enumerate(periods):
            if base_period == "varying" and i == 0:
                continue
            b = before[-1] if (t >= g or base_period == "universal") else periods[i - 1]
            row = {"group": g, "time": t, "base": b, "event_time": t - g, "att": np.nan, "n_treated": 0,
                   "n_control": 0, "note": ""}
            psi = np.zeros(n)
            obs = wide[t].notna().to_numpy() & wide[b].notna().to_numpy()
            ctrl = (G == 0) if control_group == "never_treated" else (G == 0) | ((G > max(t, b)) & (G != g))
            tr, co = (G == g) & obs & same, ctrl & obs & same
            cell = tr | co
            if t == b:
                row.update(att=0.0, note="base period")
            else:
                row.update(n_treated=int(tr.sum()), n_control=int(co.sum()))
                try:
                    dy = (wide[t] - wide[b]).to_numpy()[cell]
                    att, local = did_panel_2x2(dy, tr[cell], None if X is None else X[cell], est_method,
                                               min_units_per_coef=min_units_per_coef)
                    row["att"] = att
                    psi[cell] = n / cell.sum() * local
                except CellError as err:
                    row["note"] = str(err)
            rows.append(row)
            psis.append(psi)
            treated_in.append(tr & np.isfinite(row["att"]))
            in_cell.append(cell & np.isfinite(row["att"]))
    return rows, psis, treated_in, in_cell


def att_gt(data: pd.DataFrame, *, unit: str, time: str, outcome: str, group: str,
           covariates: Sequence[str] = (), cluster: str | None = None, stratum: str | None = None,
           control_group: str = "never_treated", base_period: str = "varying", est_method: str = "dr",
           cluster_adjust: bool = False, min_units_per_coef: float = 0.0, level: float = 0.95) -> StaggeredResult:
    r"""Callaway-Sant'Anna group-time average treatment effects :math:`ATT(g, t)`.

    Parameters
    ----------
    data : DataFrame
        Long panel: one row per unit and period (periods may be missing; outcome may be NaN).
    unit, time, outcome, group : str
        Columns: unit id, period (integer-like), outcome, first treated period *g* (0, NaN or inf: never
        treated; a *g* after the last period counts as never treated; units treated in the first period
        are dropped, as in ``did``).
    covariates : sequence of str
        Pre-treatment covariates, constant within a unit (none: the unconditional estimator).
    cluster : str, optional
        Cluster column, constant within a unit; default each unit its own cluster.
    stratum : str, optional
        Column constant within a unit: the comparison units of group *g* must share its treated units'
        (single) stratum, e.g. a cohort.
    control_group : {"never_treated", "not_yet_treated"}
        Comparison units of cell *(g, t)* with base period *b*: never treated, or also those first treated
        after :math:`\max(t, b)` (other than *g*).
    base_period : {"varying", "universal"}
        Base period *b*: the last period before *g* for :math:`t \ge g`; for :math:`t < g`, the previous
        period (``varying``) or again the last one before *g* (``universal``).
    est_method : {"dr", "reg"}
        Doubly robust or outcome regression (with covariates; without, both are the 2x2 difference in
        mean changes).
    cluster_adjust : bool
        Multiply the clustered variance by :math:`G/(G-1)` and use :math:`t_{G-1}` intervals (``did``
        does neither).
    min_units_per_coef : float
        A cell is estimated only if each arm has this many units per regression coefficient
        (:func:`~credit_recovery.estimation.drdid.did_panel_2x2`; 0, the default, as ``did``).
    level : float

    Returns
    -------
    StaggeredResult

    Notes
    -----
    For each group *g* and period *t*, :math:`ATT(g,t) = E[Y_t - Y_b \mid G = g] - E[Y_t - Y_b \mid C]`
    (conditional on covariates with ``reg``/``dr``) over the units observed in *t* and *b*, where *C* is
    the comparison group; the unit's influence function in the full sample is :math:`n / n_{gt}` times
    its influence function in the cell (zero outside it), as in ``did``. A cell that cannot be estimated
    (no treated or too few comparison units) has ``att`` NaN and a ``note``.
    """
    if control_group not in CONTROL_GROUPS:
        raise ValueError(f"control_group {control_group!r} is not allowed; allowed values are {list(CONTROL_GROUPS)}")
    if base_period not in BASE_PERIODS:
        raise ValueError(f"base_period {base_period!r} is not allowed; allowed values are {list(BASE_PERIODS)}")
    if est_method not in EST_METHODS:
        raise ValueError(f"est_method {est_method!r} is not allowed; allowed values are {list(EST_METHODS)}")
    covariates = list(covariates)
    if data.duplicated([unit, time]).any():
        raise ValueError(f"more than one row per {unit} and {time}")
    u = _unit_table(data, unit, time, group, covariates, cluster, stratum)
    d = data[data[unit].isin(u.index)]
    wide = d.pivot_table(index=unit, columns=time, values=outcome, aggfunc="first", dropna=False)
    wide = wide.reindex(index=u.index)
    periods = sorted(data[time].unique())
    wide = wide.reindex(columns=periods)
    G, S = u["_g"].to_numpy(), u["_stratum"].to_numpy()
    X = u[covariates].to_numpy(float) if covariates else None
    rows, psis, treated_in, in_cell = _cells(wide, G, S, X, periods, control_group, base_period, est_method,
                                               min_units_per_coef)
    if not rows:
        raise ValueError("no group-time cell: no treated group has a period before its treatment")
    res = StaggeredResult(
        attgt=pd.DataFrame(rows), influence=np.column_stack(psis),
        units=pd.DataFrame({"unit": u.index.to_numpy(), "group": G, "cluster": u["_cluster"].to_numpy()}),
        treated_in=np.column_stack(treated_in), in_cell=np.column_stack(in_cell),
        cluster_adjust=cluster_adjust, level=level,
        settings={"control_group": control_group, "base_period": base_period, "est_method": est_method,
                  "covariates": covariates, "cluster": cluster, "stratum": stratum})
    se = np.array([np.nan if (r["note"] or not np.isfinite(r["att"])) else res.std_error(res.influence[:, k])
                   for k, r in enumerate(rows)])
    res.attgt["std_error"] = se
    res.attgt["ci_low"], res.attgt["ci_high"] = res.interval(res.attgt["att"].to_numpy(float), se)
    cols = ["group", "time", "base", "event_time", "att", "std_error", "ci_low", "ci_high", "n_treated",
            "n_control", "note"]
    res.attgt = res.attgt[cols]
    return res
