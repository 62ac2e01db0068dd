"""The contract's per-table rules as pandera schemas, and their failures in the contract's words.

:func:`contract_schema` builds one :class:`pandera.pandas.DataFrameSchema` per
contract table from its :class:`~credit_recovery.data.contract.Column`
definitions, so ``contract.py`` stays the single source of the rules:

* every contract column is required unless marked optional (extra columns are allowed);
* a column that is not ``nullable`` has no missing value, and, if it is text,
  no empty or blank value;
* ``allowed`` values (``Check.isin``) and ``min``/``max`` ranges, inclusive
  (``Check.in_range``, ``ge``, ``le``); missing values are not checked;
* the table's key is unique (``unique=key``, every duplicate reported). Rows
  whose key has a missing value are not compared (as in SQL): the missing
  value is reported as such.

Each check's ``error`` is the rule as a user reads it ("must be one of: F, M,
X", "must be between 100 and 400 scale points"), so :func:`record_schema_failures`
can turn pandera's failure cases (one per failing cell) into the failure list of
:mod:`credit_recovery.data.failures`: table, column, rule, number of rows and
example rows.

The schemas check values, not dtypes: the types are established by the parser
(:mod:`credit_recovery.data.coercion`), which reports unparseable values itself.
Rules that need more than one column or another table (cross-field rules,
foreign keys) are in :mod:`credit_recovery.data.relations`.
"""
from __future__ import annotations

import warnings
from contextlib import contextmanager
from functools import lru_cache
from typing import Callable, Iterator

import numpy as np
import pandas as pd
import pandera.pandas as pa
from pandera.config import ValidationDepth, config_context, get_config_global, set_config
from pandera.errors import SchemaErrors

from credit_recovery.data.contract import Column, Table
from credit_recovery.data.failures import FailureCollector

__all__ = ["NOT_EMPTY_RULE", "allowed_rule", "range_rule", "key_rule", "contract_schema",
           "schema_failure_cases", "record_missing_columns", "record_schema_failures"]

#: Rule text for a missing (or, in a text column, empty) value in a column that must have one.
NOT_EMPTY_RULE = "must not be empty (missing value)"
#: pandera's names for its built-in checks.
_NOT_NULLABLE = "not_nullable"
_COLUMN_PRESENT = "column_in_dataframe"
_KEY_UNIQUE = "multiple_fields_uniqueness"


def allowed_rule(col: Column) -> str:
    """Rule text of a column's allowed values."""
    return "must be one of: " + ", ".join(map(str, col.allowed))


def range_rule(col: Column) -> str:
    """Rule text of a column's range, with its unit."""
    unit = f" {col.unit}" if col.unit else ""
    if col.min is not None and col.max is not None:
        return f"must be between {col.min:g} and {col.max:g}{unit}"
    if col.min is not None:
        return f"must be at least {col.min:g}{unit}"
    return f"must be at most {col.max:g}{unit}"


def key_rule(spec: Table) -> str:
    """Rule text of a table's unique key."""
    return f"duplicate key ({', '.join(spec.key)} must be unique)"


def _has_range(col: Column) -> bool:
    return (col.min is not None or col.max is not None) and col.dtype in ("int", "float")


def _not_blank(s: pd.Series) -> pd.Series:
    return s.str.strip() != ""


def _column_checks(col: Column) -> list[pa.Check]:
    checks = []
    if col.dtype == "string" and not col.nullable:
        checks.append(pa.Check(_not_blank, error=NOT_EMPTY_RULE))
    if col.allowed is not None:
        checks.append(pa.Check.isin(list(col.allowed), error=allowed_rule(col)))
    if _has_range(col):
        if col.min is not None and col.max is not None:
            checks.append(pa.Check.in_range(col.min, col.max, error=range_rule(col)))
        elif col.min is not None:
            checks.append(pa.Check.ge(col.min, error=range_rule(col)))
        else:
            checks.append(pa.Check.le(col.max, error=range_rule(col)))
    return checks


@lru_cache(maxsize=None)
def contract_schema(spec: Table, *, check_key: bool = True) -> pa.DataFrameSchema:
    """The pandera schema of one contract table (see the module docstring).

    With ``check_key=False`` the key is not checked (used when a key column is
    missing: pandera would check the remaining key columns alone).
    """
    columns = {c.name: pa.Column(nullable=c.nullable, required=not c.optional, checks=_column_checks(c),
                                 description=c.description)
               for c in spec.columns}
    return pa.DataFrameSchema(columns, name=spec.name, strict=False,
                              unique=list(spec.key) if check_key else None, report_duplicates="all")


