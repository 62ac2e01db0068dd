"""Statistical disclosure control for everything published under ``results/public/``.

Two halves, kept apart:

* :func:`suppress_small_cells` is applied to a table *before* it is written:
  counts drawn from fewer than ``min_cell_size`` students, and the statistics
  computed from them, are replaced by a marker (``"<10"``).
* The scanner checks the files *after* they are written. The pure functions
  (:func:`scan_text`, :func:`scan_png_bytes`, :func:`scan_bytes`) take texts or
  bytes and return findings; :func:`scan_public_files` is the thin function
  that walks a folder, and :func:`check_public_folder` raises
  :class:`PrivacyError` when anything is found (the pipeline's privacy rule
  calls it and so fails the run).

The conventions (which column headers mark a count of students, what counts as
an identifier match) are documented in ``docs/privacy.md``.
"""
from __future__ import annotations

import base64
import csv
import hashlib
import html
import io
import json
import re
import zlib
from dataclasses import dataclass
from html.parser import HTMLParser
from pathlib import Path
from typing import Any, Iterable, Iterator, Mapping, Sequence

import numpy as np
import pandas as pd

__all__ = [
    "COUNT_HEADERS",
    "EXEMPT_COUNT_HEADERS",
    "FINDING_COLUMNS",
    "Finding",
    "IdentifierIndex",
    "PrivacyError",
    "check_public_folder",
    "is_count_header",
    "scan_bytes",
    "scan_png_bytes",
    "scan_public_files",
    "scan_text",
    "suppress_small_cells",
]

#: Normalised column headers that always mark a count of students.
COUNT_HEADERS: frozenset[str] = frozenset(
    {"n", "count", "students", "n_students", "n_treated", "n_control", "n_comparison", "student_count",
     "number_of_students"}
)
#: ``n_*`` headers that count something other than students and are not checked
#: by default (schools; clusters, which are schools in this pipeline).
EXEMPT_COUNT_HEADERS: frozenset[str] = frozenset({"n_schools", "n_clusters"})
#: Columns of the findings table.
FINDING_COLUMNS: tuple[str, ...] = ("file", "kind", "line", "detail")

_FORMATS = ("csv", "markdown", "html", "latex", "svg", "json", "text")
_SUFFIX_FORMAT = {
    ".csv": "csv",
    ".md": "markdown",
    ".markdown": "markdown",
    ".html": "html",
    ".htm": "html",
    ".tex": "latex",
    ".svg": "svg",
    ".json": "json",
}


class PrivacyError(RuntimeError):
    """Raised when public outputs contain identifiers or unsuppressed small cells.

    Attributes
    ----------
    findings : pandas.DataFrame
        One row per finding with columns ``file, kind, line, detail``.
    """

    def __init__(self, findings: pd.DataFrame, folder: str = "") -> None:
        self.findings = findings
        lines = [f"{len(findings)} privacy finding(s) in public outputs{(' ' + folder) if folder else ''}:"]
        for r in findings.itertuples(index=False):
            where = f"{r.file}:{r.line}" if r.line else f"{r.file}"
            lines.append(f"  [{r.kind}] {where}: {r.detail}")
        super().__init__("\n".join(lines))


@dataclass(frozen=True, order=True)
class Finding:
    """One problem found in a public file.

    ``kind`` is ``"identifier"`` (a value of an identifier column),
    ``"identifier_column"`` (a table column named like an identifier),
    ``"small_cell"`` (a count of students in ``[1, min_cell_size)``) or
    ``"unscanned"`` (a file the scanner cannot read).
    """

    file: str
    kind: str
    line: int
    detail: str


# ---------------------------------------------------------------------------
# suppression
# ---------------------------------------------------------------------------


def _as_list(x: str | Sequence[str] | None) -> list[str]:
    if x is None:
        return []
    if isinstance(x, str):
        return [x]
    return list(x)


