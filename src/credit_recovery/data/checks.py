"""Validation of a district extract against the data contract.

:func:`validate_tables` checks every rule of :mod:`credit_recovery.data.contract`
(columns present, value types, non-null, allowed values, ranges, unique keys,
foreign keys) plus the cross-field rules stated in the column descriptions and
in ``docs/data-contract.md``. All failures are collected before anything is
raised, so a district data team sees the whole list in one run.

Everything here is vectorized (pandas on Arrow-backed strings and numpy); no
Python loop runs per row, so a platform log of millions of events is checked
in seconds.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Mapping

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from credit_recovery.data.contract import TABLES, Column, Table

__all__ = ["DataValidationError", "ValidationReport", "validate_tables", "FAILURE_COLUMNS"]

#: Columns of :attr:`ValidationReport.failures`.
FAILURE_COLUMNS = ("table", "column", "rule", "n_rows", "examples")
#: At most this many example rows are shown for each failure.
MAX_EXAMPLES = 5

#: pandas dtype each contract type is coerced to.
PANDAS_DTYPES = {
    "string": "str",
    "int": "Int64",
    "float": "float64",
    "bool": "bool",  # "boolean" (nullable) only while nulls are present
    "date": "datetime64[us]",
    "timestamp": "datetime64[us, UTC]",
}

_RECOVERY_TARGET_MARK = "F"
_PASSING_MARKS = ("A", "B", "C", "D")
_SUBMISSIONS = ("quiz_submitted", "test_submitted")
_TRUE = ("true", "1")
_FALSE = ("false", "0")
_TZ_PATTERN = r"(?:[Zz]|[+-]\d\d(?::?\d\d)?)$"
_INT_PATTERN = r"[+-]?\d{1,19}"
_INT64_MAX = "9223372036854775807"
_DATE_PATTERN = r"\d{4}-\d{2}-\d{2}"


class DataValidationError(ValueError):
    """An extract breaks the data contract.

    The message lists every failure (table, column(s), rule, number of rows,
    up to five example rows); the same information is in :attr:`failures` as a
    DataFrame with columns ``table, column, rule, n_rows, examples``.
    """

    def __init__(self, failures: pd.DataFrame, header: str | None = None,
                 report: "ValidationReport | None" = None):
        self.failures = failures
        self.report = report
        super().__init__(format_failures(failures, header))


def _new_failures(rows: list[dict[str, Any]]) -> pd.DataFrame:
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


# --------------------------------------------------------------------------
# coercion of one column to its contract dtype
# --------------------------------------------------------------------------

def _is_textual(s: pd.Series) -> bool:
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


def coerce_column(s: pd.Series, col: Column) -> tuple[pd.Series, list[tuple[np.ndarray, str]]]:
    """Coerce one column to its contract dtype without guessing.

    Returns the coerced column (unparseable values become missing) and a list
    of ``(mask, rule)`` for values that were present but could not be parsed.
    """
    kind = col.dtype
    bad: list[tuple[np.ndarray, str]] = []
    index = s.index
    if kind == "string":
        if isinstance(s.dtype, pd.StringDtype) or _is_textual(s):
            out = s.astype("str")
        elif pd.api.types.is_integer_dtype(s.dtype):
            out = s.astype("Int64").astype("str")
        else:
            present = ~_missing(s)
            bad.append((present, "must be text (string)"))
            out = pd.Series(np.nan, index=index, dtype="str")
        return out, bad

    if kind == "int":
        if pd.api.types.is_bool_dtype(s.dtype):
            bad.append((~_missing(s), "must be an integer"))
            return pd.Series(pd.NA, index=index, dtype="Int64"), bad
        if pd.api.types.is_integer_dtype(s.dtype):
            return s.astype("Int64"), bad
        if pd.api.types.is_float_dtype(s.dtype):
            v = s.to_numpy(dtype="float64", na_value=np.nan)
            with np.errstate(invalid="ignore"):
                ok = np.isfinite(v) & (v == np.round(v)) & (np.abs(v) < 2**53)
            present = ~np.isnan(v)
            bad.append((present & ~ok, "must be an integer"))
            out = pd.Series(np.where(ok, v, 0).astype("int64"), index=index).astype("Int64")
            out[~ok] = pd.NA
            return out, bad
        if _is_textual(s):
            t = _as_stripped_text(s)
            present = t.notna().to_numpy()
            ok = t.str.fullmatch(_INT_PATTERN).fillna(False)
            digits = t.str.lstrip("+-")
            ok = (ok & ((digits.str.len() < 19) | (digits <= _INT64_MAX))).fillna(False).to_numpy(dtype=bool)
            bad.append((present & ~ok, "must be an integer"))
            vals = t.where(ok).str.removeprefix("+")
            out = vals.astype("Int64")
            return out, bad
        bad.append((~_missing(s), "must be an integer"))
        return pd.Series(pd.NA, index=index, dtype="Int64"), bad

    if kind == "float":
        if pd.api.types.is_bool_dtype(s.dtype):
            bad.append((~_missing(s), "must be a number"))
            return pd.Series(np.nan, index=index, dtype="float64"), bad
        if pd.api.types.is_numeric_dtype(s.dtype):
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
            bad.append((present & ~ok, "must be a number"))
            return pd.Series(np.where(ok, v, np.nan), index=index, dtype="float64"), bad
        bad.append((~_missing(s), "must be a number"))
        return pd.Series(np.nan, index=index, dtype="float64"), bad

    if kind == "bool":
        rule = "must be a boolean (true/false/1/0)"
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

    if kind == "date":
        target = PANDAS_DTYPES["date"]
        if isinstance(s.dtype, pd.DatetimeTZDtype):
            bad.append((~_missing(s), "must be a date (YYYY-MM-DD, no time zone)"))
            return pd.Series(pd.NaT, index=index, dtype=target), bad
        if pd.api.types.is_datetime64_dtype(s.dtype):
            out = s.astype(target)
            timed = (out.notna() & (out != out.dt.normalize())).to_numpy()
            if timed.any():
                bad.append((timed, "must be a date (YYYY-MM-DD, no time of day)"))
                out = out.mask(timed)
            return out, bad
        rule = "must be a date (YYYY-MM-DD)"
        if _is_textual(s):
            t = _as_stripped_text(s)
            shape_ok = t.str.fullmatch(_DATE_PATTERN).fillna(False)
            out = pd.to_datetime(t.where(shape_ok), format="%Y-%m-%d", errors="coerce").astype(target)
            bad.append((t.notna().to_numpy() & out.isna().to_numpy(), rule))
            return out, bad
        if s.dtype == object and pd.api.types.infer_dtype(s, skipna=True) in ("date", "datetime"):
            out = pd.to_datetime(s, errors="coerce")
            if isinstance(out.dtype, pd.DatetimeTZDtype):
                bad.append((~_missing(s), "must be a date (YYYY-MM-DD, no time zone)"))
                return pd.Series(pd.NaT, index=index, dtype=target), bad
            return coerce_column(out, col)
        bad.append((~_missing(s), rule))
        return pd.Series(pd.NaT, index=index, dtype=target), bad

    if kind == "timestamp":
        target = PANDAS_DTYPES["timestamp"]
        no_tz = "timestamp must carry a time zone"
        if isinstance(s.dtype, pd.DatetimeTZDtype):
            return s.dt.tz_convert("UTC").astype(target), bad
        if pd.api.types.is_datetime64_dtype(s.dtype):
            bad.append((~_missing(s), no_tz))
            return pd.Series(pd.NaT, index=index, dtype=target), bad
        if _is_textual(s):
            t = _as_stripped_text(s)
            present = t.notna().to_numpy()
            out = pd.to_datetime(t, format="ISO8601", utc=True, errors="coerce")
            if out.dtype != target:
                out = out.astype(target)
            parsed = out.notna().to_numpy()
            has_tz = t.str.contains(_TZ_PATTERN, regex=True).fillna(False).to_numpy(dtype=bool)
            bad.append((present & ~parsed, "must be a timestamp (ISO 8601 with UTC offset)"))
            missing_tz = present & parsed & ~has_tz
            bad.append((missing_tz, no_tz))
            if missing_tz.any():
                out = out.mask(missing_tz)
            return out, bad
        if s.dtype == object and pd.api.types.infer_dtype(s, skipna=True) == "datetime":
            try:
                out = pd.to_datetime(s)
            except (ValueError, TypeError):
                out = pd.to_datetime(s, utc=True, errors="coerce")
            return coerce_column(out, col)
        bad.append((~_missing(s), "must be a timestamp (ISO 8601 with UTC offset)"))
        return pd.Series(pd.NaT, index=index, dtype=target), bad

    raise ValueError(f"unknown contract dtype {kind!r}; allowed: {sorted(PANDAS_DTYPES)}")


# --------------------------------------------------------------------------
# failure collection
# --------------------------------------------------------------------------

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
class _Collector:
    rows: list[dict[str, Any]] = field(default_factory=list)

    def add(self, table: str, column: str | tuple[str, ...] | list[str], rule: str,
            n_rows: int = 0, examples: str = "") -> None:
        if not isinstance(column, str):
            column = ", ".join(column)
        self.rows.append({"table": table, "column": column, "rule": rule,
                          "n_rows": int(n_rows), "examples": examples})

    def mask(self, table: str, column, rule: str, mask: np.ndarray, frame: pd.DataFrame,
             show: list[str], raw: pd.DataFrame | None = None, raw_columns: tuple[str, ...] = ()) -> None:
        mask = np.asarray(mask, dtype=bool)
        n = int(mask.sum())
        if n:
            self.add(table, column, rule, n, example_rows(frame, mask, show, raw, raw_columns))

    def frame(self) -> pd.DataFrame:
        return _new_failures(self.rows)


def coerce_table(raw: pd.DataFrame, spec: Table, out: _Collector) -> pd.DataFrame:
    """Coerce the contract columns of one table; record unparseable values.

    Contract columns come first in contract order, other columns follow
    unchanged. Missing contract columns are left out (reported by validation).
    """
    cols: dict[str, pd.Series] = {}
    bad_by_col = []
    for col in spec.columns:
        if col.name not in raw.columns or isinstance(raw[col.name], pd.DataFrame):
            continue
        values, bad = coerce_column(raw[col.name], col)
        bad_by_col.append((col.name, bad))
        cols[col.name] = values
    for c in raw.columns:
        if c not in cols and c not in spec.column_names:
            cols[c] = raw[c]
    df = pd.DataFrame(cols, index=raw.index)
    df.attrs.update(raw.attrs)
    for name, bad in bad_by_col:
        for mask, rule in bad:
            out.mask(spec.name, name, rule, mask, df, list(spec.key) + [name], raw, (name,))
    return df


# --------------------------------------------------------------------------
# the report
# --------------------------------------------------------------------------

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


def _rng_rule(col: Column) -> str:
    unit = f" {col.unit}" if col.unit else ""
    if col.min is not None and col.max is not None:
        return f"must be between {col.min:g} and {col.max:g}{unit}"
    if col.min is not None:
        return f"must be at least {col.min:g}{unit}"
    return f"must be at most {col.max:g}{unit}"


def _key_index(df: pd.DataFrame, cols: tuple[str, ...]) -> pd.Index:
    if len(cols) == 1:
        return pd.Index(df[cols[0]])
    return pd.MultiIndex.from_arrays([df[c] for c in cols])


def _lookup(child: pd.DataFrame, child_cols, parent: pd.DataFrame, parent_cols) -> np.ndarray:
    """Position of each child row's key in ``parent`` (-1 if absent or null; first match if repeated)."""
    if len(child_cols) == 1 and len(child) and len(parent):
        # single column: hash lookup in Arrow, no Python objects per row
        c = pa.array(child[child_cols[0]], from_pandas=True)
        p = pa.array(parent[parent_cols[0]], from_pandas=True)
        if c.type == p.type:
            idx = pc.index_in(c, value_set=p, skip_nulls=True)
            return idx.fill_null(-1).to_numpy(zero_copy_only=False).astype(np.int64)
    pkey = _key_index(parent, tuple(parent_cols))
    keep = ~pkey.duplicated()
    pos_parent = np.flatnonzero(keep)
    pkey = pkey[keep]
    ckey = _key_index(child, tuple(child_cols))
    pos = pkey.get_indexer(ckey)
    res = np.where(pos >= 0, pos_parent[np.clip(pos, 0, None)] if len(pos_parent) else -1, -1)
    nulls = np.zeros(len(child), dtype=bool)
    for col in child_cols:
        nulls |= child[col].isna().to_numpy()
    res[nulls] = -1
    return res


