r"""For whom: the primary matched design within subgroups, with family-wise control over the subgroups.

For each subgroup dimension (:mod:`credit_recovery.data.subgroups`) the cohort is matched again with the
subgroup as an extra exact stratum (so every online unit's controls share its subgroup, as Green and
Stuart 2014 advise for subgroup analyses of matched designs; the propensity score is the whole cohort's),
and the matched school-by-year FE model (:func:`credit_recovery.specs.matched.fit_matched_fe`) is fitted in
each level. Rows: sample ``matched_sub``, ``subgroup`` ``<dimension>=<level>``, estimand ``ATT`` of the
subgroup's matched online recoverers (truth: the mean effect over them).

Family-wise error: per outcome, the family is every subgroup of every dimension. With the wild cluster
bootstrap (``models.cov_type: wild``), all fits of an outcome share one set of school weights
(``bootstrap_draws``), so the bootstrap t-statistics are joint draws and the Romano-Wolf step-down p-values
(:func:`credit_recovery.estimation.multiple_testing.romano_wolf`) use their dependence; otherwise Holm's.
Holm's adjustment of the per-subgroup p-values is reported beside it in either case.
"""
from __future__ import annotations

from typing import Any, Mapping, Sequence

import numpy as np
import pandas as pd

from credit_recovery.data.imputation import impute_missing
from credit_recovery.data.subgroups import (SUBGROUP_DIMENSIONS, TREATMENT_VERSION_DIMENSIONS, subgroup_labels,
                                            subgroup_name)
from credit_recovery.design.balance import balance_table
from credit_recovery.design.matching import match
from credit_recovery.estimation.fixed_effects.wild import wild_weights
from credit_recovery.estimation.multiple_testing import holm_adjust, romano_wolf
from credit_recovery.shared.config import resolve_options
from credit_recovery.shared.estimate_schema import estimates_frame
from credit_recovery.specs.coding import covariate_design
from credit_recovery.specs.estimands import OCR_ESTIMANDS, stack_samples, units_frame
from credit_recovery.specs.matched import fit_matched_fe
from credit_recovery.specs.options import resolve_model_options

__all__ = ["SUBGROUP_SAMPLE", "SUBGROUP_COLUMNS", "subgroup_matches", "subgroup_estimates", "run_subgroups",
           "public_subgroups"]

#: The ``sample`` of the subgroup rows.
SUBGROUP_SAMPLE = "matched_sub"
#: Columns of the subgroup table (``results/models/subgroups.csv``).
SUBGROUP_COLUMNS = ["outcome", "estimand_id", "dimension", "level", "subgroup", "estimate", "std_error", "ci_low",
                    "ci_high", "p_value", "p_fwer", "fwer_method", "p_holm", "n_treated", "n_control", "n_clusters",
                    "share_treated_dropped", "max_abs_smd"]
_ESTIMATOR = "matched WLS, covariates, school-by-year FE, within subgroup"


def _match(data: pd.DataFrame, matching: Mapping[str, Any], exact: list[str]) -> pd.DataFrame:
    return match(data, "online", matching["distance"], ratio=matching["ratio"], replace=matching["replace"],
                 caliper=matching["caliper"], std_caliper=matching["std_caliper"], exact=exact,
                 order=matching["order"], seed=matching["seed"]).data.copy()


def subgroup_matches(units: pd.DataFrame, matching: Mapping[str, Any], dimension: str,
                     labels: pd.Series) -> pd.DataFrame:
    """Match ``units`` (every unit of the propensity model, with ``propensity``/``logit``) again with the
    subgroup level ``labels`` as an extra exact stratum; the matched rows with ``weights`` and ``_level``.
    Units without a level are left out. For a dimension of the treatment's version
    (:data:`~credit_recovery.data.subgroups.TREATMENT_VERSION_DIMENSIONS`: only online units have a level),
    each level's online units are matched to all classroom units instead, and the controls take the level
    they were matched in (a control may serve several levels)."""
    exact = list(matching.get("exact") or [])
    if dimension in TREATMENT_VERSION_DIMENSIONS:
        data = units.assign(_level=labels)
        controls = data[data["online"] == 0]
        parts = []
        for level in sorted(data.loc[data["online"] == 1, "_level"].dropna().unique()):
            treated = data[(data["online"] == 1) & (data["_level"] == level)]
            if len(treated) and len(controls):
                parts.append(_match(pd.concat([treated, controls.assign(_level=level)]), matching, exact))
        out = pd.concat(parts) if parts else data.iloc[:0].assign(weights=pd.Series(dtype=float))
        data = data[data["online"] == 1].dropna(subset=["_level"])
    else:
        data = units.assign(_level=labels)
        data = data[data["_level"].notna()]
        out = _match(data, matching, [*exact, "_level"])
    treated = data.groupby("_level")["online"].sum()
    kept = out[out["online"] == 1].groupby("_level").size()
    out["_dropped"] = out["_level"].map(1 - kept.reindex(treated.index, fill_value=0) / treated)
    return out


