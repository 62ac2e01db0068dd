"""Reading a validity matrix: which cells fail, and the matrix as a scenario-by-estimator table.

The validity matrix (:func:`credit_recovery.truth.montecarlo.validity_matrix`; columns
:data:`credit_recovery.truth.montecarlo.VALIDITY_COLUMNS`) has one row per scenario, scale, estimand
and estimator. Two verdicts are read from a row:

* **statistical failure** (:func:`flag_cells`, column ``fails``): 95% CI coverage below
  ``0.95 - 2 * coverage_mcse`` or a bias beyond ``3 * bias_mcse``: the Monte Carlo can tell the
  estimator from a valid one, however small the gap (used by the appendix and docs/validity.md);
* **misleads** (column ``misleads``): coverage below :data:`MISLEADS_BELOW` (0.90): more than one
  interval in ten misses the truth, the threshold the brief's caveats use.

:func:`validity_table` lays the designed estimators out as estimand x sample rows and scenario columns,
each cell ``coverage / bias`` with ``*`` where the registry says an assumption is broken.
"""
from __future__ import annotations

from typing import Sequence

import pandas as pd
from scipy import stats

from credit_recovery.specs.estimands import REGISTRY
from credit_recovery.truth.montecarlo import designed_mask

__all__ = ["MISLEADS_BELOW", "flag_cells", "validity_table", "pick_scale", "designed_rows", "trust_by_estimator",
           "interval_check", "implied_abs_z", "INTERVAL_CHECK_COLUMNS"]

#: Coverage below which the brief says an estimate "can mislead" in a scenario.
MISLEADS_BELOW = 0.90


def _holds(values: pd.Series) -> pd.Series:
    """``assumptions_hold`` read as booleans (a CSV gives the strings ``True``/``False``)."""
    return values.astype(str).str.lower().eq("true")


def flag_cells(matrix: pd.DataFrame) -> pd.DataFrame:
    """The matrix with ``holds``, ``fails`` and ``misleads`` (booleans) added; see the module notes."""
    m = matrix.copy()
    m["holds"] = _holds(m["assumptions_hold"])
    cov, bias = m["coverage"].astype(float), m["bias"].astype(float)
    m["fails"] = (cov < 0.95 - 2 * m["coverage_mcse"].astype(float)) | (bias.abs() > 3 * m["bias_mcse"].astype(float))
    m["misleads"] = cov < MISLEADS_BELOW
    return m


def designed_rows(matrix: pd.DataFrame) -> pd.DataFrame:
    """Rows of the designed estimators (the registry's ``designed`` samples; g-computation variants left out)."""
    return matrix[designed_mask(matrix)]


def pick_scale(matrix: pd.DataFrame, prefer: Sequence[str] = ("default", "medium")) -> str:
    """The scale to report: the first of ``prefer`` present in the matrix, else its first scale."""
    scales = list(dict.fromkeys(matrix["scale"].astype(str)))
    return next((s for s in prefer if s in scales), scales[0])


def validity_table(matrix: pd.DataFrame, scale: str | None = None,
                   scenarios: Sequence[str] | None = None) -> pd.DataFrame:
    """The designed estimators' cells at one scale: rows ``estimand_id, sample``, one column per scenario.

    Each cell reads ``coverage / bias`` (``0.95 / +0.003``), with ``*`` appended where an assumption of
    the estimator is broken in that scenario and ``!`` where the cell fails although its assumptions
    hold (:func:`flag_cells`). Scenarios keep the matrix's order unless ``scenarios`` is given.
    """
    m = flag_cells(designed_rows(matrix))
    m = m[m["scale"].astype(str) == (scale or pick_scale(matrix))]
    order = list(scenarios) if scenarios is not None else list(dict.fromkeys(m["scenario"]))
    mark = (~m["holds"]).map({True: "*", False: ""}) + (m["holds"] & m["fails"]).map({True: "!", False: ""})
    m = m.assign(cell=[f"{c:.2f} / {b:+.3f}" for c, b in zip(m["coverage"], m["bias"])] + mark)
    table = m.pivot_table(index=["estimand_id", "sample"], columns="scenario", values="cell", aggfunc="first")
    return table.reindex(columns=[s for s in order if s in table.columns]).fillna("").reset_index()