def _take(s: pd.Series, pos: np.ndarray) -> pd.Series:
    """``s`` at positions ``pos`` (missing where pos == -1), index 0..n-1."""
    found = pos >= 0
    out = s.iloc[np.where(found, pos, 0)].reset_index(drop=True) if len(s) else \
        pd.Series([pd.NA] * len(pos), dtype=s.dtype)
    return out.mask(~found)


def _eq(a: pd.Series, b: pd.Series) -> np.ndarray:
    """Elementwise equality, missing counts as not equal."""
    r = a.reset_index(drop=True) == b.reset_index(drop=True)
    return r.fillna(False).to_numpy(dtype=bool)


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
    * non-nullable columns have no missing values; allowed values; min/max;
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
    out = _Collector()
    unknown = sorted(set(tables) - set(TABLES))
    for name in unknown:
        out.add(name, "", f"unknown table; the contract's tables are: {', '.join(TABLES)}")

    raw_tables: dict[str, pd.DataFrame] = {}
    coerced: dict[str, pd.DataFrame] = {}
    bad_cells: dict[str, dict[str, np.ndarray]] = {}
    summary = []
    for name, spec in TABLES.items():
        n_before = len(out.rows)
        if name not in tables:
            if spec.required:
                out.add(name, "", "required table missing")
            summary.append({"table": name, "required": spec.required, "present": False,
                            "n_rows": 0, "n_columns": 0})
            continue
        raw = tables[name]
        if not isinstance(raw, pd.DataFrame):
            raise TypeError(f"tables[{name!r}] must be a pandas DataFrame, not {type(raw).__name__}")
        raw = raw.reset_index(drop=True)
        raw_tables[name] = raw
        summary.append({"table": name, "required": spec.required, "present": True,
                        "n_rows": len(raw), "n_columns": raw.shape[1]})
        if len(raw) == 0 and spec.required:
            out.add(name, "", "table is empty (no rows)")
        dup_cols = raw.columns[raw.columns.duplicated()].unique()
        for c in dup_cols:
            out.add(name, str(c), "column appears more than once", len(raw))
        for c in spec.column_names:
            if c not in raw.columns:
                out.add(name, c, "required column missing", len(raw),
                        "columns present: " + ", ".join(map(str, raw.columns)))
        sub = _Collector()
        df = coerce_table(raw, spec, sub)
        bad_cells[name] = {}
        for r in sub.rows:
            out.rows.append(r)
        # cells that failed to parse are not reported again as missing
        for col in spec.columns:
            if col.name in df.columns:
                was_missing = (raw[col.name].isna() | (raw[col.name].astype("str").str.strip() == "")
                               if _is_textual(raw[col.name]) else raw[col.name].isna()).to_numpy(dtype=bool)
                bad_cells[name][col.name] = df[col.name].isna().to_numpy() & ~was_missing
                if not col.nullable:
                    out.mask(name, col.name, "must not be empty (missing value)", was_missing, df,
                             list(spec.key) + [col.name])
                _check_values(df, spec, col, out)
        key_present = all(k in df.columns for k in spec.key)
        if key_present and len(df):
            dup = df.duplicated(subset=list(spec.key), keep=False).to_numpy()
            out.mask(name, spec.key, f"duplicate key ({', '.join(spec.key)} must be unique)", dup, df,
                     list(spec.key))
        coerced[name] = df
        summary[-1]["n_failures"] = len(out.rows) - n_before

    for name, spec in TABLES.items():
        if name not in coerced:
            continue
        child = coerced[name]
        for fk in spec.foreign_keys:
            parent = coerced.get(fk.table)
            if parent is None or not all(c in child.columns for c in fk.columns) \
                    or not all(c in parent.columns for c in fk.ref_columns):
                continue
            pos = _lookup(child, fk.columns, parent, fk.ref_columns)
            has_key = np.ones(len(child), dtype=bool)
            for c in fk.columns:
                has_key &= child[c].notna().to_numpy()
            target = f"{fk.table}.{', '.join(fk.ref_columns)}"
            out.mask(name, fk.columns,
                     f"foreign key: {fk.description} (no matching {target})",
                     has_key & (pos < 0), child, list(spec.key) + list(fk.columns))

    _cross_field_rules(coerced, coerced, out)

    failures = out.frame()
    summ = pd.DataFrame(summary, columns=["table", "required", "present", "n_rows", "n_columns", "n_failures"])
    # failures found in the cross-table pass are attributed to their table
    counts = failures["table"].value_counts()
    summ["n_failures"] = summ["table"].map(counts).fillna(0).astype("int64")
    report = ValidationReport(failures=failures, tables=coerced, _summary=summ)
    if raise_on_failure:
        report.raise_if_failed()
    return report


