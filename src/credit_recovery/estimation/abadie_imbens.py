"""Abadie-Imbens variance of the nearest-neighbour matching estimator of the ATT (matching with replacement).

With replacement a control's weight counts how often it was used, a random quantity that a regression on
the matched sample treats as fixed (HC3 with the matching weights): such standard errors ignore the
reuse of controls. Abadie and Imbens (2006) give the variance of the matching estimator from the match
structure itself; Abadie and Imbens (2016) add the effect of matching on an *estimated* (logit)
propensity score. Both are here, for any match structure (a variable number of controls per treated
unit, ties, exact-matching strata); nothing here knows about credit recovery.

With :math:`w_{ij}` the weight of control *j* in treated *i*'s match (:math:`\\sum_j w_{ij} = 1`),
:math:`\\hat Y_i(0) = \\sum_j w_{ij} Y_j`, :math:`K_j = \\sum_i w_{ij}`, :math:`K'_j = \\sum_i w_{ij}^2`
(with :math:`M` controls each, :math:`K'_j = K_j / M`) and :math:`N_1` matched treated units,
Abadie and Imbens (2006, Theorem 7) estimate the variance for the population ATT by

.. math::

    \\hat V_{AI} = \\frac{1}{N_1^2}\\Big[\\sum_{i: W_i=1} (Y_i - \\hat Y_i(0) - \\hat\\tau)^2
                 + \\sum_{j: W_j=0} (K_j^2 - K'_j)\\, \\hat\\sigma^2(X_j)\\Big]

(:math:`K_j(K_j - 1)/M^2` with :math:`M` fixed). :math:`\\hat\\sigma^2(X_j)` is the sample variance of
:math:`Y` over control *j* and its :math:`J` nearest controls (ties included) in its stratum; with
:math:`J = 0` it is the constant :math:`\\tfrac{1}{2N_1}\\sum_i\\sum_j w_{ij}(Y_i - Y_j - \\hat\\tau)^2`.
This is ``Matching::Match(..., estimand = "ATT")``'s ``se``:sup:`2`.

Matching on a logit score fitted by maximum likelihood, Abadie and Imbens (2016, Theorem 2) give
:math:`\\hat V = \\hat V_{AI} - c'Vc + d'Vd` with :math:`V = (\\sum_i f_i x_i x_i')^{-1}`,
:math:`f_i = \\hat p_i(1 - \\hat p_i)`,
:math:`c = N_1^{-1}\\sum_i f_i\\,[\\widehat{cov}(x, Y | p, W = 1)_i + \\tfrac{p_i}{1-p_i}\\widehat{cov}(x, Y | p, W = 0)_i]`
and :math:`d = N_1^{-1}\\sum_i f_i x_i (\\hat\\tau_i - \\hat\\tau)`, summed over the matched treated and
the controls (:math:`\\hat\\tau_i = Y_i - \\hat Y_i(0)` for the treated, :math:`\\hat Y_i(1) - Y_i` for
controls, :math:`\\hat Y_i(1)` the mean of their :math:`M` nearest treated). The conditional covariances
are sample covariances over the :math:`J` nearest units of each arm on the metric (self excluded), as
Stata's ``teffects psmatch``.

:func:`abadie_imbens_att` computes them from a data frame and its (treated, control) pairs;
:func:`estimate_att_ai` returns the tidy estimate row. Parity with R's ``Matching::Match`` (``se``)
is tested on ``lalonde``; the 2016 adjustment is checked by simulation (``docs/matching.md``).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Sequence

import numpy as np
import pandas as pd
from scipy import sparse

from credit_recovery.shared.estimate_schema import estimate_row, estimates_frame
from credit_recovery.shared.model_matrix import binary_treatment

__all__ = ["abadie_imbens_att", "estimate_att_ai", "AbadieImbensATT", "nearest_neighbours", "TIE_TOLERANCE"]

#: Ties: a unit whose squared distance is within this of the k-th smallest squared distance is a
#: neighbour too (R Matching's ``distance.tolerance``, on the standardised metric).
TIE_TOLERANCE: float = 1e-5


def _range_neighbours(coords, q, pg, k, exclude_self, tol):
    """One-dimensional search: the k nearest of the pool ``pg`` for each query in ``q`` (plus ties).

    The pool is sorted once; the k-th nearest distance comes from merging the left and right
    neighbours (k vectorised steps), and the neighbours are then the contiguous run of pool units
    within :math:`\\sqrt{d_k^2 + tol}`, found by binary search.
    """
    order = np.argsort(coords[pg, 0], kind="stable")
    a_pos = pg[order]
    a = coords[a_pos, 0]
    P = len(a)
    v = coords[q, 0]
    sorter = np.argsort(a_pos, kind="stable")
    loc = np.minimum(np.searchsorted(a_pos, q, sorter=sorter), P - 1)
    selfpos = np.where(exclude_self & (a_pos[sorter[loc]] == q), sorter[loc], -1)
    s = np.searchsorted(a, v, side="left")
    left_i, right_i, dk = s - 1, s.copy(), np.zeros(len(q))
    for _ in range(k):
        left_i = np.where(left_i == selfpos, left_i - 1, left_i)
        right_i = np.where(right_i == selfpos, right_i + 1, right_i)
        dl = np.where(left_i >= 0, v - a[np.clip(left_i, 0, P - 1)], np.inf)
        dr = np.where(right_i < P, a[np.clip(right_i, 0, P - 1)] - v, np.inf)
        take_left = dl <= dr
        d = np.where(take_left, dl, dr)
        ok = np.isfinite(d)
        dk = np.where(ok, d, dk)
        left_i = np.where(ok & take_left, left_i - 1, left_i)
        right_i = np.where(ok & ~take_left, right_i + 1, right_i)
    bound = dk**2 + tol
    radius = np.sqrt(bound) * (1 + 1e-9) + 1e-300  # a little wide; the exact test is on squared distances
    lo = np.searchsorted(a, v - radius, side="left")
    hi = np.searchsorted(a, v + radius, side="right")
    lengths = hi - lo
    owner = np.repeat(np.arange(len(q)), lengths)
    idx = np.repeat(lo, lengths) + np.arange(lengths.sum()) - np.repeat(np.cumsum(lengths) - lengths, lengths)
    keep = (idx != selfpos[owner]) & ((a[idx] - v[owner]) ** 2 <= bound[owner])
    return owner[keep], a_pos[idx[keep]]


def _brute_neighbours(coords, q, pg, k, exclude_self, tol, chunk_cells: int = 4_000_000):
    """Several dimensions: all squared distances, query block by query block."""
    cp = coords[pg]
    step = max(1, chunk_cells // max(1, len(pg) * coords.shape[1]))
    owners, members = [], []
    for start in range(0, len(q), step):
        qq = q[start:start + step]
        D = ((coords[qq][:, None, :] - cp[None, :, :]) ** 2).sum(axis=2)
        if exclude_self:
            D[qq[:, None] == pg[None, :]] = np.inf
        avail = np.isfinite(D).sum(axis=1)
        kth = np.sort(D, axis=1)[np.arange(len(qq)), np.clip(np.minimum(k, avail) - 1, 0, None)]
        kth[avail == 0] = -np.inf
        o, j = np.nonzero(D <= kth[:, None] + tol)
        owners.append(o + start)
        members.append(pg[j])
    return np.concatenate(owners), np.concatenate(members)


def nearest_neighbours(coords: np.ndarray, groups: np.ndarray, query: np.ndarray, pool: np.ndarray, k: int, *,
                       exclude_self: bool = True, tie_tolerance: float = TIE_TOLERANCE) -> tuple[np.ndarray, np.ndarray]:
    """The ``k`` nearest pool units of each query unit within its group, ties included.

    Parameters
    ----------
    coords : array (n,) or (n, q)
        Metric coordinates of every unit (Euclidean distance on them).
    groups : int array (n,)
        A query unit's neighbours come from pool units of the same group (e.g. arm x stratum).
    query, pool : int arrays
        Positions of the query and pool units.
    k : int
        Number of neighbours; every pool unit with squared distance
        :math:`\\le d_{(k)}^2 + ` ``tie_tolerance`` is one (so there may be more than ``k``), as
        ``Matching``. A group with fewer than ``k`` pool units gives all of them.
    exclude_self : bool
        A query unit that is also in the pool is not its own neighbour.

    Returns
    -------
    (owner, member)
        ``member[r]`` (a position) is a neighbour of ``query[owner[r]]``; sorted by owner, then member.
    """
    coords = np.asarray(coords, dtype=float)
    coords = coords[:, None] if coords.ndim == 1 else coords
    query, pool, groups = np.asarray(query), np.asarray(pool), np.asarray(groups)
    find = _range_neighbours if coords.shape[1] == 1 else _brute_neighbours
    owners, members = [np.empty(0, dtype=np.int64)], [np.empty(0, dtype=np.int64)]
    pool_groups = groups[pool]
    for g in np.unique(groups[query]):
        qi = np.flatnonzero(groups[query] == g)
        pg = pool[pool_groups == g]
        if len(pg):
            o, m = find(coords, query[qi], pg, int(k), bool(exclude_self), float(tie_tolerance))
            owners.append(qi[o])
            members.append(m)
    owner, member = np.concatenate(owners), np.concatenate(members)
    order = np.lexsort((member, owner))
    return owner[order].astype(np.int64), member[order].astype(np.int64)


def _set_means(owner: np.ndarray, values: np.ndarray, n_sets: int) -> tuple[np.ndarray, np.ndarray]:
    """Size and mean of ``values`` (rows) within each set ``owner``."""
    A = sparse.csr_matrix((np.ones(len(owner)), (owner, np.arange(len(owner)))), shape=(n_sets, len(owner)))
    cnt = np.asarray(A.sum(axis=1)).ravel()
    with np.errstate(invalid="ignore", divide="ignore"):
        return cnt, (A @ values) / cnt.reshape((-1,) + (1,) * (values.ndim - 1))


def _conditional_variances(y, groups, coords, query, pool, J, tol):
    """:math:`\\hat\\sigma^2_i`: sample variance (divisor size - 1) of the outcome over unit *i* and its
    ``J`` nearest units of the same group (arm x stratum), as ``Matching``'s ``Var.calc = J``."""
    owner, member = nearest_neighbours(coords, groups, query, pool, J, exclude_self=True, tie_tolerance=tol)
    owner = np.concatenate([owner, np.arange(len(query))])
    vals = np.concatenate([y[member], y[query]])
    cnt, mean = _set_means(owner, vals, len(query))
    ss = np.bincount(owner, weights=(vals - mean[owner]) ** 2, minlength=len(query))
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(cnt > 1, ss / (cnt - 1), np.nan)


