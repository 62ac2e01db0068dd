"""Fixed-effects outcome models with honest few-cluster inference.

One entry point, :func:`fit_fixed_effects`, estimates a linear model with
high-dimensional fixed effects written in a fixest-style formula::

    y ~ x1 + x2 | student + school^year

The fixed effects are absorbed with :class:`linearmodels.iv.absorbing.AbsorbingLS`
(which uses ``pyhdfe``); the covariance estimators are computed here, on the
absorbed data, so that every small-sample convention is explicit:

``unadjusted``  classical OLS covariance;
``robust``      HC1;
``clustered``   CR1 with the Stata/reghdfe factor G/(G-1)·(N-1)/(N-K);
``cr2``         Bell-McCaffrey CR2 with Satterthwaite (Bell-McCaffrey)
                degrees of freedom, the full hat matrix including the
                absorbed fixed effects (Pustejovsky & Tipton 2018);
``wild``        wild cluster bootstrap-t (WCR: null imposed, Rademacher or
                Webb weights), p-values and confidence intervals by test
                inversion.

Specification (the formula), covariance choice and results are kept apart:
:func:`parse_formula` returns a :class:`FixedEffectsFormula`, the covariance
is chosen by ``cov_type`` (validated in :func:`_check_option`), and the fit
returns a :class:`FixedEffectsResult` whose coefficients are labelled by
variable name and whose :meth:`FixedEffectsResult.to_rows` gives rows of the
project's tidy estimate schema. See ``docs/models.md``.
"""
from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from typing import Any, Sequence

import numpy as np
import pandas as pd
from scipy import stats

from credit_recovery.shared.estimate_schema import estimate_row, estimates_frame

__all__ = [
    "fit_fixed_effects",
    "parse_formula",
    "FixedEffectsFormula",
    "FixedEffectsResult",
    "COV_TYPES",
    "BOOTSTRAP_WEIGHTS",
    "FE_DOF",
]

#: Allowed values of ``cov_type``.
COV_TYPES: tuple[str, ...] = ("unadjusted", "robust", "clustered", "cr2", "wild")
#: Allowed values of ``bootstrap_weights``.
BOOTSTRAP_WEIGHTS: tuple[str, ...] = ("rademacher", "webb")
#: Allowed values of ``fe_dof`` (which absorbed fixed effects K counts in CR1).
FE_DOF: tuple[str, ...] = ("nested", "all")

_CLUSTER_TYPES = ("clustered", "cr2", "wild")
_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_.]*$")
_WEBB = np.array([-math.sqrt(1.5), -1.0, -math.sqrt(0.5), math.sqrt(0.5), 1.0, math.sqrt(1.5)])


def _check_option(name: str, value: Any, allowed: Sequence[str]) -> str:
    """The one place where string options are validated."""
    if not isinstance(value, str) or value.lower() not in allowed:
        raise ValueError(f"{name}={value!r} is not allowed; allowed values are {list(allowed)}")
    return value.lower()


# ---------------------------------------------------------------------------
# formula
# ---------------------------------------------------------------------------
@dataclass(frozen=True)
class FixedEffectsFormula:
    """A parsed ``y ~ x1 + x2 | fe1 + fe2^fe3`` formula.

    Attributes
    ----------
    outcome : str
    regressors : tuple of str
        Column names of the regressors, in formula order.
    fixed_effects : tuple of tuple of str
        One tuple per fixed effect; a tuple of several columns (``a^b``) means
        one effect per observed combination.
    """

    outcome: str
    regressors: tuple[str, ...]
    fixed_effects: tuple[tuple[str, ...], ...] = ()

    @property
    def intercept(self) -> bool:
        """An intercept is estimated only when there are no fixed effects."""
        return not self.fixed_effects

    @property
    def fe_label(self) -> str:
        """Fixed effects as written in the formula (``"none"`` without any)."""
        if not self.fixed_effects:
            return "none"
        return " + ".join("^".join(t) for t in self.fixed_effects)

    @property
    def columns(self) -> list[str]:
        cols = [self.outcome, *self.regressors, *(c for t in self.fixed_effects for c in t)]
        return list(dict.fromkeys(cols))


def parse_formula(formula: str) -> FixedEffectsFormula:
    """Parse a fixest-style formula ``y ~ x1 + x2 | fe1 + fe2^fe3``.

    Parameters
    ----------
    formula : str
        ``outcome ~ regressors [| fixed effects]``. Regressors and fixed
        effects are column names joined by ``+``; ``a^b`` after the bar is one
        fixed effect per combination of ``a`` and ``b``. Without a bar the
        model has an intercept and no fixed effects; with a bar the intercept
        is absorbed by the fixed effects and not reported. Transformations
        (``log(x)``, ``C(x)``, ``x1:x2``) are not part of the grammar: create
        the column first.

    Returns
    -------
    FixedEffectsFormula

    Raises
    ------
    ValueError
        If the formula does not follow the grammar.
    """
    if not isinstance(formula, str) or formula.count("~") != 1:
        raise ValueError(f"formula must be 'y ~ x1 + x2 | fe1 + fe2'; got {formula!r}")
    lhs, rhs = (s.strip() for s in formula.split("~"))
    if rhs.count("|") > 1:
        raise ValueError(f"formula has more than one '|': {formula!r}")
    reg_part, _, fe_part = rhs.partition("|")

    def names(part: str, what: str) -> list[str]:
        out = [t.strip() for t in part.split("+")]
        bad = [t for t in out if not _NAME.match(t)]
        if bad:
            raise ValueError(
                f"{what} {bad} in formula {formula!r} are not column names; the grammar is "
                "'y ~ x1 + x2 | fe1 + fe2^fe3' with plain column names"
            )
        return out

    if not _NAME.match(lhs):
        raise ValueError(f"outcome {lhs!r} in formula {formula!r} is not a column name")
    regressors = names(reg_part, "regressors")
    if len(set(regressors)) != len(regressors):
        raise ValueError(f"duplicated regressor in formula {formula!r}")
    fixed: list[tuple[str, ...]] = []
    if "|" in rhs:
        names(fe_part.replace("^", "+"), "fixed effects")  # validates every column name
        for term in fe_part.split("+"):
            fixed.append(tuple(c.strip() for c in term.split("^")))
        if len(set(fixed)) != len(fixed):
            raise ValueError(f"duplicated fixed effect in formula {formula!r}")
    if lhs in regressors:
        raise ValueError(f"outcome {lhs!r} is also a regressor in {formula!r}")
    return FixedEffectsFormula(lhs, tuple(regressors), tuple(fixed))


