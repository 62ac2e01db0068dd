"""Reading and writing a district extract (the one module that touches paths).

An extract is a folder with one entry per contract table: ``<name>.parquet``,
``<name>.csv`` or a directory ``<name>/`` of parquet files (hive-partitioned
sub-directories such as ``school_year=2014/`` allowed). The optional
``calendar`` table may be absent.

:func:`read_extract` coerces every contract column to its contract dtype
without guessing (CSV columns are read as text and then parsed); problems are
collected over all tables and raised together as one
:class:`~credit_recovery.data.failures.DataValidationError`. It does not check the
contract's value rules: call :func:`credit_recovery.validate_tables` on the
result.

:func:`write_extract` writes each table as ``<name>.parquet`` in the contract's
own format, so the folder can itself be used as ``data.source``.
"""
from __future__ import annotations

import codecs
import csv
import os
import shutil
import uuid
from pathlib import Path
from typing import Mapping, Sequence

import pandas as pd
import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.dataset as pads
import pyarrow.parquet as pq

from credit_recovery.data.contract import TABLES, Table
from credit_recovery.data.coercion import coerce_table
from credit_recovery.data.failures import DataValidationError, FailureCollector

__all__ = ["read_extract", "write_extract", "stack_extracts", "stack_parquet", "coerce_tables", "ROW_GROUP_SIZE"]

#: Rows per parquet row group written by :func:`write_extract` (fixed, for byte-identical output).
ROW_GROUP_SIZE = 1_048_576
_COMPRESSION = "zstd"
_COMPRESSION_LEVEL = 3

_ARROW_TYPES = {
    "string": pa.string(),
    "int": pa.int64(),
    "float": pa.float64(),
    "bool": pa.bool_(),
    "date": pa.date32(),
    "timestamp": pa.timestamp("us", tz="UTC"),
}


class _TableError(Exception):
    """A table could not be read at all (recorded as one failure)."""

    def __init__(self, column: str, rule: str, n_rows: int = 0, examples: str = ""):
        super().__init__(rule)
        self.column, self.rule, self.n_rows, self.examples = column, rule, n_rows, examples


def _candidates(folder: Path, name: str) -> list[tuple[str, Path]]:
    found = []
    for kind, path in (("parquet", folder / f"{name}.parquet"), ("csv", folder / f"{name}.csv"),
                       ("dir", folder / name)):
        if (kind == "dir" and path.is_dir()) or (kind != "dir" and path.is_file()):
            found.append((kind, path))
    return found


def _first_bad_utf8(path: Path) -> tuple[int, int] | None:
    """(byte offset, line number) of the first byte that is not valid UTF-8."""
    dec = codecs.getincrementaldecoder("utf-8")()
    offset, lines = 0, 0
    with open(path, "rb") as f:
        while True:
            chunk = f.read(1 << 20)
            try:
                dec.decode(chunk, final=not chunk)
            except UnicodeDecodeError as exc:
                # exc.object = bytes held back from the previous chunk + this chunk
                held = len(exc.object) - len(chunk)
                bad = offset - held + exc.start
                return bad, lines + exc.object[:exc.start].count(b"\n") - exc.object[:held].count(b"\n") + 1
            if not chunk:
                return None
            offset += len(chunk)
            lines += chunk.count(b"\n")


def _read_csv(path: Path) -> pd.DataFrame:
    with open(path, "rb") as f:
        first = f.readline()
    if not first.strip():
        raise _TableError("", f"table is empty: {path.name} has no header line")
    try:
        header_text = first.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise _TableError("", f"file is not valid UTF-8 text: {path.name}, byte offset {exc.start} "
                              f"(line 1); save the CSV as UTF-8") from None
    names = next(csv.reader([header_text]))
    names = [n.strip() for n in names]
    dups = sorted({n for n in names if names.count(n) > 1})
    if dups:
        raise _TableError(", ".join(dups), f"column appears more than once in {path.name}")
    convert = pacsv.ConvertOptions(
        column_types={n: pa.string() for n in names},
        null_values=[""], strings_can_be_null=True, quoted_strings_can_be_null=True,
    )
    read = pacsv.ReadOptions(column_names=names, skip_rows=1, use_threads=True)
    try:
        table = pacsv.read_csv(path, read_options=read, convert_options=convert)
    except (pa.ArrowInvalid, UnicodeDecodeError) as exc:
        bad = _first_bad_utf8(path)
        if bad is not None:
            raise _TableError("", f"file is not valid UTF-8 text: {path.name}, byte offset {bad[0]} "
                                  f"(line {bad[1]}); save the CSV as UTF-8") from None
        raise _TableError("", f"unreadable CSV {path.name}: {exc}") from None
    return table.to_pandas()


def _int_mapper(t: pa.DataType):
    if pa.types.is_integer(t):
        return pd.Int64Dtype()
    return None


