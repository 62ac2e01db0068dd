"""State-wide studies (``data.sources``, docs/state.md): district identifiers and the pooled state.

Each district's extract is validated on its own; :func:`namespace_ids` then prefixes every identifier with
the district's name (``"north:SCH01"``), so students, records, mentors and schools of different districts
never collide, school clusters nest in districts and the school-by-year fixed effects of the designs absorb
district fixed effects. :func:`~credit_recovery.data.extract_io.stack_extracts` (the tables, streaming),
:func:`pool_cohorts`, :func:`pool_ledger_counts` and :func:`pool_truth` stack the districts (in config order)
into the state the single-district stages analyse.
"""
from __future__ import annotations

from typing import Any, Mapping

import pandas as pd

from credit_recovery.data.cohort import CohortResult, build_cohort

__all__ = ["SEPARATOR", "DISTRICT_COLUMN", "match_within_districts", "namespace_ids", "district_cohort",
           "pool_cohorts", "pool_ledger_counts", "pool_truth"]

#: Between a district's name and a record's own identifier.
SEPARATOR = ":"
#: The cohort column naming each unit's district.
DISTRICT_COLUMN = "district"


def match_within_districts(config: dict[str, Any]) -> None:
    """In a state study (``data.sources`` set), make matching exact on ``district`` (in place), so each online
    taker's controls come from the same district; the single-district config is left alone."""
    if (config.get("data") or {}).get("sources"):
        matching = config.setdefault("matching", {})
        exact = list(matching.get("exact") or [])
        if DISTRICT_COLUMN not in exact:
            matching["exact"] = [DISTRICT_COLUMN, *exact]


def _is_id(name: str, column: pd.Series) -> bool:
    return name.endswith("_id") and not pd.api.types.is_numeric_dtype(column)


def namespace_ids(tables: Mapping[str, pd.DataFrame], district: str) -> dict[str, pd.DataFrame]:
    """``tables`` with every text identifier column (name ending ``_id``) prefixed ``"<district>:"``.

    Missing identifiers stay missing; numeric identifiers (``event_id``) are left as they are. The
    contract's keys and references are all text, so relations within a district hold after the prefix.
    """
    out = {}
    for name, df in tables.items():
        df = df.copy()
        for col in df.columns:
            if _is_id(col, df[col]):
                df[col] = (district + SEPARATOR + df[col].astype("string")).astype(df[col].dtype)
        out[name] = df
    return out


def district_cohort(tables: Mapping[str, pd.DataFrame], options: Mapping[str, Any] | None,
                    district: str) -> CohortResult:
    """:func:`~credit_recovery.data.cohort.build_cohort` on one district's (namespaced) tables, its cohort
    carrying the ``district`` column (a baseline covariate: matching may be exact on it)."""
    result = build_cohort(tables, options)
    cohort = result.cohort.copy()
    cohort.insert(1, DISTRICT_COLUMN, district)
    return CohortResult(cohort=cohort, ledger=result.ledger, flow=result.flow)


def pool_cohorts(cohorts: Mapping[str, pd.DataFrame], flows: Mapping[str, pd.DataFrame]) -> CohortResult:
    """The state's cohort (the districts' stacked, config order) and flow (counts summed step by step).

    Every district's flow has the same steps (:func:`~credit_recovery.data.cohort.build_cohort`). The
    ledger is left empty: a state's ledger is the districts' ledgers stacked on disk
    (:func:`~credit_recovery.data.extract_io.stack_parquet`) and counted by :func:`pool_ledger_counts`.
    """
    names = list(flows)
    steps = flows[names[0]]["step"].tolist()
    for name in names:
        if flows[name]["step"].tolist() != steps:
            raise ValueError(f"district {name!r}: cohort flow steps differ from the first district's")
    flow = flows[names[0]].copy()
    for col in ("n", "excluded"):
        flow[col] = sum(flows[d][col].to_numpy() for d in names)
    return CohortResult(cohort=pd.concat([cohorts[d] for d in names], ignore_index=True),
                        ledger=pd.DataFrame(columns=["table", "record_id", "status", "kept", "reason"]), flow=flow)


def pool_ledger_counts(counts: Mapping[str, pd.DataFrame]) -> pd.DataFrame:
    """The state's ledger counts (``table, status, kept, n``): the districts' counts summed, in order of first
    appearance, as :meth:`~credit_recovery.data.cohort.CohortResult.ledger_counts` orders the stacked ledger."""
    stacked = pd.concat(list(counts.values()), ignore_index=True)
    return stacked.groupby(["table", "status", "kept"], sort=False)["n"].sum().reset_index()


def pool_truth(districts: Mapping[str, list[dict[str, Any]]]) -> list[dict[str, Any]]:
    """The state's planted truth: each estimand's value is the districts' values weighted by their ``n``
    (the mean individual effect over the union of the districts' populations), keyed by estimand and
    subgroup, in the first district's order; an estimand with no units anywhere keeps the first district's value."""
    def key(r: Mapping[str, Any]) -> tuple[str, str]:
        return r["estimand_id"], str(r.get("subgroup", "") or "")

    out = []
    for k in [key(r) for r in next(iter(districts.values()))]:
        rows = [r for truth in districts.values() for r in truth if key(r) == k]
        n = sum(int(r.get("n", 0) or 0) for r in rows)
        first = dict(rows[0])
        if n > 0:
            first["value"] = sum(float(r["value"]) * int(r.get("n", 0) or 0) for r in rows) / n
        first["n"] = n
        first["description"] = str(first.get("description", "")) + " (state: districts pooled)"
        out.append(first)
    return out
