r"""Absorbing the fixed effects: the residual-maker M_D, absorbed degrees of freedom, singletons.

:class:`Absorber` applies :math:`M_D = I - D(D'WD)^+D'W` (in the
:math:`\sqrt w`-scaled space) to columns, exactly whenever it can:

* one fixed effect: the (weighted) within transform, one pass of group means;
* several fixed effects whose levels, apart from the largest effect, number at
  most :data:`EXACT_LEVELS` in total (e.g. student + school-by-year): the
  Frisch-Waugh-Lovell reduction. With :math:`D_1` the largest effect and
  :math:`D_2` the others, :math:`r = M_1 z` (within transform of the largest),
  :math:`\gamma = G^+ D_2'Wr` with the small dense
  :math:`G = D_2'WD_2 - D_2'WD_1(D_1'WD_1)^{-1}D_1'WD_2`, and
  :math:`M_D z = r - M_1 D_2\gamma`. The pseudo-inverse drops eigenvalues of G
  below :data:`NULL_EIGENVALUE` of the largest (the redundant levels: one per
  connected component of the effects). The transform is then applied a second
  time to its own result (iterative refinement: the result is ``z - D a`` for
  some coefficients ``a``, so a second pass removes what rounding left of the
  projection), which makes it exact to rounding error;
* otherwise: ``pyhdfe``'s alternating projections (symmetric Kaczmarz with
  conjugate-gradient acceleration; plain when weighted), to :data:`ABSORB_TOL`.

Group sums are sparse indicator products (one scatter-add per column), group
means gathers; nothing is iterated on the exact paths. Degrees of freedom use
``pyhdfe`` (reghdfe's rules); singletons are found by repeated group counts.
"""
from __future__ import annotations

from typing import Any

import numpy as np
import pyhdfe
from scipy import sparse

__all__ = ["ABSORB_TOL", "EXACT_LEVELS", "NULL_EIGENVALUE", "hdfe_options", "Absorber", "fe_degrees",
           "singletons"]

#: Convergence tolerance of the iterative absorption (max abs change between iterations).
ABSORB_TOL: float = 1e-10
#: Largest total number of levels of the fixed effects other than the largest one for which the
#: absorption is exact (a dense eigendecomposition of that size); above it, alternating projections.
EXACT_LEVELS: int = 1500
#: Eigenvalues of the reduced Gram matrix below this share of the largest are redundant levels.
NULL_EIGENVALUE: float = 1e-9


def hdfe_options(n_fe: int, weighted: bool) -> dict[str, Any]:
    """pyhdfe.create options: exact within transform for one fixed effect; otherwise
    alternating projections, symmetric Kaczmarz with conjugate-gradient acceleration
    (non-accelerated when weighted: pyhdfe supports weights only there)."""
    if n_fe == 1:
        return {"residualize_method": "within"}
    opts: dict[str, Any] = {"tol": ABSORB_TOL, "iteration_limit": 100_000}
    if not weighted:
        opts.update(transform="symmetric", acceleration="cg")
    return {"residualize_method": "map", "options": opts}


def _indicator(codes: np.ndarray, n_levels: int, values: np.ndarray | None) -> sparse.csr_matrix:
    """The N x L dummy matrix of ``codes`` (entries ``values``, ones by default), built without sorting."""
    n = codes.size
    data = np.ones(n) if values is None else np.asarray(values, dtype=float)
    return sparse.csr_matrix((data, codes.astype(np.int64), np.arange(n + 1)), shape=(n, n_levels))


class _Within:
    """(Weighted) group means of one fixed effect: ``demean(z) = z - mean_g(z)[code]``."""

    def __init__(self, codes: np.ndarray, weights: np.ndarray | None):
        self.codes = codes
        self.n_levels = int(codes.max()) + 1 if codes.size else 0
        self.weighted = _indicator(codes, self.n_levels, weights)  # D W (N x L)
        totals = np.bincount(codes, weights=weights, minlength=self.n_levels)
        with np.errstate(divide="ignore"):
            self.inv_totals = np.where(totals > 0, 1.0 / np.where(totals > 0, totals, 1.0), 0.0)

    def means(self, z: np.ndarray) -> np.ndarray:
        """Group means (L x k) of the columns of ``z`` (N x k)."""
        return (self.weighted.T @ z) * self.inv_totals[:, None]

    def demean(self, z: np.ndarray) -> np.ndarray:
        return z - self.means(z)[self.codes]


