"""How strong would a hidden confounder have to be? Sensitivity of the primary matched design (``matched_fe``).

For every outcome of the matched school-by-year FE model (:mod:`credit_recovery.specs.matched`):

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
from credit_recovery.specs.estimands import OCR_ESTIMANDS
from credit_recovery.specs.options import resolve_model_options

__all__ = ["SENSITIVITY_COLUMNS", "BENCHMARK_COLUMNS", "sensitivity_tables", "run_sensitivity", "outcome_scale",
           "pair_differences", "public_sensitivity"]

#: Columns of the per-estimate table.
SENSITIVITY_COLUMNS = ["estimand_id", "outcome", "sample", "estimate", "ci_low", "ci_high", "t_unadjusted", "t_design",
                       "dof",
                       "partial_r2", "rv", "rv_alpha", "scale", "scale_unit", "e_value", "e_value_ci", "n_pairs",
                       "rosenbaum_gamma"]
#: Columns of the benchmark table.
BENCHMARK_COLUMNS = ["estimand_id", "outcome", "sample", "benchmark", "kd", "r2dz_x", "r2yz_dx",
                     "adjusted_estimate", "adjusted_ci_low", "adjusted_ci_high"]
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


def _e_values(e: float, lo: float, hi: float, scale: str, unit: float) -> dict[str, float]:
    """E-values on the outcome's scale; NaN where none exists (a risk difference below minus the baseline rate,
    a baseline of 0 or 1, an outcome without variation)."""
    try:
        if scale == "rd":
            return e_value(e, lo, hi, scale="rd", baseline=unit)
        if unit > 0:
            return e_value(e / unit, lo / unit, hi / unit, scale="smd")
    except ValueError:
        pass
    return {"e_value": float("nan"), "e_value_ci": float("nan")}


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


def sensitivity_tables(matched: pd.DataFrame, units: pd.DataFrame, pairs: pd.DataFrame, estimates: pd.DataFrame,
                       covariates: Sequence[str], *,
                       benchmarks: Sequence[str] = ("gpa_pre", "absence_rate_pre"), kds: Sequence[float] = (1, 2, 3),
                       alpha: float = 0.05, weights: str = "weights") -> tuple[pd.DataFrame, pd.DataFrame]:
    """The per-estimate sensitivity table and the benchmark table of the ``matched_fe`` estimates.

    Parameters
    ----------
    matched : DataFrame
        The matched sample (match weights, imputed covariates, ``school_id``, ``school_year``, ``online``).
    units, pairs : DataFrame
        The table matching drew from (``results/matching/propensity.parquet``) and the matched pairs
        (``treated``, ``control``: its index labels), for the Rosenbaum bounds.
    estimates : DataFrame
        Tidy estimate rows; the ``matched_fe`` rows (whole sample) give each outcome's reported
        estimate and interval.
    covariates : sequence of str
        The matched FE model's covariates (as :func:`credit_recovery.specs.matched.matched_fe_estimates`).
    benchmarks : sequence of str
        Regressor names (after :func:`~credit_recovery.specs.coding.covariate_design`) to bound a
        confounder by, ``kds`` times as strong.
    """
    design, names = covariate_design(matched, covariates, absorbed=("school_id", "school_year"))
    rest = " + " + " + ".join(names) if names else ""
    whole = estimates["subgroup"].fillna("") == "" if "subgroup" in estimates else True
    ocr = estimates["estimand_id"].astype(str).str.startswith("ocr_")  # not the placebo outcomes
    fe = estimates[(estimates["sample"] == _SAMPLE) & whole & ocr]
    rows, bench = [], []
    for r in fe.itertuples():
        y = r.outcome
        fit = _fit(design, f"{y} ~ online{rest} | school_id^school_year", weights)
        est, se, dof = float(fit.params["online"]), float(fit.std_errors["online"]), float(fit.df["online"])
        if not np.isclose(est, float(r.estimate), rtol=1e-7, atol=1e-10):
            raise ValueError(f"the refit of {y} gives {est:.6g}, the reported matched_fe estimate is "
                             f"{float(r.estimate):.6g}: the covariates differ from the models rule's")
        t = est / se
        key = {"estimand_id": OCR_ESTIMANDS.get(y, r.estimand_id), "outcome": y, "sample": _SAMPLE}
        used = fit.used
        ctrl = design[used & (design["online"] == 0)]
        scale, unit = outcome_scale(ctrl[y], ctrl[weights])
        lo, hi, e = float(r.ci_low), float(r.ci_high), float(r.estimate)
        half = (hi - lo) / 2 / stats.norm.ppf(1 - alpha / 2)  # the design's SE, from its interval
        ev = _e_values(e, lo, hi, scale, unit)
        d = pair_differences(units, pairs, y) * (1 if e >= 0 else -1)
        rows.append({**key, "estimate": e, "ci_low": lo, "ci_high": hi, "t_unadjusted": t, "t_design": e / half,
                     "dof": dof, "partial_r2": partial_r2(t, dof), "rv": robustness_value(t, dof),
                     "rv_alpha": robustness_value(e / half, dof, alpha=alpha), "scale": scale, "scale_unit": unit,
                     "e_value": ev["e_value"], "e_value_ci": ev["e_value_ci"], "n_pairs": len(d),
                     "rosenbaum_gamma": rosenbaum_gamma(d, alpha=alpha) if len(d) else np.nan})
        bench += _benchmarks(design, used, names, fit, est, se, dof, benchmarks, kds, weights, key, half / se, alpha)
    return (pd.DataFrame(rows, columns=SENSITIVITY_COLUMNS).reset_index(drop=True),
            pd.DataFrame(bench, columns=BENCHMARK_COLUMNS).reset_index(drop=True))


def run_sensitivity(matched: pd.DataFrame, units: pd.DataFrame, pairs: pd.DataFrame, estimates: pd.DataFrame,
                    matching: Mapping[str, Any], models: Mapping[str, Any],
                    sensitivity: Mapping[str, Any] | None = None) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The rule ``sensitivity``: :func:`sensitivity_tables` with the matched FE model's covariates as the
    ``models`` rule builds them (the matching covariates after imputation, plus ``models.adjust_for``) and the
    ``sensitivity`` config section's benchmarks, multiples and level."""
    opt = {**defaults("sensitivity"), **(sensitivity or {})}
    _, covariates = impute_missing(matched, matching["covariates"])
    extra = [c for c in resolve_model_options(models)["adjust_for"] if c in matched.columns]
    covariates = list(dict.fromkeys([*covariates, *extra]))
    return sensitivity_tables(matched, units, pairs, estimates, covariates, benchmarks=opt["benchmarks"],
                              kds=opt["kd"], alpha=float(opt["alpha"]))


def public_sensitivity(table: pd.DataFrame, min_cell_size: int = 10) -> pd.DataFrame:
    """The rows of a per-estimate (or benchmark) table a public report may show: everything but the estimates
    of outcomes whose matched sets number fewer than ``min_cell_size`` (the table has no counts of students
    otherwise; its statistics are of the whole matched sample)."""
    if "n_pairs" not in table:
        return table.reset_index(drop=True)
    return table[table["n_pairs"] >= min_cell_size].reset_index(drop=True)