def _match_arrays(n, t, c, w):
    """Pair weights normalised to sum to 1 per treated unit, the matched treated units (positions) and
    each unit's :math:`K_j = \\sum_i w_{ij}` and :math:`K'_j = \\sum_i w_{ij}^2`."""
    tot = np.bincount(t, weights=w, minlength=n)
    w = w / tot[t]
    return (w, np.unique(t), np.bincount(c, weights=w, minlength=n), np.bincount(c, weights=w**2, minlength=n))


def _ps_adjustment(y, strata, coords, X, p, treated, controls, yhat0, tau, ratio, J, tol):
    """Abadie-Imbens (2016) terms for the ATT after matching on an estimated logit score.

    Returns ``(c' V c, d' V d)`` with :math:`V = (\\sum_i \\hat p_i(1-\\hat p_i) x_i x_i')^{-1}` (all rows
    of ``X``) and, over the target units *i* (the matched treated and the controls),
    :math:`c = N_1^{-1}\\sum_i f_i\\,(\\widehat{cov}_{1i} + \\tfrac{p_i}{1-p_i}\\widehat{cov}_{0i})`,
    :math:`d = N_1^{-1}\\sum_i f_i\\, x_i (\\hat\\tau_i - \\hat\\tau)`, :math:`f_i = p_i(1-p_i)`.
    """
    f = p * (1 - p)
    V = np.linalg.inv((X * f[:, None]).T @ X)
    target = np.concatenate([treated, controls])
    # controls' imputed Y(1): mean over their `ratio` nearest matched treated units of the same stratum
    o, m = nearest_neighbours(coords, strata, controls, treated, ratio, exclude_self=False, tie_tolerance=tol)
    _, yhat1 = _set_means(o, y[m], len(controls))
    tau_i = np.concatenate([y[treated] - yhat0[treated], yhat1 - y[controls]])
    d = ((f[target] * (tau_i - tau))[:, None] * X[target]).sum(axis=0) / len(treated)
    # cov(x, y | p) in each arm: over the J nearest units of that arm (same stratum), self excluded
    xc = X - X.mean(axis=0)
    yc = y - y[target].mean()
    cov = {}
    for arm, pool in ((1, treated), (0, controls)):
        o, m = nearest_neighbours(coords, strata, target, pool, J, exclude_self=True, tie_tolerance=tol)
        vals = np.column_stack([xc[m], yc[m], xc[m] * yc[m][:, None]])
        cnt, means = _set_means(o, vals, len(target))
        q = X.shape[1]
        sx, sy, sxy = means[:, :q], means[:, q], means[:, q + 1:]
        with np.errstate(invalid="ignore", divide="ignore"):
            cv = (sxy - sx * sy[:, None]) * (cnt / (cnt - 1))[:, None]
        cov[arm] = np.where(np.isfinite(cv), cv, 0.0)
    pt = p[target]
    c = (f[target][:, None] * (cov[1] + (pt / (1 - pt))[:, None] * cov[0])).sum(axis=0) / len(treated)
    return float(c @ V @ c), float(d @ V @ d)


