"""Validation of a district extract against the data contract.

:func:`validate_tables` checks every rule of :mod:`credit_recovery.data.contract`
and collects all failures before anything is raised, so a district data team
sees the whole list in one run. For each table, in order:

1. the table is present (unless optional) and not empty; no column appears twice;
2. values are parsed to the contract types (:mod:`credit_recovery.data.coercion`);
3. the table's pandera schema, generated from the contract
   (:mod:`credit_recovery.data.schemas`): columns present, no missing values
   where none are allowed, allowed values, ranges, unique key;

then across tables the foreign keys and cross-field rules
(:mod:`credit_recovery.data.relations`). Failures are reported as in
:mod:`credit_recovery.data.failures`. Everything is vectorized; no Python loop
runs per row, so a platform log of millions of events is checked in seconds.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Mapping

import pandas as pd

from credit_recovery.data.coercion import parse_table
from credit_recovery.data.contract import TABLES, Table
from credit_recovery.data.failures import DataValidationError, FailureCollector, format_failures
from credit_recovery.data.relations import check_cross_field_rules, check_foreign_keys
from credit_recovery.data.schemas import record_missing_columns, record_schema_failures, schema_failure_cases

__all__ = ["ValidationReport", "validate_tables"]

_SUMMARY_COLUMNS = ["table", "required", "present", "n_rows", "n_columns", "n_failures"]


@dataclass
class ValidationReport:
    """Result of :func:`validate_tables`.

    Attributes
    ----------
    failures : DataFrame
        One row per broken rule: ``table, column, rule, n_rows, examples``.
    tables : dict of DataFrame
        The tables coerced to the contract dtypes (unparseable values missing).
    """

    failures: pd.DataFrame
    tables: dict[str, pd.DataFrame]
    _summary: pd.DataFrame

    @property
    def ok(self) -> bool:
        return len(self.failures) == 0

    def summary(self) -> pd.DataFrame:
        """Rows, columns and number of failed rules per contract table."""
        return self._summary.copy()

    def message(self) -> str:
        if self.ok:
            return "the extract satisfies every rule of the data contract"
        return format_failures(self.failures)

    def raise_if_failed(self) -> None:
        if not self.ok:
            raise DataValidationError(self.failures, report=self)


def _check_table(raw: pd.DataFrame, spec: Table, out: FailureCollector) -> pd.DataFrame:
    """Check one present table on its own; return it coerced to the contract dtypes."""
    raw = raw.reset_index(drop=True)
    if len(raw) == 0 and spec.required:
        out.add(spec.name, "", "table is empty (no rows)")
    for c in raw.columns[raw.columns.duplicated()].unique():
        out.add(spec.name, str(c), "column appears more than once", len(raw))
    parsed = parse_table(raw, spec)
    cases = schema_failure_cases(parsed.frame, spec)
    record_missing_columns(cases, spec, raw, out)
    parsed.record(spec, raw, out)
    record_schema_failures(cases, spec, parsed.frame, parsed.unparsed, out)
    return parsed.frame


def _summary(tables: Mapping[str, pd.DataFrame], failures: pd.DataFrame) -> pd.DataFrame:
    """One row per contract table: required, present, rows, columns, failures found."""
    rows = []
    for name, spec in TABLES.items():
        df = tables.get(name)
        rows.append({"table": name, "required": spec.required, "present": df is not None,
                     "n_rows": 0 if df is None else len(df), "n_columns": 0 if df is None else df.shape[1]})
    summ = pd.DataFrame(rows, columns=_SUMMARY_COLUMNS)
    # failures found in the cross-table pass are attributed to their table
    counts = failures["table"].value_counts()
    summ["n_failures"] = summ["table"].map(counts).fillna(0).astype("int64")
    return summ


def validate_tables(tables: Mapping[str, pd.DataFrame], *, raise_on_failure: bool = True) -> ValidationReport:
    """Check a district extract against every rule of the data contract.

    Parameters
    ----------
    tables : mapping of str to DataFrame
        Tables by contract name (``students``, ``student_years``, ``mentors``,
        ``course_records``, ``platform_events`` and optionally ``calendar``),
        as returned by :func:`credit_recovery.read_extract`. Columns are
        coerced to the contract dtypes first (without guessing).
    raise_on_failure : bool, default True
        Raise :class:`DataValidationError` listing every failure. With False
        the report is returned and ``report.ok`` tells whether it passed.

    Returns
    -------
    ValidationReport

    Notes
    -----
    Rules checked (each failure records table, column(s), rule, number of
    rows and up to five example rows):

    * every required table is present and not empty; no unknown tables;
    * every contract column is present; values parse as the column type
      (``int``, ``float``, ``bool``, ``date``, ``timestamp`` with time zone);
    * non-nullable columns have no missing (or, for text, blank) values;
      allowed values; min/max;
    * keys are unique; foreign keys resolve (null foreign keys are skipped);
    * ``student_years``: ``days_absent <= days_enrolled``;
    * ``course_records``: ``completed_date >= enrolled_date``; ``completed_date``
      is empty if and only if ``mark = W``; ``credits_earned <= credits_attempted``;
      ``credits_earned = credits_attempted`` if ``mark`` is A-D and
      ``credits_earned = 0`` if ``mark`` is F or W; a recovery attempt has
      ``recovers_record_id`` and an original attempt has none; the record it
      recovers is an original attempt with mark F of the same student in the same
      or an earlier school year; online attempts have a ``mentor_id``, classroom
      attempts none;
    * ``platform_events``: events belong to online attempts of the same student;
      ``quiz_submitted``/``test_submitted`` events have a score, other events none.
    """
    out = FailureCollector()
    for name in sorted(set(tables) - set(TABLES)):
        out.add(name, "", f"unknown table; the contract's tables are: {', '.join(TABLES)}")
    present: dict[str, pd.DataFrame] = {}
    coerced: dict[str, pd.DataFrame] = {}
    for name, spec in TABLES.items():
        if name not in tables:
            if spec.required:
                out.add(name, "", "required table missing")
            continue
        raw = tables[name]
        if not isinstance(raw, pd.DataFrame):
            raise TypeError(f"tables[{name!r}] must be a pandas DataFrame, not {type(raw).__name__}")
        present[name] = raw
        coerced[name] = _check_table(raw, spec, out)
    check_foreign_keys(coerced, out)
    check_cross_field_rules(coerced, out)
    failures = out.frame()
    report = ValidationReport(failures=failures, tables=coerced, _summary=_summary(present, failures))
    if raise_on_failure:
        report.raise_if_failed()
    return report