def _check_values(df: pd.DataFrame, spec: Table, col: Column, out: _Collector) -> None:
    s = df[col.name]
    show = list(spec.key) + [col.name]
    if col.allowed is not None:
        bad = (s.notna() & ~s.isin(list(col.allowed))).to_numpy(dtype=bool)
        out.mask(spec.name, col.name, "must be one of: " + ", ".join(map(str, col.allowed)), bad, df, show)
    if (col.min is not None or col.max is not None) and col.dtype in ("int", "float"):
        v = s.to_numpy(dtype="float64", na_value=np.nan)
        bad = np.zeros(len(v), dtype=bool)
        with np.errstate(invalid="ignore"):
            if col.min is not None:
                bad |= v < col.min
            if col.max is not None:
                bad |= v > col.max
        out.mask(spec.name, col.name, _rng_rule(col), bad, df, show)


def _has(tables: dict[str, pd.DataFrame], name: str, *cols: str) -> bool:
    return name in tables and all(c in tables[name].columns for c in cols)


def _cross_field_rules(t: dict[str, pd.DataFrame], raw: dict[str, pd.DataFrame], out: _Collector) -> None:
    sy_key = ["student_id", "school_year"]
    if _has(t, "student_years", "days_absent", "days_enrolled"):
        d = t["student_years"]
        bad = (d["days_absent"] > d["days_enrolled"]).fillna(False).to_numpy(dtype=bool)
        out.mask("student_years", ("days_absent", "days_enrolled"),
                 "days_absent must not exceed days_enrolled", bad, raw["student_years"],
                 sy_key + ["days_enrolled", "days_absent"])

    if "course_records" in t:
        c, r = t["course_records"], raw["course_records"]
        key = ["course_record_id"]
        if _has(t, "course_records", "enrolled_date", "completed_date"):
            bad = (c["completed_date"] < c["enrolled_date"]).fillna(False).to_numpy(dtype=bool)
            out.mask("course_records", ("enrolled_date", "completed_date"),
                     "completed_date must not be before enrolled_date (negative duration)", bad, r,
                     key + ["enrolled_date", "completed_date"])
        if _has(t, "course_records", "mark", "completed_date"):
            is_w = (c["mark"] == "W").fillna(False).to_numpy(dtype=bool)
            known = c["mark"].notna().to_numpy()
            no_date = c["completed_date"].isna().to_numpy()
            bad = known & (is_w != no_date)
            out.mask("course_records", ("mark", "completed_date"),
                     "completed_date is empty if and only if mark is W (withdrawn)", bad, r,
                     key + ["mark", "completed_date"])
        if _has(t, "course_records", "credits_earned", "credits_attempted"):
            e = c["credits_earned"].to_numpy(dtype="float64", na_value=np.nan)
            a = c["credits_attempted"].to_numpy(dtype="float64", na_value=np.nan)
            with np.errstate(invalid="ignore"):
                out.mask("course_records", ("credits_earned", "credits_attempted"),
                         "credits_earned must not exceed credits_attempted", e > a + 1e-9, r,
                         key + ["credits_attempted", "credits_earned"])
                if "mark" in c.columns:
                    passed = c["mark"].isin(_PASSING_MARKS).to_numpy()
                    not_passed = c["mark"].isin(("F", "W")).to_numpy()
                    bad = (passed & ~(np.abs(e - a) <= 1e-9)) | (not_passed & ~(np.abs(e) <= 1e-9))
                    bad &= ~np.isnan(e) & ~np.isnan(a)
                    out.mask("course_records", ("mark", "credits_earned", "credits_attempted"),
                             "credits_earned must equal credits_attempted if mark is A-D (passed) "
                             "and be 0 if mark is F or W", bad, r,
                             key + ["mark", "credits_attempted", "credits_earned"])
        if _has(t, "course_records", "attempt", "recovers_record_id"):
            rec = (c["attempt"] == "recovery").fillna(False).to_numpy(dtype=bool)
            orig = (c["attempt"] == "original").fillna(False).to_numpy(dtype=bool)
            link = c["recovers_record_id"].notna().to_numpy()
            show = key + ["attempt", "recovers_record_id"]
            out.mask("course_records", ("attempt", "recovers_record_id"),
                     "a recovery attempt must name the failed attempt it retakes in recovers_record_id",
                     rec & ~link, r, show)
            out.mask("course_records", ("attempt", "recovers_record_id"),
                     "an original attempt must have an empty recovers_record_id", orig & link, r, show)
            if "course_record_id" in c.columns:
                pos = _lookup(c, ("recovers_record_id",), c, ("course_record_id",))
                found = pos >= 0
                if _has(t, "course_records", "mark"):
                    tgt_ok = ((_take(c["attempt"], pos) == "original")
                              & (_take(c["mark"], pos) == _RECOVERY_TARGET_MARK)).fillna(False).to_numpy(dtype=bool)
                    out.mask("course_records", "recovers_record_id",
                             "recovers_record_id must point at an original attempt with mark F",
                             found & ~tgt_ok, r, show)
                if "student_id" in c.columns:
                    same = _eq(_take(c["student_id"], pos), c["student_id"])
                    out.mask("course_records", ("recovers_record_id", "student_id"),
                             "recovers_record_id must point at an attempt of the same student",
                             found & ~same, r, show + ["student_id"])
                if "school_year" in c.columns:
                    ty = _take(c["school_year"].astype("float64"), pos).to_numpy(dtype="float64", na_value=np.nan)
                    y = c["school_year"].to_numpy(dtype="float64", na_value=np.nan)
                    with np.errstate(invalid="ignore"):
                        bad = found & (y < ty)
                    out.mask("course_records", ("recovers_record_id", "school_year"),
                             "a recovery attempt must be in the same or a later school year "
                             "than the failed attempt it retakes", bad, r, show + ["school_year"])
        if _has(t, "course_records", "delivery", "mentor_id"):
            online = (c["delivery"] == "online").fillna(False).to_numpy(dtype=bool)
            classroom = (c["delivery"] == "classroom").fillna(False).to_numpy(dtype=bool)
            has_m = c["mentor_id"].notna().to_numpy()
            show = key + ["delivery", "mentor_id"]
            out.mask("course_records", ("delivery", "mentor_id"), "online attempts must have a mentor_id",
                     online & ~has_m, r, show)
            out.mask("course_records", ("delivery", "mentor_id"),
                     "classroom attempts must have an empty mentor_id", classroom & has_m, r, show)

    if "platform_events" in t:
        e, r = t["platform_events"], raw["platform_events"]
        key = ["event_id"]
        if _has(t, "platform_events", "event_type", "score"):
            sub = e["event_type"].isin(_SUBMISSIONS).to_numpy()
            known = e["event_type"].notna().to_numpy()
            has = e["score"].notna().to_numpy()
            show = key + ["event_type", "score"]
            out.mask("platform_events", ("event_type", "score"),
                     "quiz_submitted and test_submitted events must have a score", sub & ~has, r, show)
            out.mask("platform_events", ("event_type", "score"),
                     "only quiz_submitted and test_submitted events have a score", known & ~sub & has, r, show)
        if _has(t, "platform_events", "course_record_id") and _has(t, "course_records", "course_record_id"):
            c = t["course_records"]
            pos = _lookup(e, ("course_record_id",), c, ("course_record_id",))
            found = pos >= 0
            if "delivery" in c.columns:
                online = (_take(c["delivery"], pos) == "online").fillna(False).to_numpy(dtype=bool)
                out.mask("platform_events", "course_record_id",
                         "events must belong to an online course attempt (delivery = online)",
                         found & ~online, r, key + ["course_record_id"])
            if "student_id" in c.columns and "student_id" in e.columns:
                same = _eq(_take(c["student_id"], pos), e["student_id"])
                out.mask("platform_events", ("student_id", "course_record_id"),
                         "an event's student_id must be the student of its course record",
                         found & ~same, r, key + ["student_id", "course_record_id"])
