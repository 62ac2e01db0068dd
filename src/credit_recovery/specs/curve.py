"""Specification curve: the online-vs-classroom estimate under every combination of reasonable analyst choices.

A specification is one choice of caliper x controls per online unit x matching with or without replacement x
covariate set x fixed effects x cluster level (the ``specification_curve`` config section). Each runs the
whole matched design on the cohort's propensity table: propensity model on its covariate set, matching, then
WLS of each outcome on ``online`` and the covariates with its fixed effects, standard errors clustered by
school (CR1) or heteroskedasticity-robust (HC1) without clustering. The Snakemake rule ``spec_curve_job``
runs one specification per job (so a large grid fans out over a cluster), ``spec_curve`` gathers them:
:func:`curve_summary` gives, per outcome, the share of specifications with the primary's sign and the share
also significant at 5%, and the figure marks the primary specification.
"""
from __future__ import annotations

import itertools
from typing import Any, Mapping, Sequence

import numpy as np
import pandas as pd

from credit_recovery.data.imputation import impute_missing
from credit_recovery.design.matching import match
from credit_recovery.design.propensity import fit_propensity
from credit_recovery.estimation.fixed_effects import fit_fixed_effects
from credit_recovery.shared.config import resolve_options
from credit_recovery.specs.coding import covariate_design

__all__ = ["CURVE_CHOICES", "COVARIATE_SETS", "CURVE_COLUMNS", "curve_grid", "spec_id", "parse_spec_id",
           "curve_estimates", "curve_summary"]

#: The choices a specification makes, in the order of its id.
CURVE_CHOICES = ("caliper", "ratio", "replace", "covariates", "fixed_effects", "cluster")
#: Covariate sets: ``full`` is ``matching.covariates``; the others drop from it.
COVARIATE_SETS = {
    "full": None,
    "no_school": ("school_id",),
    "scores_only": ("absence_rate_pre", "grade", "frl", "ell", "sped", "gender", "race_ethnicity", "subject",
                    "school_id"),
}
_FE = {"school_year": "school_id^school_year", "school_and_year": "school_id + school_year", "none": ""}
#: Columns of a specification's rows and of ``results/spec_curve/curve.csv``.
CURVE_COLUMNS = ["spec_id", *CURVE_CHOICES, "outcome", "estimate", "std_error", "ci_low", "ci_high", "p_value",
                 "n", "n_treated_matched", "share_treated_dropped"]


def spec_id(spec: Mapping[str, Any]) -> str:
    """``cal0.1_r3_rep_full_fe-school_year_cl-school_id``: a file-name-safe id of one specification."""
    return (f"cal{spec['caliper']}_r{spec['ratio']}_{'rep' if spec['replace'] else 'norep'}_{spec['covariates']}_"
            f"fe-{spec['fixed_effects']}_cl-{spec['cluster']}")


def parse_spec_id(text: str) -> dict[str, Any]:
    """The choices of a :func:`spec_id` (inverse)."""
    cal, ratio, rep, rest = text.split("_", 3)
    cov, rest = rest.split("_fe-", 1)
    fe, cl = rest.split("_cl-", 1)
    return {"caliper": float(cal[3:]), "ratio": int(ratio[1:]), "replace": rep == "rep", "covariates": cov,
            "fixed_effects": fe, "cluster": cl}


def curve_grid(options: Mapping[str, Any] | None = None) -> pd.DataFrame:
    """Every specification of the ``specification_curve`` section (the Cartesian product of its choices), with
    ``spec_id``; one row each, in a stable order. Raises ``ValueError`` naming an unknown covariate set, fixed
    effects or cluster."""
    opt = resolve_options("specification_curve", options)
    for key, known in (("covariates", COVARIATE_SETS), ("fixed_effects", _FE), ("cluster", ("school_id", "none"))):
        bad = [v for v in opt[key] if v not in known]
        if bad:
            raise ValueError(f"specification_curve.{key}: unknown {bad}; allowed {list(known)}")
    combos = itertools.product(*(opt[k] for k in CURVE_CHOICES))
    grid = pd.DataFrame([dict(zip(CURVE_CHOICES, c)) for c in combos])
    grid.insert(0, "spec_id", [spec_id(r) for r in grid.to_dict("records")])
    return grid