@dataclass
class AbadieImbensATT:
    """Result of :func:`abadie_imbens_att`.

    Attributes
    ----------
    estimate : float
        :math:`\\hat\\tau = N_1^{-1}\\sum_i (Y_i - \\hat Y_i(0))` over the matched treated units.
    variance_ai : float
        Abadie-Imbens (2006) variance (``Matching``'s ``se``\\ :sup:`2`).
    c_term, d_term : float or None
        The 2016 terms :math:`c'Vc` (subtracted) and :math:`d'Vd` (added); ``None`` without a
        propensity model.
    n_treated, n_controls : int
        Matched treated units and distinct controls used (complete pairs).
    var_matches : int
        :math:`J` (0: homoskedastic).
    sigma2 : pandas.Series
        The conditional variances of the controls used (one value for all when ``J = 0``).
    weights : pandas.Series
        :math:`K_j = \\sum_i w_{ij}`, how often each used control serves (in treated-unit shares).
    bias_slopes : pandas.Series or None
        :math:`\\hat\\alpha` of the bias correction (by covariate); ``None`` without it.
    """

    estimate: float
    variance_ai: float
    c_term: float | None
    d_term: float | None
    n_treated: int
    n_controls: int
    var_matches: int
    sigma2: pd.Series = field(repr=False)
    weights: pd.Series = field(repr=False)
    bias_slopes: pd.Series | None = field(default=None, repr=False)

    @property
    def variance(self) -> float:
        """The variance reported: :math:`V_{AI} - c'Vc + d'Vd` with a propensity model, else :math:`V_{AI}`."""
        if self.c_term is None:
            return self.variance_ai
        return self.variance_ai - self.c_term + self.d_term

    @property
    def std_error(self) -> float:
        return float(np.sqrt(self.variance)) if self.variance > 0 else float("nan")

    @property
    def label(self) -> str:
        """``cov_type`` of the tidy row."""
        base = "Abadie-Imbens, homoskedastic" if self.var_matches == 0 else f"Abadie-Imbens (J={self.var_matches})"
        return base + (", estimated-PS adjusted" if self.c_term is not None else "")


