"""Sensitivity to hidden bias: robustness values, E-values and Rosenbaum bounds.

Three views of the same question, *how strong would an unobserved confounder have to be to change
the answer?*, each on its own scale:

* **Robustness value** (Cinelli and Hazlett 2020), for a regression coefficient with t statistic
  :math:`t` on :math:`\\nu` residual degrees of freedom. The treatment's partial :math:`R^2` with the
  outcome is :math:`R^2_{Y\\sim D|X} = t^2 / (t^2 + \\nu)`. With :math:`f_q = q\\,|t| / \\sqrt{\\nu}`,
  a confounder that explains :math:`RV_q` of the residual variance of both treatment and outcome
  moves the estimate by :math:`q` times itself:
  :math:`RV_q = \\tfrac12\\left(\\sqrt{f_q^4 + 4 f_q^2} - f_q^2\\right)`. For the interval
  (:math:`RV_{q,\\alpha}`, the strength that makes the adjusted :math:`1-\\alpha` interval reach the
  bound) :math:`f_q` is replaced by :math:`f_q - |t^*_{\\alpha/2,\\nu-1}| / \\sqrt{\\nu - 1}`, with the
  extreme case of the paper (0 when that is negative; :math:`(f_q^2 - f^{*2}) / (1 + f_q^2)` when
  :math:`f_q > 1/f^*`), as ``sensemakr::robustness_value``. :func:`ovb_benchmark_bounds` bounds the
  confounder by :math:`k_D` (:math:`k_Y`) times an observed covariate's strength and gives the
  adjusted estimate, SE and interval (``sensemakr::ovb_bounds``).
* **E-value** (VanderWeele and Ding 2017): the minimum risk ratio a confounder would need with both
  treatment and outcome to explain the estimate away, :math:`E = RR + \\sqrt{RR(RR - 1)}` for
  :math:`RR \\ge 1` (:math:`1/RR` below 1); for the interval, of the limit nearest the null (1 if the
  interval contains it). Standardized mean differences :math:`d` map to :math:`RR \\approx e^{0.91 d}`
  (interval :math:`e^{0.91 d \\pm 1.78\\,SE}`, ``EValue::evalues.MD``); risk differences to
  :math:`RR = (p_0 + RD) / p_0` at the comparison arm's risk :math:`p_0`.
* **Rosenbaum bounds** for matched pairs: Wilcoxon's signed-rank statistic :math:`T^+` (the sum of the
  ranks of :math:`|d_i|` over the pairs with :math:`d_i > 0`; zero differences dropped, tied
  :math:`|d_i|` get average ranks). If hidden bias changes the odds of treatment within a pair by at
  most :math:`\\Gamma`, each pair is positive with probability at most :math:`p^+ = \\Gamma/(1+\\Gamma)`,
  so :math:`T^+` is stochastically below :math:`\\sum_i r_i B_i`, :math:`B_i \\sim` Bernoulli(:math:`p^+`):
  its upper tail is the largest one-sided p-value at that :math:`\\Gamma` (normal approximation with
  mean :math:`p^+ \\sum r_i` and variance :math:`p^+(1-p^+) \\sum r_i^2`, or exact by convolution).

Nothing here knows about credit recovery.

References: C. Cinelli and C. Hazlett (2020), "Making sense of sensitivity: extending omitted variable
bias", *JRSS B* 82(1), 39-67; T. J. VanderWeele and P. Ding (2017), "Sensitivity analysis in
observational research: introducing the E-value", *Annals of Internal Medicine* 167(4), 268-274;
P. R. Rosenbaum (2002), *Observational Studies*, 2nd ed., ch. 4.
"""
from __future__ import annotations

from typing import Sequence

import numpy as np
import pandas as pd
from scipy import stats

__all__ = ["partial_r2", "robustness_value", "omitted_variable_bias", "ovb_benchmark_bounds", "e_value_rr",
           "e_value", "signed_rank_statistic", "rosenbaum_bounds", "rosenbaum_gamma"]


def partial_r2(t: float, dof: float) -> float:
    """Partial :math:`R^2` of a coefficient with the outcome, :math:`t^2 / (t^2 + \\nu)`."""
    t = float(t)
    return t * t / (t * t + float(dof))


def robustness_value(t: float, dof: float, q: float = 1.0, alpha: float | None = None) -> float:
    """Robustness value :math:`RV_q` (``alpha`` None) or :math:`RV_{q,\\alpha}` of a coefficient.

    Parameters
    ----------
    t : float
        The coefficient's t statistic.
    dof : float
        Residual degrees of freedom of the regression.
    q : float
        Share of the estimate the confounder removes (1: down to zero).
    alpha : float, optional
        Significance level: the strength at which the adjusted interval reaches :math:`(1 - q)`
        times the estimate.
    """
    if q <= 0:
        raise ValueError(f"q must be positive, got {q}")
    fq = q * abs(float(t)) / np.sqrt(dof)
    if alpha is None:
        return float(0.5 * (np.sqrt(fq ** 4 + 4 * fq ** 2) - fq ** 2))
    if not 0 < alpha < 1:
        raise ValueError(f"alpha must be in (0, 1), got {alpha}")
    f_crit = abs(stats.t.ppf(alpha / 2, dof - 1)) / np.sqrt(dof - 1)
    fqa = fq - f_crit
    if fqa < 0:
        return 0.0
    if fq > 1 / f_crit:
        return float((fq ** 2 - f_crit ** 2) / (1 + fq ** 2))
    return float(0.5 * (np.sqrt(fqa ** 4 + 4 * fqa ** 2) - fqa ** 2))