def _covariates(matching: Mapping[str, Any], name: str) -> list[str]:
    drop = COVARIATE_SETS[name] or ()
    return [c for c in matching["covariates"] if c not in drop]


def curve_estimates(cohort: pd.DataFrame, spec: Mapping[str, Any], matching: Mapping[str, Any],
                    outcomes: Sequence[str], adjust_for: Sequence[str] = ()) -> pd.DataFrame:
    """One specification's estimates (:data:`CURVE_COLUMNS`), one row per outcome observed in both arms.

    ``cohort`` is the analytic cohort; ``matching`` the config section whose other settings (distance, exact
    strata, order, seed) every specification keeps; ``adjust_for`` (``models.adjust_for``) joins the outcome
    model's covariates, as in the ``matched_fe`` design, so the primary specification reproduces its estimate.
    """
    data, covariates = impute_missing(cohort, _covariates(matching, spec["covariates"]))
    ps = fit_propensity(data, "online", covariates)
    data["propensity"], data["logit"] = ps.propensity, ps.logit
    m = match(data, "online", matching.get("distance", "logit"), ratio=int(spec["ratio"]), replace=bool(spec["replace"]),
              caliper=float(spec["caliper"]), std_caliper=True, exact=matching.get("exact") or None,
              order=matching.get("order", "largest"), seed=matching.get("seed"))
    matched = m.data
    n_treated = int((data["online"] == 1).sum())
    kept = int((matched["online"] == 1).sum())
    # the outcome model's covariates as the models rule builds them: the covariates after imputation without the
    # missing-value indicators (the matched_fe design re-imputes the imputed sample), plus adjust_for
    outcome_covariates = [c for c in _covariates(matching, spec["covariates"]) if c in matched.columns]
    extra = [c for c in adjust_for if c in matched.columns]
    design, names = covariate_design(matched, list(dict.fromkeys([*outcome_covariates, *extra])),
                                     absorbed=("school_id", "school_year"))
    fe = _FE[spec["fixed_effects"]]
    rows = []
    for y in outcomes:
        d = design[design[y].notna()]
        if d["online"].nunique() < 2:
            continue
        formula = f"{y} ~ {' + '.join(['online', *names])}" + (f" | {fe}" if fe else "")
        clustered = spec["cluster"] != "none"
        res = fit_fixed_effects(d, formula, weights="weights", cluster=spec["cluster"] if clustered else None,
                                cov_type="clustered" if clustered else "robust", never_drop=["online"])
        r = res.to_rows("online", outcome=y, estimand="ATT", estimator="specification curve",
                        sample="matched").iloc[0]
        rows.append({"spec_id": spec_id(spec), **{k: spec[k] for k in CURVE_CHOICES}, "outcome": y,
                     **{k: r[k] for k in ("estimate", "std_error", "ci_low", "ci_high", "p_value", "n")},
                     "n_treated_matched": kept, "share_treated_dropped": 1 - kept / n_treated if n_treated else np.nan})
    return pd.DataFrame(rows, columns=CURVE_COLUMNS)


def curve_summary(curve: pd.DataFrame, primary: str, level: float = 0.05) -> pd.DataFrame:
    """Per outcome: specifications, the primary's estimate, the share with its sign, and the share with its sign
    and p < ``level``; also the median and range of the estimates."""
    out = []
    for y, g in curve.groupby("outcome", sort=False):
        p = g[g["spec_id"] == primary]
        ref = float(p["estimate"].iloc[0]) if len(p) else float(np.median(g["estimate"]))
        same = np.sign(g["estimate"]) == np.sign(ref)
        out.append({"outcome": y, "specifications": len(g), "primary_estimate": ref if len(p) else np.nan,
                    "share_same_sign": float(same.mean()),
                    "share_same_sign_significant": float((same & (g["p_value"] < level)).mean()),
                    "median": float(g["estimate"].median()), "min": float(g["estimate"].min()),
                    "max": float(g["estimate"].max())})
    return pd.DataFrame(out)
