"""State-wide studies (``data.sources``, docs/state.md): district identifiers and the pooled state.

Each district's extract is validated on its own; :func:`namespace_ids` then prefixes every identifier with
the district's name (``"north:SCH01"``), so students, records, mentors and schools of different districts
never collide, school clusters nest in districts and the school-by-year fixed effects of the designs absorb
district fixed effects. :func:`pool_tables`, :func:`pool_cohorts` and :func:`pool_truth` stack the districts
(in config order) into the state the single-district stages analyse.
"""
from __future__ import annotations

from typing import Any, Mapping

import pandas as pd

from credit_recovery.data.cohort import CohortResult, build_cohort

__all__ = ["SEPARATOR", "DISTRICT_COLUMN", "match_within_districts", "namespace_ids", "district_cohort", "pool_tables", "pool_cohorts",
           "pool_truth"]

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


def pool_tables(districts: Mapping[str, Mapping[str, pd.DataFrame]]) -> dict[str, pd.DataFrame]:
    """Stack the districts' tables of the same name (config order); a table some districts lack is stacked
    from those that have it."""
    names = list(dict.fromkeys(t for tables in districts.values() for t in tables))
    return {t: pd.concat([tables[t] for tables in districts.values() if t in tables], ignore_index=True)
            for t in names}


def pool_cohorts(districts: Mapping[str, CohortResult]) -> CohortResult:
    """The state's cohort, ledger and flow: cohorts and ledgers stacked, flow counts summed step by step.

    Every district's flow has the same steps (:func:`~credit_recovery.data.cohort.build_cohort`), so the
    state's flow is the count of each step over the districts.
    """
    results = list(districts.values())
    steps = results[0].flow["step"].tolist()
    for name, r in districts.items():
        if r.flow["step"].tolist() != steps:
            raise ValueError(f"district {name!r}: cohort flow steps differ from the first district's")
    flow = results[0].flow.copy()
    for col in ("n", "excluded"):
        flow[col] = sum(r.flow[col].to_numpy() for r in results)
    return CohortResult(cohort=pd.concat([r.cohort for r in results], ignore_index=True),
                        ledger=pd.concat([r.ledger for r in results], ignore_index=True), flow=flow)


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