def _columns(data: pd.DataFrame, cols: str | Sequence[str] | None) -> list[str]:
    cols = [] if cols is None else [cols] if isinstance(cols, str) else list(cols)
    missing = [c for c in cols if c not in data.columns]
    if missing:
        raise KeyError(f"columns not in data: {missing}")
    return cols


def _complete_pairs(data: pd.DataFrame, pairs: pd.DataFrame, y: np.ndarray, tr: np.ndarray, weight: str | None):
    """Positions of the pairs whose two outcomes are observed, and their weights (1 if ``weight`` is None)."""
    for col in ("treated", "control") + ((weight,) if weight else ()):
        if col not in pairs.columns:
            raise KeyError(f"pairs has no column {col!r}")
    t = data.index.get_indexer(pairs["treated"])
    c = data.index.get_indexer(pairs["control"])
    if (t < 0).any() or (c < 0).any():
        raise ValueError("pairs name units that are not in data's index")
    if not ((tr[t] == 1).all() and (tr[c] == 0).all()):
        raise ValueError("pairs must go from a treated unit to a control unit")
    w = np.ones(len(t)) if weight is None else pairs[weight].to_numpy(dtype=float)
    ok = np.isfinite(y[t]) & np.isfinite(y[c])
    if not ok.any():
        raise ValueError("no pair has both outcomes observed")
    return t[ok], c[ok], w[ok]


