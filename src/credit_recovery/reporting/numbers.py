"""Numbers on the page, each tagged with the table cell it came from.

Every number a sentence of the brief shows is written by :func:`num`, which
wraps it in a ``<span class="num">`` carrying where it came from
(``data-source``, the row key ``data-key``, the column ``data-field``), how it
was transformed (``data-transform``) and rounded (``data-digits``). A reader,
or a test, can therefore trace each number in the brief back to one cell of
``results/models/estimates.csv`` (or of the balance or user-type tables) and
recompute it.
"""
from __future__ import annotations

import html
import json
from typing import Any, Mapping

import pandas as pd
from scipy import stats

__all__ = ["KEY_COLUMNS", "TRANSFORMS", "estimate_num", "num", "row_key", "transform_value"]

#: Text columns that identify an estimate row (the duplicate key of ``collect_estimates``).
KEY_COLUMNS: tuple[str, ...] = ("estimand_id", "outcome", "treatment", "estimand", "estimator", "sample",
                                "fixed_effects", "cov_type", "subgroup")


#: Transforms a number may go through between the table and the page (name -> function).
TRANSFORMS: dict[str, Any] = {
    "none": lambda v: v,
    "abs": abs,
    "x100": lambda v: 100.0 * v,
    "abs_x100": lambda v: abs(100.0 * v),
    "percentile": lambda v: abs(100.0 * (float(stats.norm.cdf(v)) - 0.5)),
}


def transform_value(value: float, transform: str) -> float:
    """Apply a named transform (:data:`TRANSFORMS`) to a value.

    Notes
    -----
    ``percentile`` is the improvement index of an effect ``d`` in standard
    deviations: ``|100 (Phi(d) - 0.5)|`` percentile points (WWC; Cohen's U3
    minus 50).
    """
    if transform not in TRANSFORMS:
        raise ValueError(f"transform must be one of {list(TRANSFORMS)}, got {transform!r}")
    return float(TRANSFORMS[transform](float(value)))


def row_key(row: Mapping[str, Any] | pd.Series) -> list[str]:
    """The key of an estimate row: its :data:`KEY_COLUMNS` values as strings."""
    return ["" if pd.isna(row.get(c, "")) else str(row.get(c, "")) for c in KEY_COLUMNS]


def _fmt(value: float, digits: int) -> str:
    out = f"{value:,.{digits}f}"
    if out.startswith("-") and float(out.replace(",", "")) == 0:
        out = out[1:]
    return out


def num(value: float, *, source: str, key: Any, field: str, transform: str = "none", digits: int = 2,
        suffix: str = "") -> str:
    """A number for the page, tagged with where it came from.

    Parameters
    ----------
    value : float
        The value as stored in the source table (before ``transform``).
    source : str
        Which table (``estimates``, ``balance``, ``types``, ``config``).
    key : str or list
        Row key within the source (JSON-encoded into ``data-key``).
    field : str
        Column of the source row.
    transform : str
        One of :data:`TRANSFORMS`, applied before rounding.
    digits : int
        Decimal places shown (thousands separated by commas).
    suffix : str
        Text appended inside the span (e.g. ``"%"``).

    Returns
    -------
    str
        ``<span class="num" data-source=... data-key=... data-field=...
        data-value=... data-transform=... data-digits=...>text</span>``.
    """
    shown = _fmt(transform_value(value, transform), digits)
    attrs = {
        "data-source": source,
        "data-key": json.dumps(key, ensure_ascii=False),
        "data-field": field,
        "data-value": repr(float(value)),
        "data-transform": transform,
        "data-digits": str(int(digits)),
    }
    a = " ".join(f'{k}="{html.escape(v, quote=True)}"' for k, v in attrs.items())
    return f'<span class="num" {a}>{shown}{html.escape(suffix)}</span>'


def estimate_num(row: pd.Series, field: str, transform: str = "none", digits: int = 2, suffix: str = "") -> str:
    """:func:`num` of one field of an estimate row (source ``estimates``, key :func:`row_key`)."""
    return num(float(row[field]), source="estimates", key=row_key(row), field=field, transform=transform,
               digits=digits, suffix=suffix)
