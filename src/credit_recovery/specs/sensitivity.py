"""How strong would a hidden confounder have to be? Sensitivity of every designed whole-sample estimate.

The table has one row per designed estimate of the whole sample (:func:`sensitivity_rows`: the estimand
registry's designed samples, :func:`credit_recovery.specs.estimands.designed_mask`; not the placebo outcomes,
the subgroups or the matched g-computation variant; of the event studies ``panel_es`` and ``panel_cs`` the
recovery-year row, event time 0, only). Its key is (``outcome``, ``sample``, ``treatment``) (:data:`SENSITIVITY_KEY`).

For every outcome of the primary matched design, the matched school-by-year FE model (``matched_fe``,
:mod:`credit_recovery.specs.matched`):

* **Robustness values** (:func:`credit_recovery.estimation.sensitivity.robustness_value`): the model is
  refitted with unadjusted (homoskedastic WLS) standard errors, whose t statistic and residual degrees of
  freedom give the treatment's partial :math:`R^2` with the outcome and :math:`RV` (estimate to zero), as
  sensemakr does for an ``lm`` fit. :math:`RV_{\\alpha}` (interval to zero) takes the design's t statistic
  instead (the estimate over the reported interval's half-width divided by :math:`z_{1-\\alpha/2}`: clustered
  or wild-bootstrap inference is wider than the unadjusted one, and an interval that already includes zero
  gives 0), an adaptation of the paper's homoskedastic formula.
* **Benchmarks** (:func:`~credit_recovery.estimation.sensitivity.ovb_benchmark_bounds`): a confounder
  ``kd`` times as strong as an observed covariate (prior GPA, absences), its partial :math:`R^2` with
  online take-up from the WLS of ``online`` on the same covariates and fixed effects, with the outcome
  from the outcome model; the adjusted estimate, and an interval whose half-width is the design's (the
  reported interval's half-width, scaled by sensemakr's adjusted-SE factor).
* **E-values** (:func:`~credit_recovery.estimation.sensitivity.e_value`) of the reported estimate and the
  interval limit nearest the null: scores are already in SD units; credits and GPA are divided by the
  matched classroom units' (weighted) SD; 0/1 outcomes are risk differences at the matched classroom
  units' (weighted) rate.
* **Rosenbaum bounds** (:func:`~credit_recovery.estimation.sensitivity.rosenbaum_gamma`) of the matched
  sets: each online unit's outcome minus the weighted mean of its matched controls', signed so that the
  estimate's direction is positive; the Gamma at which the one-sided 5% signed-rank test is lost.

The other designs (:func:`design_rows`) have no refit: their numbers come from the reported row.

* **E-values** on the scale of the design's comparison group (:func:`comparison_group`): every online vs
  classroom contrast (``matched``, ``matched_rw``, ``panel``, ``panel_es``, ``panel_cs`` and the three-way
  IPW's contrast with the classroom) reads the outcome on the matched classroom units' scale, the one of
  ``matched_fe``; the mentor contrasts (``online``, and the three-way IPW's contrast with online takers with
  little support) on the scale of the online takers without a supportive (or certified) mentor, weighted as
  in the within-school ATT (:func:`mentor_scale`).
* **Robustness values** of the (weighted) least-squares estimators, the rows with ``residual_df`` (the
  residual degrees of freedom of the fit, :mod:`credit_recovery.shared.estimate_schema`): :math:`RV` and
  :math:`RV_{\\alpha}` both from the design's t statistic. Estimators that are no regression coefficient
  (bias-corrected matching, Callaway-Sant'Anna) have no residual degrees of freedom: no robustness value.
* **Rosenbaum bounds** of the matched samples (``matched``, ``matched_rw``): the matched sets of
  ``matched_fe``, signed by the row's own estimate.

Nothing here reads or writes files.
"""
from __future__ import annotations

from typing import Any, Mapping, Sequence

import numpy as np
import pandas as pd
from scipy import stats

from credit_recovery.data.imputation import impute_missing
from credit_recovery.estimation.fixed_effects import fit_fixed_effects
from credit_recovery.estimation.sensitivity import (e_value, ovb_benchmark_bounds, partial_r2, robustness_value,
                                                    rosenbaum_gamma)