# ---------------------------------------------------------------------------
# helpers
# ---------------------------------------------------------------------------
def _codes(frame: pd.DataFrame, cols: Sequence[str]) -> np.ndarray:
    """Integer codes 0..L-1 of the combinations of ``cols`` (order of appearance)."""
    code = np.zeros(len(frame), dtype=np.int64)
    for c in cols:
        k, uniq = pd.factorize(frame[c], sort=False)
        code = code * max(len(uniq), 1) + k
    return pd.factorize(code, sort=False)[0].astype(np.int64)


#: Convergence tolerance of the iterative absorption (max abs change between iterations).
ABSORB_TOL: float = 1e-10


def _hdfe_options(n_fe: int, weighted: bool) -> dict[str, Any]:
    """pyhdfe.create options: exact within transform for one fixed effect; otherwise
    alternating projections, symmetric Kaczmarz with conjugate-gradient acceleration
    (non-accelerated when weighted: pyhdfe supports weights only there)."""
    if n_fe == 1:
        return {"residualize_method": "within"}
    opts: dict[str, Any] = {"tol": ABSORB_TOL, "iteration_limit": 100_000}
    if not weighted:
        opts.update(transform="symmetric", acceleration="cg")
    return {"residualize_method": "map", "options": opts}


class _Absorber:
    """M_D: residualize columns on the fixed effects, in the sqrt(w)-scaled space."""

    def __init__(self, fe_codes: np.ndarray | None, weights: np.ndarray | None):
        self.fe = fe_codes
        self.sw = None if weights is None else np.sqrt(weights)
        self.w = weights
        self._alg = None
        if fe_codes is not None:
            import pyhdfe

            self._alg = pyhdfe.create(
                fe_codes, drop_singletons=False, compute_degrees=False,
                **_hdfe_options(fe_codes.shape[1], weighted=weights is not None),
            )

    def __call__(self, z: np.ndarray) -> np.ndarray:
        z = np.asarray(z, dtype=float)
        if self._alg is None:
            return z.copy()
        two_d = z.reshape(z.shape[0], -1)
        if self.w is None:
            out = self._alg.residualize(two_d)
        else:
            out = self._alg.residualize(two_d / self.sw[:, None], weights=self.w[:, None])
            out = out * self.sw[:, None]
        return out.reshape(z.shape)


def _fe_degrees(fe_codes: np.ndarray | None, clusters: np.ndarray | None) -> int:
    """Degrees of freedom absorbed by the fixed effects (pyhdfe, reghdfe rules)."""
    if fe_codes is None:
        return 0
    import pyhdfe

    alg = pyhdfe.create(
        fe_codes, cluster_ids=None if clusters is None else clusters.reshape(-1, 1),
        drop_singletons=False, compute_degrees=True,
    )
    return int(alg.degrees)


def _group_sum(values: np.ndarray, codes: np.ndarray, n_groups: int) -> np.ndarray:
    """Sum the rows of ``values`` (N x k) within groups -> (n_groups x k)."""
    from scipy import sparse

    values = np.asarray(values, dtype=float)
    v2 = values.reshape(values.shape[0], -1)
    ind = sparse.csr_matrix(
        (np.ones(codes.size), (codes, np.arange(codes.size))), shape=(n_groups, codes.size)
    )
    out = np.asarray(ind @ v2)
    return out.reshape((n_groups,) + values.shape[1:])


def _wild_weights(n_clusters: int, reps: int, kind: str, seed: int) -> np.ndarray:
    """Bootstrap weights, one column per replicate (n_clusters x B).

    Rademacher weights are fully enumerated (B = 2**G, deterministic) when
    2**G <= reps; otherwise weights are drawn with ``numpy.random.default_rng(seed)``.
    """
    kind = _check_option("bootstrap_weights", kind, BOOTSTRAP_WEIGHTS)
    if kind == "rademacher" and n_clusters <= 20 and 2**n_clusters <= reps:
        grid = (np.arange(2**n_clusters)[None, :] >> np.arange(n_clusters)[:, None]) & 1
        return (1.0 - 2.0 * grid).astype(float)
    rng = np.random.default_rng(seed)
    if kind == "rademacher":
        return rng.integers(0, 2, size=(n_clusters, reps)).astype(float) * 2.0 - 1.0
    return _WEBB[rng.integers(0, 6, size=(n_clusters, reps))]


# ---------------------------------------------------------------------------
# covariance estimators
# ---------------------------------------------------------------------------
#: Largest total number of fixed-effect levels for which CR2 projects on the
#: dummies exactly (dense (D'D)^+); above it the projection is iterative.
CR2_DENSE_LEVELS: int = 2000