def omitted_variable_bias(se: float, dof: float, r2dz_x: float, r2yz_dx: float) -> float:
    """Size of the bias of a coefficient from omitting a confounder Z with these partial :math:`R^2`:
    :math:`\\sqrt{R^2_{Y\\sim Z|D,X} R^2_{D\\sim Z|X} / (1 - R^2_{D\\sim Z|X})}\\;SE\\,\\sqrt{\\nu}` (Cinelli and
    Hazlett 2020, eq. 9; ``se`` and ``dof`` of the regression without Z, unadjusted). For least squares it is
    exactly the distance between the coefficients without and with Z."""
    return float(np.sqrt(r2yz_dx * r2dz_x / (1 - r2dz_x)) * se * np.sqrt(dof))


def ovb_benchmark_bounds(estimate: float, se: float, dof: float, r2dxj_x: float, r2yxj_dx: float,
                         kd: float = 1.0, ky: float | None = None, alpha: float = 0.05,
                         reduce: bool = True) -> dict[str, float]:
    """Bias-adjusted estimate if a confounder is ``kd`` (``ky``) times as strong as a benchmark covariate.

    ``r2dxj_x`` is the benchmark's partial :math:`R^2` with the treatment (in the treatment regression,
    given the other covariates), ``r2yxj_dx`` with the outcome (outcome regression, given treatment and
    the other covariates). Returns ``r2dz_x``, ``r2yz_dx`` (the implied confounder strengths),
    ``adjusted_estimate`` (towards zero if ``reduce``), ``adjusted_se``, ``adjusted_t``, ``ci_low`` and
    ``ci_high`` (``sensemakr::ovb_partial_r2_bound`` and ``adjusted_estimate``/``adjusted_se``).
    """
    ky = kd if ky is None else ky
    r2dz = kd * r2dxj_x / (1 - r2dxj_x)
    if r2dz >= 1:
        raise ValueError(f"kd = {kd} times the benchmark explains all of the treatment (R2 {r2dz:.3f})")
    r2zxj = kd * r2dxj_x ** 2 / ((1 - kd * r2dxj_x) * (1 - r2dxj_x))
    if r2zxj >= 1:
        raise ValueError(f"kd = {kd} is impossible for this benchmark")
    r2yz = min(((np.sqrt(ky) + np.sqrt(r2zxj)) / np.sqrt(1 - r2zxj)) ** 2 * (r2yxj_dx / (1 - r2yxj_dx)), 1.0)
    bias = omitted_variable_bias(se, dof, r2dz, r2yz)
    adj = estimate - np.sign(estimate) * bias if reduce else estimate + np.sign(estimate) * bias
    adj_se = np.sqrt((1 - r2yz) / (1 - r2dz)) * se * np.sqrt(dof / (dof - 1))
    crit = stats.t.ppf(1 - alpha / 2, dof - 1)
    return {"r2dz_x": float(r2dz), "r2yz_dx": float(r2yz), "adjusted_estimate": float(adj),
            "adjusted_se": float(adj_se), "adjusted_t": float(adj / adj_se),
            "ci_low": float(adj - crit * adj_se), "ci_high": float(adj + crit * adj_se)}


def e_value_rr(rr: float) -> float:
    """E-value of a risk ratio: :math:`RR + \\sqrt{RR(RR-1)}` on the side of 1 away from the null."""
    rr = float(rr)
    if not rr > 0:
        raise ValueError(f"a risk ratio must be positive, got {rr}")
    rr = max(rr, 1 / rr)
    return float(rr + np.sqrt(rr * (rr - 1)))