def suppress_small_cells(
    df: pd.DataFrame,
    count_columns: str | Sequence[str],
    *,
    min_cell_size: int = 10,
    dependent_columns: Sequence[str] | Mapping[str, Sequence[str]] | None = None,
    marker: str = "<10",
    complementary: bool = True,
    by: str | Sequence[str] | None = None,
    flag_column: str | None = None,
) -> pd.DataFrame:
    """Suppress counts of fewer than ``min_cell_size`` students and what is computed from them.

    Parameters
    ----------
    df : pandas.DataFrame
        Table about to be published. Not modified.
    count_columns : str or sequence of str
        Columns holding counts of students.
    min_cell_size : int
        Smallest count that may be shown (``privacy.min_cell_size``).
    dependent_columns : sequence of str or mapping, optional
        Statistics computed from the students counted in a count column
        (means, rates, estimates). A sequence applies to every count column; a
        mapping ``{count_column: [columns]}`` applies per count column. A count
        column may itself be listed as dependent (e.g. ``{"n_treated": ["n"]}``
        when ``n = n_treated + n_control``), which makes its suppression
        propagate.
    marker : str
        Text that replaces suppressed values.
    complementary : bool
        Apply complementary suppression within each count column (see Notes).
    by : str or sequence of str, optional
        Columns defining the groups (sub-tables sharing a margin) within which
        complementary suppression is applied; the whole table is one group
        when omitted.
    flag_column : str, optional
        If given, add a boolean column of this name that is true on rows with
        any suppressed value.

    Returns
    -------
    pandas.DataFrame
        A copy. Columns in which anything was suppressed have object dtype and
        hold ``marker`` in the suppressed cells and the original values
        elsewhere; other columns keep their dtype.

    Notes
    -----
    Primary suppression: a cell of a count column with value ``c`` is
    suppressed when ``1 <= c < min_cell_size`` (zeros are shown). Every
    dependent column of a suppressed count is suppressed in the same row.

    Complementary suppression (``complementary=True``): a suppressed count
    could be recovered by subtraction from a margin published elsewhere (the
    cohort size, a total row). Within each group and count column, while the
    suppressed cells hold together fewer than ``min_cell_size`` students, or
    only one cell is suppressed, the smallest visible non-zero cell (first in
    row order on ties) is suppressed as well, so that subtraction only reveals
    a sum of at least ``min_cell_size`` students spread over two or more
    cells. A group whose non-zero cells are all suppressed is left so. The
    rules are applied until nothing changes (dependents of complementary
    suppressions are suppressed too).

    Across columns of one row, counts that add up (``n = n_treated +
    n_control``) are protected by listing them as dependents of each other.
    """
    if not isinstance(df, pd.DataFrame):
        raise TypeError("df must be a pandas DataFrame")
    counts = _as_list(count_columns)
    if not counts:
        raise ValueError("count_columns must name at least one column")
    if isinstance(min_cell_size, bool) or not isinstance(min_cell_size, (int, np.integer)) or min_cell_size < 1:
        raise ValueError(f"min_cell_size must be a positive integer, got {min_cell_size!r}")
    if isinstance(dependent_columns, Mapping):
        unknown_keys = [c for c in dependent_columns if c not in counts]
        if unknown_keys:
            raise ValueError(f"dependent_columns keys {unknown_keys} are not count columns {counts}")
        deps = {c: _as_list(dependent_columns.get(c)) for c in counts}
    else:
        shared = _as_list(dependent_columns)
        deps = {c: list(shared) for c in counts}
    groups_by = _as_list(by)
    needed = set(counts) | {d for ds in deps.values() for d in ds} | set(groups_by)
    missing = sorted(needed - set(map(str, df.columns)) - set(df.columns))
    if missing:
        raise KeyError(f"columns not in df: {missing}; available: {list(df.columns)}")
    if flag_column is not None and flag_column in df.columns:
        raise ValueError(f"flag_column {flag_column!r} already exists in df")

    n_rows = len(df)
    values = {c: pd.to_numeric(df[c], errors="coerce").to_numpy(dtype=float, na_value=np.nan) for c in counts}
    supp: dict[str, np.ndarray] = {}
    for c in needed - set(groups_by):
        supp[c] = np.zeros(n_rows, dtype=bool)
    for c in counts:
        v = values[c]
        with np.errstate(invalid="ignore"):
            supp[c] |= (v >= 1) & (v < min_cell_size)

    if groups_by:
        codes = df.groupby(groups_by, sort=True, dropna=False, observed=True).ngroup().to_numpy()
        group_rows = [np.flatnonzero(codes == g) for g in np.unique(codes)]
    else:
        group_rows = [np.arange(n_rows)]

    changed = True
    while changed:
        changed = False
        for c in counts:
            for d in deps[c]:
                new = supp[d] | supp[c]
                if not np.array_equal(new, supp[d]):
                    supp[d] = new
                    changed = True
        if not complementary:
            continue
        for c in counts:
            v = values[c]
            for rows in group_rows:
                while True:
                    s = supp[c][rows]
                    if not s.any():
                        break
                    vs = v[rows]
                    hidden = np.nansum(np.where(s, vs, 0.0))
                    if hidden >= min_cell_size and s.sum() >= 2:
                        break
                    candidates = np.flatnonzero(~s & (vs > 0))
                    if candidates.size == 0:
                        break
                    pick = candidates[np.argsort(vs[candidates], kind="stable")[0]]
                    supp[c][rows[pick]] = True
                    changed = True

    out = df.copy()
    any_row = np.zeros(n_rows, dtype=bool)
    for c, mask in supp.items():
        if mask.any():
            col = out[c].astype(object)
            col[mask] = marker
            out[c] = col
            any_row |= mask
    if flag_column is not None:
        out[flag_column] = any_row
    return out


