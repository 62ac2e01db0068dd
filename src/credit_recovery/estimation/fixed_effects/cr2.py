r"""CR2 (Bell-McCaffrey) covariance with Satterthwaite degrees of freedom, unweighted and weighted.

:math:`V = B(\sum_g \tilde X_g'A_g e_g e_g'A_g\tilde X_g)B` with
:math:`A_g = (I - H_{gg})^{-1/2}` (symmetric, pseudo-inverse square root) and H
the hat matrix of the full model including the fixed-effect dummies,
:math:`H_{gg} = (P_D)_{gg} + \tilde X_g B\tilde X_g'`. The reference
distribution is t with the Bell-McCaffrey/Satterthwaite degrees of freedom
:math:`\nu_k = (\operatorname{tr}\Omega)^2/\operatorname{tr}(\Omega^2)`,
:math:`\Omega_{gh} = f_g'f_h`, :math:`f_g = (I-H)_{\cdot g}A_g\tilde X_g B c_k`
(working model :math:`\Sigma = I`); this equals ``clubSandwich::coef_test(...,
test="Satterthwaite")`` and ``estimatr::lm_robust(se_type="CR2")``
(Pustejovsky & Tipton 2018). Weighted fits use the identity working model,
as ``estimatr`` and ``clubSandwich`` do for a weighted ``lm``.
"""
from __future__ import annotations

import numpy as np
from scipy import sparse

from credit_recovery.estimation.fixed_effects.absorb import Absorber
from credit_recovery.estimation.fixed_effects.covariance import CovarianceEstimate, CovarianceInputs

__all__ = ["cr2", "CR2_DENSE_LEVELS"]

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
    absorb: Absorber, max_cluster_size: int, fe_codes: np.ndarray | None,
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
    absorb: Absorber, max_cluster_size: int, fe_codes: np.ndarray | None,
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



def cr2(inp: CovarianceInputs) -> CovarianceEstimate:
    """CR2 covariance and Satterthwaite degrees of freedom (module docstring); refuses clusters larger
    than ``max_cluster_size`` and problems whose N x G x p arrays would be too large."""
    f = inp.fit
    size = inp.settings.max_cluster_size
    if inp.weights is None:
        cov, dfs = _cr2(f.xt, f.e, inp.codes, inp.n_clusters, f.bread, inp.absorber, size, inp.fe_codes)
    else:
        cov, dfs = _cr2_weighted(f.xt, f.e, np.sqrt(inp.weights), inp.codes, inp.n_clusters, f.bread,
                                 inp.absorber, size, inp.fe_codes)
    return CovarianceEstimate(cov=cov, df=dfs)
