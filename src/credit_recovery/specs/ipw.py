r"""Classroom / online with little support / online with a supportive mentor: multinomial propensity and IPW.

:func:`generalized_propensity` fits the multinomial (generalized)
propensity score with ``statsmodels`` MNLogit; :func:`three_way_ipw_estimates`
weights by its inverse and compares the three groups (sample ``ipw3``).
"""
from __future__ import annotations

import warnings
from typing import Any, Mapping, Sequence

import numpy as np
import pandas as pd
from statsmodels.discrete.discrete_model import MNLogit
from statsmodels.tools.sm_exceptions import ConvergenceWarning
from statsmodels.tools.tools import add_constant

from credit_recovery.estimation.fixed_effects import fit_fixed_effects
from credit_recovery.shared.estimate_schema import estimates_frame
from credit_recovery.specs.coding import covariate_design, flag
from credit_recovery.specs.estimands import MENTOR_ESTIMANDS, stack_samples, units_frame
from credit_recovery.specs.options import fe_options, resolve_model_options

__all__ = ["generalized_propensity", "three_way_ipw_estimates", "THREE_WAY_GROUPS"]

#: The three groups, coded 0, 1, 2 in ``group3``.
THREE_WAY_GROUPS = ("classroom", "online, little support", "online, supportive mentor")


def generalized_propensity(data: pd.DataFrame, group: str, covariates: Sequence[str]) -> pd.DataFrame:
    r"""Multinomial (generalized) propensity scores with ``statsmodels`` MNLogit.

    Parameters
    ----------
    data : DataFrame
    group : str
        Column of integer group codes 0..K-1.
    covariates : sequence of str
        Numeric regressor columns (see :func:`credit_recovery.specs.coding.covariate_design`).

    Returns
    -------
    DataFrame
        ``p_0 .. p_{K-1}``, indexed like ``data``.

    Notes
    -----
    :math:`P(G=k\mid x) = \exp(x'\beta_k)/\sum_j \exp(x'\beta_j)`,
    :math:`\beta_0 = 0`, by maximum likelihood (Newton, then BFGS if Newton fails).
    """
    X = add_constant(data[list(covariates)].astype(float), has_constant="add")
    model = MNLogit(data[group].astype(int), X)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        try:
            fit = model.fit(method="newton", disp=False, maxiter=200)
            if not (np.all(np.isfinite(fit.params)) and fit.mle_retvals.get("converged", True)):
                raise np.linalg.LinAlgError
        except (np.linalg.LinAlgError, ValueError):
            fit = model.fit(method="bfgs", disp=False, maxiter=5000)
    p = np.asarray(fit.predict(X))
    return pd.DataFrame(p, index=data.index, columns=[f"p_{k}" for k in range(p.shape[1])])


def _three_way_design(cohort: pd.DataFrame, covariates: Sequence[str], trim: float) -> pd.DataFrame:
    """The comparable units (see :func:`three_way_ipw_estimates`) with ``group3``, the group indicators
    and the inverse probability weights ``ipw``."""
    d = cohort.copy()
    sup = flag(d["mentor_supportive"])
    d["group3"] = np.where(d["online"].astype(int) == 0, 0, np.where(sup == 1, 2, 1))
    d = d[(d["online"].astype(int) == 0) | sup.notna()]
    offered = d.groupby(["school_id", "school_year"])["online"].transform("max") == 1
    both = d.groupby("school_id")["group3"].transform(lambda g: bool({1, 2} <= set(g)))
    d = d[offered & both].copy()
    d["_year"] = d["school_year"].astype(str)
    covs = list(dict.fromkeys([*covariates, "school_id", "_year"]))
    design, names = covariate_design(d, covs)
    ps = generalized_propensity(design, "group3", names)
    p_own = ps.to_numpy()[np.arange(len(design)), design["group3"].to_numpy()]
    design["ipw"] = 1.0 / np.clip(p_own, trim, 1.0) if trim > 0 else 1.0 / p_own
    design["online_low"] = (design["group3"] == 1).astype(float)
    design["online_supportive"] = (design["group3"] == 2).astype(float)
    design["classroom"] = (design["group3"] == 0).astype(float)
    return design