from credit_recovery.shared.config import defaults
from credit_recovery.specs.coding import covariate_design
from credit_recovery.specs.estimands import OCR_ESTIMANDS, designed_mask
from credit_recovery.specs.mentor import course_test_stats, online_takers, within_school_att_weights
from credit_recovery.specs.options import resolve_model_options
from credit_recovery.specs.panel import event_time_of

__all__ = ["SENSITIVITY_COLUMNS", "SENSITIVITY_KEY", "BENCHMARK_COLUMNS", "CLASSROOM", "sensitivity_tables",
           "run_sensitivity", "sensitivity_rows", "design_rows", "comparison_group", "mentor_scale", "outcome_scale",
           "pair_differences", "public_sensitivity"]

#: Columns of the per-estimate table.
SENSITIVITY_COLUMNS = ["estimand_id", "outcome", "sample", "treatment", "estimator", "estimate", "ci_low", "ci_high",
                       "n", "t_unadjusted", "t_design", "dof", "partial_r2", "rv", "rv_alpha", "scale", "scale_unit",
                       "scale_group", "e_value", "e_value_ci", "n_pairs", "rosenbaum_gamma"]
#: The columns that identify a row of the per-estimate table (the brief's number tags use them).
SENSITIVITY_KEY = ("outcome", "sample", "treatment")
#: Columns of the benchmark table.
BENCHMARK_COLUMNS = ["estimand_id", "outcome", "sample", "benchmark", "kd", "r2dz_x", "r2yz_dx",
                     "adjusted_estimate", "adjusted_ci_low", "adjusted_ci_high"]
#: The comparison group of the online vs classroom contrasts (``scale_group``).
CLASSROOM = "matched classroom"
#: Samples whose estimates rest on the matched sets (Rosenbaum bounds).
MATCHED_SETS_SAMPLES = ("matched", "matched_fe", "matched_rw")
#: Event-study samples: only their recovery-year row (event time 0) is in the table.
EVENT_TIME_SAMPLES = ("panel_es", "panel_cs")
_SAMPLE = "matched_fe"


def outcome_scale(values: pd.Series, weights: pd.Series) -> tuple[str, float]:
    """How an outcome's differences become an E-value: ``("rd", baseline rate)`` for a 0/1 outcome, else
    ``("smd", SD)`` (weighted, of the given comparison units)."""
    v, w = values.to_numpy(float), weights.to_numpy(float)
    ok = np.isfinite(v) & (w > 0)
    v, w = v[ok], w[ok]
    mean = float(np.average(v, weights=w))
    if np.isin(v, (0.0, 1.0)).all():
        return "rd", mean
    return "smd", float(np.sqrt(np.average((v - mean) ** 2, weights=w)))


def pair_differences(units: pd.DataFrame, pairs: pd.DataFrame, outcome: str) -> np.ndarray:
    """Each matched online unit's outcome minus the weighted mean of its matched controls'.

    ``pairs`` has ``treated``, ``control`` (index labels of ``units``, the table matching drew from) and
    optionally ``weight``; controls with a missing outcome leave the set, a set without a treated outcome
    or without any control outcome is dropped. One difference per remaining set, in treated-label order.
    """
    y = units[outcome]
    p = pairs.assign(yt=y.reindex(pairs["treated"]).to_numpy(), yc=y.reindex(pairs["control"]).to_numpy())
    p["w"] = p["weight"] if "weight" in p else 1.0
    p = p[np.isfinite(p["yt"]) & np.isfinite(p["yc"])]
    g = p.groupby("treated", sort=True)
    ctrl = (p["w"] * p["yc"]).groupby(p["treated"], sort=True).sum() / g["w"].sum()
    return (g["yt"].first() - ctrl).to_numpy(float)


