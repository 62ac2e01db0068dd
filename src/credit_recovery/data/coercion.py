"""Parsing input columns to their contract types, without guessing.

:func:`coerce_column` turns one column, as it came from a CSV (text), a parquet
file or a DataFrame, into the pandas dtype of its contract type
(:data:`PANDAS_DTYPES`). A value that is present but does not parse becomes
missing and is reported with the rule it breaks ("must be an integer",
"timestamp must carry a time zone", ...). Nothing is guessed: ``10.5`` is not an
integer, ``yes`` is not a boolean, a timestamp without an offset is not
assumed to be UTC. This is why parsing is written out here rather than left to
pandera's ``coerce=True`` (plain ``astype``), which would accept or reject
different spellings; the contract's value rules are checked afterwards by the
pandera schemas of :mod:`credit_recovery.data.schemas`.

Everything is vectorized (pandas on Arrow-backed strings and numpy).
"""
from __future__ import annotations

from typing import NamedTuple

import numpy as np
import pandas as pd

from credit_recovery.data.contract import Column, Table
from credit_recovery.data.failures import FailureCollector

__all__ = ["PANDAS_DTYPES", "ParseFailures", "ParsedTable", "coerce_column", "coerce_table", "parse_table"]

#: pandas dtype each contract type is coerced to.
PANDAS_DTYPES = {
    "string": "str",
    "int": "Int64",
    "float": "float64",
    "bool": "bool",  # "boolean" (nullable) only while nulls are present
    "date": "datetime64[us]",
    "timestamp": "datetime64[us, UTC]",
}

_TRUE = ("true", "1")
_FALSE = ("false", "0")
_TZ_PATTERN = r"(?:[Zz]|[+-]\d\d(?::?\d\d)?)$"
_INT_PATTERN = r"[+-]?\d{1,19}"
_INT64_MAX = "9223372036854775807"
_DATE_PATTERN = r"\d{4}-\d{2}-\d{2}"

#: A column's parse failures: ``(mask of rows, rule)`` for values present but unparseable.
ParseFailures = list[tuple[np.ndarray, str]]


def _is_textual(s: pd.Series) -> bool:
    """Whether ``s`` holds text (string dtype, or objects that are all strings)."""
    if isinstance(s.dtype, pd.StringDtype):
        return True
    if s.dtype == object:
        return pd.api.types.infer_dtype(s, skipna=True) in ("string", "empty")
    return False


def _as_stripped_text(s: pd.Series) -> pd.Series:
    """Text values, stripped; empty strings become missing."""
    t = s.astype("str").str.strip()
    return t.mask(t == "")


def _missing(s: pd.Series) -> np.ndarray:
    return s.isna().to_numpy(dtype=bool)


def _to_string(s: pd.Series) -> tuple[pd.Series, ParseFailures]:
    if isinstance(s.dtype, pd.StringDtype) or _is_textual(s):
        return s.astype("str"), []
    if pd.api.types.is_integer_dtype(s.dtype):
        return s.astype("Int64").astype("str"), []
    return pd.Series(np.nan, index=s.index, dtype="str"), [(~_missing(s), "must be text (string)")]


def _int_from_text(s: pd.Series) -> tuple[pd.Series, ParseFailures]:
    """Digits with an optional sign, within int64; no decimal point, no exponent."""
    t = _as_stripped_text(s)
    present = t.notna().to_numpy()
    ok = t.str.fullmatch(_INT_PATTERN).fillna(False)
    digits = t.str.lstrip("+-")
    ok = (ok & ((digits.str.len() < 19) | (digits <= _INT64_MAX))).fillna(False).to_numpy(dtype=bool)
    vals = t.where(ok).str.removeprefix("+")
    return vals.astype("Int64"), [(present & ~ok, "must be an integer")]


def _to_int(s: pd.Series) -> tuple[pd.Series, ParseFailures]:
    rule = "must be an integer"
    if pd.api.types.is_bool_dtype(s.dtype):
        return pd.Series(pd.NA, index=s.index, dtype="Int64"), [(~_missing(s), rule)]
    if pd.api.types.is_integer_dtype(s.dtype):
        return s.astype("Int64"), []
    if pd.api.types.is_float_dtype(s.dtype):
        v = s.to_numpy(dtype="float64", na_value=np.nan)
        with np.errstate(invalid="ignore"):
            ok = np.isfinite(v) & (v == np.round(v)) & (np.abs(v) < 2**53)
        present = ~np.isnan(v)
        out = pd.Series(np.where(ok, v, 0).astype("int64"), index=s.index).astype("Int64")
        out[~ok] = pd.NA
        return out, [(present & ~ok, rule)]
    if _is_textual(s):
        return _int_from_text(s)
    return pd.Series(pd.NA, index=s.index, dtype="Int64"), [(~_missing(s), rule)]