#: Fewest units per arm, and fewest residual degrees of freedom, of a subgroup fit (smaller levels are not
#: estimated: with some 30 covariates and the school-by-year effects a fit on a few dozen units is saturated
#: and its standard error meaningless).
MIN_UNITS_PER_ARM = 30
MIN_RESIDUAL_DOF = 30


def _fit_level(design: pd.DataFrame, names: list[str], y: str, opt: Mapping[str, Any],
               draws: Mapping[Any, np.ndarray] | None) -> tuple[Any, dict[str, Any] | None, pd.DataFrame] | None:
    """The FE fit of one level and outcome (result, bootstrap draws of ``online``, the rows it used), or
    ``None`` where it cannot be fitted or is too small to trust: fewer than :data:`MIN_UNITS_PER_ARM` units in
    an arm, one cluster, or fewer than :data:`MIN_RESIDUAL_DOF` residual degrees of freedom."""
    d = design[design[y].notna()]
    if d["online"].value_counts().reindex([0, 1], fill_value=0).min() < MIN_UNITS_PER_ARM \
            or d[opt["cluster"]].nunique() < 2:
        return None
    try:
        res = fit_matched_fe(d, y, names, opt, "weights", draws)
    except ValueError:
        return None
    if res.nobs - res.k_absorbed < MIN_RESIDUAL_DOF:
        return None
    boot = res.bootstrap.get("online") if res.bootstrap else None
    return res, boot, d[res.used]


def _level_rows(matched: pd.DataFrame, dimension: str, level: str, outcomes: Sequence[str],
                covariates: Sequence[str], opt: Mapping[str, Any], draws: Mapping[str, Any],
                smd_covariates: Sequence[str]) -> tuple[list, list, list]:
    sub = matched[matched["_level"] == level]
    design, names = covariate_design(sub, covariates, absorbed=("school_id", "school_year"))
    smd = balance_table(sub, "online", smd_covariates, weights="weights")["smd"].abs().max() if len(sub) else np.nan
    name = subgroup_name(dimension, level)
    rows, samples, info = [], [], []
    for y in outcomes:
        fitted = _fit_level(design, names, y, opt, draws.get(y))
        if fitted is None:
            continue
        res, boot, used = fitted
        row = res.to_rows("online", outcome=y, estimand_id=OCR_ESTIMANDS.get(y, ""), estimand="ATT",
                          sample=SUBGROUP_SAMPLE, estimator=_ESTIMATOR)
        row = row.assign(subgroup=name, share_treated_dropped=float(sub["_dropped"].iloc[0]))
        rows.append(row)
        samples.append(units_frame(used, SUBGROUP_SAMPLE, y).assign(subgroup=name))
        info.append({"outcome": y, "dimension": dimension, "level": level, "subgroup": name,
                     "n_treated": int((used["online"] == 1).sum()), "n_control": int((used["online"] == 0).sum()),
                     "max_abs_smd": float(smd), "boot": boot})
    return rows, samples, info


def _family(info: pd.DataFrame, est: pd.DataFrame) -> pd.DataFrame:
    """Per outcome: Romano-Wolf over the joint bootstrap draws (or Holm) and Holm of the p-values."""
    out = info.merge(est[["outcome", "subgroup", "estimand_id", "estimate", "std_error", "ci_low", "ci_high",
                          "p_value", "n_clusters", "share_treated_dropped"]], on=["outcome", "subgroup"])
    out["p_holm"] = np.nan
    out["p_fwer"] = np.nan
    out["fwer_method"] = ""
    for _, idx in out.groupby("outcome", sort=False).groups.items():
        fam = out.loc[idx]
        out.loc[idx, "p_holm"] = holm_adjust(fam["p_value"].to_numpy(float))
        boots = list(fam["boot"])
        if all(b is not None for b in boots) and len({len(b["t_star"]) for b in boots}) == 1:
            t_star = np.column_stack([b["t_star"] for b in boots])
            out.loc[idx, "p_fwer"] = romano_wolf([b["t_obs"] for b in boots], t_star)
            out.loc[idx, "fwer_method"] = "Romano-Wolf (wild cluster bootstrap, shared weights)"
        else:
            out.loc[idx, "p_fwer"] = out.loc[idx, "p_holm"]
            out.loc[idx, "fwer_method"] = "Holm"
    return out[SUBGROUP_COLUMNS].reset_index(drop=True)