def sensitivity_rows(estimates: pd.DataFrame) -> pd.DataFrame:
    """The estimate rows the sensitivity table covers: designed estimates
    (:func:`~credit_recovery.specs.estimands.designed_mask`) of the whole sample (empty ``subgroup``), not the
    placebo outcomes (estimand ids ``placebo_*``), and of the event studies (:data:`EVENT_TIME_SAMPLES`) only
    the recovery-year row (event time 0: the effect the registry names; the earlier event times test pre-trends,
    the later ones mix lasting effects with later recovery episodes)."""
    text = estimates.assign(**{c: estimates[c].fillna("").astype(str)
                               for c in ("sample", "estimator", "estimand_id", "treatment")})
    whole = text["subgroup"].fillna("").astype(str) == "" if "subgroup" in text else True
    keep = designed_mask(text) & whole & ~text["estimand_id"].str.startswith("placebo_")
    event = text["sample"].isin(EVENT_TIME_SAMPLES)
    at_zero = [not e or _event_time(t) == 0 for e, t in zip(event, text["treatment"])]
    return estimates[keep & np.asarray(at_zero, dtype=bool)]


def _event_time(treatment: str) -> int | None:
    try:
        return event_time_of(treatment)
    except (ValueError, IndexError):
        return None


def comparison_group(treatment: str) -> str:
    """The comparison group whose outcome scale an estimate's E-value reads (``scale_group``): ``"online, not
    supportive"`` / ``"online, not certified"`` for the mentor contrasts (treatment ``supportive``,
    ``certified``, or ``... vs online_low`` of the three-way IPW), else :data:`CLASSROOM`."""
    if treatment in ("supportive", "certified"):
        return f"online, not {treatment}"
    if treatment.endswith("vs online_low"):
        return "online, not supportive"
    return CLASSROOM


def mentor_scale(online: pd.DataFrame, treat: str, outcome: str) -> tuple[str, float] | None:
    """:func:`outcome_scale` of the online takers without a ``treat`` (``supportive``, ``certified``) mentor, with
    the within-school ATT weights of the mentor contrast
    (:func:`~credit_recovery.specs.mentor.within_school_att_weights`); ``None`` without such units."""
    if outcome not in online.columns or treat not in online.columns:
        return None
    d = online[online[treat].notna() & online[outcome].notna()]
    if d.empty:
        return None
    w = within_school_att_weights(d, treat)
    keep = (d[treat].to_numpy(float) == 0) & (w > 0)
    if not keep.any():
        return None
    return outcome_scale(d.loc[keep, outcome], pd.Series(w[keep]))


def _e_values(e: float, lo: float, hi: float, scale: str, unit: float) -> dict[str, float]:
    """E-values on the outcome's scale; NaN where none exists (a risk difference below minus the baseline rate,
    a baseline of 0 or 1, an outcome without variation, no scale)."""
    try:
        if scale == "rd":
            return e_value(e, lo, hi, scale="rd", baseline=unit)
        if scale == "smd" and unit > 0:
            return e_value(e / unit, lo / unit, hi / unit, scale="smd")
    except ValueError:
        pass
    return {"e_value": float("nan"), "e_value_ci": float("nan")}


def _gamma(d: np.ndarray | None, estimate: float, alpha: float) -> tuple[float, float]:
    """(matched sets, Rosenbaum Gamma) of the sets' differences signed by the estimate; NaN without sets."""
    if d is None:
        return np.nan, np.nan
    d = d * (1 if estimate >= 0 else -1)
    return float(len(d)), (rosenbaum_gamma(d, alpha=alpha) if len(d) else np.nan)


def _number(value: Any) -> float:
    return np.nan if value is None or pd.isna(value) else float(value)