def three_way_ipw_estimates(cohort: pd.DataFrame, outcomes: Sequence[str], covariates: Sequence[str],
                            options: Mapping[str, Any] | None = None) -> tuple[pd.DataFrame, pd.DataFrame]:
    r"""Classroom / online with little support / online with a supportive mentor, by IPW.

    Parameters
    ----------
    cohort : DataFrame
        The cohort with imputed covariates.
    outcomes : sequence of str
    covariates : sequence of str
        Baseline covariates of the multinomial propensity model (categoricals
        become dummies; school and recovery year enter as dummies).

    Returns
    -------
    (estimates, samples)
        Three contrasts per outcome (treatment ``online_low`` and
        ``online_supportive`` vs classroom; ``online_supportive`` vs
        ``online_low``) on sample ``ipw3``; the supportive vs little-support
        contrast carries ``estimand_id`` ``mentor_<outcome>`` where planted.
        Empty (with a warning) when the restricted sample has fewer than two clusters.

    Notes
    -----
    The sample is restricted to school-years in which online recovery was
    offered (some cohort unit recovered online there) in schools whose
    online takers had both kinds of mentor: elsewhere the probability of
    online recovery, or of one kind of mentor, is zero (positivity fails, the
    multinomial logit is separated) and no weighting can compare.
    Generalized propensity :math:`p_k(x)` by MNLogit
    (:func:`generalized_propensity`), trimmed to ``[trim, 1]`` and
    normalized weights :math:`w_i = 1/p_{G_i}(x_i)` (ATE weights, Hájek:
    weighted means within group). The contrasts are the coefficients of
    the weighted regression :math:`y = a + b_1 1[G=1] + b_2 1[G=2]`
    (and the same with little support as reference), standard errors
    clustered by ``options["cluster"]`` treating the weights as fixed
    (conservative for ATE weights with an estimated score, Hirano, Imbens
    & Ridder 2003).
    """
    opt = resolve_model_options(options)
    design = _three_way_design(cohort, covariates, float(opt["ipw_trim"]))
    kw = fe_options(opt)
    n_clusters = design[opt["cluster"]].nunique() if opt["cluster"] in design.columns else len(design)
    if n_clusters < 2:  # e.g. one school offered online with both kinds of mentor: nothing to cluster over
        warnings.warn(f"three-way IPW skipped: its sample has {n_clusters} {opt['cluster']} cluster(s), "
                      "clustered standard errors need at least 2", stacklevel=2)
        return estimates_frame([]), stack_samples([])
    rows, samples = [], []
    est_name = "three-way IPW (multinomial propensity)"
    for y in outcomes:
        vs_classroom = ["online_low", "online_supportive"]
        res = fit_fixed_effects(design, f"{y} ~ {' + '.join(vs_classroom)}", weights="ipw", cluster=opt["cluster"],
                                never_drop=vs_classroom, **kw)
        rows.append(res.to_rows(vs_classroom, outcome=y, estimand="ATE vs classroom",
                                sample="ipw3", estimator=est_name))
        vs_low = ["classroom", "online_supportive"]
        res2 = fit_fixed_effects(design, f"{y} ~ {' + '.join(vs_low)}", weights="ipw", cluster=opt["cluster"],
                                 never_drop=vs_low, **kw)
        r2 = res2.to_rows("online_supportive", outcome=y, estimand_id=MENTOR_ESTIMANDS.get(y, ""),
                          estimand="ATE vs online with little support", sample="ipw3", estimator=est_name)
        r2["treatment"] = "online_supportive vs online_low"
        rows.append(r2)
        samples.append(units_frame(design[res.used], "ipw3", y))
    return estimates_frame(pd.concat(rows, ignore_index=True)), stack_samples(samples)