class _TwoStage:
    """Exact M_D for several fixed effects by the Frisch-Waugh-Lovell reduction (module docstring)."""

    def __init__(self, fe_codes: np.ndarray, weights: np.ndarray | None, primary: int):
        n = fe_codes.shape[0]
        self.within = _Within(fe_codes[:, primary], weights)
        others = [k for k in range(fe_codes.shape[1]) if k != primary]
        levels = [int(fe_codes[:, k].max()) + 1 for k in others]
        offsets = np.concatenate([[0], np.cumsum(levels)[:-1]]).astype(np.int64)
        cols = fe_codes[:, others] + offsets[None, :]
        n_sec = int(sum(levels))
        self.d2 = sparse.csr_matrix(
            (np.ones(cols.size), cols.ravel(), np.arange(0, cols.size + 1, len(others))), shape=(n, n_sec))
        self.d2w = self.d2 if weights is None else sparse.csr_matrix(
            (np.repeat(weights, len(others)), cols.ravel(), self.d2.indptr), shape=(n, n_sec))
        gram = (self.d2w.T @ self.d2).toarray()
        cross = (self.within.weighted.T @ self.d2).tocsr()  # D1'W D2 (L1 x L2)
        scaled = sparse.diags(self.within.inv_totals) @ cross
        gram -= (cross.T @ scaled).toarray()
        vals, vecs = np.linalg.eigh((gram + gram.T) / 2)
        keep = vals > NULL_EIGENVALUE * max(vals.max(initial=0.0), 1e-300)
        self.rank = int(keep.sum())
        self.basis = vecs[:, keep]
        self.inv_vals = 1.0 / vals[keep]

    def apply(self, z: np.ndarray) -> np.ndarray:
        r = self.within.demean(z)
        gamma = self.basis @ (self.inv_vals[:, None] * (self.basis.T @ np.asarray(self.d2w.T @ r)))
        return r - self.within.demean(np.asarray(self.d2 @ gamma))


class Absorber:
    """M_D: residualize columns on the fixed effects, in the sqrt(w)-scaled space (module docstring).

    Parameters
    ----------
    fe_codes : ndarray (N x number of fixed effects) or None
        Group codes 0..L-1 of each fixed effect; ``None`` (no fixed effects) makes M_D the identity.
    weights : ndarray or None
        Analytic weights; columns passed in are in the sqrt(w)-scaled space.

    Attributes
    ----------
    method : {"identity", "within", "exact", "map"}
        How M_D is applied.
    """

    def __init__(self, fe_codes: np.ndarray | None, weights: np.ndarray | None):
        self.fe = fe_codes
        self.sw = None if weights is None else np.sqrt(weights)
        self.w = weights
        self._alg = self._within = self._two = None
        if fe_codes is None:
            self.method = "identity"
            return
        levels = [int(fe_codes[:, k].max()) + 1 if fe_codes.shape[0] else 0 for k in range(fe_codes.shape[1])]
        primary = int(np.argmax(levels))
        if fe_codes.shape[1] == 1:
            self.method = "within"
            self._within = _Within(fe_codes[:, 0], weights)
        elif sum(levels) - levels[primary] <= EXACT_LEVELS:
            self.method = "exact"
            self._two = _TwoStage(fe_codes, weights, primary)
        else:
            self.method = "map"
            self._alg = pyhdfe.create(
                fe_codes, drop_singletons=False, compute_degrees=False,
                **hdfe_options(fe_codes.shape[1], weighted=weights is not None),
            )

    def __call__(self, z: np.ndarray) -> np.ndarray:
        z = np.asarray(z, dtype=float)
        if self.method == "identity":
            return z.copy()
        two_d = z.reshape(z.shape[0], -1)
        if self.sw is not None:
            two_d = two_d / self.sw[:, None]
        if self._within is not None:
            out = self._within.demean(two_d)
        elif self._two is not None:
            out = self._two.apply(self._two.apply(two_d))  # second pass: iterative refinement
        elif self.w is None:
            out = self._alg.residualize(two_d)
        else:
            out = self._alg.residualize(two_d, weights=self.w[:, None])
        if self.sw is not None:
            out = out * self.sw[:, None]
        return out.reshape(z.shape)


def fe_degrees(fe_codes: np.ndarray | None, clusters: np.ndarray | None) -> int:
    """Degrees of freedom absorbed by the fixed effects (pyhdfe, reghdfe rules); with ``clusters``,
    fixed effects nested within the clusters are not counted."""
    if fe_codes is None:
        return 0
    alg = pyhdfe.create(
        fe_codes, cluster_ids=None if clusters is None else clusters.reshape(-1, 1),
        drop_singletons=False, compute_degrees=True,
    )
    return int(alg.degrees)


def singletons(fe_codes: np.ndarray) -> np.ndarray | None:
    """Boolean mask of the observations alone in a fixed-effect group, dropped iteratively
    (reghdfe/fixest convention: until every group of every effect has two or more observations; the
    result does not depend on the order of removal), or ``None`` if there are none."""
    n = fe_codes.shape[0]
    keep = np.ones(n, dtype=bool)
    while True:
        single = np.zeros(n, dtype=bool)
        for k in range(fe_codes.shape[1]):
            counts = np.bincount(fe_codes[:, k], weights=keep)
            single |= keep & (counts[fe_codes[:, k]] == 1)
        if not single.any():
            break
        keep &= ~single
    return None if keep.all() else ~keep
