"""Lee (2009) trimming bounds on a treatment effect when outcomes are missing not at random.

Response weights (:mod:`credit_recovery.design.response`) assume an outcome is missing at random given
the covariates. When that is not credible, Lee's bounds need only *monotonicity*: treatment moves
every unit's response in one direction (an online recoverer who would have a score in the classroom
also has one online, or the reverse). Then the arm that responds more, at rate :math:`q_{hi}`, holds a
share :math:`p = (q_{hi} - q_{lo}) / q_{hi}` of observed units who would have been missing in the other
arm; trimming that share from the top (bottom) of its observed outcomes gives the lower (upper) bound
of the effect among the units observed in both arms ("always-responders"):

.. math::

    \\Delta_{lo} = E[Y \\mid T = 1, R = 1, Y \\le y_{1-p}] - E[Y \\mid T = 0, R = 1], \\qquad
    \\Delta_{hi} = E[Y \\mid T = 1, R = 1, Y \\ge y_{p}] - E[Y \\mid T = 0, R = 1]

(treated arm responding more; trimmed in the control arm otherwise, with the signs swapped).
With weights (a matched sample's match weights) every rate, quantile and mean is weighted, and a
unit straddling the cut counts with the fraction of its weight that fits. Without differential
response :math:`p = 0` and both bounds are the difference in means of the observed.

Inference: :func:`lee_bounds_interval` bootstraps the two bounds (resampling units, or clusters) and
forms the Imbens-Manski (2004) interval, which covers the effect (not the whole identified set) with
the stated probability: :math:`[\\Delta_{lo} - c\\,\\hat\\sigma_{lo},\\ \\Delta_{hi} + c\\,\\hat\\sigma_{hi}]`
with :math:`\\Phi(c + (\\Delta_{hi} - \\Delta_{lo}) / \\max(\\hat\\sigma_{lo}, \\hat\\sigma_{hi})) - \\Phi(-c) = 1 - \\alpha`.
Nothing here knows about credit recovery.

References: D. S. Lee (2009), "Training, wages, and sample selection: Estimating sharp bounds on
treatment effects", *Review of Economic Studies* 76(3), 1071-1102; G. W. Imbens and C. F. Manski
(2004), "Confidence intervals for partially identified parameters", *Econometrica* 72(6), 1845-1857.
"""
from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np
from scipy import optimize, stats

__all__ = ["LeeBounds", "lee_bounds", "lee_bounds_interval", "imbens_manski_critical_value"]


@dataclass(frozen=True)
class LeeBounds:
    """Lee bounds of one outcome.

    Attributes
    ----------
    lower, upper : float
        The bounds on the effect among units observed in both arms.
    trimmed_arm : str
        ``"treated"`` or ``"control"`` (the arm that responds more), ``""`` when no trimming is needed.
    trim_share : float
        :math:`p`, the share of the trimmed arm's observed (weighted) units removed.
    response_treated, response_control : float
        Weighted response rates.
    ci_low, ci_high : float
        Imbens-Manski interval (NaN from :func:`lee_bounds`; filled by :func:`lee_bounds_interval`).
    se_lower, se_upper : float
        Bootstrap SEs of the bounds (NaN from :func:`lee_bounds`).
    """

    lower: float
    upper: float
    trimmed_arm: str
    trim_share: float
    response_treated: float
    response_control: float
    ci_low: float = float("nan")
    ci_high: float = float("nan")
    se_lower: float = float("nan")
    se_upper: float = float("nan")


def _kept_mean(y: np.ndarray, w: np.ndarray, share: float, keep: str) -> float:
    """Weighted mean of the ``1 - share`` of the weight at the ``keep`` ("lower"/"upper") end of ``y``."""
    order = np.argsort(y, kind="stable")
    if keep == "upper":
        order = order[::-1]
    ys, ws = y[order], w[order]
    target = (1.0 - share) * ws.sum()
    before = np.cumsum(ws) - ws
    take = np.clip(target - before, 0.0, ws)
    return float((take * ys).sum() / target)


