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
from credit_recovery.specs.estimands import BOT_ESTIMANDS, MENTOR_ESTIMANDS, stack_samples, units_frame
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
    ps = generalized_propensity(design, "group3", names).to_numpy()
    g = design["group3"].to_numpy()
    p_own = ps[np.arange(len(design)), g]
    p_own = np.clip(p_own, trim, 1.0) if trim > 0 else p_own
    # ATT weights towards the online takers with a supportive mentor (group 2): p_2(x) / p_own(x), 1 in group 2
    design["ipw"] = np.where(g == 2, 1.0, ps[:, 2] / p_own)
    design["online_low"] = (g == 1).astype(float)
    design["online_supportive"] = (g == 2).astype(float)
    design["classroom"] = (g == 0).astype(float)
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
        Two contrasts per outcome on sample ``ipw3``, both ATTs over the online
        takers with a supportive mentor: ``online_supportive vs classroom``
        (the Back on Track contrast, ``estimand_id`` ``bot_<outcome>``) and
        ``online_supportive vs online_low`` (a supportive mentor against
        little support, ``mentor_<outcome>`` where planted). Empty (with a
        warning) when the restricted sample has fewer than two clusters.

    Notes
    -----
    The sample is restricted to school-years in which online recovery was
    offered (some cohort unit recovered online there) in schools whose
    online takers had both kinds of mentor: elsewhere the probability of
    online recovery, or of one kind of mentor, is zero (positivity fails, the
    multinomial logit is separated) and no weighting can compare.
    Generalized propensity :math:`p_k(x)` by MNLogit
    (:func:`generalized_propensity`); ATT weights towards group 2 (online
    with a supportive mentor), :math:`w_i = 1` in group 2 and
    :math:`w_i = p_2(x_i)/p_{G_i}(x_i)` elsewhere, the denominator trimmed
    to ``[trim, 1]`` (Hájek: weighted means within group, each group
    reweighted to group 2's covariate distribution). Each contrast is a
    coefficient of the saturated weighted regression
    :math:`y = a + b_1 1[G=g_1] + b_2 1[G=2]` with the other group as
    reference, i.e. a difference of weighted group means (so no
    regression weighting across units: the ATT holds with heterogeneous
    effects). Standard errors clustered by ``options["cluster"]`` treating
    the weights as fixed.
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
    est_name = "three-way IPW (multinomial propensity), ATT weights"
    for y in outcomes:
        for ref, eid, estimand in (("classroom", BOT_ESTIMANDS.get(y, ""), "ATT vs classroom"),
                                   ("online_low", MENTOR_ESTIMANDS.get(y, ""), "ATT vs online with little support")):
            others = [c for c in ("classroom", "online_low", "online_supportive") if c != ref]
            res = fit_fixed_effects(design, f"{y} ~ {' + '.join(others)}", weights="ipw", cluster=opt["cluster"],
                                    never_drop=others, **kw)
            r = res.to_rows("online_supportive", outcome=y, estimand_id=eid, estimand=estimand, sample="ipw3",
                            estimator=est_name)
            r["treatment"] = f"online_supportive vs {ref}"
            rows.append(r)
        samples.append(units_frame(design[res.used], "ipw3", y))
    return estimates_frame(pd.concat(rows, ignore_index=True)), stack_samples(samples)
