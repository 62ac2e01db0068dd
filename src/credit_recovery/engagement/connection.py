"""DuckDB plumbing shared by the session and feature queries: connection settings, making an input
visible to a connection, and returning a query's result in the requested form.
"""
from __future__ import annotations

import itertools
import re
from typing import Any

import duckdb
import pandas as pd
import pyarrow as pa

__all__ = ["OUTPUTS", "connect", "register_table", "query_result", "relation_to_pandas"]

#: Return types of :func:`credit_recovery.sessionize` and :func:`credit_recovery.engagement_features`.
OUTPUTS = ("pandas", "arrow", "relation")
_MEMORY_LIMIT = re.compile(r"^\s*\d+(\.\d+)?\s*[KMGT]?i?B\s*$", re.I)
_counter = itertools.count()


def connect(con: duckdb.DuckDBPyConnection | None = None, threads: int | None = None,
            memory_limit: str | None = None, temp_directory: str | None = None) -> duckdb.DuckDBPyConnection:
    """``con`` (a new in-memory connection when None) set up for the engagement queries.

    Its ``TimeZone`` is set to UTC and ``asof_loop_join_threshold`` to 0; ``threads``,
    ``memory_limit`` (e.g. ``'3GB'``) and ``temp_directory`` are DuckDB settings, left alone when None.
    """
    if con is None:
        con = duckdb.connect()
    con.execute("SET TimeZone = 'UTC'")
    # DuckDB turns an ASOF join with a small estimated left side into a nested-loop join; the
    # estimate after our filters can be far too small (35 M-row blow-up seen on one school year)
    con.execute("SET asof_loop_join_threshold = 0")
    if threads is not None:
        con.execute(f"SET threads = {int(threads)}")
    if memory_limit is not None:
        if not _MEMORY_LIMIT.match(str(memory_limit)):
            raise ValueError(f"memory_limit={memory_limit!r} must look like '3GB' or '512MB'")
        con.execute(f"SET memory_limit = '{memory_limit}'")
    if temp_directory is not None:
        con.execute(f"SET temp_directory = '{temp_directory}'")
    return con


def register_table(con: duckdb.DuckDBPyConnection, data: Any) -> tuple[str, list[str]]:
    """Make ``data`` visible to ``con`` under a name; return the name and its columns.

    ``data`` is a table or view name in ``con`` (used as is), a DuckDB relation of ``con`` (exposed
    as a view), a pandas DataFrame, or a pyarrow Table or Dataset (registered under a new name).
    """
    if isinstance(data, str):
        name = data
        cols = [c[0] for c in con.execute(f"SELECT * FROM {name} LIMIT 0").description]
        return name, cols
    name = f"__cr_engagement_{next(_counter)}"
    if isinstance(data, duckdb.DuckDBPyRelation):
        # a relation belongs to the connection that created it; expose it as a view
        data.create_view(name, replace=True)
        cols = list(data.columns)
        return name, cols
    if isinstance(data, pd.DataFrame):
        # via arrow: DuckDB's pandas scan fails on some layouts (e.g. negative strides after df.iloc[::-1])
        data = pa.Table.from_pandas(data, preserve_index=False)
    con.register(name, data)
    cols = [c[0] for c in con.execute(f"SELECT * FROM {name} LIMIT 0").description]
    return name, cols


def query_result(con: duckdb.DuckDBPyConnection, sql: str, output: str, cleanup: list[str]) -> Any:
    """Run ``sql``; return a relation, an arrow table or a DataFrame (``output``, see :data:`OUTPUTS`).

    The names in ``cleanup`` are unregistered once the result is materialised (not for a relation,
    which still reads them).
    """
    rel = con.sql(sql)
    if output == "relation":
        return rel
    try:
        if output == "arrow":
            return rel.to_arrow_table()
        return relation_to_pandas(rel)
    finally:
        for name in cleanup:
            con.unregister(name)


def relation_to_pandas(rel: duckdb.DuckDBPyRelation) -> pd.DataFrame:
    """``rel`` as a DataFrame, identifier and subject columns as strings."""
    df = rel.df()
    for c in ("student_id", "course_record_id", "subject"):
        if c in df.columns:
            df[c] = df[c].astype("str")
    return df
