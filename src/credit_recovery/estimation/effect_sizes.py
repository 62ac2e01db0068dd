"""Standardized effect sizes with the What Works Clearinghouse (WWC) conventions.

* :func:`hedges_g` — standardized mean difference with the small-sample
  correction :math:`\\omega = 1 - 3/(4N - 9)`;
* :func:`cox_index` — the WWC effect size for yes/no outcomes;
* :func:`improvement_index` — Cohen's U3 minus 50 percentile points;
* :func:`baseline_equivalence` — the WWC baseline-equivalence rating.

All functions accept scalars or array-likes (broadcast with numpy) and return
a float for scalar input, an ndarray otherwise.
"""
from __future__ import annotations

from typing import Any

import numpy as np
from scipy import stats

__all__ = ["hedges_g", "hedges_g_se", "cox_index", "improvement_index", "baseline_equivalence",
           "small_sample_omega", "COX_SCALE", "EQUIVALENCE_LEVELS"]

#: The WWC divides the log odds ratio by 1.65 (Cox 1970; Sanchez-Meca et al. 2003).
COX_SCALE: float = 1.65
#: Ratings returned by :func:`baseline_equivalence`.
EQUIVALENCE_LEVELS: tuple[str, ...] = ("satisfied", "satisfied with adjustment", "not satisfied")


def _out(x: np.ndarray) -> Any:
    return float(x) if np.ndim(x) == 0 else x


def small_sample_omega(n_total: Any) -> Any:
    """WWC small-sample correction :math:`\\omega = 1 - 3/(4N - 9)`, N = n_t + n_c."""
    n = np.asarray(n_total, dtype=float)
    if np.any(n < 4):
        raise ValueError("the small-sample correction needs N = n_t + n_c >= 4")
    return _out(1.0 - 3.0 / (4.0 * n - 9.0))


def hedges_g(
    diff: Any,
    sd: Any = None,
    *,
    n_t: Any,
    n_c: Any,
    sd_t: Any = None,
    sd_c: Any = None,
) -> Any:
    r"""Hedges' g (WWC).

    Parameters
    ----------
    diff : float or array_like
        Difference in means (intervention minus comparison), unadjusted or
        covariate-adjusted (e.g. a regression coefficient).
    sd : float or array_like, optional
        Pooled within-group standard deviation. Give either ``sd`` or both
        ``sd_t`` and ``sd_c``.
    n_t, n_c : int or array_like
        Group sizes.
    sd_t, sd_c : float or array_like, optional
        Group standard deviations, pooled as in Notes.

    Returns
    -------
    float or ndarray

    Notes
    -----
    .. math::

        s_p = \sqrt{\frac{(n_t - 1)s_t^2 + (n_c - 1)s_c^2}{n_t + n_c - 2}},\qquad
        g = \omega\,\frac{\bar y_t - \bar y_c}{s_p},\qquad
        \omega = 1 - \frac{3}{4N - 9},\ N = n_t + n_c.

    (WWC Procedures and Standards Handbook, version 5.0, appendix E.)
    """
    n_t = np.asarray(n_t, dtype=float)
    n_c = np.asarray(n_c, dtype=float)
    if sd is None:
        if sd_t is None or sd_c is None:
            raise ValueError("give either sd (pooled) or both sd_t and sd_c")
        sd_t = np.asarray(sd_t, dtype=float)
        sd_c = np.asarray(sd_c, dtype=float)
        sd = np.sqrt(((n_t - 1) * sd_t**2 + (n_c - 1) * sd_c**2) / (n_t + n_c - 2))
    elif sd_t is not None or sd_c is not None:
        raise ValueError("give either sd (pooled) or both sd_t and sd_c, not both")
    sd = np.asarray(sd, dtype=float)
    if np.any(sd <= 0):
        raise ValueError("the standard deviation must be positive")
    omega = np.asarray(small_sample_omega(n_t + n_c))
    return _out(omega * np.asarray(diff, dtype=float) / sd)


def hedges_g_se(g: Any, n_t: Any, n_c: Any) -> Any:
    r"""Standard error of Hedges' g (WWC).

    Notes
    -----
    :math:`se(g) = \sqrt{\frac{n_t + n_c}{n_t n_c} + \frac{g^2}{2(n_t + n_c)}}`.
    """
    g = np.asarray(g, dtype=float)
    n_t = np.asarray(n_t, dtype=float)
    n_c = np.asarray(n_c, dtype=float)
    return _out(np.sqrt((n_t + n_c) / (n_t * n_c) + g**2 / (2 * (n_t + n_c))))


def cox_index(p_t: Any, p_c: Any, *, n_t: Any, n_c: Any) -> Any:
    r"""Cox index: the WWC effect size for a yes/no outcome.

    Parameters
    ----------
    p_t, p_c : float or array_like
        Proportions with the outcome in the intervention and comparison
        groups, strictly between 0 and 1.
    n_t, n_c : int or array_like
        Group sizes (for the small-sample correction).

    Notes
    -----
    .. math::

        d_{Cox} = \omega\left[\ln\frac{p_t}{1-p_t} - \ln\frac{p_c}{1-p_c}\right] / 1.65,
        \qquad \omega = 1 - \frac{3}{4N - 9}.
    """
    p_t = np.asarray(p_t, dtype=float)
    p_c = np.asarray(p_c, dtype=float)
    if np.any((p_t <= 0) | (p_t >= 1) | (p_c <= 0) | (p_c >= 1)):
        raise ValueError("proportions must be strictly between 0 and 1")
    omega = np.asarray(small_sample_omega(np.asarray(n_t, dtype=float) + np.asarray(n_c, dtype=float)))
    log_or = np.log(p_t / (1 - p_t)) - np.log(p_c / (1 - p_c))
    return _out(omega * log_or / COX_SCALE)


def improvement_index(g: Any) -> Any:
    r"""WWC improvement index: expected percentile-rank change of the average
    comparison-group student.

    Notes
    -----
    :math:`I = 100\,(\Phi(g) - 0.5)` (Cohen's U3 minus 50); g = 0.25 gives +9.87.
    """
    return _out(100.0 * (stats.norm.cdf(np.asarray(g, dtype=float)) - 0.5))


def baseline_equivalence(g: Any) -> Any:
    """WWC baseline-equivalence rating of a baseline difference in SD units.

    ``|g| <= 0.05``: "satisfied"; ``0.05 < |g| <= 0.25``: "satisfied with
    adjustment" (the analysis must adjust for that measure); ``|g| > 0.25``:
    "not satisfied". Returns a str for scalar input, an object ndarray otherwise.
    """
    a = np.abs(np.asarray(g, dtype=float))
    if np.any(np.isnan(a)):
        raise ValueError("baseline difference is missing")
    out = np.where(a <= 0.05, EQUIVALENCE_LEVELS[0],
                   np.where(a <= 0.25, EQUIVALENCE_LEVELS[1], EQUIVALENCE_LEVELS[2])).astype(object)
    return str(out) if out.ndim == 0 else out
