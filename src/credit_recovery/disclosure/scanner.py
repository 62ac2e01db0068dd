"""The privacy scanner: checks every file under ``results/public/`` *after* it is written.

Tables are suppressed before they are written
(:mod:`credit_recovery.disclosure.suppression`); this module checks the files
themselves. The pure functions (:func:`scan_text`, :func:`scan_png_bytes`,
:func:`scan_bytes`) take texts or bytes and return :class:`Finding` s;
:func:`scan_public_files` is the thin function that walks a folder, and
:func:`check_public_folder` raises :class:`PrivacyError` when anything is found
(the pipeline's ``privacy_scan`` rule calls it and so fails the run).
Identifier values are found by
:class:`credit_recovery.disclosure.identifiers.IdentifierIndex`, tables are
read from text by :mod:`credit_recovery.disclosure.text_tables`.

The conventions (which column headers mark a count of students, what counts as
an identifier match) are documented in ``docs/privacy.md``.
"""
from __future__ import annotations

import base64
import html
import json
import re
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterable, Iterator

import pandas as pd

from credit_recovery.disclosure.identifiers import (
    IDENTIFIER_HEADERS,
    IdentifierIndex,
    IdentifierSource,
    as_identifier_index,
    masked,
)
from credit_recovery.disclosure.text_tables import (
    Table,
    csv_tables,
    html_tables,
    latex_tables,
    line_of,
    markdown_tables,
)

__all__ = [
    "COUNT_HEADERS",
    "EXEMPT_COUNT_HEADERS",
    "FINDING_COLUMNS",
    "Finding",
    "PrivacyError",
    "check_public_folder",
    "findings_frame",
    "is_count_header",
    "scan_bytes",
    "scan_png_bytes",
    "scan_public_files",
    "scan_text",
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


def _table_findings(file: str, tables: list[Table], min_cell_size: int, exempt: Iterable[str]) -> list[Finding]:
    out: set[Finding] = set()
    exempt = frozenset(exempt)
    for t in tables:
        for j, h in enumerate(t.header):
            norm = _normalise_header(h)
            if norm in IDENTIFIER_HEADERS:
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
            out.append(Finding(file, "small_cell", line_of(text, m.start()),
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
                if _normalise_header(str(k)) in IDENTIFIER_HEADERS:
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


def _embedded_image_findings(m: re.Match[str], text: str, index: IdentifierIndex, min_cell_size: int, file: str,
                              exempt_count_headers: Iterable[str]) -> list[Finding]:
    """Findings in one base64 ``data:`` URI of ``text`` (PNG metadata, or SVG text); other images are not read."""
    mime = (m.group(1) or "").lower()
    if mime not in ("image/png", "image/svg+xml"):
        return []
    kw = dict(identifiers=index, min_cell_size=min_cell_size, file=file, exempt_count_headers=exempt_count_headers)
    try:
        data = base64.b64decode("".join(m.group(2).split()), validate=False)
        inner = scan_png_bytes(data, **kw) if mime == "image/png" else scan_text(data.decode("utf-8"), "svg", **kw)
    except (ValueError, zlib.error, UnicodeDecodeError):
        return [Finding(file, "unscanned", line_of(text, m.start()), f"embedded {mime} could not be decoded")]
    label = "PNG" if mime == "image/png" else "SVG"
    return [Finding(file, f.kind, line_of(text, m.start()), f"embedded {label}: " + f.detail) for f in inner]


def _blank_embedded_images(text: str, index: IdentifierIndex, min_cell_size: int, file: str,
                           exempt_count_headers: Iterable[str]) -> tuple[str, list[Finding]]:
    """Scan the embedded images of ``text``, then blank their payloads out (keeping line numbers)."""
    findings: list[Finding] = []

    def blank(m: re.Match[str]) -> str:
        findings.extend(_embedded_image_findings(m, text, index, min_cell_size, file, exempt_count_headers))
        return "data:;base64," + "\n" * m.group(2).count("\n")

    return _DATA_URI.sub(blank, text), findings


def _tables(text: str, plain: str, fmt: str) -> list[Table]:
    """The tables of a file of format ``fmt`` (``plain``: the text with HTML entities decoded)."""
    if fmt == "csv":
        return csv_tables(text)
    if fmt == "markdown":
        return markdown_tables(text)
    if fmt == "html":
        return html_tables(text) + markdown_tables(plain)
    if fmt == "latex":
        return latex_tables(text)
    return []


def _free_text(text: str, plain: str, fmt: str) -> str:
    """The text whose ``n = k`` patterns are checked: HTML without its markup, line numbers kept."""
    if fmt == "html":
        free = re.sub(r"(?is)<(script|style)\b.*?</\1\s*>", lambda m: "\n" * m.group(0).count("\n"), text)
        free = re.sub(r"<[^>]*>", lambda m: "\n" * m.group(0).count("\n") + " ", free)
        return html.unescape(free)
    if fmt == "svg":
        return plain
    return text


def scan_text(
    text: str,
    fmt: str,
    *,
    identifiers: IdentifierSource = None,
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
    :func:`scan_png_bytes`, embedded SVGs as SVG text.
    """
    if fmt not in _FORMATS:
        raise ValueError(f"fmt must be one of {list(_FORMATS)}, got {fmt!r}")
    index = as_identifier_index(identifiers)
    findings: list[Finding] = []
    if "base64," in text:
        text, findings = _blank_embedded_images(text, index, min_cell_size, file, exempt_count_headers)
    plain = html.unescape(text) if fmt in ("html", "svg") else text
    for label, value, pos in index.find(plain):
        findings.append(Finding(file, "identifier", line_of(plain, pos),
                                f"{label} value ({masked(value)}) appears in the file"))
    findings += _table_findings(file, _tables(text, plain, fmt), min_cell_size, exempt_count_headers)
    if fmt == "json":
        findings += _json_findings(file, text, min_cell_size, exempt_count_headers)
    findings += _free_text_findings(file, _free_text(text, plain, fmt), min_cell_size, exempt_count_headers)
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
    identifiers: IdentifierSource = None,
    min_cell_size: int = 10,
    file: str = "<png>",
    exempt_count_headers: Iterable[str] = EXEMPT_COUNT_HEADERS,
) -> list[Finding]:
    """Scan the text metadata (``tEXt``, ``zTXt``, ``iTXt`` chunks) of a PNG.

    The pixels are not read: text drawn into a raster image cannot be checked,
    which is why every figure is also saved as SVG with its text kept as text
    (:func:`credit_recovery.shared.style.save_figure`).
    """
    index = as_identifier_index(identifiers)
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
    identifiers: IdentifierSource = None,
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
    index = as_identifier_index(identifiers)
    suffix = Path(name).suffix.lower()
    kw = dict(identifiers=index, min_cell_size=min_cell_size, file=name, exempt_count_headers=exempt_count_headers)
    if suffix == ".png":
        return scan_png_bytes(data, **kw)
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        return [Finding(name, "unscanned", 0, "binary file that is not a PNG cannot be checked")]
    return scan_text(text, _SUFFIX_FORMAT.get(suffix, "text"), **kw)


def scan_public_files(
    folder: str | Path,
    identifiers: IdentifierSource,
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
    index = as_identifier_index(identifiers)
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
    identifiers: IdentifierSource,
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