def subgroup_estimates(units: pd.DataFrame, outcomes: Sequence[str], covariates: Sequence[str],
                       matching: Mapping[str, Any], options: Mapping[str, Any] | None = None,
                       dimensions: Sequence[str] | None = None,
                       labels: pd.DataFrame | None = None) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """Subgroup estimates of the primary matched design and their family-wise adjusted p-values.

    Parameters
    ----------
    units : DataFrame
        Every unit of the propensity model (``results/matching/propensity.parquet``: imputed covariates,
        ``propensity``, ``logit``, outcomes, ``school_id``, ``school_year``).
    outcomes, covariates : sequence of str
        Outcomes, and the FE model's covariates (as for ``matched_fe``).
    matching : mapping
        The ``matching`` config section (distance, ratio, replacement, caliper, exact strata, order, seed).
    options : mapping, optional
        The ``models`` config section.
    dimensions : sequence of str, optional
        Subgroup dimensions (:data:`~credit_recovery.data.subgroups.SUBGROUP_DIMENSIONS`); all by default.
    labels : DataFrame, optional
        Each unit's levels (:func:`~credit_recovery.data.subgroups.subgroup_labels`), aligned with ``units``;
        computed from ``units`` by default.

    Returns
    -------
    (estimates, samples, table)
        Tidy rows (sample ``matched_sub``, ``subgroup`` set), their units (with ``subgroup``), and the
        subgroup table (:data:`SUBGROUP_COLUMNS`: counts, largest |SMD| after matching within the level,
        Romano-Wolf or Holm ``p_fwer`` and Holm ``p_holm`` over each outcome's subgroups).
    """
    opt = resolve_model_options(options)
    dims = list(SUBGROUP_DIMENSIONS) if dimensions is None else list(dimensions)
    labels = subgroup_labels(units, dims) if labels is None else labels
    clusters = sorted(units[opt["cluster"]].dropna().unique())
    V = wild_weights(len(clusters), int(opt["bootstrap_reps"]), opt["bootstrap_weights"], int(opt["seed"]))
    shared = {c: V[i] for i, c in enumerate(clusters)}
    draws = {y: shared for y in outcomes}
    smd_covariates = [c for c in matching["covariates"] if c in units.columns and c != "school_id"]
    rows, samples, info = [], [], []
    for d in dims:
        matched = subgroup_matches(units, matching, d, labels[d])
        for level in SUBGROUP_DIMENSIONS[d]:
            r, s, i = _level_rows(matched, d, level, outcomes, covariates, opt, draws, smd_covariates)
            rows += r
            samples += s
            info += i
    if not rows:
        return estimates_frame([]), stack_samples([]), pd.DataFrame(columns=SUBGROUP_COLUMNS)
    est = estimates_frame(pd.concat(rows, ignore_index=True))
    return est, stack_samples(samples), _family(pd.DataFrame(info), est)


def public_subgroups(table: pd.DataFrame, min_cell_size: int = 10) -> pd.DataFrame:
    """The subgroup rows a public report may show: both arms of the level hold at least ``min_cell_size``
    units (the others are dropped, not rounded)."""
    keep = (table["n_treated"] >= min_cell_size) & (table["n_control"] >= min_cell_size)
    return table[keep].reset_index(drop=True)


def run_subgroups(units: pd.DataFrame, matching: Mapping[str, Any], models: Mapping[str, Any],
                  subgroups: Mapping[str, Any] | None = None) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """The rule ``models_subgroups``: :func:`subgroup_estimates` with the matched FE model's covariates as the
    ``models`` rule builds them (the matching covariates after imputation, plus ``models.adjust_for``), the
    ``subgroups`` config section's dimensions and outcomes (those observed in both arms)."""
    opt = resolve_options("subgroups", subgroups)
    _, covariates = impute_missing(units, matching["covariates"])
    extra = [c for c in resolve_model_options(models)["adjust_for"] if c in units.columns]
    covariates = list(dict.fromkeys([*covariates, *extra]))
    outcomes = [y for y in opt["outcomes"] if y in units.columns and units.loc[units[y].notna(), "online"].nunique() == 2]
    if not opt["dimensions"] or not outcomes:
        return estimates_frame([]), stack_samples([]), pd.DataFrame(columns=SUBGROUP_COLUMNS)
    return subgroup_estimates(units, outcomes, covariates, matching, models, opt["dimensions"])