def _cr2_clusters(codes: np.ndarray, n_clusters: int, n: int, p: int, max_cluster_size: int,
                  weighted: bool) -> tuple[np.ndarray, np.ndarray]:
    """Rows sorted by cluster and the cluster bounds; refuses problems too large for CR2."""
    order = np.argsort(codes, kind="stable")
    bounds = np.searchsorted(codes[order], np.arange(n_clusters + 1))
    largest = int(np.diff(bounds).max())
    if largest > max_cluster_size:
        raise ValueError(
            f"cov_type='cr2' needs a dense n_g x n_g matrix per cluster and the largest cluster has "
            f"{largest} rows (> max_cluster_size={max_cluster_size}); use cov_type='wild' "
            "for few large clusters"
        )
    if n * n_clusters * p > 3e8 or (weighted and n * largest > 3e8):
        what = f"an N x G x K array ({n} x {n_clusters} x {p})"
        if weighted:
            what += f" and, weighted, an N x n_g array per cluster ({n} x {largest})"
        raise ValueError(
            f"cov_type='cr2' degrees of freedom need {what}; "
            "too large: use cov_type='clustered' (many clusters) or 'wild' (few clusters)"
        )
    return order, bounds


def _inv_sqrt_psd(m: np.ndarray) -> np.ndarray:
    """Symmetric pseudo-inverse square root (eigenvalues <= 1e-10 of the largest set to 0)."""
    m = (m + m.T) / 2
    vals, vecs = np.linalg.eigh(m)
    keep = vals > 1e-10 * max(vals.max(), 1.0)
    inv_sqrt = np.zeros_like(vals)
    inv_sqrt[keep] = 1.0 / np.sqrt(vals[keep])
    return (vecs * inv_sqrt) @ vecs.T


def _dense_dummies(fe_codes: np.ndarray, values: np.ndarray):
    """``(D, (D'D)^+, levels)``: the sparse dummies of all fixed effects (entries ``values``) and the
    pseudo-inverse of their cross-product, or ``(None, None, levels)`` above :data:`CR2_DENSE_LEVELS`."""
    from scipy import sparse

    n = fe_codes.shape[0]
    levels = [int(fe_codes[:, k].max()) + 1 for k in range(fe_codes.shape[1])]
    if sum(levels) > CR2_DENSE_LEVELS:
        return None, None, levels
    D = sparse.hstack([sparse.csr_matrix((values, (np.arange(n), fe_codes[:, k])), shape=(n, L))
                       for k, L in enumerate(levels)]).tocsr()
    return D, np.linalg.pinv((D.T @ D).toarray(), hermitian=True), levels