def design_rows(rows: pd.DataFrame, scales: Mapping[tuple[str, str], tuple[str, float]],
                matched_sets: Mapping[str, np.ndarray] | None = None, alpha: float = 0.05) -> pd.DataFrame:
    """Sensitivity rows of designed estimates from their reported numbers (every design but ``matched_fe``).

    Parameters
    ----------
    rows : DataFrame
        Tidy estimate rows (:func:`sensitivity_rows`); ``residual_df`` (missing: not a least-squares
        coefficient, no robustness value).
    scales : mapping
        ``(scale_group, outcome) -> (scale, unit)`` (:func:`outcome_scale` of the comparison group,
        :func:`comparison_group`); a row without one has no E-value.
    matched_sets : mapping, optional
        ``outcome -> ``:func:`pair_differences`, for the rows of :data:`MATCHED_SETS_SAMPLES`.

    Notes
    -----
    ``t_design`` is the estimate over the SE the reported interval implies (its half-width over
    :math:`z_{1-\\alpha/2}`; the reported SE for a normal interval); ``partial_r2``, ``rv`` and ``rv_alpha`` take
    it with ``dof`` = ``residual_df``. Returned with the index of ``rows``.
    """
    z = stats.norm.ppf(1 - alpha / 2)
    out = {}
    for i, r in rows.iterrows():
        y, e, lo, hi = str(r["outcome"]), float(r["estimate"]), float(r["ci_low"]), float(r["ci_high"])
        half = (hi - lo) / 2 / z
        t = e / half if half > 0 else np.nan
        dof = _number(r.get("residual_df"))
        regression = np.isfinite(dof) and dof > 1 and np.isfinite(t)
        group = comparison_group(str(r["treatment"]))
        scale, unit = scales.get((group, y), ("", np.nan))
        ev = _e_values(e, lo, hi, scale, unit)
        sets = (matched_sets or {}).get(y) if r["sample"] in MATCHED_SETS_SAMPLES else None
        n_pairs, gamma = _gamma(sets, e, alpha)
        out[i] = {"estimand_id": r["estimand_id"], "outcome": y, "sample": r["sample"], "treatment": r["treatment"],
                  "estimator": r["estimator"], "estimate": e, "ci_low": lo, "ci_high": hi, "n": _number(r["n"]),
                  "t_unadjusted": np.nan, "t_design": t, "dof": dof if regression else np.nan,
                  "partial_r2": partial_r2(t, dof) if regression else np.nan,
                  "rv": robustness_value(t, dof) if regression else np.nan,
                  "rv_alpha": robustness_value(t, dof, alpha=alpha) if regression else np.nan,
                  "scale": scale, "scale_unit": unit, "scale_group": group, "e_value": ev["e_value"],
                  "e_value_ci": ev["e_value_ci"], "n_pairs": n_pairs, "rosenbaum_gamma": gamma}
    return pd.DataFrame.from_dict(out, orient="index", columns=SENSITIVITY_COLUMNS)


def _fit(design: pd.DataFrame, formula: str, weights: str) -> Any:
    keep = ["online"] if " ~ online" in formula else None
    return fit_fixed_effects(design, formula, weights=weights, cov_type="unadjusted", never_drop=keep)


def _benchmarks(design, used, names, outcome_fit, est, se, dof, benchmarks, kds, weights, key, se_ratio, alpha):
    """Benchmark rows; the adjusted interval's SE is scaled by the design's SE over the unadjusted one."""
    rows = []
    crit = stats.norm.ppf(1 - alpha / 2)
    present = [b for b in benchmarks if b in outcome_fit.params.index]
    if not present:
        return rows
    rest = " + ".join(names) or "1"
    treat = _fit(design[used], f"online ~ {rest} | school_id^school_year", weights)
    for b in present:
        r2d = partial_r2(treat.params[b] / treat.std_errors[b], treat.df[b])
        r2y = partial_r2(outcome_fit.params[b] / outcome_fit.std_errors[b], dof)
        for kd in kds:
            try:
                bound = ovb_benchmark_bounds(est, se, dof, r2d, r2y, kd=kd)
            except ValueError:
                continue
            adj, half = bound["adjusted_estimate"], crit * bound["adjusted_se"] * se_ratio
            rows.append({**key, "benchmark": b, "kd": float(kd), "r2dz_x": bound["r2dz_x"],
                         "r2yz_dx": bound["r2yz_dx"], "adjusted_estimate": adj,
                         "adjusted_ci_low": adj - half, "adjusted_ci_high": adj + half})
    return rows


