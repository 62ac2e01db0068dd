"""Outcome-model specifications run by the pipeline's models rules.

Each function takes DataFrames (the cohort, the matched sample, platform
events) and returns ``(estimates, samples)``: tidy estimate rows
(:func:`credit_recovery.shared.estimate_schema.estimates_frame`) and the units behind each
estimate (``sample, outcome, student_id, recovery_record_id, online``), so
that the validation rule can recompute the truth over exactly those units.

Specifications (see ``docs/specifications.md``):

* :func:`matched_fe_estimates` - online vs classroom recovery on the matched
  sample, covariate adjustment, school-by-year fixed effects, match weights,
  clustered by school (``ocr_*``).
* :func:`mentor_estimates` - supportive vs non-supportive (and certified vs
  not) mentors among online takers, school fixed effects (``mentor_*``).
* :func:`three_way_ipw_estimates` - classroom / online with little support /
  online with a supportive mentor, multinomial propensity score and inverse
  probability weights.
* :func:`course_test_stats` - tests taken and passed per course record, from
  the platform events.

Panel specifications (student fixed effects, event study) are in
:mod:`credit_recovery.specs.panel`.
"""
from __future__ import annotations

import re
from typing import Any, Mapping, Sequence

import numpy as np
import pandas as pd

from credit_recovery.shared.config import resolve_options
from credit_recovery.shared.estimate_schema import estimates_frame

__all__ = [
    "resolve_model_options",
    "covariate_design",
    "fit_used",
    "units_frame",
    "matched_fe_estimates",
    "course_test_stats",
    "mentor_estimates",
    "generalized_propensity",
    "three_way_ipw_estimates",
    "OCR_ESTIMANDS",
    "MENTOR_ESTIMANDS",
]

#: Outcome -> estimand id of online vs classroom recovery.
OCR_ESTIMANDS = {o: f"ocr_{o}" for o in ("math", "reading", "credits", "gpa", "credit_recovered")}
#: Outcome -> estimand id of a supportive vs a non-supportive mentor (planted in the synthetic district).
MENTOR_ESTIMANDS = {"credit_recovered": "mentor_credit_recovered", "math": "mentor_math"}