# ---------------------------------------------------------------------------
# scanning: conventions
# ---------------------------------------------------------------------------


def _normalise_header(h: str) -> str:
    h = re.sub(r"\\[A-Za-z]+\s*", " ", h)  # LaTeX commands such as \textbf
    return re.sub(r"[^a-z0-9]+", "_", h.lower()).strip("_")


def is_count_header(header: str, *, exempt: Iterable[str] = EXEMPT_COUNT_HEADERS) -> bool:
    """Whether a column header marks a count of students (see ``docs/privacy.md``).

    The header is lower-cased, LaTeX commands and markup are dropped and every
    run of other characters becomes ``_`` (``"N (%)"`` -> ``n``, ``"n treated"``
    -> ``n_treated``). It marks a count if it is in :data:`COUNT_HEADERS`, or
    starts with ``n_``, or ends with ``_n`` -- unless it is in ``exempt``.
    """
    h = _normalise_header(header)
    if not h or h in set(exempt):
        return False
    return h in COUNT_HEADERS or h.startswith("n_") or h.endswith("_n")


_IDENTIFIER_HEADERS = frozenset({"student_id", "course_record_id", "mentor_id", "recovers_record_id", "event_id"})
_LEADING_NUMBER = re.compile(r"^\s*[*_(]*\s*(\d{1,3}(?:,\d{3})+|\d+)(\.0*)?(?![\d.])")
#: ``n = 7``, ``N=7``, ``n_treated = 7``, ``(n = 1,234)``
_N_EQUALS = re.compile(r"(?<![\w\-])([nN](?:_[A-Za-z]\w*)?)\s*=\s*(\d{1,3}(?:,\d{3})+|\d+)(?![\d.,]\d)")
_DATA_URI = re.compile(r"data:([\w/+.\-]+)?(?:;[\w=\-]+)*;base64,([A-Za-z0-9+/=\s]+)")


def _small_int(cell: str, min_cell_size: int) -> int | None:
    m = _LEADING_NUMBER.match(cell)
    if not m:
        return None
    v = int(m.group(1).replace(",", ""))
    return v if 1 <= v < min_cell_size else None


def _line_of(text: str, pos: int) -> int:
    return text.count("\n", 0, pos) + 1


# ---------------------------------------------------------------------------
# identifiers
# ---------------------------------------------------------------------------