def _metric_coords(data: pd.DataFrame, metric: Sequence[str], standardize: bool) -> np.ndarray:
    coords = data[list(metric)].to_numpy(dtype=float)
    if not np.isfinite(coords).all():
        raise ValueError(f"metric columns {list(metric)} have missing or non-finite values")
    if standardize:
        sd = coords.std(axis=0, ddof=1)
        coords = coords / np.where(sd > 0, sd, 1.0)
    return coords


def _bias_correction(data, cols, y, t, c, used, K):
    """Abadie-Imbens (2011): slopes :math:`\\hat\\alpha` of Y on (1, Z) over the used controls, weighted
    by :math:`K_j`, each pair's shift :math:`(Z_i - Z_j)'\\hat\\alpha` of its control's outcome, and
    :math:`Z'\\hat\\alpha` of every unit."""
    Z = data[cols].to_numpy(dtype=float)
    rows = np.union1d(np.unique(t), used)
    if not np.isfinite(Z[rows]).all():
        raise ValueError(f"bias-correction covariates {cols} have missing values among the matched units")
    sw = np.sqrt(K[used])
    A = np.column_stack([np.ones(len(used)), Z[used]]) * sw[:, None]
    coef, *_ = np.linalg.lstsq(A, y[used] * sw, rcond=None)
    alpha = coef[1:]
    return alpha, (Z[t] - Z[c]) @ alpha, Z @ alpha


def _effects(data, bias_cols, bias_variance, y, t, c, w, used, K, treated):
    """Unit effects of the matched treated (bias-corrected with ``bias_cols``) and the outcome, imputed
    :math:`\\hat Y(0)` and pair shifts the variance is computed from: :math:`Y - Z'\\hat\\alpha` with
    ``bias_variance = "residual"`` (on which the corrected estimator is the plain one), else :math:`Y`."""
    if bias_variance not in ("outcome", "residual"):
        raise ValueError(f"bias_variance must be 'outcome' or 'residual'; got {bias_variance!r}")
    n = len(y)
    alpha, pair_shift, fitted = (_bias_correction(data, bias_cols, y, t, c, used, K) if bias_cols
                                 else (None, np.zeros(len(t)), None))
    yhat0 = np.bincount(t, weights=w * (y[c] + pair_shift), minlength=n)
    tau_i = y[treated] - yhat0[treated]
    if fitted is not None and bias_variance == "residual":
        y, pair_shift = y - fitted, np.zeros(len(t))
        yhat0 = np.bincount(t, weights=w * y[c], minlength=n)
    return alpha, y, yhat0, pair_shift, tau_i