def resolve_model_options(options: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """Merge a ``models`` config section over the schema's defaults and validate it (the one place).

    Raises
    ------
    ValueError
        Unknown key or a value outside the allowed set (the message lists the allowed values).
    """
    out = resolve_options("models", options)
    if not 0 <= float(out["ipw_trim"]) < 0.5:
        raise ValueError(f"models.ipw_trim must be in [0, 0.5); got {out['ipw_trim']!r}")
    return out


def _fe_kwargs(opt: Mapping[str, Any]) -> dict[str, Any]:
    return {"cov_type": opt["cov_type"], "bootstrap_reps": int(opt["bootstrap_reps"]),
            "bootstrap_weights": opt["bootstrap_weights"], "seed": int(opt["seed"])}


def _safe(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9_]", "_", str(name))


def covariate_design(data: pd.DataFrame, covariates: Sequence[str],
                     absorbed: Sequence[str] = ()) -> tuple[pd.DataFrame, list[str]]:
    """Numeric regressor columns for ``covariates``: categoricals as drop-first dummies.

    Parameters
    ----------
    data : DataFrame
    covariates : sequence of str
        Columns (numeric, boolean or categorical). Missing numeric values must
        have been imputed (:func:`credit_recovery.data.imputation.impute_missing`).
    absorbed : sequence of str
        Covariates left out because fixed effects absorb them (e.g. ``school_id``).

    Returns
    -------
    (DataFrame, list of str)
        ``data`` with added ``cov_<column>_<level>`` dummy columns, and the
        regressor names (constant columns dropped), in a stable order.
    """
    out = data.copy()
    names: list[str] = []
    for c in covariates:
        if c in absorbed:
            continue
        s = out[c]
        if pd.api.types.is_bool_dtype(s) or str(s.dtype) == "boolean":
            out[c] = s.astype(float)
            s = out[c]
        if pd.api.types.is_numeric_dtype(s):
            if s.nunique(dropna=True) > 1:
                names.append(c)
            continue
        levels = sorted(s.dropna().astype(str).unique())
        for lev in levels[1:]:
            col = f"cov_{_safe(c)}_{_safe(lev)}"
            out[col] = (s.astype(str) == lev).astype(float)
            if out[col].nunique() > 1:
                names.append(col)
    return out, names


def _independent(used: pd.DataFrame, spec, protected: Sequence[str]) -> list[str]:
    """Regressors kept after dropping covariates collinear (after absorbing the FE) with earlier ones."""
    from credit_recovery.estimation.fixed_effects import _Absorber, _codes

    names = list(spec.regressors)
    X = used[names].to_numpy(dtype=float)
    if spec.fixed_effects:
        codes = np.column_stack([_codes(used, t) for t in spec.fixed_effects])
        X = _Absorber(codes, None)(X)
    else:
        X = X - X.mean(axis=0)  # the intercept: centre instead of carrying a constant column
    scale = np.sqrt(np.einsum("ij,ij->j", X, X))
    scale[scale == 0] = 1.0
    G = (X.T @ X) / np.outer(scale, scale)  # Gram matrix of unit-length columns
    keep: list[int] = []
    for j, name in enumerate(names):
        if keep:
            gk = G[np.ix_(keep, keep)]
            g = G[keep, j]
            resid = G[j, j] - g @ np.linalg.solve(gk, g)
        else:
            resid = G[j, j]
        if resid > 1e-9 or name in protected:
            keep.append(j)
    return [names[j] for j in keep]


def fit_used(data: pd.DataFrame, formula: str, *, weights: str | None = None,
             drop_collinear: Sequence[str] | None = None, **kwargs: Any):
    """:func:`credit_recovery.fit_fixed_effects` and the rows it used.

    Rows with a missing value in a used column, zero weight, or alone in a
    fixed-effect group (iteratively) are dropped first, so the returned rows
    are exactly the estimation sample.

    Parameters
    ----------
    drop_collinear : sequence of str, optional
        If given, covariates that are collinear with earlier regressors after
        absorbing the fixed effects are left out, except those named here
        (the treatment terms), in formula order.

    Returns
    -------
    (FixedEffectsResult, DataFrame)
    """
    from credit_recovery.estimation.fixed_effects import _codes, fit_fixed_effects, parse_formula

    spec = parse_formula(formula)
    cols = spec.columns + [c for c in (kwargs.get("cluster"), weights) if c]
    keep = data[list(dict.fromkeys(cols))].notna().all(axis=1)
    if weights is not None:
        keep &= data[weights].astype(float) != 0
    used = data.loc[keep]
    if spec.fixed_effects:
        import pyhdfe

        codes = np.column_stack([_codes(used, t) for t in spec.fixed_effects])
        single = pyhdfe.create(codes, drop_singletons=True, compute_degrees=False).singleton_indices
        if single is not None and single.any():
            used = used.loc[~single]
    try:
        res = fit_fixed_effects(used, formula, weights=weights, drop_singletons=False, **kwargs)
    except Exception as err:  # linearmodels' AbsorbingEffectError or our collinearity ValueError
        collinear = type(err).__name__ == "AbsorbingEffectError" or "collinear" in str(err)
        if drop_collinear is None or not collinear:
            raise
        kept = _independent(used, spec, drop_collinear)
        fe = " | " + spec.fe_label if spec.fixed_effects else ""
        formula = f"{spec.outcome} ~ {' + '.join(kept)}{fe}"
        res = fit_fixed_effects(used, formula, weights=weights, drop_singletons=False, **kwargs)
    assert res.nobs == len(used)
    return res, used


def units_frame(rows: pd.DataFrame, sample: str, outcome: str) -> pd.DataFrame:
    """``sample, outcome, student_id, recovery_record_id, online`` of the units behind an estimate."""
    u = rows[["student_id", "recovery_record_id", "online"]].drop_duplicates(["student_id", "recovery_record_id"])
    u = u.assign(sample=sample, outcome=outcome, online=u["online"].astype(int))
    return u[["sample", "outcome", "student_id", "recovery_record_id", "online"]]


def _samples(parts: list[pd.DataFrame]) -> pd.DataFrame:
    cols = ["sample", "outcome", "student_id", "recovery_record_id", "online"]
    if not parts:
        return pd.DataFrame(columns=cols)
    out = pd.concat(parts, ignore_index=True).drop_duplicates(["sample", "outcome", "student_id",
                                                               "recovery_record_id"])
    return out.sort_values(cols[:4], kind="stable").reset_index(drop=True)


# ---------------------------------------------------------------------------
# 1. matched sample, school-by-year fixed effects
# ---------------------------------------------------------------------------
def matched_fe_estimates(matched: pd.DataFrame, outcomes: Sequence[str], covariates: Sequence[str],
                         options: Mapping[str, Any] | None = None, *,
                         weights: str = "weights") -> tuple[pd.DataFrame, pd.DataFrame]:
    r"""Online vs classroom recovery on the matched sample with school-by-year fixed effects.

    Parameters
    ----------
    matched : DataFrame
        Matched units (``results/matching/matched.parquet``) with match weights,
        imputed covariates, ``school_id`` and ``school_year``.
    outcomes : sequence of str
    covariates : sequence of str
        Baseline covariates (categoricals become dummies; ``school_id`` and
        ``school_year`` are absorbed by the fixed effects).
    options : mapping, optional
        ``models`` config section (cluster, cov_type, bootstrap settings).

    Returns
    -------
    (estimates, samples)
        One row per outcome (estimand ``ATT``, ``estimand_id`` ``ocr_<outcome>``,
        sample ``matched_fe``) and its units.

    Notes
    -----
    Weighted least squares with the match weights :math:`w_i`,

    .. math:: y_i = \beta\,online_i + x_i'\gamma + \alpha_{s(i),t(i)} + e_i,

    :math:`\alpha_{s,t}` school-by-recovery-year effects. Singleton school-year
    cells are dropped (``fit_used``). Standard errors clustered by
    ``options["cluster"]`` (school) with ``options["cov_type"]``; the
    headline is the wild cluster bootstrap (WCR, Webb weights) because one
    district has about ten high schools; ``cr2`` is the Bell-McCaffrey
    alternative (on the weighted model).
    """
    opt = resolve_model_options(options)
    design, names = covariate_design(matched, covariates, absorbed=("school_id", "school_year"))
    kw = _fe_kwargs(opt)
    rows, samples = [], []
    for y in outcomes:
        formula = f"{y} ~ online + {' + '.join(names)} | school_id^school_year" if names else \
            f"{y} ~ online | school_id^school_year"
        res, used = fit_used(design, formula, weights=weights, cluster=opt["cluster"], drop_collinear=["online"],
                             bootstrap_terms=["online"] if kw["cov_type"] == "wild" else None, **kw)
        rows.append(res.to_rows("online", outcome=y, estimand_id=OCR_ESTIMANDS.get(y, ""), estimand="ATT",
                                sample="matched_fe",
                                estimator="matched WLS, covariates, school-by-year FE"))
        samples.append(units_frame(used, "matched_fe", y))
    return estimates_frame(pd.concat(rows, ignore_index=True)), _samples(samples)


# ---------------------------------------------------------------------------
# 3. mentor support among online takers
# ---------------------------------------------------------------------------
def course_test_stats(events: pd.DataFrame, pass_mark: float = 60.0) -> pd.DataFrame:
    """Tests taken and passed per online course record, from the platform events.

    Parameters
    ----------
    events : DataFrame
        ``platform_events`` (``course_record_id, event_type, score``).
    pass_mark : float
        ``engagement.pass_mark``: a test with ``score >= pass_mark`` is passed.

    Returns
    -------
    DataFrame
        ``course_record_id, tests_taken, tests_passed, test_pass_rate``; one
        row per course record with any event (``tests_taken`` 0 and
        ``test_pass_rate`` missing when no test was submitted), sorted by id.

    Notes
    -----
    ``tests_taken`` counts ``test_submitted`` events; ``test_pass_rate =
    tests_passed / tests_taken``.
    """
    ids = pd.Index(pd.unique(events["course_record_id"].astype(str)), name="course_record_id").sort_values()
    t = events.loc[events["event_type"] == "test_submitted", ["course_record_id", "score"]]
    passed = pd.to_numeric(t["score"], errors="coerce").to_numpy(dtype=float) >= float(pass_mark)
    g = pd.DataFrame({"course_record_id": t["course_record_id"].astype(str).to_numpy(),
                      "tests_taken": 1, "tests_passed": passed.astype(int)}).groupby("course_record_id").sum()
    out = g.reindex(ids, fill_value=0).reset_index()
    out["tests_taken"] = out["tests_taken"].astype("int64")
    out["tests_passed"] = out["tests_passed"].astype("int64")
    out["test_pass_rate"] = np.where(out["tests_taken"] > 0,
                                     out["tests_passed"] / out["tests_taken"].where(out["tests_taken"] > 0, 1),
                                     np.nan)
    return out


def _flag(s: pd.Series) -> pd.Series:
    """A yes/no column (bool, boolean with NA, object of True/False/None) as float 1/0/NaN."""
    return pd.Series(s.astype("boolean").to_numpy(dtype=float, na_value=np.nan), index=s.index)


def _online_units(cohort: pd.DataFrame, test_stats: pd.DataFrame | None) -> pd.DataFrame:
    on = cohort[cohort["online"].astype(int) == 1].copy()
    on["supportive"] = _flag(on["mentor_supportive"])
    on["certified"] = _flag(on["mentor_certified"])
    if test_stats is not None:
        on = on.merge(test_stats.rename(columns={"course_record_id": "recovery_record_id"}),
                      on="recovery_record_id", how="left")
    return on


def mentor_estimates(cohort: pd.DataFrame, outcomes: Sequence[str], test_stats: pd.DataFrame | None = None,
                     options: Mapping[str, Any] | None = None) -> tuple[pd.DataFrame, pd.DataFrame]:
    r"""Supportive vs non-supportive (and certified vs not) mentors among online takers.

    Parameters
    ----------
    cohort : DataFrame
        The analytic cohort (``mentor_supportive``, ``mentor_certified``).
    outcomes : sequence of str
        Cohort outcomes and/or ``tests_taken``, ``test_pass_rate`` (need ``test_stats``).
    test_stats : DataFrame, optional
        :func:`course_test_stats` of the platform events.

    Returns
    -------
    (estimates, samples)
        Sample ``online``; ``estimand_id`` ``mentor_<outcome>`` for the
        supportive contrast on credit recovered and math.

    Notes
    -----
    Mentors are assigned at random within school, so within-school contrasts
    identify the effect:
    :math:`y_i = \beta\,supportive_i + \alpha_{s(i)} + e_i` over online
    takers, clustered by ``options["cluster"]``; likewise with
    ``certified`` (mentor certified in the course's subject), which is *not*
    randomized separately (supportive mentors are more often certified) and
    has no planted truth. A contrast whose treatment varies within fewer
    than two schools is not estimated (no row).
    """
    opt = resolve_model_options(options)
    on = _online_units(cohort, test_stats)
    rows, samples = [], []
    for treat, label in (("supportive", "instructionally supportive vs not"),
                         ("certified", "certified in the subject vs not")):
        for y in outcomes:
            if y not in on.columns:
                raise ValueError(f"mentor outcome {y!r} is neither a cohort column nor a test statistic; "
                                 "pass test_stats=course_test_stats(events) for tests_taken/test_pass_rate")
            d = on[on[treat].notna() & on[y].notna()]
            # the contrast is identified within schools: it needs variation in at least two of them
            # (with one, the clustered score sums to zero and there is no standard error)
            if int((d.groupby("school_id")[treat].nunique() > 1).sum()) < 2:
                continue
            res, used = fit_used(d, f"{y} ~ {treat} | school_id", cluster=opt["cluster"], **_fe_kwargs(opt))
            eid = MENTOR_ESTIMANDS.get(y, "") if treat == "supportive" else ""
            rows.append(res.to_rows(treat, outcome=y, estimand_id=eid, estimand="ATE among online takers",
                                    sample="online", estimator=f"mentor {label}, school FE"))
            samples.append(units_frame(used, "online", y))
    est = estimates_frame(pd.concat(rows, ignore_index=True)) if rows else estimates_frame([])
    return est, _samples(samples)


def generalized_propensity(data: pd.DataFrame, group: str, covariates: Sequence[str]) -> pd.DataFrame:
    r"""Multinomial (generalized) propensity scores with ``statsmodels`` MNLogit.

    Parameters
    ----------
    data : DataFrame
    group : str
        Column of integer group codes 0..K-1.
    covariates : sequence of str
        Numeric regressor columns (see :func:`covariate_design`).

    Returns
    -------
    DataFrame
        ``p_0 .. p_{K-1}``, indexed like ``data``.

    Notes
    -----
    :math:`P(G=k\mid x) = \exp(x'\beta_k)/\sum_j \exp(x'\beta_j)`,
    :math:`\beta_0 = 0`, by maximum likelihood (Newton, then BFGS if Newton fails).
    """
    from statsmodels.discrete.discrete_model import MNLogit
    from statsmodels.tools.tools import add_constant

    X = add_constant(data[list(covariates)].astype(float), has_constant="add")
    model = MNLogit(data[group].astype(int), X)
    import warnings

    from statsmodels.tools.sm_exceptions import ConvergenceWarning

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


THREE_WAY_GROUPS = ("classroom", "online, little support", "online, supportive mentor")


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
    d = cohort.copy()
    sup = _flag(d["mentor_supportive"])
    d["group3"] = np.where(d["online"].astype(int) == 0, 0, np.where(sup == 1, 2, 1))
    d = d[(d["online"].astype(int) == 0) | sup.notna()]
    offered = d.groupby(["school_id", "school_year"])["online"].transform("max") == 1
    both = d.groupby("school_id")["group3"].transform(lambda g: bool({1, 2} <= set(g)))
    d = d[offered & both].copy()
    d["_year"] = d["school_year"].astype(str)
    covs = list(dict.fromkeys([*covariates, "school_id", "_year"]))
    design, names = covariate_design(d, covs)
    ps = generalized_propensity(design, "group3", names)
    trim = float(opt["ipw_trim"])
    p_own = ps.to_numpy()[np.arange(len(design)), design["group3"].to_numpy()]
    design["ipw"] = 1.0 / np.clip(p_own, trim, 1.0) if trim > 0 else 1.0 / p_own
    design["online_low"] = (design["group3"] == 1).astype(float)
    design["online_supportive"] = (design["group3"] == 2).astype(float)
    design["classroom"] = (design["group3"] == 0).astype(float)
    kw = _fe_kwargs(opt)
    rows, samples = [], []
    est_name = "three-way IPW (multinomial propensity)"
    for y in outcomes:
        res, used = fit_used(design, f"{y} ~ online_low + online_supportive", weights="ipw",
                             cluster=opt["cluster"], **kw)
        rows.append(res.to_rows(["online_low", "online_supportive"], outcome=y, estimand="ATE vs classroom",
                                sample="ipw3", estimator=est_name))
        res2, _ = fit_used(design, f"{y} ~ classroom + online_supportive", weights="ipw",
                           cluster=opt["cluster"], **kw)
        r2 = res2.to_rows("online_supportive", outcome=y, estimand_id=MENTOR_ESTIMANDS.get(y, ""),
                          estimand="ATE vs online with little support", sample="ipw3", estimator=est_name)
        r2["treatment"] = "online_supportive vs online_low"
        rows.append(r2)
        samples.append(units_frame(used, "ipw3", y))
    return estimates_frame(pd.concat(rows, ignore_index=True)), _samples(samples)