@contextmanager
def _complete_pandas_validation() -> Iterator[None]:
    """pandera settings under which every rule is checked, by pandera's pandas backend.

    ``PANDERA_VALIDATION_ENABLED=False`` or ``PANDERA_VALIDATION_DEPTH=SCHEMA_ONLY``
    would skip the checks; the optional Narwhals backend
    (``PANDERA_USE_NARWHALS_BACKEND``) reports failure cases differently (in
    pandera 0.35 it misses duplicate keys). The backend is a process-wide
    registration, so it is switched for the duration of the call and back.
    """
    narwhals = get_config_global().use_narwhals_backend
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="Re-registered pandera backends")
        if narwhals:
            set_config(use_narwhals_backend=False)
        try:
            with config_context(validation_enabled=True, validation_depth=ValidationDepth.SCHEMA_AND_DATA,
                                use_narwhals_backend=False):
                yield
        finally:
            if narwhals:
                set_config(use_narwhals_backend=True)


def schema_failure_cases(df: pd.DataFrame, spec: Table) -> pd.DataFrame:
    """pandera's failure cases of ``df`` against the table's schema (empty if none).

    Validation is lazy (every failure is collected) and complete whatever the
    process-wide pandera settings (see :func:`_complete_pandas_validation`).
    """
    schema = contract_schema(spec, check_key=all(k in df.columns for k in spec.key))
    with _complete_pandas_validation():
        try:
            schema.validate(df, lazy=True, inplace=True)
        except SchemaErrors as err:
            return err.failure_cases
    return pd.DataFrame(columns=["column", "check", "failure_case", "index"])


def record_missing_columns(cases: pd.DataFrame, spec: Table, raw: pd.DataFrame,
                           out: FailureCollector) -> None:
    """Report contract columns missing from the table (not those dropped for appearing twice)."""
    absent = set(cases.loc[cases["check"] == _COLUMN_PRESENT, "failure_case"])
    for c in (col.name for col in spec.columns if not col.optional):
        if c in absent and c not in raw.columns:
            out.add(spec.name, c, "required column missing", len(raw),
                    "columns present: " + ", ".join(map(str, raw.columns)))


def _failing_rows(cases: pd.DataFrame, n: int) -> np.ndarray:
    mask = np.zeros(n, dtype=bool)
    mask[np.asarray(cases["index"].dropna(), dtype=np.int64)] = True
    return mask


def _value_rules(col: Column) -> list[str]:
    """The rules a column's values may break, in the order they are reported."""
    return ([NOT_EMPTY_RULE] + ([allowed_rule(col)] if col.allowed is not None else [])
            + ([range_rule(col)] if _has_range(col) else []))


def record_schema_failures(cases: pd.DataFrame, spec: Table, df: pd.DataFrame,
                           unparsed: Callable[[str], np.ndarray], out: FailureCollector) -> None:
    """Report the value and key failures of ``df`` (index ``0..n-1``), in contract column order.

    ``unparsed(column)`` gives the rows whose value did not parse: they are
    missing now but were reported as unparseable, not again as empty.
    """
    n = len(df)
    cases = cases[cases["check"] != _COLUMN_PRESENT]
    rules = cases["check"].replace({_NOT_NULLABLE: NOT_EMPTY_RULE})
    groups = dict(list(cases.groupby([cases["column"], rules], sort=False, dropna=False)))
    for col in spec.columns:
        for rule in _value_rules(col):
            g = groups.pop((col.name, rule), None)
            if g is not None:
                mask = _failing_rows(g, n)
                if rule == NOT_EMPTY_RULE:
                    mask &= ~unparsed(col.name)
                out.mask(spec.name, col.name, rule, mask, df, list(spec.key) + [col.name])
    key = [_failing_rows(groups.pop(k), n) for k in list(groups) if k[1] == _KEY_UNIQUE]
    if key:
        # a row with a missing key value is reported as empty, not also as a duplicate
        complete = df[list(spec.key)].notna().all(axis=1).to_numpy()
        out.mask(spec.name, spec.key, key_rule(spec), np.logical_or.reduce(key) & complete, df, list(spec.key))
    for (column, rule), g in groups.items():  # anything else pandera reports (not expected): as it comes
        name = "" if pd.isna(column) else str(column)
        if g["index"].notna().any():
            out.mask(spec.name, name, str(rule), _failing_rows(g, n), df,
                     list(spec.key) + ([column] if column in df.columns else []))
        else:
            out.add(spec.name, name, str(rule), 0, "failure cases: " + ", ".join(map(str, g["failure_case"])))
