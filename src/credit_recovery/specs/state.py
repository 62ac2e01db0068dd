"""Per-district estimates of a state-wide study (docs/state.md).

Each district gets the single-district design of the ``models`` rule on its own cohort
(:func:`~credit_recovery.specs.drivers.matched_design`: propensity, matching, naive, matched and matched
school-by-year FE rows), with its balance after matching beside it. The pooled estimates are the
single-district stages run on the stacked state; :func:`state_estimates` puts both in one table.
"""
from __future__ import annotations

from typing import Any, Mapping

import numpy as np
import pandas as pd

from credit_recovery.design.balance import balance_before_after
from credit_recovery.design.diagnostics import matched_weights
from credit_recovery.shared.estimate_schema import ESTIMATE_COLUMNS, estimates_frame
from credit_recovery.specs.drivers import matched_design

__all__ = ["POOLED", "STATE_COLUMNS", "district_estimates", "with_pooled", "state_estimates"]

#: The ``district`` of the pooled rows.
POOLED = "pooled"
#: Columns of the state table: the district, the tidy schema, the district's balance after matching.
STATE_COLUMNS: tuple[str, ...] = ("district", *ESTIMATE_COLUMNS, "max_abs_smd")


def district_estimates(cohort: pd.DataFrame, district: str, matching: Mapping[str, Any],
                       models: Mapping[str, Any] | None) -> tuple[pd.DataFrame, pd.DataFrame]:
    """One district's estimates (state table rows) and the units behind each.

    Returns ``(rows, samples)``: the tidy rows of
    :func:`~credit_recovery.specs.drivers.run_models` with ``district`` in front and ``max_abs_smd``, the
    largest |SMD| after matching over the covariates and the logit of the propensity score (the
    balance rule's table and denominator). A district's imbalance is reported, not a stop: the
    pooled design's balance gate still guards the headline.
    """
    data, covariates, m, est, samples = matched_design(cohort, matching, models)
    table = balance_before_after(data, "online", covariates + ["logit"], matched_weights(data, m.data))
    rows = est.copy()
    rows.insert(0, "district", district)
    rows["max_abs_smd"] = float(table[("after", "smd")].astype(float).abs().max())
    return rows[list(STATE_COLUMNS)], samples


def state_estimates(districts: Mapping[str, pd.DataFrame], pooled: pd.DataFrame,
                    balance: pd.DataFrame | None = None) -> pd.DataFrame:
    """The state table: every district's rows (config order), then the pooled rows of the same estimators
    and samples (``district`` ``"pooled"``; ``max_abs_smd`` from the pooled balance table, when given)."""
    smd = float(balance["after_smd"].astype(float).abs().max()) if balance is not None and len(balance) else np.nan
    return with_pooled(districts, estimates_frame(pooled).assign(max_abs_smd=smd))[list(STATE_COLUMNS)]


def with_pooled(districts: Mapping[str, pd.DataFrame], pooled: pd.DataFrame) -> pd.DataFrame:
    """The districts' rows stacked (config order), then the rows of ``pooled`` whose estimator and sample some
    district has, with ``district`` :data:`POOLED` (the state table and its truth comparison)."""
    parts = [districts[d] for d in districts]
    keys = {(e, s) for p in parts for e, s in zip(p["estimator"], p["sample"])}
    pool = pooled[[(e, s) in keys for e, s in zip(pooled["estimator"], pooled["sample"])]].copy()
    pool.insert(0, "district", POOLED)
    return pd.concat([*parts, pool], ignore_index=True)