def _read_parquet(path: Path, kind: str) -> pd.DataFrame:
    try:
        if kind == "parquet":
            table = pq.read_table(path)
        else:
            files = sorted(str(p) for p in path.rglob("*.parquet")
                           if not any(part.startswith((".", "_")) for part in p.relative_to(path).parts))
            if not files:
                raise _TableError("", f"table is empty: directory {path.name}/ holds no .parquet files")
            part = pads.HivePartitioning.discover(infer_dictionary=False)
            table = pads.dataset(files, format="parquet", partitioning=part,
                                 partition_base_dir=str(path)).to_table()
    except _TableError:
        raise
    except (pa.ArrowException, OSError) as exc:
        raise _TableError("", f"unreadable parquet {path.name}: {exc}") from None
    table = table.combine_chunks() if table.num_rows else table
    cols = {}
    for name, col in zip(table.column_names, table.columns):
        if pa.types.is_dictionary(col.type):
            col = col.cast(col.type.value_type)
        if pa.types.is_large_string(col.type) or pa.types.is_string_view(col.type):
            col = col.cast(pa.string())
        cols[name] = col
    table = pa.table(cols)
    return table.to_pandas(date_as_object=False, types_mapper=_int_mapper)


def read_extract(folder: str | os.PathLike) -> dict[str, pd.DataFrame]:
    """Read a district extract and coerce it to the contract dtypes.

    Parameters
    ----------
    folder : str or path
        Folder holding ``<table>.parquet``, ``<table>.csv`` or ``<table>/`` for
        every contract table (``calendar`` optional).

    Returns
    -------
    dict of str to DataFrame
        Tables by name, columns in contract order (extra columns kept at the
        end), rows in file order. Dtypes: strings ``str``, integers ``Int64``,
        floats ``float64``, booleans ``bool`` (``boolean`` if values are missing),
        dates ``datetime64[us]``, timestamps ``datetime64[us, UTC]``.

    Raises
    ------
    DataValidationError
        Listing every table that is missing, unreadable (e.g. not UTF-8, with
        the byte offset and line) or empty, and every column with values that
        do not parse as the contract type (with counts and example rows).

    Notes
    -----
    CSV files are read with every column as text; only an empty field is
    missing (``NA``, ``null`` are values, and fail to parse in numeric
    columns). Booleans accept ``true``/``false``/``1``/``0`` in any case;
    dates ``YYYY-MM-DD``; timestamps ISO 8601 with a UTC offset or ``Z``,
    converted to UTC.
    """
    folder = Path(folder)
    out = FailureCollector()
    tables: dict[str, pd.DataFrame] = {}
    if not folder.is_dir():
        out.add("*", "", f"extract folder not found: {folder}")
        raise DataValidationError(out.frame())
    for name, spec in TABLES.items():
        found = _candidates(folder, name)
        if not found:
            if spec.required:
                out.add(name, "", f"missing file: none of {name}.parquet, {name}.csv, {name}/ "
                                  f"found in {folder}")
            continue
        if len(found) > 1:
            out.add(name, "", "ambiguous: more than one of " + ", ".join(p.name for _, p in found)
                    + f" in {folder}; keep one")
            continue
        kind, path = found[0]
        try:
            raw = _read_csv(path) if kind == "csv" else _read_parquet(path, kind)
        except _TableError as exc:
            out.add(name, exc.column, exc.rule, exc.n_rows, exc.examples)
            continue
        if len(raw) == 0 and spec.required:
            out.add(name, "", f"table is empty: {path.name} has no rows")
            continue
        tables[name] = coerce_table(raw, spec, out)
    if out.rows:
        raise DataValidationError(out.frame(), header=f"cannot read the extract in {folder} "
                                                      f"({len(out.rows)} problem{'s' if len(out.rows) != 1 else ''})")
    return tables


def coerce_tables(tables: Mapping[str, pd.DataFrame]) -> dict[str, pd.DataFrame]:
    """Coerce in-memory tables to the contract dtypes (as :func:`read_extract` does).

    Raises :class:`DataValidationError` if a value does not parse.
    """
    out = FailureCollector()
    res = {}
    for name, df in tables.items():
        spec = TABLES.get(name)
        if spec is None:
            raise ValueError(f"unknown table {name!r}; allowed: {', '.join(TABLES)}")
        res[name] = coerce_table(df.reset_index(drop=True), spec, out)
    if out.rows:
        raise DataValidationError(out.frame())
    return res


def _to_arrow(df: pd.DataFrame, spec: Table) -> pa.Table:
    arrays, fields = [], []
    for c in df.columns:
        s = df[c]
        if c in spec.column_names:
            kind = spec.column(c).dtype
            typ = _ARROW_TYPES[kind]
            if kind == "date":
                arr = pa.array(s.astype("datetime64[us]"), from_pandas=True).cast(pa.date32())
            elif kind == "timestamp":
                arr = pa.array(s, from_pandas=True).cast(typ)
            else:
                arr = pa.array(s, type=typ, from_pandas=True)
        else:
            arr = pa.array(s, from_pandas=True)
            if pa.types.is_large_string(arr.type):
                arr = arr.cast(pa.string())
            typ = arr.type
        arrays.append(arr)
        fields.append(pa.field(str(c), typ, nullable=True))
    return pa.Table.from_arrays(arrays, schema=pa.schema(fields))


