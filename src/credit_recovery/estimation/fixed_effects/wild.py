r"""Wild cluster bootstrap-t with the null imposed (WCR), p-values and intervals by test inversion.

For coefficient k and null value :math:`b_0`: fit the restricted model
(coefficient fixed at :math:`b_0`), residuals :math:`\tilde u`; draw cluster
weights :math:`v_g` (Rademacher ±1 or Webb's six-point), set
:math:`y^* = \hat y_r + v_g\tilde u`, refit with the fixed effects and compute
:math:`t^* = (\hat\beta^*_k - b_0)/se^*_{CR1}`. The p-value is
:math:`P(|t^*| \ge |t|)` with :math:`t = (\hat\beta_k-b_0)/se_{CR1}`; the
interval is :math:`\{b_0: p(b_0) > 1-level\}` found by bisection (test
inversion, the same weights for every :math:`b_0`). The refits are done in
closed form (residuals and scores are linear in :math:`v` and :math:`b_0`);
fixed effects not nested in the clusters are re-absorbed for G vectors. The
reported standard error is CR1's.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy import stats

from credit_recovery.estimation.fixed_effects.absorb import Absorber
from credit_recovery.estimation.fixed_effects.covariance import (CovarianceEstimate, CovarianceInputs,
                                                                 CovarianceSettings, clustered)
from credit_recovery.estimation.fixed_effects.formula import check_option
from credit_recovery.estimation.fixed_effects.groups import group_sum, is_nested

__all__ = ["wild", "wild_weights", "check_wild_settings", "BOOTSTRAP_WEIGHTS"]

#: Allowed values of ``bootstrap_weights``.
BOOTSTRAP_WEIGHTS: tuple[str, ...] = ("rademacher", "webb")
_WEBB = np.array([-math.sqrt(1.5), -1.0, -math.sqrt(0.5), math.sqrt(0.5), 1.0, math.sqrt(1.5)])


def check_wild_settings(settings: CovarianceSettings) -> None:
    """At least 99 replicates."""
    if int(settings.bootstrap_reps) < 99:
        raise ValueError(f"bootstrap_reps must be at least 99; got {settings.bootstrap_reps}")


def wild_weights(n_clusters: int, reps: int, kind: str, seed: int) -> np.ndarray:
    """Bootstrap weights, one column per replicate (n_clusters x B).

    Rademacher weights are fully enumerated (B = 2**G, deterministic) when
    2**G <= reps; otherwise weights are drawn with ``numpy.random.default_rng(seed)``.
    """
    kind = check_option("bootstrap_weights", kind, BOOTSTRAP_WEIGHTS)
    if kind == "rademacher" and n_clusters <= 20 and 2**n_clusters <= reps:
        grid = (np.arange(2**n_clusters)[None, :] >> np.arange(n_clusters)[:, None]) & 1
        return (1.0 - 2.0 * grid).astype(float)
    rng = np.random.default_rng(seed)
    if kind == "rademacher":
        return rng.integers(0, 2, size=(n_clusters, reps)).astype(float) * 2.0 - 1.0
    return _WEBB[rng.integers(0, 6, size=(n_clusters, reps))]


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
    bread: np.ndarray, absorb: Absorber, nested: bool, V: np.ndarray, beta: float, se: float,
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
    B = group_sum(xr_row[:, None] * xt, codes, n_clusters)  # G x p : r' X_g' X_g
    Rq = None
    if not nested:
        # a_gh = (X r 1_g)' M_D (z 1_h) = (M_D (X r 1_g))' (z 1_h): one absorption of G columns
        Zq = np.zeros((xt.shape[0], n_clusters))
        Zq[np.arange(xt.shape[0]), codes] = xr_row
        Rq = absorb(Zq)
    parts = []
    for z in (U[:, 0], U[:, 1]):
        S = group_sum(xt * z[:, None], codes, n_clusters)  # G x p : X_h' z_h
        delta = S @ r
        if nested:
            a = np.diag(delta)
        else:
            a = group_sum(Rq * z[:, None], codes, n_clusters).T  # a_gh
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



def _given_weights(inp: CovarianceInputs) -> np.ndarray:
    """The weights of ``settings.bootstrap_draws`` (cluster identifier -> B weights) in the fit's cluster order."""
    draws = inp.settings.bootstrap_draws
    missing = [c for c in inp.cluster_labels if c not in draws]
    if missing:
        raise ValueError(f"bootstrap_draws has no weights for cluster(s) {missing[:5]}")
    V = np.vstack([np.asarray(draws[c], dtype=float) for c in inp.cluster_labels])
    if V.shape[1] < 99:
        raise ValueError(f"bootstrap_draws must hold at least 99 replicates; got {V.shape[1]}")
    return V


def wild(inp: CovarianceInputs) -> CovarianceEstimate:
    """CR1 covariance (:func:`credit_recovery.estimation.fixed_effects.covariance.clustered`) with
    wild bootstrap p-values and intervals for ``settings.bootstrap_terms`` (all coefficients by default).

    Raises
    ------
    ValueError
        A bootstrap term is not a coefficient.
    """
    est = clustered(inp)
    f, s = inp.fit, inp.settings
    names = f.names
    se = np.sqrt(np.diag(est.cov))
    terms = list(names) if s.bootstrap_terms is None else list(s.bootstrap_terms)
    bad = [t for t in terms if t not in names]
    if bad:
        raise ValueError(f"bootstrap_terms {bad} are not coefficients; coefficients are {names}")
    fe_codes, codes = inp.fe_codes, inp.codes
    nested = fe_codes is None or all(is_nested(fe_codes[:, k], codes) for k in range(fe_codes.shape[1]))
    V = _given_weights(inp) if s.bootstrap_draws is not None else \
        wild_weights(inp.n_clusters, int(s.bootstrap_reps), s.bootstrap_weights, s.seed)
    alpha = 1 - s.level
    t_crit = float(stats.t.ppf(1 - alpha / 2, inp.n_clusters - 1))
    for t in terms:
        j = names.index(t)
        pieces = _wild_pieces(f.xt, f.yt, j, codes, inp.n_clusters, f.bread, inp.absorber, nested, V,
                              float(f.beta[j]), float(se[j]), est.factor)
        est.p_values[t] = pieces.p_value(0.0)
        est.ci[t] = _invert(pieces, alpha, t_crit)
        est.bootstrap[t] = {"t_obs": float(f.beta[j] / se[j]), "t_star": pieces.t_star(0.0), "reps": V.shape[1],
                            "weights": s.bootstrap_weights}
    return est