def _control_variances(y, tr, t, c, w, pair_shift, tau, N1, used, coords, strata_code, J, tol):
    """:math:`\\hat\\sigma^2(X_j)` of the used controls: the homoskedastic constant with ``J = 0``, else
    :func:`_conditional_variances` within arm and stratum."""
    if J == 0:
        return np.full(len(used), 0.5 * float(np.sum(w * (y[t] - y[c] - pair_shift - tau) ** 2)) / N1)
    sigma2 = _conditional_variances(y, strata_code * 2 + tr, coords, used, np.flatnonzero(np.isfinite(y)), J, tol)
    if np.isnan(sigma2).any():
        raise ValueError("a control used in matching has no other control with an observed outcome in its stratum")
    return sigma2


def abadie_imbens_att(
    data: pd.DataFrame, pairs: pd.DataFrame, outcome: str, treatment: str, *,
    metric: str | Sequence[str],
    strata: str | Sequence[str] | None = None,
    var_matches: int = 4,
    weight: str | None = None,
    ps_design: pd.DataFrame | None = None,
    propensity: str | None = None,
    ratio: int = 1,
    standardize: bool = True,
    tie_tolerance: float = TIE_TOLERANCE,
    bias_adjust: str | Sequence[str] | None = None, bias_variance: str = "outcome",
) -> AbadieImbensATT:
    """Matching estimator of the ATT and its Abadie-Imbens variance, from the match structure.

    Parameters
    ----------
    data : pandas.DataFrame
        Every unit matching drew from (treated and controls, unique index), with the outcome,
        treatment, metric and strata columns.
    pairs : pandas.DataFrame
        One row per (treated, control) match: columns ``treated`` and ``control`` (index labels of
        ``data``) and optionally a ``weight`` column; a treated unit may have any number of controls.
    outcome, treatment : str
        Outcome column (missing values allowed: pairs with a missing outcome are dropped) and 0/1
        treatment column.
    metric : str or sequence of str
        Columns of the matching metric, on which the conditional variances (and, with a propensity
        model, the conditional covariances) are estimated by matching within arm; e.g. the logit
        propensity score. Euclidean distance, after dividing each column by its SD if ``standardize``
        (``Matching``'s ``Weight = 1``).
    strata : str or sequence of str, optional
        Exact-matching columns; within-arm matches stay in the stratum.
    var_matches : int
        :math:`J`, the within-arm matches for :math:`\\hat\\sigma^2` (``Matching``'s ``Var.calc``);
        0 for the homoskedastic estimator.
    weight : str, optional
        Column of ``pairs`` with the pair weights :math:`w_{ij}` (normalised to sum to 1 per treated
        unit); default :math:`1/M_i` for the :math:`M_i` controls of treated unit *i*.
    ps_design, propensity : optional
        The design matrix (with intercept, indexed like ``data``, every row of the propensity fit) of a
        **logit** propensity model and the column of ``data`` with its fitted probabilities: adds the
        Abadie-Imbens (2016) adjustment for matching on the estimated score.
    ratio : int
        :math:`M`, controls per treated unit (imputes the controls' :math:`\\hat Y_i(1)` in the 2016 terms).
    bias_adjust : str or sequence of str, optional
        Covariates :math:`Z` of the Abadie-Imbens (2011) bias correction: each matched control's outcome
        becomes :math:`Y_j + (Z_i - Z_j)'\\hat\\alpha`, with :math:`\\hat\\alpha` the slopes of a least-squares
        regression of :math:`Y` on :math:`(1, Z)` over the used controls weighted by :math:`K_j`
        (``Matching::Match(..., BiasAdjust = TRUE, Z = Z)``). The variance keeps its formula with the
        corrected unit effects. ``bias_variance``: ``"outcome"`` (``Matching``'s) estimates the conditional
        variances (and 2016 terms) of :math:`Y`; ``"residual"`` those of :math:`Y - Z'\\hat\\alpha`, on which
        the corrected estimator is the plain matching estimator (:math:`\\hat\\alpha` taken as fixed).

    Returns
    -------
    AbadieImbensATT

    Notes
    -----
    Formulas: module docstring. R's ``Matching`` with a caliper counts dropped treated units as zero
    effects in :math:`N_1`; here they are left out. Neighbour searches stay in their exact stratum.
    """
    metric_cols, strata_cols = _columns(data, metric), _columns(data, strata)
    if not metric_cols:
        raise ValueError("metric needs at least one column")
    tr = binary_treatment(data, treatment, both_values=False).astype(int)
    y = data[outcome].to_numpy(dtype=float)
    t, c, w = _complete_pairs(data, pairs, y, tr, weight)
    n = len(data)
    w, treated, K, KK = _match_arrays(n, t, c, w)
    used = np.unique(c)
    bias_cols = _columns(data, bias_adjust)
    alpha, y, yhat0, pair_shift, tau_i = _effects(data, bias_cols, bias_variance, y, t, c, w, used, K, treated)
    tau, N1 = float(tau_i.mean()), len(treated)
    coords = _metric_coords(data, metric_cols, standardize)
    strata_code = (data.groupby(strata_cols, sort=True).ngroup().to_numpy() if strata_cols
                   else np.zeros(n, dtype=np.int64))
    sigma2_used = _control_variances(y, tr, t, c, w, pair_shift, tau, N1, used, coords, strata_code,
                                     int(var_matches), tie_tolerance)
    v_ai = (float(np.sum((tau_i - tau) ** 2)) + float(np.sum((K[used] ** 2 - KK[used]) * sigma2_used))) / N1**2
    c_term = d_term = None
    if ps_design is not None or propensity is not None:
        if ps_design is None or propensity is None or int(var_matches) < 2:
            raise ValueError("the propensity adjustment needs ps_design, propensity and var_matches >= 2")
        controls = np.flatnonzero((tr == 0) & np.isfinite(y) & np.isin(strata_code, strata_code[treated]))
        X = ps_design.reindex(data.index).to_numpy(dtype=float)
        c_term, d_term = _ps_adjustment(y, strata_code, coords, X, data[propensity].to_numpy(dtype=float), treated,
                                        controls, yhat0, tau, int(ratio), int(var_matches), tie_tolerance)
    labels = data.index[used]
    return AbadieImbensATT(
        estimate=tau, variance_ai=v_ai, c_term=c_term, d_term=d_term, n_treated=N1, n_controls=len(used),
        var_matches=int(var_matches), sigma2=pd.Series(sigma2_used, index=labels, name="sigma2"),
        weights=pd.Series(K[used], index=labels, name="K"),
        bias_slopes=None if alpha is None else pd.Series(alpha, index=bias_cols, name="alpha"),
    )


def estimate_att_ai(data: pd.DataFrame, pairs: pd.DataFrame, outcome: str, treatment: str, *,
                    estimator: str = "nearest-neighbour matching", sample: str = "matched", estimand_id: str = "",
                    level: float = 0.95, **options) -> pd.DataFrame:
    """One tidy row (:mod:`credit_recovery.shared.estimate_schema`) of :func:`abadie_imbens_att`.

    ``options`` go to :func:`abadie_imbens_att`; ``cov_type`` is :attr:`AbadieImbensATT.label`, ``n``
    the matched treated units plus the distinct controls used, and the interval is normal (the
    estimator's large-sample distribution).
    """
    r = abadie_imbens_att(data, pairs, outcome, treatment, **options)
    row = estimate_row(
        outcome=outcome, treatment=treatment, estimand="ATT", estimator=estimator, sample=sample,
        estimate=r.estimate, std_error=r.std_error, n=r.n_treated + r.n_controls, estimand_id=estimand_id,
        cov_type=r.label, level=level,
    )
    return estimates_frame([row])
