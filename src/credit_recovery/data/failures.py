"""How a broken data contract is reported: the failure list and its message.

Every input problem, whether found while reading (:mod:`credit_recovery.data.extract_io`),
while parsing values (:mod:`credit_recovery.data.coercion`) or while checking the
contract's rules (:mod:`credit_recovery.data.checks`), becomes one row of a failure
table with the columns :data:`FAILURE_COLUMNS`: the table, the column(s), the rule
broken, the number of rows that break it and up to :data:`MAX_EXAMPLES` example rows.
A :class:`FailureCollector` gathers them; :class:`DataValidationError` carries them
and prints them as a numbered list.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

if TYPE_CHECKING:  # only for the annotation; checks imports this module
    from credit_recovery.data.checks import ValidationReport

__all__ = ["FAILURE_COLUMNS", "MAX_EXAMPLES", "DataValidationError", "FailureCollector",
           "example_rows", "failures_frame", "format_failures"]

#: Columns of a failure table (:attr:`DataValidationError.failures`).
FAILURE_COLUMNS = ("table", "column", "rule", "n_rows", "examples")
#: At most this many example rows are shown for each failure.
MAX_EXAMPLES = 5


class DataValidationError(ValueError):
    """An extract breaks the data contract.

    The message lists every failure (table, column(s), rule, number of rows,
    up to five example rows); the same information is in :attr:`failures` as a
    DataFrame with columns ``table, column, rule, n_rows, examples``.
    """

    def __init__(self, failures: pd.DataFrame, header: str | None = None,
                 report: ValidationReport | None = None):
        self.failures = failures
        self.report = report
        super().__init__(format_failures(failures, header))


def failures_frame(rows: list[dict[str, Any]]) -> pd.DataFrame:
    """A failure table (columns :data:`FAILURE_COLUMNS`) from a list of row dicts."""
    df = pd.DataFrame(rows, columns=list(FAILURE_COLUMNS))
    df["n_rows"] = df["n_rows"].astype("int64")
    for c in ("table", "column", "rule", "examples"):
        df[c] = df[c].astype("str")
    return df


def format_failures(failures: pd.DataFrame, header: str | None = None) -> str:
    """Human-readable list of failures (used as the exception message)."""
    n = len(failures)
    header = header or (
        f"the extract breaks the data contract (docs/data-contract.md) in {n} "
        f"place{'s' if n != 1 else ''}"
    )
    lines = [header + ":"]
    for i, f in enumerate(failures.itertuples(index=False), start=1):
        rows = f"{f.n_rows} row{'s' if f.n_rows != 1 else ''}"
        lines.append(f"  {i}. table {f.table!r}, column(s) {f.column or '-'}: {f.rule} -- {rows}")
        if f.examples:
            lines.extend("       " + e for e in str(f.examples).split("\n"))
    lines.append("(rows are numbered from 1 in file order; in a CSV, row N is on line N+1)")
    return "\n".join(lines)


def _fmt_value(v: Any) -> str:
    if v is None or v is pd.NA or v is pd.NaT or (isinstance(v, float) and np.isnan(v)):
        return "<empty>"
    if isinstance(v, pd.Timestamp):
        return v.isoformat()
    if isinstance(v, (np.floating, float)):
        return f"{float(v):g}"
    if isinstance(v, (np.integer,)):
        return str(int(v))
    if isinstance(v, (np.bool_,)):
        return str(bool(v))
    return repr(v)


def example_rows(frame: pd.DataFrame, mask: np.ndarray, columns: list[str],
                 raw: pd.DataFrame | None = None, raw_columns: tuple[str, ...] = ()) -> str:
    """Up to :data:`MAX_EXAMPLES` rows where ``mask`` holds, as text lines.

    Values come from ``frame`` except ``raw_columns``, shown as they were in ``raw``.
    """
    idx = np.flatnonzero(mask)[:MAX_EXAMPLES]
    if not len(idx):
        return ""
    cols = [c for c in dict.fromkeys(columns) if c in frame.columns or (raw is not None and c in raw_columns)]
    lines = []
    for pos in idx:
        parts = []
        for c in cols:
            src = raw if (raw is not None and c in raw_columns and c in raw.columns) else frame
            parts.append(f"{c}={_fmt_value(src[c].iloc[pos])}")
        lines.append(f"row {pos + 1}: " + ", ".join(parts))
    return "\n".join(lines)


@dataclass
class FailureCollector:
    """Collects failures in the order they are found (one dict per failure in :attr:`rows`)."""

    rows: list[dict[str, Any]] = field(default_factory=list)

    def add(self, table: str, column: str | tuple[str, ...] | list[str], rule: str,
            n_rows: int = 0, examples: str = "") -> None:
        """Record one failure; a list of columns is shown comma-separated."""
        if not isinstance(column, str):
            column = ", ".join(column)
        self.rows.append({"table": table, "column": column, "rule": rule,
                          "n_rows": int(n_rows), "examples": examples})

    def mask(self, table: str, column, rule: str, mask: np.ndarray, frame: pd.DataFrame,
             show: list[str], raw: pd.DataFrame | None = None, raw_columns: tuple[str, ...] = ()) -> None:
        """Record a failure for the rows where ``mask`` holds (nothing if none), with examples."""
        mask = np.asarray(mask, dtype=bool)
        n = int(mask.sum())
        if n:
            self.add(table, column, rule, n, example_rows(frame, mask, show, raw, raw_columns))

    def frame(self) -> pd.DataFrame:
        """The failures as a failure table."""
        return failures_frame(self.rows)