def _matched_fe_tables(matched, units, pairs, fe, covariates, benchmarks, kds, alpha, weights):
    """The ``matched_fe`` rows (refit with unadjusted SEs, benchmarks, E-values, Rosenbaum bounds), their
    benchmark rows and each outcome's matched classroom scale."""
    design, names = covariate_design(matched, covariates, absorbed=("school_id", "school_year"))
    rest = " + " + " + ".join(names) if names else ""
    rows, bench, scales = {}, [], {}
    for i, r in fe.iterrows():
        y = r["outcome"]
        fit = _fit(design, f"{y} ~ online{rest} | school_id^school_year", weights)
        est, se, dof = float(fit.params["online"]), float(fit.std_errors["online"]), float(fit.df["online"])
        if not np.isclose(est, float(r["estimate"]), rtol=1e-7, atol=1e-10):
            raise ValueError(f"the refit of {y} gives {est:.6g}, the reported matched_fe estimate is "
                             f"{float(r['estimate']):.6g}: the covariates differ from the models rule's")
        t = est / se
        key = {"estimand_id": OCR_ESTIMANDS.get(y, r["estimand_id"]), "outcome": y, "sample": _SAMPLE}
        used = fit.used
        ctrl = design[used & (design["online"] == 0)]
        scale, unit = scales[(CLASSROOM, y)] = outcome_scale(ctrl[y], ctrl[weights])
        lo, hi, e = float(r["ci_low"]), float(r["ci_high"]), float(r["estimate"])
        half = (hi - lo) / 2 / stats.norm.ppf(1 - alpha / 2)  # the design's SE, from its interval
        ev = _e_values(e, lo, hi, scale, unit)
        n_pairs, gamma = _gamma(pair_differences(units, pairs, y), e, alpha)
        rows[i] = {**key, "treatment": r["treatment"], "estimator": r["estimator"], "estimate": e, "ci_low": lo,
                   "ci_high": hi, "n": _number(r["n"]), "t_unadjusted": t, "t_design": e / half, "dof": dof,
                   "partial_r2": partial_r2(t, dof), "rv": robustness_value(t, dof),
                   "rv_alpha": robustness_value(e / half, dof, alpha=alpha), "scale": scale, "scale_unit": unit,
                   "scale_group": CLASSROOM, "e_value": ev["e_value"], "e_value_ci": ev["e_value_ci"],
                   "n_pairs": n_pairs, "rosenbaum_gamma": gamma}
        bench += _benchmarks(design, used, names, fit, est, se, dof, benchmarks, kds, weights, key, half / se, alpha)
    return pd.DataFrame.from_dict(rows, orient="index", columns=SENSITIVITY_COLUMNS), bench, scales


def _other_scales(other: pd.DataFrame, scales: dict, matched: pd.DataFrame, online: pd.DataFrame | None,
                  weights: str) -> dict:
    """``scales`` completed for the other designs' rows: the matched classroom units' (weighted) scale of an
    outcome without a ``matched_fe`` row, and the mentor contrasts' comparison groups (:func:`mentor_scale`)."""
    out = dict(scales)
    for y, treatment in zip(other["outcome"], other["treatment"]):
        group = comparison_group(str(treatment))
        if (group, y) in out:
            continue
        found = None
        if group == CLASSROOM and y in matched.columns:
            ctrl = matched[(matched["online"].astype(int) == 0) & matched[y].notna() & (matched[weights] > 0)]
            found = outcome_scale(ctrl[y], ctrl[weights]) if len(ctrl) else None
        elif group != CLASSROOM and online is not None:
            found = mentor_scale(online, group.rsplit(" ", 1)[-1], y)
        if found is not None:
            out[(group, y)] = found
    return out