def _to_float(s: pd.Series) -> tuple[pd.Series, ParseFailures]:
    index = s.index
    if pd.api.types.is_bool_dtype(s.dtype):
        return pd.Series(np.nan, index=index, dtype="float64"), [(~_missing(s), "must be a number")]
    if pd.api.types.is_numeric_dtype(s.dtype):
        bad: ParseFailures = []
        v = s.to_numpy(dtype="float64", na_value=np.nan)
        inf = np.isinf(v)
        if inf.any():
            bad.append((inf, "must be a finite number"))
            v = np.where(inf, np.nan, v)
        return pd.Series(v, index=index, dtype="float64"), bad
    if _is_textual(s):
        t = _as_stripped_text(s)
        present = t.notna().to_numpy()
        v = pd.to_numeric(t, errors="coerce").to_numpy(dtype="float64", na_value=np.nan)
        ok = np.isfinite(v)
        return pd.Series(np.where(ok, v, np.nan), index=index, dtype="float64"), [(present & ~ok, "must be a number")]
    return pd.Series(np.nan, index=index, dtype="float64"), [(~_missing(s), "must be a number")]


def _to_bool(s: pd.Series) -> tuple[pd.Series, ParseFailures]:
    """``bool`` if no value is missing, else nullable ``boolean``."""
    rule = "must be a boolean (true/false/1/0)"
    index = s.index
    bad: ParseFailures = []
    if pd.api.types.is_bool_dtype(s.dtype):
        out = s.astype("boolean")
    elif pd.api.types.is_numeric_dtype(s.dtype):
        v = s.to_numpy(dtype="float64", na_value=np.nan)
        ok = (v == 0) | (v == 1)
        bad.append((~np.isnan(v) & ~ok, rule))
        out = pd.Series(pd.array(np.where(ok, v == 1, False), dtype="boolean"), index=index)
        out[~ok] = pd.NA
    elif _is_textual(s):
        t = _as_stripped_text(s).str.lower()
        is_t = t.isin(_TRUE).to_numpy()
        is_f = t.isin(_FALSE).to_numpy()
        present = t.notna().to_numpy()
        bad.append((present & ~is_t & ~is_f, rule))
        out = pd.Series(pd.array(is_t, dtype="boolean"), index=index)
        out[~(is_t | is_f)] = pd.NA
    else:
        bad.append((~_missing(s), rule))
        out = pd.Series(pd.NA, index=index, dtype="boolean")
    if not out.isna().any():
        out = out.astype("bool")
    return out, bad


def _to_date(s: pd.Series, col: Column) -> tuple[pd.Series, ParseFailures]:
    target = PANDAS_DTYPES["date"]
    index = s.index
    with_zone = "must be a date (YYYY-MM-DD, no time zone)"
    if isinstance(s.dtype, pd.DatetimeTZDtype):
        return pd.Series(pd.NaT, index=index, dtype=target), [(~_missing(s), with_zone)]
    if pd.api.types.is_datetime64_dtype(s.dtype):
        out = s.astype(target)
        timed = (out.notna() & (out != out.dt.normalize())).to_numpy()
        if timed.any():
            return out.mask(timed), [(timed, "must be a date (YYYY-MM-DD, no time of day)")]
        return out, []
    rule = "must be a date (YYYY-MM-DD)"
    if _is_textual(s):
        t = _as_stripped_text(s)
        shape_ok = t.str.fullmatch(_DATE_PATTERN).fillna(False)
        out = pd.to_datetime(t.where(shape_ok), format="%Y-%m-%d", errors="coerce").astype(target)
        return out, [(t.notna().to_numpy() & out.isna().to_numpy(), rule)]
    if s.dtype == object and pd.api.types.infer_dtype(s, skipna=True) in ("date", "datetime"):
        out = pd.to_datetime(s, errors="coerce")
        if isinstance(out.dtype, pd.DatetimeTZDtype):
            return pd.Series(pd.NaT, index=index, dtype=target), [(~_missing(s), with_zone)]
        return coerce_column(out, col)
    return pd.Series(pd.NaT, index=index, dtype=target), [(~_missing(s), rule)]