class IdentifierIndex:
    """Set of confidential identifier values, prepared for whole-token matching.

    Parameters
    ----------
    identifiers : mapping or iterable
        ``{column_name: values}`` (each values an iterable or Series; the
        column name labels the findings) or a plain iterable of values.
        Missing and empty values are skipped.
    case_sensitive : bool
        Match case exactly; by default matching ignores case (conservative).

    Notes
    -----
    A file is split into tokens (maximal runs of word characters and of any
    other characters that occur inside identifiers) and the token set is
    intersected with the identifier set, so a scan costs one pass over the
    text plus a set intersection, whatever the number of identifiers. Tokens
    with the extra characters trimmed from their ends and plain ``\\w+``
    tokens are tried as well.
    """

    def __init__(self, identifiers: Mapping[str, Iterable[Any]] | Iterable[Any], *, case_sensitive: bool = False):
        if isinstance(identifiers, (str, bytes)):
            raise TypeError("identifiers must be a collection of values, not a single string")
        self.case_sensitive = case_sensitive
        source = identifiers.items() if isinstance(identifiers, Mapping) else [("identifier", identifiers)]
        lookup: dict[str, str] = {}
        for label, vals in source:
            seq = vals.tolist() if isinstance(vals, (pd.Series, pd.Index, np.ndarray)) else vals
            strings = [str(v).strip() for v in seq
                       if not (v is None or v is pd.NA or (isinstance(v, float) and np.isnan(v)))]
            for s in strings:
                if s:
                    lookup.setdefault(s if case_sensitive else s.casefold(), str(label))
        extra = {ch for ch in set("".join(lookup)) if not (ch.isalnum() or ch == "_")}
        self._lookup = lookup
        self._extra = "".join(sorted(extra))
        chars = re.escape(self._extra)
        self._token = re.compile(rf"[\w{chars}]+") if extra else re.compile(r"\w+")
        self._plain = re.compile(r"\w+")

    def __len__(self) -> int:
        return len(self._lookup)

    def _norm(self, s: str) -> str:
        return s if self.case_sensitive else s.casefold()

    def find(self, text: str) -> list[tuple[str, str, int]]:
        """Identifiers occurring as whole tokens in ``text``.

        Returns
        -------
        list of (label, value, position)
            One entry per distinct identifier (first occurrence), sorted by
            position.
        """
        if not self._lookup or not text:
            return []
        norm = self._norm(text)
        tokens = set(self._token.findall(norm))
        if self._extra:
            tokens |= {t.strip(self._extra) for t in tokens}
            tokens |= set(self._plain.findall(norm))
        hits = tokens.intersection(self._lookup)
        out = []
        for h in hits:
            m = re.search(rf"(?<![\w{re.escape(self._extra)}]){re.escape(h)}(?![\w{re.escape(self._extra)}])", norm) \
                if self._extra else re.search(rf"(?<!\w){re.escape(h)}(?!\w)", norm)
            if m is None:  # matched only after trimming separators
                m = re.search(re.escape(h), norm)
            out.append((self._lookup[h], h, m.start() if m else 0))
        return sorted(out, key=lambda t: (t[2], t[1]))


def _masked(value: str) -> str:
    return "sha256:" + hashlib.sha256(value.encode("utf-8")).hexdigest()[:12]


# ---------------------------------------------------------------------------
# table parsers (pure: text in, header + rows out)
# ---------------------------------------------------------------------------


@dataclass
class _Table:
    header: list[str]
    rows: list[tuple[int, list[str]]]  # (line, cells)


def _csv_tables(text: str) -> list[_Table]:
    try:
        reader = csv.reader(io.StringIO(text))
        rows = list(reader)
    except csv.Error:
        return []
    if not rows:
        return []
    # csv.reader counts physical lines; use its line numbers approximately
    return [_Table(rows[0], [(i + 2, r) for i, r in enumerate(rows[1:])])]


_MD_SEP = re.compile(r"^\s*\|?\s*:?-+:?\s*(\|\s*:?-+:?\s*)*\|?\s*$")


def _md_cells(line: str) -> list[str]:
    s = line.strip()
    if s.startswith("|"):
        s = s[1:]
    if s.endswith("|") and not s.endswith("\\|"):
        s = s[:-1]
    return [c.strip() for c in re.split(r"(?<!\\)\|", s)]


def _markdown_tables(text: str) -> list[_Table]:
    lines = text.splitlines()
    tables = []
    i = 0
    while i < len(lines) - 1:
        if "|" in lines[i] and _MD_SEP.match(lines[i + 1]) and "|" in lines[i + 1] + lines[i]:
            header = _md_cells(lines[i])
            rows = []
            j = i + 2
            while j < len(lines) and "|" in lines[j] and lines[j].strip():
                rows.append((j + 1, _md_cells(lines[j])))
                j += 1
            tables.append(_Table(header, rows))
            i = j
        else:
            i += 1
    return tables