def _cr2_finish(bread: np.ndarray, meat_scores: np.ndarray, F: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """CR2 covariance from the adjusted cluster scores, and the Satterthwaite df from the f_g columns."""
    cov = bread @ (meat_scores.T @ meat_scores) @ bread
    dfs = np.empty(F.shape[2])
    for k in range(F.shape[2]):
        om = F[:, :, k].T @ F[:, :, k]
        dfs[k] = np.trace(om) ** 2 / np.sum(om * om)
    return cov, dfs


def _cr2(
    xt: np.ndarray, e: np.ndarray, codes: np.ndarray, n_clusters: int, bread: np.ndarray,
    absorb: _Absorber, max_cluster_size: int, fe_codes: np.ndarray | None,
) -> tuple[np.ndarray, np.ndarray]:
    """CR2 covariance and Bell-McCaffrey degrees of freedom (one per coefficient).

    ``(M_D)_gg`` and ``M_D E_g p_g`` come from the dummies D directly when the fixed
    effects have at most :data:`CR2_DENSE_LEVELS` levels in total
    (``M_D = I - D (D'D)^+ D'``), otherwise from absorbing unit vectors.
    """
    n, p = xt.shape
    order, bounds = _cr2_clusters(codes, n_clusters, n, p, max_cluster_size, weighted=False)
    D = Ginv = W = None
    dense = True
    if fe_codes is not None:
        D, Ginv, levels = _dense_dummies(fe_codes, np.ones(n))
        dense = D is not None
        if dense:
            W = np.zeros((D.shape[1], n_clusters, p))
            fe_levels = fe_codes + np.concatenate([[0], np.cumsum(levels)[:-1]])[None, :]
    xb = xt @ bread  # N x p : rows x_i' (X'X)^-1
    meat_scores = np.zeros((n_clusters, p))
    F = np.zeros((n, n_clusters, p))
    Q = np.zeros((n_clusters, p, p))
    batch = 2048
    g = 0
    while g < n_clusters:
        # clusters g..h-1 in this batch, at most `batch` columns
        h = g + 1
        while h < n_clusters and bounds[h + 1] - bounds[g] <= batch:
            h += 1
        rows = order[bounds[g]:bounds[h]]
        R = None
        if not dense:
            E = np.zeros((n, rows.size))
            E[rows, np.arange(rows.size)] = 1.0
            R = absorb(E)  # M_D E, N x cols
        for c in range(g, h):
            lo, hi = bounds[c] - bounds[g], bounds[c + 1] - bounds[g]
            idx = rows[lo:hi]
            if R is not None:
                mdgg = R[idx, lo:hi]
            elif D is not None:
                # (D Ginv D')_ab = sum over fixed-effect pairs of Ginv[level_a, level_b]
                lv = fe_levels[idx]  # n_g x n_fe column indices into D
                mdgg = np.eye(idx.size)
                for k1 in range(lv.shape[1]):
                    for k2 in range(lv.shape[1]):
                        mdgg -= Ginv[np.ix_(lv[:, k1], lv[:, k2])]
            else:
                mdgg = np.eye(idx.size)
            A = _inv_sqrt_psd(mdgg - xt[idx] @ bread @ xt[idx].T)  # (I - H_gg)^(-1/2)
            meat_scores[c] = xt[idx].T @ (A @ e[idx])
            pg = A @ xb[idx]  # n_g x p, columns p_g for each coefficient
            if R is not None:
                F[:, c, :] = R[:, lo:hi] @ pg
            else:
                F[idx, c, :] = pg
                if D is not None:
                    for k1 in range(lv.shape[1]):
                        np.add.at(W[:, c, :], lv[:, k1], pg)  # D_g' p_g
            Q[c] = xt[idx].T @ pg
        g = h
    # f_g = M_D E_g p_g - X B X_g' p_g, the second term for all clusters at once
    F -= (xb @ Q.transpose(1, 0, 2).reshape(p, n_clusters * p)).reshape(n, n_clusters, p)
    if W is not None:  # M_D E_g p_g = E_g p_g - D (D'D)^+ D_g' p_g
        F -= np.asarray(D @ (Ginv @ W.reshape(W.shape[0], -1))).reshape(n, n_clusters, p)
    return _cr2_finish(bread, meat_scores, F)


def _cr2_weighted(
    xt: np.ndarray, e: np.ndarray, sw: np.ndarray, codes: np.ndarray, n_clusters: int, bread: np.ndarray,
    absorb: _Absorber, max_cluster_size: int, fe_codes: np.ndarray | None,
) -> tuple[np.ndarray, np.ndarray]:
    """CR2 covariance and Bell-McCaffrey degrees of freedom of a weighted (WLS) fit.

    The working model is the identity, as in ``estimatr::lm_robust(weights=,
    se_type="CR2")`` and ``clubSandwich::vcovCR`` on a weighted ``lm``. With
    ``S = diag(sw)``, the transformed hat matrix ``H~`` (dummies included) and
    ``R_g = (I - H~)[:, g]``: ``B_g = S_g^-1 R_g' W R_g S_g^-1``,
    ``A_g = B_g^(-1/2)``, score ``X~_g' S_g A_g S_g^-1 e~_g`` and
    ``f_g = S R_g S_g^-1 A_g S_g X~_g B c``. Costs O(N * sum_g n_g) time.
    """
    n, p = xt.shape
    order, bounds = _cr2_clusters(codes, n_clusters, n, p, max_cluster_size, weighted=True)
    D = Ginv = None
    if fe_codes is not None:
        D, Ginv, _ = _dense_dummies(fe_codes, sw)
    xb = xt @ bread
    meat_scores = np.zeros((n_clusters, p))
    F = np.zeros((n, n_clusters, p))
    for c in range(n_clusters):
        idx = order[bounds[c]:bounds[c + 1]]
        E = np.zeros((n, idx.size))
        E[idx, np.arange(idx.size)] = 1.0
        if D is not None:
            mde = E - np.asarray(D @ (Ginv @ D[idx].T.toarray()))
        elif fe_codes is not None:
            mde = absorb(E)
        else:
            mde = E
        R = mde - xb @ xt[idx].T  # (I - H~)[:, g]
        s_inv = 1.0 / sw[idx]
        A = _inv_sqrt_psd((R.T @ (R * (sw * sw)[:, None])) * np.outer(s_inv, s_inv))  # B_g^(-1/2)
        meat_scores[c] = xt[idx].T @ (sw[idx] * (A @ (s_inv * e[idx])))
        pg = A @ (sw[idx][:, None] * xb[idx])  # n_g x p
        F[:, c, :] = sw[:, None] * (R @ (s_inv[:, None] * pg))
    return _cr2_finish(bread, meat_scores, F)


@dataclass
class _WildPieces:
    """Quantities of the WCR bootstrap that are linear/quadratic in the null value."""

    n0: np.ndarray
    n1: np.ndarray
    a0: np.ndarray
    a1: np.ndarray
    a2: np.ndarray
    beta: float
    se: float

    def t_star(self, b0: float) -> np.ndarray:
        num = self.n0 - b0 * self.n1
        den2 = np.maximum(self.a0 - 2 * b0 * self.a1 + b0 * b0 * self.a2, 0.0)
        with np.errstate(divide="ignore", invalid="ignore"):
            t = num / np.sqrt(den2)
        return np.where(den2 > 0, t, 0.0)

    def p_value(self, b0: float) -> float:
        t_obs = (self.beta - b0) / self.se
        ts = self.t_star(b0)
        return float(np.mean(np.abs(ts) >= abs(t_obs) * (1 - 1e-12)))


def _wild_pieces(
    xt: np.ndarray, yt: np.ndarray, j: int, codes: np.ndarray, n_clusters: int,
    bread: np.ndarray, absorb: _Absorber, nested: bool, V: np.ndarray, beta: float, se: float,
    factor: float,
) -> _WildPieces:
    """Restricted-residual wild cluster bootstrap for coefficient ``j``.

    With u(b0) = u0 - b0*m the restricted residuals, the bootstrap numerator and the
    cluster scores are linear in b0, so t*(b0) is available in closed form.
    """
    xr = np.delete(xt, j, axis=1)
    x = xt[:, j]
    if xr.shape[1]:
        coef = np.linalg.lstsq(xr, np.column_stack([yt, x]), rcond=None)[0]
        U = np.column_stack([yt, x]) - xr @ coef
    else:
        U = np.column_stack([yt, x])
    r = bread[j]
    xr_row = xt @ r  # (X r)_i
    B = _group_sum(xr_row[:, None] * xt, codes, n_clusters)  # G x p : r' X_g' X_g
    Rq = None
    if not nested:
        # a_gh = (X r 1_g)' M_D (z 1_h) = (M_D (X r 1_g))' (z 1_h): one absorption of G columns
        Zq = np.zeros((xt.shape[0], n_clusters))
        Zq[np.arange(xt.shape[0]), codes] = xr_row
        Rq = absorb(Zq)
    parts = []
    for z in (U[:, 0], U[:, 1]):
        S = _group_sum(xt * z[:, None], codes, n_clusters)  # G x p : X_h' z_h
        delta = S @ r
        if nested:
            a = np.diag(delta)
        else:
            a = _group_sum(Rq * z[:, None], codes, n_clusters).T  # a_gh
        C = a - B @ bread @ S.T
        parts.append((delta @ V, C @ V))
    (n0, c0), (n1, c1) = parts
    return _WildPieces(
        n0=n0, n1=n1,
        a0=factor * np.sum(c0 * c0, axis=0), a1=factor * np.sum(c0 * c1, axis=0),
        a2=factor * np.sum(c1 * c1, axis=0), beta=beta, se=se,
    )


def _invert(pieces: _WildPieces, alpha: float, t_crit: float) -> tuple[float, float]:
    """Confidence interval {b0 : p(b0) > alpha} by bisection on each side."""
    out = []
    for sign in (-1.0, 1.0):
        inner = pieces.beta
        step = max(pieces.se, 1e-300) * max(t_crit, 1.0)
        outer = pieces.beta + sign * step
        k = 0
        while pieces.p_value(outer) > alpha:
            inner = outer
            step *= 2.0
            outer = pieces.beta + sign * step
            k += 1
            if k > 60:
                outer = sign * math.inf
                break
        if not math.isfinite(outer):
            out.append(outer)
            continue
        for _ in range(80):
            mid = 0.5 * (inner + outer)
            if pieces.p_value(mid) > alpha:
                inner = mid
            else:
                outer = mid
            if abs(outer - inner) <= 1e-10 * max(pieces.se, 1e-300):
                break
        out.append(0.5 * (inner + outer))
    return out[0], out[1]


# ---------------------------------------------------------------------------
# result
# ---------------------------------------------------------------------------
@dataclass
class FixedEffectsResult:
    """Result of :func:`fit_fixed_effects`.

    Attributes
    ----------
    params, std_errors, df, pvalues : pandas.Series
        Coefficients, standard errors, degrees of freedom of the t reference
        (``inf`` = normal) and p-values (H0: coefficient = 0), indexed by
        regressor name. For ``cov_type='wild'`` the p-values are the
        bootstrap p-values and ``std_errors`` the CR1 standard errors.
    cov : pandas.DataFrame
        Covariance matrix of the coefficients.
    ci : pandas.DataFrame
        Confidence intervals (``ci_low``, ``ci_high``) at ``level``.
    nobs : int
        Observations used (after dropping missing values and singletons).
    n_clusters : int or None
    n_dropped_missing, n_dropped_singletons : int
    k_dof : int
        The K of the small-sample factor (regressors + counted fixed-effect
        degrees of freedom); ``k_absorbed`` are all degrees of freedom that the
        fixed effects absorb.
    small_sample_factor : float
        Factor applied to the raw sandwich (1 if ``small_sample=False``).
    bootstrap : dict
        For ``cov_type='wild'``: per term, ``t_obs``, ``t_star`` (draws under
        H0: coefficient = 0), ``reps``.
    """

    spec: FixedEffectsFormula
    params: pd.Series
    std_errors: pd.Series
    df: pd.Series
    pvalues: pd.Series
    cov: pd.DataFrame
    ci: pd.DataFrame
    cov_type: str
    level: float
    nobs: int
    n_clusters: int | None
    n_dropped_missing: int
    n_dropped_singletons: int
    k_dof: int
    k_absorbed: int
    small_sample_factor: float
    cluster: str | None = None
    bootstrap: dict[str, dict[str, Any]] = field(default_factory=dict)

    @property
    def tstats(self) -> pd.Series:
        return self.params / self.std_errors

    @property
    def fixed_effects(self) -> str:
        return self.spec.fe_label

    def tidy(self) -> pd.DataFrame:
        """One row per coefficient: term, estimate, std_error, statistic, df, p_value, ci_low, ci_high."""
        return pd.DataFrame({
            "term": list(self.params.index),
            "estimate": self.params.to_numpy(),
            "std_error": self.std_errors.to_numpy(),
            "statistic": self.tstats.to_numpy(),
            "df": self.df.to_numpy(),
            "p_value": self.pvalues.to_numpy(),
            "ci_low": self.ci["ci_low"].to_numpy(),
            "ci_high": self.ci["ci_high"].to_numpy(),
        })

    def to_rows(
        self,
        treatment: str | Sequence[str] | None = None,
        *,
        outcome: str | None = None,
        estimand_id: str = "",
        estimand: str = "",
        sample: str = "",
        estimator: str = "fixed_effects_ols",
    ) -> pd.DataFrame:
        """Rows of the tidy estimate schema (:data:`credit_recovery.ESTIMATE_COLUMNS`).

        Parameters
        ----------
        treatment : str or sequence of str, optional
            Coefficient(s) to report; all regressors (not the intercept) by default.
        outcome : str, optional
            Defaults to the formula's outcome.
        """
        if treatment is None:
            terms = [t for t in self.params.index if t != "Intercept"]
        else:
            terms = [treatment] if isinstance(treatment, str) else list(treatment)
        unknown = [t for t in terms if t not in self.params.index]
        if unknown:
            raise ValueError(f"treatment {unknown} is not a coefficient; coefficients are {list(self.params.index)}")
        rows = []
        for t in terms:
            df = float(self.df[t])
            row = estimate_row(
                outcome=outcome or self.spec.outcome, treatment=t, estimand=estimand,
                estimator=estimator, sample=sample, estimate=float(self.params[t]),
                std_error=float(self.std_errors[t]), n=self.nobs, estimand_id=estimand_id,
                fixed_effects=self.spec.fe_label, cov_type=self.cov_type,
                n_clusters=self.n_clusters, df=df if math.isfinite(df) else None, level=self.level,
            )
            row["p_value"] = float(self.pvalues[t])
            row["ci_low"] = float(self.ci.loc[t, "ci_low"])
            row["ci_high"] = float(self.ci.loc[t, "ci_high"])
            rows.append(row)
        return estimates_frame(rows)

    def summary(self) -> str:
        head = (
            f"{self.spec.outcome} ~ {' + '.join(self.spec.regressors)} | {self.spec.fe_label}; "
            f"cov_type={self.cov_type}, N={self.nobs}, clusters={self.n_clusters}, "
            f"dropped: {self.n_dropped_missing} missing, {self.n_dropped_singletons} singletons"
        )
        return head + "\n" + self.tidy().to_string(index=False)


# ---------------------------------------------------------------------------
# fit
# ---------------------------------------------------------------------------
def fit_fixed_effects(
    data: pd.DataFrame,
    formula: str,
    *,
    cluster: str | None = None,
    weights: str | None = None,
    cov_type: str = "clustered",
    small_sample: bool = True,
    fe_dof: str = "nested",
    bootstrap_reps: int = 999,
    bootstrap_weights: str = "rademacher",
    bootstrap_terms: Sequence[str] | None = None,
    seed: int = 0,
    level: float = 0.95,
    drop_singletons: bool = True,
    max_cluster_size: int = 5000,
) -> FixedEffectsResult:
    r"""Linear model with absorbed fixed effects and a chosen covariance estimator.

    Parameters
    ----------
    data : pandas.DataFrame
    formula : str
        ``"y ~ x1 + x2 | fe1 + fe2^fe3"`` (see :func:`parse_formula`).
    cluster : str, optional
        Column with cluster identifiers; required for ``clustered``, ``cr2``
        and ``wild``.
    weights : str, optional
        Column of non-negative analytic weights (WLS); rows with weight 0 are
        dropped as missing. With ``cov_type='cr2'`` the working model is the
        identity (the convention of ``estimatr`` and ``clubSandwich`` for a
        weighted ``lm``; see ``docs/models.md``).
    cov_type : {"unadjusted", "robust", "clustered", "cr2", "wild"}
    small_sample : bool
        Apply the small-sample factors in Notes (unadjusted, robust, clustered
        and the CR1 standard error reported with ``wild``).
    fe_dof : {"nested", "all"}
        Which absorbed fixed-effect degrees of freedom K counts in the CR1
        factor. ``"nested"`` (default; Stata ``xtreg, fe`` / ``reghdfe``):
        fixed effects nested within the clusters are not counted. ``"all"``:
        every absorbed degree of freedom is counted, as in the dummy-variable
        regression with ``sandwich::vcovCL(type = "HC1")`` or Stata ``areg``.
    bootstrap_reps : int
        Wild bootstrap replicates B (Rademacher weights are enumerated when
        2**G <= B).
    bootstrap_weights : {"rademacher", "webb"}
    bootstrap_terms : sequence of str, optional
        Coefficients that get wild bootstrap p-values and intervals (all by
        default); the others get CR1 inference with t(G-1).
    seed : int
        Seed of the bootstrap weights.
    level : float
        Confidence level of the intervals.
    drop_singletons : bool
        Iteratively drop observations that are alone in a fixed-effect group
        (they are fitted perfectly and carry no information; reghdfe/fixest
        convention). The number dropped is ``n_dropped_singletons``.
    max_cluster_size : int
        Largest cluster allowed with ``cr2`` (dense n_g x n_g algebra).

    Returns
    -------
    FixedEffectsResult

    Raises
    ------
    ValueError
        Unknown option (the message lists the allowed values), missing column,
        malformed formula, no cluster for a clustered covariance, fewer than 2
        clusters, no degrees of freedom left.

    Notes
    -----
    Let :math:`\tilde X, \tilde y` be the regressors and outcome with the fixed
    effects absorbed (within transformation; scaled by :math:`\sqrt{w}` when
    weighted), :math:`e = \tilde y - \tilde X\hat\beta`,
    :math:`B = (\tilde X'\tilde X)^{-1}`, N observations, G clusters, p
    regressors, :math:`K_a` = p + all degrees of freedom absorbed by the fixed
    effects (levels less redundant ones, exact for up to two effects; pyhdfe
    "pairwise" rule), and :math:`K_c` = p + the absorbed degrees of freedom of
    the fixed effects *not nested* within the clusters (``fe_dof="nested"``)
    or :math:`K_a` (``fe_dof="all"``). Without fixed effects an intercept is
    one of the p regressors.

    * unadjusted: :math:`V = s^2 B`, :math:`s^2 = e'e/(N-K_a)`; t with
      :math:`N-K_a` df.
    * robust (HC1): :math:`V = \frac{N}{N-K_a} B (\sum_i e_i^2 x_i x_i') B`;
      t with :math:`N-K_a` df.
    * clustered (CR1): :math:`V = \frac{G}{G-1}\frac{N-1}{N-K_c}
      B(\sum_g \tilde X_g'e_g e_g'\tilde X_g)B`; t with G-1 df. For wagepan
      (``lwage ~ union + married + expersq | nr + year``, clusters nr) the
      default gives K_c = 3 + 8 = 11 (Stata ``xtreg, fe vce(cluster nr)``
      with ``i.year``); ``fe_dof="all"`` gives K_a = 555, the LSDV/``vcovCL``
      number, larger by :math:`\sqrt{(N-K_c)/(N-K_a)}`.
    * cr2: :math:`V = B(\sum_g \tilde X_g'A_g e_g e_g'A_g\tilde X_g)B` with
      :math:`A_g = (I - H_{gg})^{-1/2}` (symmetric, pseudo-inverse square root)
      and H the hat matrix of the full model including the fixed-effect
      dummies, :math:`H_{gg} = (P_D)_{gg} + \tilde X_g B\tilde X_g'`. The
      reference distribution is t with the Bell-McCaffrey/Satterthwaite
      degrees of freedom :math:`\nu_k = (\operatorname{tr}\Omega)^2/
      \operatorname{tr}(\Omega^2)`, :math:`\Omega_{gh} = f_g'f_h`,
      :math:`f_g = (I-H)_{\cdot g}A_g\tilde X_g B c_k` (working model
      :math:`\Sigma = I`); this equals ``clubSandwich::coef_test(...,
      test="Satterthwaite")`` and ``estimatr::lm_robust(se_type="CR2")``.
    * wild (WCR bootstrap-t): for coefficient k and null value
      :math:`b_0`, fit the restricted model (coefficient fixed at
      :math:`b_0`), residuals :math:`\tilde u`; draw cluster weights
      :math:`v_g` (Rademacher ±1 or Webb's six-point), set
      :math:`y^* = \hat y_r + v_g\tilde u`, refit with the fixed effects
      and compute :math:`t^* = (\hat\beta^*_k - b_0)/se^*_{CR1}`. The p-value
      is :math:`P(|t^*| \ge |t|)` with :math:`t = (\hat\beta_k-b_0)/se_{CR1}`;
      the interval is :math:`\{b_0: p(b_0) > 1-level\}` found by bisection
      (test inversion, the same weights for every :math:`b_0`). The
      refits are done in closed form (residuals and scores are linear in
      :math:`v` and :math:`b_0`); fixed effects not nested in the clusters
      are re-absorbed for G vectors.

    Missing values in any used column (outcome, regressors, fixed effects,
    cluster, weights) drop the row; the count is ``n_dropped_missing``.
    """
    cov_type = _check_option("cov_type", cov_type, COV_TYPES)
    fe_dof = _check_option("fe_dof", fe_dof, FE_DOF)
    bootstrap_weights = _check_option("bootstrap_weights", bootstrap_weights, BOOTSTRAP_WEIGHTS)
    if not 0 < level < 1:
        raise ValueError(f"level must be in (0, 1); got {level!r}")
    spec = parse_formula(formula)
    if cov_type in _CLUSTER_TYPES and cluster is None:
        raise ValueError(f"cov_type={cov_type!r} needs cluster=<column name>")
    if cov_type == "wild" and int(bootstrap_reps) < 99:
        raise ValueError(f"bootstrap_reps must be at least 99; got {bootstrap_reps}")
    used = spec.columns + [c for c in (cluster, weights) if c is not None]
    used = list(dict.fromkeys(used))
    missing_cols = [c for c in used if c not in data.columns]
    if missing_cols:
        raise ValueError(f"columns {missing_cols} are not in data; available columns are {list(data.columns)}")

    frame = data[used]
    keep = frame.notna().all(axis=1).to_numpy()
    if weights is not None:
        w_all = pd.to_numeric(frame[weights], errors="raise").to_numpy(dtype=float, na_value=np.nan)
        if np.any(w_all[keep] < 0):
            raise ValueError(f"weights column {weights!r} has negative values")
        keep = keep & ~(w_all == 0)
    n_missing = int((~keep).sum())
    frame = frame.loc[keep]

    fe_codes = None
    n_single = 0
    if spec.fixed_effects:
        fe_codes = np.column_stack([_codes(frame, t) for t in spec.fixed_effects])
        if drop_singletons:
            import pyhdfe

            single = pyhdfe.create(fe_codes, drop_singletons=True, compute_degrees=False).singleton_indices
            if single is not None and single.any():
                n_single = int(single.sum())
                frame = frame.loc[~single]
                fe_codes = np.column_stack([_codes(frame, t) for t in spec.fixed_effects])

    n = len(frame)
    y = pd.to_numeric(frame[spec.outcome], errors="raise").to_numpy(dtype=float)
    X = pd.DataFrame(
        {c: pd.to_numeric(frame[c], errors="raise").to_numpy(dtype=float) for c in spec.regressors}
    )
    w = None if weights is None else pd.to_numeric(frame[weights]).to_numpy(dtype=float)
    if spec.intercept:
        X.insert(0, "Intercept", 1.0)
    names = list(X.columns)
    p = len(names)

    codes = n_clusters = None
    if cluster is not None:
        codes = _codes(frame, [cluster])
        n_clusters = int(codes.max()) + 1 if n else 0
        if cov_type in _CLUSTER_TYPES and n_clusters < 2:
            raise ValueError(f"cov_type={cov_type!r} needs at least 2 clusters; got {n_clusters}")

    # --- estimation: linearmodels absorbs the fixed effects ---------------
    if fe_codes is not None:
        from linearmodels.iv.absorbing import AbsorbingLS

        absorb = pd.DataFrame(
            {f"fe{k}": pd.Categorical(fe_codes[:, k]) for k in range(fe_codes.shape[1])}
        )
        model = AbsorbingLS(
            pd.Series(y, name=spec.outcome), X, absorb=absorb,
            weights=None if w is None else pd.Series(w),
        )
        if w is None:
            res = model.fit(cov_type="unadjusted", use_cache=False, method="hdfe",
                            absorb_options=_hdfe_options(fe_codes.shape[1], weighted=False))
        else:  # linearmodels absorbs weighted models with LSMR
            res = model.fit(cov_type="unadjusted", use_cache=False, method="lsmr",
                            absorb_options={"atol": 1e-12, "btol": 1e-12})
        beta = res.params.reindex(names).to_numpy(dtype=float)
        xt = model.absorbed_exog[names].to_numpy(dtype=float)
        yt = model.absorbed_dependent.to_numpy(dtype=float).ravel()
    else:
        sw = np.ones(n) if w is None else np.sqrt(w)
        xt = X.to_numpy() * sw[:, None]
        yt = y * sw
        beta = np.linalg.lstsq(xt, yt, rcond=None)[0]
    e = yt - xt @ beta
    xtx = xt.T @ xt
    if np.linalg.matrix_rank(xtx) < p:
        raise ValueError(f"regressors {names} are collinear after absorbing the fixed effects")
    bread = np.linalg.inv(xtx)

    k_abs = p + _fe_degrees(fe_codes, None)
    if cov_type in _CLUSTER_TYPES and fe_dof == "nested":
        k_dof = p + _fe_degrees(fe_codes, codes)
    else:
        k_dof = k_abs
    if n - k_abs <= 0 and cov_type in ("unadjusted", "robust"):
        raise ValueError(f"no residual degrees of freedom: N={n}, K={k_abs}")

    absorber = _Absorber(fe_codes, w) if cov_type in ("cr2", "wild") else None
    dfs = np.full(p, np.nan)
    boot: dict[str, dict[str, Any]] = {}
    override_p: dict[str, float] = {}
    override_ci: dict[str, tuple[float, float]] = {}
    factor = 1.0
    if cov_type == "unadjusted":
        denom = (n - k_abs) if small_sample else n
        cov = bread * float(e @ e) / denom
        dfs[:] = n - k_abs
    elif cov_type == "robust":
        factor = n / (n - k_abs) if small_sample else 1.0
        s = xt * e[:, None]
        cov = factor * bread @ (s.T @ s) @ bread
        dfs[:] = n - k_abs
    elif cov_type in ("clustered", "wild"):
        if small_sample:
            if n - k_dof <= 0:
                raise ValueError(f"no residual degrees of freedom: N={n}, K={k_dof}")
            factor = n_clusters / (n_clusters - 1) * (n - 1) / (n - k_dof)
        s = _group_sum(xt * e[:, None], codes, n_clusters)
        cov = factor * bread @ (s.T @ s) @ bread
        dfs[:] = n_clusters - 1
    else:  # cr2
        if w is None:
            cov, dfs = _cr2(xt, e, codes, n_clusters, bread, absorber, max_cluster_size, fe_codes)
        else:
            cov, dfs = _cr2_weighted(xt, e, np.sqrt(w), codes, n_clusters, bread, absorber, max_cluster_size,
                                     fe_codes)
    se = np.sqrt(np.diag(cov))

    if cov_type == "wild":
        terms = list(names) if bootstrap_terms is None else list(bootstrap_terms)
        bad = [t for t in terms if t not in names]
        if bad:
            raise ValueError(f"bootstrap_terms {bad} are not coefficients; coefficients are {names}")
        nested = fe_codes is None or all(_is_nested(fe_codes[:, k], codes) for k in range(fe_codes.shape[1]))
        V = _wild_weights(n_clusters, int(bootstrap_reps), bootstrap_weights, seed)
        alpha = 1 - level
        t_crit = float(stats.t(n_clusters - 1).ppf(1 - alpha / 2))
        for t in terms:
            j = names.index(t)
            pieces = _wild_pieces(xt, yt, j, codes, n_clusters, bread, absorber, nested, V,
                                  float(beta[j]), float(se[j]), factor)
            override_p[t] = pieces.p_value(0.0)
            override_ci[t] = _invert(pieces, alpha, t_crit)
            boot[t] = {"t_obs": float(beta[j] / se[j]), "t_star": pieces.t_star(0.0), "reps": V.shape[1],
                       "weights": bootstrap_weights}

    params = pd.Series(beta, index=names, name="estimate")
    std = pd.Series(se, index=names, name="std_error")
    df_s = pd.Series(dfs, index=names, name="df")
    tval = beta / se
    pv = np.array([2 * stats.t(d).sf(abs(tv)) if math.isfinite(d) else 2 * stats.norm.sf(abs(tv))
                   for tv, d in zip(tval, dfs)])
    q = np.array([stats.t(d).ppf(0.5 + level / 2) for d in dfs])
    ci = pd.DataFrame({"ci_low": beta - q * se, "ci_high": beta + q * se}, index=names)
    for t, pval in override_p.items():
        pv[names.index(t)] = pval
        ci.loc[t, ["ci_low", "ci_high"]] = override_ci[t]
    return FixedEffectsResult(
        spec=spec, params=params, std_errors=std, df=df_s,
        pvalues=pd.Series(pv, index=names, name="p_value"),
        cov=pd.DataFrame(cov, index=names, columns=names), ci=ci, cov_type=cov_type, level=level,
        nobs=n, n_clusters=n_clusters, n_dropped_missing=n_missing, n_dropped_singletons=n_single,
        k_dof=int(k_dof), k_absorbed=int(k_abs), small_sample_factor=float(factor), cluster=cluster,
        bootstrap=boot,
    )


def _is_nested(fe: np.ndarray, clusters: np.ndarray) -> bool:
    """True if every level of ``fe`` lies within one cluster."""
    pairs = pd.DataFrame({"fe": fe, "cl": clusters}).drop_duplicates()
    return bool(pairs["fe"].is_unique)