def _timestamp_from_text(s: pd.Series) -> tuple[pd.Series, ParseFailures]:
    """ISO 8601 with a UTC offset or ``Z``, converted to UTC; no offset is an error."""
    target = PANDAS_DTYPES["timestamp"]
    t = _as_stripped_text(s)
    present = t.notna().to_numpy()
    out = pd.to_datetime(t, format="ISO8601", utc=True, errors="coerce")
    if out.dtype != target:
        out = out.astype(target)
    parsed = out.notna().to_numpy()
    has_tz = t.str.contains(_TZ_PATTERN, regex=True).fillna(False).to_numpy(dtype=bool)
    missing_tz = present & parsed & ~has_tz
    bad = [(present & ~parsed, "must be a timestamp (ISO 8601 with UTC offset)"),
           (missing_tz, "timestamp must carry a time zone")]
    if missing_tz.any():
        out = out.mask(missing_tz)
    return out, bad


def _to_timestamp(s: pd.Series, col: Column) -> tuple[pd.Series, ParseFailures]:
    target = PANDAS_DTYPES["timestamp"]
    index = s.index
    if isinstance(s.dtype, pd.DatetimeTZDtype):
        return s.dt.tz_convert("UTC").astype(target), []
    if pd.api.types.is_datetime64_dtype(s.dtype):
        return pd.Series(pd.NaT, index=index, dtype=target), [(~_missing(s), "timestamp must carry a time zone")]
    if _is_textual(s):
        return _timestamp_from_text(s)
    if s.dtype == object and pd.api.types.infer_dtype(s, skipna=True) == "datetime":
        try:
            out = pd.to_datetime(s)
        except (ValueError, TypeError):
            out = pd.to_datetime(s, utc=True, errors="coerce")
        return coerce_column(out, col)
    return (pd.Series(pd.NaT, index=index, dtype=target),
            [(~_missing(s), "must be a timestamp (ISO 8601 with UTC offset)")])


def coerce_column(s: pd.Series, col: Column) -> tuple[pd.Series, ParseFailures]:
    """Coerce one column to its contract dtype without guessing.

    Returns the coerced column (unparseable values become missing) and a list
    of ``(mask, rule)`` for values that were present but could not be parsed.
    """
    kind = col.dtype
    if kind == "string":
        return _to_string(s)
    if kind == "int":
        return _to_int(s)
    if kind == "float":
        return _to_float(s)
    if kind == "bool":
        return _to_bool(s)
    if kind == "date":
        return _to_date(s, col)
    if kind == "timestamp":
        return _to_timestamp(s, col)
    raise ValueError(f"unknown contract dtype {kind!r}; allowed: {sorted(PANDAS_DTYPES)}")


class ParsedTable(NamedTuple):
    """A table coerced to its contract dtypes and the values that did not parse."""

    #: Contract columns first in contract order, other columns after, unchanged.
    frame: pd.DataFrame
    #: ``(column, mask, rule)`` for every parse failure, in contract column order.
    bad: list[tuple[str, np.ndarray, str]]

    def unparsed(self, column: str) -> np.ndarray:
        """Rows of ``column`` whose value was present but did not parse (now missing)."""
        out = np.zeros(len(self.frame), dtype=bool)
        for name, mask, _ in self.bad:
            if name == column:
                out |= mask
        return out

    def record(self, spec: Table, raw: pd.DataFrame, out: FailureCollector) -> None:
        """Report the parse failures, with the key and the value as it was in ``raw``."""
        for name, mask, rule in self.bad:
            out.mask(spec.name, name, rule, mask, self.frame, list(spec.key) + [name], raw, (name,))


def parse_table(raw: pd.DataFrame, spec: Table) -> ParsedTable:
    """Coerce the contract columns of one table; keep the parse failures.

    A contract column that is missing, or any column that appears more than
    once, is left out (reported by validation).
    """
    cols: dict[str, pd.Series] = {}
    bad: list[tuple[str, np.ndarray, str]] = []
    for col in spec.columns:
        if col.name not in raw.columns or isinstance(raw[col.name], pd.DataFrame):
            continue
        values, col_bad = coerce_column(raw[col.name], col)
        bad.extend((col.name, mask, rule) for mask, rule in col_bad)
        cols[col.name] = values
    for c in raw.columns:
        if c not in cols and c not in spec.column_names and not isinstance(raw[c], pd.DataFrame):
            cols[c] = raw[c]
    df = pd.DataFrame(cols, index=raw.index)
    df.attrs.update(raw.attrs)
    return ParsedTable(df, bad)


def coerce_table(raw: pd.DataFrame, spec: Table, out: FailureCollector) -> pd.DataFrame:
    """Coerce the contract columns of one table; record unparseable values in ``out``.

    Contract columns come first in contract order, other columns follow
    unchanged. Missing contract columns, and columns that appear more than
    once, are left out (reported by validation).
    """
    parsed = parse_table(raw, spec)
    parsed.record(spec, raw, out)
    return parsed.frame