def lee_bounds(y, treated, weights=None) -> LeeBounds:
    """Lee (2009) bounds on the effect of ``treated`` on ``y`` (NaN = missing outcome).

    Parameters
    ----------
    y : array-like of float
        Outcome, NaN where missing.
    treated : array-like of 0/1
    weights : array-like of float, optional
        Unit weights (default 1).

    Returns
    -------
    LeeBounds
    """
    y = np.asarray(y, dtype=float)
    t = np.asarray(treated, dtype=float) == 1
    w = np.ones(len(y)) if weights is None else np.asarray(weights, dtype=float)
    r = np.isfinite(y)
    if not ((t & r).any() and (~t & r).any()):
        raise ValueError("each arm needs an observed outcome")
    q1 = float(w[t & r].sum() / w[t].sum())
    q0 = float(w[~t & r].sum() / w[~t].sum())
    y1, w1, y0, w0 = y[t & r], w[t & r], y[~t & r], w[~t & r]
    if q1 >= q0:
        p = (q1 - q0) / q1
        m0 = float(np.average(y0, weights=w0))
        lo, hi = _kept_mean(y1, w1, p, "lower") - m0, _kept_mean(y1, w1, p, "upper") - m0
        arm = "treated" if p > 0 else ""
    else:
        p = (q0 - q1) / q0
        m1 = float(np.average(y1, weights=w1))
        lo, hi = m1 - _kept_mean(y0, w0, p, "upper"), m1 - _kept_mean(y0, w0, p, "lower")
        arm = "control"
    return LeeBounds(lower=lo, upper=hi, trimmed_arm=arm, trim_share=float(p), response_treated=q1,
                     response_control=q0)


def imbens_manski_critical_value(width: float, sigma: float, level: float = 0.95) -> float:
    """:math:`c` with :math:`\\Phi(c + \\text{width}/\\sigma) - \\Phi(-c) = \\text{level}`: the two-sided
    normal quantile (1.96 at 95%) when the bounds meet, falling to the one-sided one (1.645) as they part."""
    if not sigma > 0:
        return float(stats.norm.ppf(0.5 + level / 2))
    ratio = max(float(width), 0.0) / float(sigma)
    f = lambda c: stats.norm.cdf(c + ratio) - stats.norm.cdf(-c) - level  # noqa: E731
    return float(optimize.brentq(f, 0.0, float(stats.norm.ppf(0.5 + level / 2)) + 1e-9, xtol=1e-12))


def lee_bounds_interval(y, treated, weights=None, clusters=None, *, reps: int = 499, seed: int = 1,
                        level: float = 0.95) -> LeeBounds:
    """:func:`lee_bounds` with bootstrap SEs of both bounds and the Imbens-Manski interval.

    The bootstrap resamples units (or, with ``clusters``, whole clusters) with their weights, ``reps``
    times from ``seed``; draws where an arm has no observed outcome are skipped.
    """
    y = np.asarray(y, dtype=float)
    t = np.asarray(treated, dtype=float)
    w = np.ones(len(y)) if weights is None else np.asarray(weights, dtype=float)
    point = lee_bounds(y, t, w)
    members = None
    if clusters is not None:
        groups = np.unique(np.asarray(clusters), return_inverse=True)[1]
        members = np.split(np.argsort(groups, kind="stable"), np.cumsum(np.bincount(groups))[:-1])
    rng = np.random.default_rng(seed)
    draws = []
    for _ in range(int(reps)):
        idx = (rng.integers(0, len(y), size=len(y)) if members is None else
               np.concatenate([members[g] for g in rng.integers(0, len(members), size=len(members))]))
        try:
            b = lee_bounds(y[idx], t[idx], w[idx])
        except ValueError:
            continue
        draws.append((b.lower, b.upper))
    d = np.asarray(draws)
    se_lo, se_hi = float(d[:, 0].std(ddof=1)), float(d[:, 1].std(ddof=1))
    c = imbens_manski_critical_value(point.upper - point.lower, max(se_lo, se_hi), level)
    return replace(point, ci_low=point.lower - c * se_lo, ci_high=point.upper + c * se_hi, se_lower=se_lo,
                   se_upper=se_hi)