def sensitivity_tables(matched: pd.DataFrame, units: pd.DataFrame, pairs: pd.DataFrame, estimates: pd.DataFrame,
                       covariates: Sequence[str], *, online: pd.DataFrame | None = None,
                       benchmarks: Sequence[str] = ("gpa_pre", "absence_rate_pre"), kds: Sequence[float] = (1, 2, 3),
                       alpha: float = 0.05, weights: str = "weights") -> tuple[pd.DataFrame, pd.DataFrame]:
    """The per-estimate sensitivity table of every designed estimate (:func:`sensitivity_rows`) and the benchmark
    table of the ``matched_fe`` estimates.

    Parameters
    ----------
    matched : DataFrame
        The matched sample (match weights, imputed covariates, ``school_id``, ``school_year``, ``online``).
    units, pairs : DataFrame
        The table matching drew from (``results/matching/propensity.parquet``) and the matched pairs
        (``treated``, ``control``: its index labels), for the Rosenbaum bounds.
    estimates : DataFrame
        Tidy estimate rows (``results/models/estimates.csv``).
    covariates : sequence of str
        The matched FE model's covariates (as :func:`credit_recovery.specs.matched.matched_fe_estimates`).
    online : DataFrame, optional
        The online takers (:func:`~credit_recovery.specs.mentor.online_takers`), for the mentor contrasts'
        E-value scales; without them those rows have no E-value.
    benchmarks : sequence of str
        Regressor names (after :func:`~credit_recovery.specs.coding.covariate_design`) to bound a
        confounder by, ``kds`` times as strong.

    Returns
    -------
    (table, benchmarks)
        One row per designed estimate, in the order of ``estimates`` (:data:`SENSITIVITY_COLUMNS`; unique
        :data:`SENSITIVITY_KEY`), and the benchmark rows (:data:`BENCHMARK_COLUMNS`).
    """
    rows = sensitivity_rows(estimates)
    fe = rows[rows["sample"] == _SAMPLE]
    table, bench, scales = _matched_fe_tables(matched, units, pairs, fe, covariates, benchmarks, kds, alpha, weights)
    other = rows[rows["sample"] != _SAMPLE]
    scales = _other_scales(other, scales, matched, online, weights)
    sets = {y: pair_differences(units, pairs, y) for y in
            pd.unique(other.loc[other["sample"].isin(MATCHED_SETS_SAMPLES), "outcome"]) if y in units.columns}
    parts = [p for p in (table, design_rows(other, scales, sets, alpha)) if len(p)]
    out = pd.concat(parts).sort_index() if parts else pd.DataFrame(columns=SENSITIVITY_COLUMNS)
    key = list(SENSITIVITY_KEY)
    dup = out.duplicated(key, keep=False)
    if dup.any():
        raise ValueError(f"sensitivity rows share a key {key}:\n{out.loc[dup, key]}")
    out = out[SENSITIVITY_COLUMNS].reset_index(drop=True)
    out[["n", "n_pairs"]] = out[["n", "n_pairs"]].apply(pd.to_numeric).round().astype("Int64")
    return out, pd.DataFrame(bench, columns=BENCHMARK_COLUMNS).reset_index(drop=True)


def run_sensitivity(matched: pd.DataFrame, units: pd.DataFrame, pairs: pd.DataFrame, estimates: pd.DataFrame,
                    matching: Mapping[str, Any], models: Mapping[str, Any],
                    sensitivity: Mapping[str, Any] | None = None, *, cohort: pd.DataFrame | None = None,
                    events: pd.DataFrame | None = None, pass_mark: float = 60.0) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The rule ``sensitivity``: :func:`sensitivity_tables` with the matched FE model's covariates as the
    ``models`` rule builds them (the matching covariates after imputation, plus ``models.adjust_for``), the
    ``sensitivity`` config section's benchmarks, multiples and level, and the online takers of ``cohort`` with
    their courses' test statistics from the platform ``events`` (``engagement.pass_mark``), as the
    ``models_mentor`` rule builds them."""
    opt = {**defaults("sensitivity"), **(sensitivity or {})}
    _, covariates = impute_missing(matched, matching["covariates"])
    extra = [c for c in resolve_model_options(models)["adjust_for"] if c in matched.columns]
    covariates = list(dict.fromkeys([*covariates, *extra]))
    online = None
    if cohort is not None:
        online = online_takers(cohort, course_test_stats(events, pass_mark) if events is not None else None)
    return sensitivity_tables(matched, units, pairs, estimates, covariates, online=online,
                              benchmarks=opt["benchmarks"], kds=opt["kd"], alpha=float(opt["alpha"]))


def public_sensitivity(table: pd.DataFrame, min_cell_size: int = 10) -> pd.DataFrame:
    """The rows of a per-estimate (or benchmark) table a public report may show: everything but the estimates
    resting on fewer than ``min_cell_size`` students (``n``) or matched sets (``n_pairs``); the table has no
    other counts of students, its statistics are of the estimate's whole sample."""
    keep = pd.Series(True, index=table.index)
    for c in ("n", "n_pairs"):
        if c in table:
            v = pd.to_numeric(table[c], errors="coerce")
            keep &= ~(v < min_cell_size)
    return table[keep].reset_index(drop=True)
