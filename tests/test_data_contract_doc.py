"""docs/data-contract.md and contract.py stay in step.

Every contract table has a section ``## Table `name` `` whose column table lists
exactly the contract's columns, in order, with type, unit, allowed values or
range, nullability and description as rendered by :func:`render_column_row`;
the doc has no other tables or columns. Keys and foreign keys are stated too.
"""
from __future__ import annotations

import re
from pathlib import Path

import pytest

from credit_recovery.data.contract import TABLES, Column

DOC = Path(__file__).resolve().parents[1] / "docs" / "data-contract.md"
HEADER = ("| Column | Type | Unit | Allowed values / range | Nullable | Description |\n"
          "|---|---|---|---|---|---|")


def _num(v: float) -> str:
    return f"{v:g}"


def render_allowed(c: Column) -> str:
    if c.allowed is not None:
        return ", ".join(f"`{a}`" for a in c.allowed)
    if c.min is not None and c.max is not None:
        return f"{_num(c.min)} to {_num(c.max)}"
    if c.min is not None:
        return f"≥ {_num(c.min)}"
    if c.max is not None:
        return f"≤ {_num(c.max)}"
    return ""


def render_column_row(c: Column) -> str:
    cells = [f"`{c.name}`", c.dtype, c.unit, render_allowed(c), "yes" if c.nullable else "no", c.description]
    return "| " + " | ".join(cells) + " |"


def _sections(text: str) -> dict[str, str]:
    parts = re.split(r"^## Table `([^`]+)`\s*$", text, flags=re.M)
    return {parts[i]: parts[i + 1].split("\n## ")[0] for i in range(1, len(parts), 2)}


@pytest.fixture(scope="module")
def doc() -> str:
    return DOC.read_text(encoding="utf-8")


def test_doc_has_exactly_the_contract_tables(doc):
    assert list(_sections(doc)) == list(TABLES)


@pytest.mark.parametrize("name", list(TABLES))
def test_columns_match_contract(doc, name):
    section = _sections(doc)[name]
    spec = TABLES[name]
    assert HEADER in section
    rows = [ln for ln in section.splitlines() if ln.startswith("| `")]
    assert [re.match(r"\| `([^`]+)`", r).group(1) for r in rows] == spec.column_names
    for row, col in zip(rows, spec.columns):
        cells = [x.strip() for x in row.strip().strip("|").split(" | ")]
        assert cells[1] == col.dtype, (name, col.name)
        assert row == render_column_row(col), f"doc row differs from contract.py:\n{row}\n{render_column_row(col)}"


@pytest.mark.parametrize("name", list(TABLES))
def test_keys_and_relations_stated(doc, name):
    section = _sections(doc)[name]
    spec = TABLES[name]
    assert "**Key:** " + ", ".join(f"`{k}`" for k in spec.key) in section
    assert "**Required:** " + ("yes" if spec.required else "no") in section
    for fk in spec.foreign_keys:
        cols = ", ".join(f"`{c}`" for c in fk.columns)
        refs = ", ".join(f"`{c}`" for c in fk.ref_columns)
        assert f"{cols} → `{fk.table}` ({refs})" in section, (name, fk)


def test_no_stray_column_rows_outside_table_sections(doc):
    head = re.split(r"^## Table `", doc, flags=re.M)[0]
    assert not [ln for ln in head.splitlines() if ln.startswith("| `")]


def test_every_rule_string_in_validation_is_documented(doc):
    for phrase in ["days_absent", "negative duration", "mark F", "mentor_id", "quiz_submitted",
                   "time zone", "data.source", "school_year", "hive"]:
        assert phrase in doc, phrase