def e_value(estimate: float, ci_low: float | None = None, ci_high: float | None = None, *,
            scale: str = "smd", se: float | None = None, baseline: float | None = None) -> dict[str, float]:
    """E-values of an estimate and of its interval limit nearest the null.

    Parameters
    ----------
    estimate, ci_low, ci_high : float
        On ``scale``: ``"rr"`` a risk ratio, ``"smd"`` a difference in outcome SD units (with its
        ``se``, or its interval; ``EValue::evalues.MD`` uses the SE), ``"rd"`` a risk difference with
        the comparison arm's risk ``baseline``.

    Returns
    -------
    dict
        ``rr`` (the risk ratio the estimate maps to), ``e_value`` and ``e_value_ci`` (1 when the
        interval contains the null; NaN without an interval).
    """
    if scale == "smd":
        rr = np.exp(0.91 * estimate)
        if se is not None:
            lo, hi = np.exp(0.91 * estimate - 1.78 * se), np.exp(0.91 * estimate + 1.78 * se)
        else:
            lo, hi = (np.exp(0.91 * v) if v is not None else None for v in (ci_low, ci_high))
    elif scale == "rd":
        if baseline is None or not 0 < baseline < 1:
            raise ValueError("a risk difference needs the comparison arm's risk, baseline in (0, 1)")
        rr = (baseline + estimate) / baseline
        if rr <= 0:
            raise ValueError("the risk difference takes the risk below zero: no risk ratio")
        # a lower limit below -baseline is a risk ratio near 0: only its side of 1 matters (the nearest limit is hi)
        lo, hi = (max((baseline + v) / baseline, 1e-12) if v is not None else None for v in (ci_low, ci_high))
    elif scale == "rr":
        rr, lo, hi = estimate, ci_low, ci_high
    else:
        raise ValueError(f"scale must be 'smd', 'rd' or 'rr', got {scale!r}")
    out = {"rr": float(rr), "e_value": e_value_rr(rr), "e_value_ci": float("nan")}
    if lo is not None and hi is not None:
        if lo <= 1 <= hi:
            out["e_value_ci"] = 1.0
        else:
            out["e_value_ci"] = e_value_rr(lo if rr > 1 else hi)
    return out


def signed_rank_statistic(pair_differences: Sequence[float]) -> tuple[float, np.ndarray]:
    """Wilcoxon's :math:`T^+` and the ranks (average ranks for ties) of the non-zero :math:`|d_i|`."""
    d = np.asarray(pair_differences, dtype=float)
    if not np.isfinite(d).all():
        raise ValueError("pair differences must be finite")
    d = d[d != 0]
    ranks = stats.rankdata(np.abs(d))
    return float(ranks[d > 0].sum()), ranks


def _upper_tail_exact(ranks: np.ndarray, p: float, t_obs: float) -> float:
    """:math:`P(\\sum_i r_i B_i \\ge T)`, :math:`B_i` Bernoulli(p), by convolution on half-ranks."""
    units = np.rint(2 * ranks).astype(int)  # average ranks are multiples of 1/2
    dist = np.zeros(int(units.sum()) + 1)
    dist[0] = 1.0
    top = 0
    for u in units:
        new = dist * (1 - p)
        new[u:top + u + 1] += p * dist[:top + 1]
        dist, top = new, top + u
    return float(dist[int(np.rint(2 * t_obs)):].sum())


def rosenbaum_bounds(pair_differences: Sequence[float], gammas: Sequence[float] = (1, 1.25, 1.5, 2, 3),
                     method: str = "normal") -> pd.DataFrame:
    """Upper (and lower) bounds on the one-sided p-value of Wilcoxon's signed-rank test, per :math:`\\Gamma`.

    The test is of no effect against a positive one (for a negative effect, pass ``-d``). Returns one
    row per Gamma: ``gamma``, ``t_plus``, ``n_pairs`` (non-zero differences), ``p_upper`` (the largest
    p-value hidden bias of that size allows) and ``p_lower``. ``method``: ``"normal"`` (Rosenbaum's
    large-sample approximation, as R ``rbounds::psens``) or ``"exact"`` (convolution; for a few hundred
    pairs at most).
    """
    t_obs, ranks = signed_rank_statistic(pair_differences)
    if method not in ("normal", "exact"):
        raise ValueError(f"method must be 'normal' or 'exact', got {method!r}")
    rows = []
    for g in gammas:
        if g < 1:
            raise ValueError(f"Gamma must be at least 1, got {g}")
        ps = {"p_upper": g / (1 + g), "p_lower": 1 / (1 + g)}
        row = {"gamma": float(g), "t_plus": t_obs, "n_pairs": len(ranks)}
        for name, p in ps.items():
            if len(ranks) == 0:
                row[name] = 1.0
            elif method == "exact":
                row[name] = _upper_tail_exact(ranks, p, t_obs)
            else:
                z = (t_obs - p * ranks.sum()) / np.sqrt(p * (1 - p) * (ranks ** 2).sum())
                row[name] = float(stats.norm.sf(z))
        rows.append(row)
    return pd.DataFrame(rows, columns=["gamma", "t_plus", "n_pairs", "p_upper", "p_lower"])


def rosenbaum_gamma(pair_differences: Sequence[float], alpha: float = 0.05, max_gamma: float = 100.0) -> float:
    """The :math:`\\Gamma` at which the upper-bound p-value reaches ``alpha`` (normal approximation).

    1.0 if the test is not significant without hidden bias; ``inf`` if it stays significant up to
    ``max_gamma``. Bisection on :math:`\\log\\Gamma` to a relative tolerance of 1e-10.
    """
    def p_up(g: float) -> float:
        return float(rosenbaum_bounds(pair_differences, [g])["p_upper"].iat[0])

    if p_up(1.0) >= alpha:
        return 1.0
    if p_up(max_gamma) < alpha:
        return float("inf")
    lo, hi = 0.0, np.log(max_gamma)
    while hi - lo > 1e-10:
        mid = 0.5 * (lo + hi)
        lo, hi = (mid, hi) if p_up(np.exp(mid)) < alpha else (lo, mid)
    return float(np.exp(0.5 * (lo + hi)))
