r"""Least squares with the fixed effects absorbed, and collinear regressors detected and dropped.

The fixed effects are absorbed from the (:math:`\sqrt w`-scaled) outcome and
regressors by :class:`~credit_recovery.estimation.fixed_effects.absorb.Absorber`
and the absorbed problem is solved by least squares; without fixed effects the
(weighted) least squares problem is solved directly. A regressor that the
fixed effects absorb, or that is collinear with earlier regressors after
absorbing them (:func:`absorbed_or_collinear`, linearmodels' criterion),
makes the problem singular: :func:`solve_dropping_collinear` then keeps the
regressors that are linearly independent of the earlier ones (formula
order; the named ``never_drop`` terms always kept) and solves again on the
same rows, and reports which were dropped (like fixest).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import numpy as np
import pandas as pd

from credit_recovery.estimation.fixed_effects.absorb import Absorber

__all__ = ["LinearFit", "absorbed_or_collinear", "absorb_and_solve", "independent_regressors",
           "solve_dropping_collinear"]

#: A regressor is collinear if less than this share of its (unit-scaled, absorbed) squared norm
#: is left after projecting on the earlier regressors.
COLLINEAR_TOL: float = 1e-9
#: A regressor is absorbed by the fixed effects if less than this share of its norm is left after
#: absorbing them (linearmodels' criterion, far above the absorption's error).
ABSORBED_TOL: float = 1e-5


@dataclass
class LinearFit:
    """Coefficients and the absorbed (sqrt(w)-scaled) data of a least-squares fit.

    ``xt``, ``yt``: regressors and outcome with the fixed effects absorbed; ``e``: residuals;
    ``bread``: :math:`(\\tilde X'\\tilde X)^{-1}`; ``absorber``: the M_D used (``None`` without fixed effects).
    """

    names: list[str]
    beta: np.ndarray
    xt: np.ndarray
    yt: np.ndarray
    e: np.ndarray
    bread: np.ndarray
    absorber: Absorber | None = None


def absorbed_or_collinear(xt: np.ndarray, x: np.ndarray) -> bool:
    """True if a regressor is absorbed by the fixed effects or collinear with earlier ones after absorbing
    them: less than :data:`ABSORBED_TOL` of its norm before absorption (``x``) is left after projecting it
    on the earlier absorbed columns (linearmodels' ``check_absorbed``; the sizes are the diagonal of R in
    the QR decomposition of the scaled absorbed columns ``xt``)."""
    norms = np.sqrt(np.einsum("ij,ij->j", x, x))
    if xt.shape[1] == 0:
        return False
    r = np.linalg.qr(xt / np.where(norms > 0, norms, 1.0)[None, :], mode="r")
    return bool(np.any(~(np.abs(np.diag(r)) >= ABSORBED_TOL)))


def absorb_and_solve(y: np.ndarray, X: pd.DataFrame, w: np.ndarray | None, fe_codes: np.ndarray | None,
                     outcome: str) -> LinearFit | None:
    """Fit ``y`` on the columns of ``X`` with the fixed effects ``fe_codes`` absorbed (by :class:`Absorber`,
    weighted by ``w``); ``None`` if the regressors are collinear (after absorbing the fixed effects).
    ``outcome`` names ``y`` in messages."""
    names = list(X.columns)
    sw = np.ones(len(y)) if w is None else np.sqrt(w)
    xs = X.to_numpy(dtype=float) * sw[:, None]
    ys = y * sw
    absorber = None
    if fe_codes is not None:
        absorber = Absorber(fe_codes, w)
        both = absorber(np.column_stack([ys, xs]))
        yt, xt = both[:, 0].copy(), np.ascontiguousarray(both[:, 1:])
        if absorbed_or_collinear(xt, xs):
            return None
    else:
        xt, yt = xs, ys
    beta = np.linalg.lstsq(xt, yt, rcond=None)[0]
    e = yt - xt @ beta
    xtx = xt.T @ xt
    if np.linalg.matrix_rank(xtx) < len(names):
        return None
    return LinearFit(names=names, beta=beta, xt=xt, yt=yt, e=e, bread=np.linalg.inv(xtx), absorber=absorber)


def independent_regressors(X: np.ndarray, names: Sequence[str], fe_codes: np.ndarray | None,
                           never_drop: Sequence[str] = ()) -> list[str]:
    """Regressors kept after dropping those collinear (after absorbing the fixed effects) with earlier ones.

    Greedy in formula order on the unit-scaled columns (absorbed unweighted; centred instead of
    carrying an intercept when there are no fixed effects): a column is dropped if the share of its
    squared norm left after projecting on the kept ones is at most :data:`COLLINEAR_TOL`, or if the
    fixed effects absorb it (less than :data:`ABSORBED_TOL` of its norm left; unit scaling would
    blow up the absorption's rounding error), unless it is in ``never_drop``.
    """
    names = list(names)
    absorbed = np.zeros(len(names), dtype=bool)
    if fe_codes is not None:
        before = np.sqrt(np.einsum("ij,ij->j", X, X))
        X = Absorber(fe_codes, None)(X)
        with np.errstate(divide="ignore", invalid="ignore"):
            absorbed = ~(np.sqrt(np.einsum("ij,ij->j", X, X)) >= ABSORBED_TOL * before)
    else:
        X = X - X.mean(axis=0)  # the intercept: centre instead of carrying a constant column
    scale = np.sqrt(np.einsum("ij,ij->j", X, X))
    scale[scale == 0] = 1.0
    G = (X.T @ X) / np.outer(scale, scale)  # Gram matrix of unit-length columns
    keep: list[int] = []
    for j, name in enumerate(names):
        if absorbed[j] and name not in never_drop:
            continue
        if keep:
            gk = G[np.ix_(keep, keep)]
            g = G[keep, j]
            resid = G[j, j] - g @ np.linalg.solve(gk, g)
        else:
            resid = G[j, j]
        if resid > COLLINEAR_TOL or name in never_drop:
            keep.append(j)
    return [names[j] for j in keep]


def solve_dropping_collinear(y: np.ndarray, X: pd.DataFrame, w: np.ndarray | None, fe_codes: np.ndarray | None,
                             outcome: str, frame: pd.DataFrame, drop_collinear: bool = True,
                             never_drop: Sequence[str] = ()) -> tuple[LinearFit, tuple[str, ...]]:
    """:func:`absorb_and_solve`, and if the regressors are collinear, again without the dependent ones.

    Parameters
    ----------
    frame : DataFrame
        The estimation sample; its regressor columns are checked by :func:`independent_regressors`.
    drop_collinear : bool
        Drop collinear regressors (otherwise collinearity raises).
    never_drop : sequence of str
        Regressors never dropped (e.g. the treatment).

    Returns
    -------
    (LinearFit, tuple of str)
        The fit and the dropped regressors, in formula order (empty if none).

    Raises
    ------
    ValueError
        The regressors are collinear and ``drop_collinear`` is False, or they stay collinear
        (a ``never_drop`` term is collinear).
    """
    fit = absorb_and_solve(y, X, w, fe_codes, outcome)
    if fit is not None:
        return fit, ()
    names = list(X.columns)
    if drop_collinear:
        terms = [c for c in names if c != "Intercept"]
        kept = independent_regressors(frame[terms].to_numpy(dtype=float), terms, fe_codes, never_drop)
        dropped = tuple(c for c in terms if c not in kept)
        cols = [c for c in names if c == "Intercept" or c in kept]
        if dropped and cols:
            fit = absorb_and_solve(y, X[cols], w, fe_codes, outcome)
            if fit is not None:
                return fit, dropped
    hint = f"; never_drop={list(never_drop)}" if drop_collinear and never_drop else ""
    raise ValueError(f"regressors {names} are collinear after absorbing the fixed effects{hint}")