def trust_by_estimator(matrix: pd.DataFrame, scale: str | None = None) -> pd.DataFrame:
    """Where each designed estimator can be trusted, at one scale: the reports' "validity shown, not assumed".

    Returns
    -------
    DataFrame
        One row per ``estimand_id, sample, estimator`` with ``assumptions`` (the registry's, by id),
        ``trusted_in`` (scenarios where its assumptions hold and the cell does not fail),
        ``fails_where_assumed`` (assumptions hold but the cell fails: a defect to explain),
        ``broken_in`` (scenarios breaking an assumption, with the failing ones marked ``!``). Scenario
        lists are comma-separated in the matrix's order.
    """
    m = flag_cells(designed_rows(matrix))
    m = m[m["scale"].astype(str) == (scale or pick_scale(matrix))]
    rows = []
    for (estimand_id, sample, estimator), g in m.groupby(["estimand_id", "sample", "estimator"], sort=True):
        rows.append({
            "estimand_id": estimand_id, "sample": sample, "estimator": estimator,
            "assumptions": ", ".join(REGISTRY[sample].assumptions) if sample in REGISTRY else "",
            "trusted_in": ", ".join(g.loc[g["holds"] & ~g["fails"], "scenario"]),
            "fails_where_assumed": ", ".join(g.loc[g["holds"] & g["fails"], "scenario"]),
            "broken_in": ", ".join(s + ("!" if f else "") for s, f in zip(g.loc[~g["holds"], "scenario"],
                                                                          g.loc[~g["holds"], "fails"])),
        })
    return pd.DataFrame(rows, columns=["estimand_id", "sample", "estimator", "assumptions", "trusted_in",
                                       "fails_where_assumed", "broken_in"])


#: Columns of :func:`interval_check`.
INTERVAL_CHECK_COLUMNS = ["scenario", "scale", "seed", "intervals", "covered", "coverage", "max_abs_z",
                          "worst_estimand", "worst_sample", "passes"]


def implied_abs_z(rows: pd.DataFrame) -> pd.Series:
    r"""How far each estimate is from its truth in standard errors: :math:`|\hat\theta - \theta| / \widehat{se}`
    with the standard error implied by the 95% interval, :math:`(ci_{high} - ci_{low}) / (2 z_{0.975})` (the
    wild-bootstrap intervals are not exactly Wald intervals; the implied SE is their half-width in SE units)."""
    se = (rows["ci_high"].astype(float) - rows["ci_low"].astype(float)) / (2 * stats.norm.ppf(0.975))
    return (rows["estimate"].astype(float) - rows["truth"].astype(float)).abs() / se


def interval_check(rows: pd.DataFrame, min_coverage: float = 0.90, max_z: float = 3.5) -> pd.DataFrame:
    r"""Per simulated district: how many designed intervals cover their truth, and how far the worst one is off.

    Parameters
    ----------
    rows : DataFrame
        Replicate rows (:func:`credit_recovery.truth.montecarlo.run_replicate`: ``scenario, scale, seed,
        estimand_id, estimator, sample, truth, estimate, ci_low, ci_high, covers, assumptions_hold``).
    min_coverage, max_z : float
        A district passes when at least ``min_coverage`` of its intervals cover and none is more than
        ``max_z`` standard errors off.

    Returns
    -------
    DataFrame
        :data:`INTERVAL_CHECK_COLUMNS`, one row per scenario, scale and seed, over the designed estimates
        (the registry's designed samples, g-computation variants left out, as :func:`designed_rows`)
        whose assumptions hold in that district.

    Notes
    -----
    ``max_abs_z`` is :func:`implied_abs_z` of the worst interval.
    """
    r = designed_rows(rows)
    r = r[_holds(r["assumptions_hold"]) & r["truth"].notna()].copy()
    r["abs_z"] = implied_abs_z(r)
    r["covers"] = _holds(r["covers"])
    out = []
    for (scenario, scale, seed), g in r.groupby(["scenario", "scale", "seed"], sort=False):
        worst = g.loc[g["abs_z"].idxmax()]
        cov = float(g["covers"].mean())
        out.append({"scenario": scenario, "scale": scale, "seed": int(seed), "intervals": len(g),
                    "covered": int(g["covers"].sum()), "coverage": cov, "max_abs_z": float(worst["abs_z"]),
                    "worst_estimand": worst["estimand_id"], "worst_sample": worst["sample"],
                    "passes": bool(cov >= min_coverage and worst["abs_z"] <= max_z)})
    return pd.DataFrame(out, columns=INTERVAL_CHECK_COLUMNS)