def write_extract(tables: Mapping[str, pd.DataFrame], folder: str | os.PathLike) -> Path:
    """Write tables as ``<name>.parquet`` files, atomically and deterministically.

    Parameters
    ----------
    tables : mapping of str to DataFrame
        Contract tables by name (a subset is allowed; unknown names raise).
    folder : str or path
        Destination; replaced as a whole if it exists.

    Returns
    -------
    Path
        The folder written.

    Notes
    -----
    Columns are coerced to the contract dtypes (parquet types: string, int64,
    float64, bool, date32, timestamp[us, UTC]) and rows stably sorted by the
    table's key. Files carry no pandas metadata or write time and use a fixed
    row-group size (:data:`ROW_GROUP_SIZE`) and zstd compression, so the same
    input gives byte-identical files. The folder is first written as a
    temporary sibling and then renamed into place.
    """
    folder = Path(folder)
    unknown = sorted(set(tables) - set(TABLES))
    if unknown:
        raise ValueError(f"unknown table(s) {unknown}; allowed: {', '.join(TABLES)}")
    coerced = coerce_tables(tables)
    folder.parent.mkdir(parents=True, exist_ok=True)
    token = uuid.uuid4().hex[:12]
    tmp = folder.parent / f".{folder.name}.tmp-{token}"
    tmp.mkdir()
    try:
        for name, df in coerced.items():
            spec = TABLES[name]
            key = [k for k in spec.key if k in df.columns]
            if key:
                df = df.sort_values(key, kind="stable", na_position="last").reset_index(drop=True)
            table = _to_arrow(df, spec)
            pq.write_table(table, tmp / f"{name}.parquet", row_group_size=ROW_GROUP_SIZE,
                           compression=_COMPRESSION, compression_level=_COMPRESSION_LEVEL,
                           use_dictionary=True, write_statistics=True, version="2.6",
                           store_schema=True)
        _replace_folder(tmp, folder, token)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return folder


def _replace_folder(tmp: Path, folder: Path, token: str) -> None:
    """Move the written ``tmp`` folder into place (an old ``folder`` is moved aside first, then removed)."""
    old = None
    if folder.exists():
        old = folder.parent / f".{folder.name}.old-{token}"
        os.replace(folder, old)
    os.replace(tmp, folder)
    if old is not None:
        shutil.rmtree(old)


def stack_parquet(files: Sequence[tuple[str, str | os.PathLike]], path: str | os.PathLike,
                  name_column: str | None = None) -> None:
    """Stack parquet files of one schema into ``path``, row group by row group (memory: about a row group).

    ``files`` are ``(name, file)`` pairs, stacked in order; with ``name_column`` each row gets its file's name in
    that (string) column. Written with :func:`write_extract`'s settings, so the same inputs give the same bytes.
    """
    schema = pq.read_schema(files[0][1]).remove_metadata()
    if name_column:
        schema = schema.append(pa.field(name_column, pa.string()))
    with pq.ParquetWriter(path, schema, compression=_COMPRESSION, compression_level=_COMPRESSION_LEVEL,
                          use_dictionary=True, write_statistics=True, version="2.6", store_schema=True) as w:
        for name, f in files:
            for b in pq.ParquetFile(f).iter_batches(batch_size=ROW_GROUP_SIZE):
                t = pa.Table.from_batches([b])
                if name_column:
                    t = t.append_column(name_column, pa.array([name] * t.num_rows, pa.string()))
                w.write_table(t.cast(schema), row_group_size=ROW_GROUP_SIZE)


def stack_extracts(folders: Mapping[str, str | os.PathLike], folder: str | os.PathLike,
                   district_column: Mapping[str, str] | None = None) -> Path:
    """Stack written extracts (:func:`write_extract` folders) table by table into ``folder``, streaming.

    Parameters
    ----------
    folders : mapping of str to path
        Name -> extract folder, stacked in this order (each folder's rows in their own order).
    folder : str or path
        Destination; replaced as a whole, atomically, as by :func:`write_extract`.
    district_column : mapping of str to str, optional
        ``{table: column}``: add ``column`` holding each folder's name to ``table`` (a state study's
        ``student_years`` get ``district``, so scores are standardized within their district).

    Notes
    -----
    Row groups are copied one at a time, so memory stays at about a row group whatever the size of the
    extracts; the files use :func:`write_extract`'s settings (byte-identical for the same inputs). A table
    some folders lack is stacked from those that have it.
    """
    folder, extra = Path(folder), dict(district_column or {})
    token = uuid.uuid4().hex[:12]
    tmp = folder.parent / f".{folder.name}.tmp-{token}"
    tmp.mkdir(parents=True)
    try:
        for name in TABLES:
            files = [(d, Path(f) / f"{name}.parquet") for d, f in folders.items()
                     if (Path(f) / f"{name}.parquet").exists()]
            if files:
                stack_parquet(files, tmp / f"{name}.parquet", extra.get(name))
        _replace_folder(tmp, folder, token)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return folder