class _HTMLTables(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tables: list[dict[str, Any]] = []
        self._stack: list[dict[str, Any]] = []
        self._cell: list[str] | None = None
        self._colspan = 1
        self._skip = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in ("script", "style"):
            self._skip += 1
        elif tag == "table":
            t = {"rows": [], "head_rows": 0, "in_head": False, "row": None}
            self._stack.append(t)
            self.tables.append(t)
        elif not self._stack:
            return
        elif tag == "thead":
            self._stack[-1]["in_head"] = True
        elif tag == "tr":
            t = self._stack[-1]
            t["row"] = {"cells": [], "line": self.getpos()[0], "head": t["in_head"], "all_th": True}
        elif tag in ("td", "th"):
            self._cell = []
            span = dict(attrs).get("colspan") or "1"
            self._colspan = int(span) if span.isdigit() else 1
            row = self._stack[-1]["row"]
            if row is not None and tag == "td":
                row["all_th"] = False

    def handle_endtag(self, tag: str) -> None:
        if tag in ("script", "style"):
            self._skip = max(0, self._skip - 1)
        elif not self._stack:
            return
        elif tag == "table":
            self._stack.pop()
        elif tag == "thead":
            self._stack[-1]["in_head"] = False
        elif tag in ("td", "th"):
            row = self._stack[-1]["row"]
            if row is not None and self._cell is not None:
                row["cells"].extend([" ".join("".join(self._cell).split())] * max(1, self._colspan))
            self._cell = None
        elif tag == "tr":
            t = self._stack[-1]
            if t["row"] is not None:
                t["rows"].append(t["row"])
            t["row"] = None

    def handle_data(self, data: str) -> None:
        if self._cell is not None and not self._skip:
            self._cell.append(data)


def _html_tables(text: str) -> list[_Table]:
    p = _HTMLTables()
    try:
        p.feed(text)
        p.close()
    except Exception:  # pragma: no cover - HTMLParser is lenient
        return []
    out = []
    for t in p.tables:
        rows = t["rows"]
        if not rows:
            continue
        head = [r for r in rows if r["head"]]
        if not head:
            head = [rows[0]]
        body = [r for r in rows if r not in head]
        width = max(len(r["cells"]) for r in rows)
        labels = []
        for j in range(width):
            parts = [r["cells"][j] for r in head if j < len(r["cells"]) and r["cells"][j]]
            labels.append(" ".join(parts))
        # each header row is tried on its own as well (pandas puts the index name in a second row)
        out.append(_Table(labels, [(r["line"], r["cells"]) for r in body]))
        for r in head:
            if len(head) > 1:
                out.append(_Table(r["cells"] + [""] * (width - len(r["cells"])),
                                  [(b["line"], b["cells"]) for b in body]))
    return out


_LATEX_TABULAR = re.compile(r"\\begin\{(tabular\*?|longtable|tabularx)\}(.*?)\\end\{\1\}", re.S)
_LATEX_RULES = re.compile(r"\\(toprule|midrule|bottomrule|hline|cline\{[^}]*\}|cmidrule(\([^)]*\))?\{[^}]*\}|endhead|endfirsthead|endfoot|endlastfoot)")


def _latex_cell(c: str) -> str:
    c = re.sub(r"\\(multicolumn|multirow)\{[^}]*\}\{[^}]*\}", "", c)
    c = re.sub(r"\\[A-Za-z]+\*?", " ", c)
    c = c.replace("{", " ").replace("}", " ").replace("$", " ").replace("\\_", "_").replace("\\%", "%")
    return " ".join(c.split())


def _latex_tables(text: str) -> list[_Table]:
    tables = []
    for m in _LATEX_TABULAR.finditer(text):
        body = m.group(2)
        start_line = _line_of(text, m.start(2))
        # drop the column spec {lrr} right after \begin{tabular}
        spec = re.match(r"\s*(\{[^{}]*(\{[^{}]*\}[^{}]*)*\})", body)
        offset = spec.end() if spec else 0
        chunk = body[offset:]
        rows = []
        pos = offset
        for raw in re.split(r"\\\\", chunk):
            line = start_line + body.count("\n", 0, pos)
            pos += len(raw) + 2
            cleaned = _LATEX_RULES.sub(" ", raw)
            cleaned = re.sub(r"(?m)%.*$", "", cleaned)
            if not cleaned.strip():
                continue
            cells = [_latex_cell(c) for c in re.split(r"(?<!\\)&", cleaned)]
            rows.append((line, cells))
        if rows:
            tables.append(_Table(rows[0][1], rows[1:]))
    return tables


def _table_findings(file: str, tables: list[_Table], min_cell_size: int, exempt: Iterable[str]) -> list[Finding]:
    out: set[Finding] = set()
    exempt = frozenset(exempt)
    for t in tables:
        for j, h in enumerate(t.header):
            norm = _normalise_header(h)
            if norm in _IDENTIFIER_HEADERS:
                out.add(Finding(file, "identifier_column", t.rows[0][0] - 1 if t.rows else 1,
                                f"table column named {h!r}"))
            if not is_count_header(h, exempt=exempt):
                continue
            for line, cells in t.rows:
                if j < len(cells):
                    v = _small_int(cells[j], min_cell_size)
                    if v is not None:
                        out.add(Finding(file, "small_cell", line,
                                        f"count column {h!r} holds {v} (< {min_cell_size})"))
    return sorted(out)


def _free_text_findings(file: str, text: str, min_cell_size: int, exempt: Iterable[str]) -> list[Finding]:
    out = []
    exempt = frozenset(exempt)
    for m in _N_EQUALS.finditer(text):
        name = m.group(1)
        if name.lower() in exempt:
            continue
        v = int(m.group(2).replace(",", ""))
        if 1 <= v < min_cell_size:
            out.append(Finding(file, "small_cell", _line_of(text, m.start()),
                               f"text {m.group(0)!r} shows a count below {min_cell_size}"))
    return out


def _json_findings(file: str, text: str, min_cell_size: int, exempt: Iterable[str]) -> list[Finding]:
    try:
        obj = json.loads(text)
    except ValueError:
        return []
    out = []

    def walk(o: Any, path: str) -> None:
        if isinstance(o, dict):
            for k, v in o.items():
                p = f"{path}.{k}" if path else str(k)
                if _normalise_header(str(k)) in _IDENTIFIER_HEADERS:
                    out.append(Finding(file, "identifier_column", 0, f"JSON key {p!r}"))
                if (is_count_header(str(k), exempt=exempt) and isinstance(v, (int, float))
                        and not isinstance(v, bool) and float(v).is_integer() and 1 <= v < min_cell_size):
                    out.append(Finding(file, "small_cell", 0, f"JSON count {p!r} = {v} (< {min_cell_size})"))
                walk(v, p)
        elif isinstance(o, list):
            for i, v in enumerate(o):
                walk(v, f"{path}[{i}]")

    walk(obj, "")
    return out


# ---------------------------------------------------------------------------
# pure scanners
# ---------------------------------------------------------------------------


def _index(identifiers: IdentifierIndex | Mapping[str, Iterable[Any]] | Iterable[Any] | None) -> IdentifierIndex:
    if isinstance(identifiers, IdentifierIndex):
        return identifiers
    return IdentifierIndex(identifiers if identifiers is not None else [])


def scan_text(
    text: str,
    fmt: str,
    *,
    identifiers: IdentifierIndex | Mapping[str, Iterable[Any]] | Iterable[Any] | None = None,
    min_cell_size: int = 10,
    file: str = "<text>",
    exempt_count_headers: Iterable[str] = EXEMPT_COUNT_HEADERS,
) -> list[Finding]:
    """Scan the text of one public file.

    Parameters
    ----------
    text : str
        File contents.
    fmt : {"csv", "markdown", "html", "latex", "svg", "json", "text"}
        How to read tables from the text.
    identifiers : IdentifierIndex, mapping or iterable, optional
        Confidential values that must not appear (build an
        :class:`IdentifierIndex` once when scanning many files).
    min_cell_size : int
        Smallest count of students that may be shown.
    file : str
        Name used in the findings.
    exempt_count_headers : iterable of str
        Normalised ``n_*`` headers that do not count students.

    Returns
    -------
    list of Finding
        Sorted; empty when the text is clean.

    Notes
    -----
    Rules: (a) any identifier value as a whole token; (b) in tables (CSV,
    Markdown pipe tables, HTML ``<table>``, LaTeX ``tabular``) and JSON
    objects, a count column (:func:`is_count_header`) holding an integer in
    ``[1, min_cell_size)`` (the leading number of the cell, so ``"7 (35%)"``
    counts); (c) in any text, ``n = k`` / ``n_xxx = k`` with ``k`` in that
    range; (d) table columns named like identifier columns. Base64 ``data:``
    URIs (embedded images) are not tokenised; embedded PNGs are checked by
    :func:`scan_png_bytes`.
    """
    if fmt not in _FORMATS:
        raise ValueError(f"fmt must be one of {list(_FORMATS)}, got {fmt!r}")
    index = _index(identifiers)
    findings: list[Finding] = []
    # embedded images: check their metadata, then blank them out (keeping line numbers)
    if "base64," in text:
        def _blank(m: re.Match[str]) -> str:
            mime = (m.group(1) or "").lower()
            if mime in ("image/png", "image/svg+xml"):
                try:
                    data = base64.b64decode("".join(m.group(2).split()), validate=False)
                    inner = (scan_png_bytes(data, identifiers=index, min_cell_size=min_cell_size, file=file,
                                            exempt_count_headers=exempt_count_headers) if mime == "image/png"
                             else scan_text(data.decode("utf-8"), "svg", identifiers=index,
                                            min_cell_size=min_cell_size, file=file,
                                            exempt_count_headers=exempt_count_headers))
                    label = "PNG" if mime == "image/png" else "SVG"
                    for f in inner:
                        findings.append(Finding(file, f.kind, _line_of(text, m.start()),
                                                f"embedded {label}: " + f.detail))
                except (ValueError, zlib.error, UnicodeDecodeError):
                    findings.append(Finding(file, "unscanned", _line_of(text, m.start()),
                                            f"embedded {mime} could not be decoded"))
            return "data:;base64," + "\n" * m.group(2).count("\n")

        text = _DATA_URI.sub(_blank, text)
    plain = html.unescape(text) if fmt in ("html", "svg") else text
    for label, value, pos in index.find(plain):
        findings.append(Finding(file, "identifier", _line_of(plain, pos),
                                f"{label} value ({_masked(value)}) appears in the file"))
    tables: list[_Table] = []
    if fmt == "csv":
        tables = _csv_tables(text)
    elif fmt == "markdown":
        tables = _markdown_tables(text)
    elif fmt == "html":
        tables = _html_tables(text) + _markdown_tables(plain)
    elif fmt == "latex":
        tables = _latex_tables(text)
    findings += _table_findings(file, tables, min_cell_size, exempt_count_headers)
    if fmt == "json":
        findings += _json_findings(file, text, min_cell_size, exempt_count_headers)
    if fmt == "html":
        # free text without the markup, line numbers kept
        free = re.sub(r"(?is)<(script|style)\b.*?</\1\s*>", lambda m: "\n" * m.group(0).count("\n"), text)
        free = re.sub(r"<[^>]*>", lambda m: "\n" * m.group(0).count("\n") + " ", free)
        free = html.unescape(free)
    elif fmt == "svg":
        free = plain
    else:
        free = text
    findings += _free_text_findings(file, free, min_cell_size, exempt_count_headers)
    return sorted(set(findings))


_PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def _png_text_chunks(data: bytes) -> Iterator[tuple[str, str]]:
    if not data.startswith(_PNG_SIGNATURE):
        raise ValueError("not a PNG file")
    pos = len(_PNG_SIGNATURE)
    while pos + 8 <= len(data):
        length = int.from_bytes(data[pos:pos + 4], "big")
        ctype = data[pos + 4:pos + 8]
        body = data[pos + 8:pos + 8 + length]
        pos += 12 + length
        if ctype == b"tEXt":
            key, _, val = body.partition(b"\0")
            yield key.decode("latin-1"), val.decode("latin-1")
        elif ctype == b"zTXt":
            key, _, rest = body.partition(b"\0")
            yield key.decode("latin-1"), zlib.decompress(rest[1:]).decode("latin-1")
        elif ctype == b"iTXt":
            key, _, rest = body.partition(b"\0")
            flag, _method = rest[0], rest[1]
            _lang, _, rest = rest[2:].partition(b"\0")
            _tkey, _, val = rest.partition(b"\0")
            if flag:
                val = zlib.decompress(val)
            yield key.decode("latin-1"), val.decode("utf-8", errors="replace")
        elif ctype == b"IEND":
            break


def scan_png_bytes(
    data: bytes,
    *,
    identifiers: IdentifierIndex | Mapping[str, Iterable[Any]] | Iterable[Any] | None = None,
    min_cell_size: int = 10,
    file: str = "<png>",
    exempt_count_headers: Iterable[str] = EXEMPT_COUNT_HEADERS,
) -> list[Finding]:
    """Scan the text metadata (``tEXt``, ``zTXt``, ``iTXt`` chunks) of a PNG.

    The pixels are not read: text drawn into a raster image cannot be checked,
    which is why every figure is also saved as SVG with its text kept as text
    (:func:`credit_recovery.shared.style.save_figure`).
    """
    index = _index(identifiers)
    try:
        chunks = list(_png_text_chunks(data))
    except (ValueError, zlib.error, IndexError) as e:
        return [Finding(file, "unscanned", 0, f"PNG could not be parsed: {e}")]
    text = "\n".join(f"{k}: {v}" for k, v in chunks)
    return [Finding(file, f.kind, 0, "PNG metadata: " + f.detail)
            for f in scan_text(text, "text", identifiers=index, min_cell_size=min_cell_size, file=file,
                               exempt_count_headers=exempt_count_headers)]


def scan_bytes(
    name: str,
    data: bytes,
    *,
    identifiers: IdentifierIndex | Mapping[str, Iterable[Any]] | Iterable[Any] | None = None,
    min_cell_size: int = 10,
    exempt_count_headers: Iterable[str] = EXEMPT_COUNT_HEADERS,
) -> list[Finding]:
    """Scan one file's bytes, choosing the reader from the suffix of ``name``.

    ``.png`` is checked by :func:`scan_png_bytes`; ``.csv .md .markdown .html
    .htm .tex .svg .json`` by :func:`scan_text` with the matching format; any
    other file is scanned as plain text if it is UTF-8, and otherwise reported
    as ``unscanned`` (binary files other than PNG cannot be checked and do not
    belong in the public folder).
    """
    index = _index(identifiers)
    suffix = Path(name).suffix.lower()
    kw = dict(identifiers=index, min_cell_size=min_cell_size, file=name, exempt_count_headers=exempt_count_headers)
    if suffix == ".png":
        return scan_png_bytes(data, **kw)
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        return [Finding(name, "unscanned", 0, "binary file that is not a PNG cannot be checked")]
    return scan_text(text, _SUFFIX_FORMAT.get(suffix, "text"), **kw)


# ---------------------------------------------------------------------------
# the thin folder walker
# ---------------------------------------------------------------------------


def scan_public_files(
    folder: str | Path,
    identifiers: IdentifierIndex | Mapping[str, Iterable[Any]] | Iterable[Any],
    *,
    min_cell_size: int = 10,
    exempt_count_headers: Iterable[str] = EXEMPT_COUNT_HEADERS,
) -> pd.DataFrame:
    """Scan every file under ``folder`` (recursively) for disclosure risks.

    Parameters
    ----------
    folder : str or Path
        The public output folder (``results/public``).
    identifiers : IdentifierIndex, mapping or iterable
        Confidential identifier values from the inputs, best as
        ``{"student_id": students.student_id, "course_record_id": ...,
        "mentor_id": ...}``.
    min_cell_size : int
        ``privacy.min_cell_size`` of the config.

    Returns
    -------
    pandas.DataFrame
        Columns ``file`` (path relative to ``folder``), ``kind``, ``line``
        (0 when not applicable) and ``detail``; sorted; empty when clean.
        Identifier values are never printed, only a SHA-256 prefix.
    """
    root = Path(folder)
    if not root.is_dir():
        raise NotADirectoryError(f"public folder not found: {root}")
    index = _index(identifiers)
    findings: list[Finding] = []
    for path in sorted(p for p in root.rglob("*") if p.is_file()):
        rel = path.relative_to(root).as_posix()
        findings += scan_bytes(rel, path.read_bytes(), identifiers=index, min_cell_size=min_cell_size,
                               exempt_count_headers=exempt_count_headers)
    return findings_frame(findings)


def findings_frame(findings: Iterable[Finding]) -> pd.DataFrame:
    """Findings as a sorted DataFrame with columns :data:`FINDING_COLUMNS`."""
    rows = sorted(set(findings))
    frame = pd.DataFrame([(f.file, f.kind, f.line, f.detail) for f in rows], columns=list(FINDING_COLUMNS))
    return frame.astype({"line": "int64"})


def check_public_folder(
    folder: str | Path,
    identifiers: IdentifierIndex | Mapping[str, Iterable[Any]] | Iterable[Any],
    *,
    min_cell_size: int = 10,
    exempt_count_headers: Iterable[str] = EXEMPT_COUNT_HEADERS,
) -> pd.DataFrame:
    """Scan ``folder`` and raise :class:`PrivacyError` listing the findings, if any.

    Returns the (empty) findings table when the folder is clean.
    """
    found = scan_public_files(folder, identifiers, min_cell_size=min_cell_size,
                              exempt_count_headers=exempt_count_headers)
    if len(found):
        raise PrivacyError(found, str(folder))
    return found
