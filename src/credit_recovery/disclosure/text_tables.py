"""Tables read out of the text of public files: CSV, Markdown pipe tables, HTML ``<table>``, LaTeX ``tabular``.

Pure functions, text in and :class:`Table` (header cells and numbered rows of
cells) out, for the small-cell rules of
:mod:`credit_recovery.disclosure.scanner`. They are lenient: text that does not
parse gives no table rather than an error.
"""
from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass
from html.parser import HTMLParser
from typing import Any

__all__ = ["Table", "csv_tables", "html_tables", "latex_tables", "line_of", "markdown_tables"]


def line_of(text: str, pos: int) -> int:
    """1-based line number of character position ``pos`` in ``text``."""
    return text.count("\n", 0, pos) + 1


@dataclass
class Table:
    """One table: its header cells and its body rows as ``(line, cells)``."""

    header: list[str]
    rows: list[tuple[int, list[str]]]  # (line, cells)


def csv_tables(text: str) -> list[Table]:
    """The CSV text as one table (first row the header); none if it does not parse."""
    try:
        reader = csv.reader(io.StringIO(text))
        rows = list(reader)
    except csv.Error:
        return []
    if not rows:
        return []
    # csv.reader counts physical lines; use its line numbers approximately
    return [Table(rows[0], [(i + 2, r) for i, r in enumerate(rows[1:])])]


_MD_SEP = re.compile(r"^\s*\|?\s*:?-+:?\s*(\|\s*:?-+:?\s*)*\|?\s*$")


def _md_cells(line: str) -> list[str]:
    s = line.strip()
    if s.startswith("|"):
        s = s[1:]
    if s.endswith("|") and not s.endswith("\\|"):
        s = s[:-1]
    return [c.strip() for c in re.split(r"(?<!\\)\|", s)]


def markdown_tables(text: str) -> list[Table]:
    """Every pipe table (a header line followed by a ``|---|`` separator line)."""
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
            tables.append(Table(header, rows))
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


def html_tables(text: str) -> list[Table]:
    """Every ``<table>``: its header rows joined per column, and each header row alone when there are several.

    Cells spanning columns (``colspan``) are repeated; text inside
    ``<script>`` and ``<style>`` is ignored.
    """
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
        out.append(Table(labels, [(r["line"], r["cells"]) for r in body]))
        for r in head:
            if len(head) > 1:
                out.append(Table(r["cells"] + [""] * (width - len(r["cells"])),
                                 [(b["line"], b["cells"]) for b in body]))
    return out


_LATEX_TABULAR = re.compile(r"\\begin\{(tabular\*?|longtable|tabularx)\}(.*?)\\end\{\1\}", re.S)
_LATEX_RULES = re.compile(r"\\(toprule|midrule|bottomrule|hline|cline\{[^}]*\}|cmidrule(\([^)]*\))?\{[^}]*\}|endhead|endfirsthead|endfoot|endlastfoot)")


def _latex_cell(c: str) -> str:
    c = re.sub(r"\\(multicolumn|multirow)\{[^}]*\}\{[^}]*\}", "", c)
    c = re.sub(r"\\[A-Za-z]+\*?", " ", c)
    c = c.replace("{", " ").replace("}", " ").replace("$", " ").replace("\\_", "_").replace("\\%", "%")
    return " ".join(c.split())


def latex_tables(text: str) -> list[Table]:
    """Every ``tabular``, ``tabular*``, ``tabularx`` and ``longtable`` (first row the header).

    Rules (``\\midrule``, ``\\hline``, ...) and ``%`` comments are dropped.
    """
    tables = []
    for m in _LATEX_TABULAR.finditer(text):
        body = m.group(2)
        start_line = line_of(text, m.start(2))
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
            tables.append(Table(rows[0][1], rows[1:]))
    return tables
