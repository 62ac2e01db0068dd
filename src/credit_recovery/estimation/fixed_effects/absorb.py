"""Absorbing the fixed effects with ``pyhdfe``: the residual-maker M_D, absorbed degrees of freedom, singletons."""
from __future__ import annotations

from typing import Any

import numpy as np
import pyhdfe

__all__ = ["ABSORB_TOL", "hdfe_options", "Absorber", "fe_degrees", "singletons"]

#: Convergence tolerance of the iterative absorption (max abs change between iterations).
ABSORB_TOL: float = 1e-10


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


class Absorber:
    """M_D: residualize columns on the fixed effects, in the sqrt(w)-scaled space.

    Parameters
    ----------
    fe_codes : ndarray (N x number of fixed effects) or None
        Group codes of each fixed effect; ``None`` (no fixed effects) makes M_D the identity.
    weights : ndarray or None
        Analytic weights; columns passed in are in the sqrt(w)-scaled space.
    """

    def __init__(self, fe_codes: np.ndarray | None, weights: np.ndarray | None):
        self.fe = fe_codes
        self.sw = None if weights is None else np.sqrt(weights)
        self.w = weights
        self._alg = None
        if fe_codes is not None:
            self._alg = pyhdfe.create(
                fe_codes, drop_singletons=False, compute_degrees=False,
                **hdfe_options(fe_codes.shape[1], weighted=weights is not None),
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
    (reghdfe/fixest convention), or ``None`` if pyhdfe reports none."""
    return pyhdfe.create(fe_codes, drop_singletons=True, compute_degrees=False).singleton_indices
