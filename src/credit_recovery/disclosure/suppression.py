"""Small-cell suppression: applied to a table *before* it is published.

Counts drawn from fewer than ``min_cell_size`` students, and the statistics
computed from them, are replaced by a marker (``"<10"``);
:func:`suppress_small_cells` also suppresses enough other cells that a hidden
count cannot be recovered by subtraction from a margin. The files are checked
again after they are written by :mod:`credit_recovery.disclosure.scanner`.
The rules are documented in ``docs/privacy.md``.

Primary suppression: a cell of a count column with value ``c`` is suppressed
when ``1 <= c < min_cell_size`` (zeros are shown). Every dependent column of a
suppressed count is suppressed in the same row.

Complementary suppression: a suppressed count could be recovered by
subtraction from a margin published elsewhere (the cohort size, a total row).
Within each group and count column, while the suppressed cells hold together
fewer than ``min_cell_size`` students, or only one cell is suppressed, the
smallest visible non-zero cell (first in row order on ties) is suppressed as
well, so that subtraction only reveals a sum of at least ``min_cell_size``
students spread over two or more cells. A group whose non-zero cells are all
suppressed is left so. The rules are applied until nothing changes
(dependents of complementary suppressions are suppressed too).

Across columns of one row, counts that add up (``n = n_treated + n_control``)
are protected by listing them as dependents of each other.
"""
from __future__ import annotations

from typing import Mapping, Sequence

import numpy as np
import pandas as pd

__all__ = ["suppress_small_cells"]


def _as_list(x: str | Sequence[str] | None) -> list[str]:
    if x is None:
        return []
    if isinstance(x, str):
        return [x]
    return list(x)


def _dependents(counts: list[str],
                dependent_columns: Sequence[str] | Mapping[str, Sequence[str]] | None) -> dict[str, list[str]]:
    """``{count column: [dependent columns]}`` from a shared list or a per-count mapping."""
    if isinstance(dependent_columns, Mapping):
        unknown_keys = [c for c in dependent_columns if c not in counts]
        if unknown_keys:
            raise ValueError(f"dependent_columns keys {unknown_keys} are not count columns {counts}")
        return {c: _as_list(dependent_columns.get(c)) for c in counts}
    shared = _as_list(dependent_columns)
    return {c: list(shared) for c in counts}


def _check_min_cell_size(min_cell_size: int) -> None:
    if isinstance(min_cell_size, bool) or not isinstance(min_cell_size, (int, np.integer)) or min_cell_size < 1:
        raise ValueError(f"min_cell_size must be a positive integer, got {min_cell_size!r}")


def _check_columns(df: pd.DataFrame, needed: set[str], flag_column: str | None) -> None:
    missing = sorted(needed - set(map(str, df.columns)) - set(df.columns))
    if missing:
        raise KeyError(f"columns not in df: {missing}; available: {list(df.columns)}")
    if flag_column is not None and flag_column in df.columns:
        raise ValueError(f"flag_column {flag_column!r} already exists in df")


def _group_rows(df: pd.DataFrame, groups_by: list[str]) -> list[np.ndarray]:
    """Row positions of each group of ``groups_by`` (one group of all rows when empty)."""
    if not groups_by:
        return [np.arange(len(df))]
    codes = df.groupby(groups_by, sort=True, dropna=False, observed=True).ngroup().to_numpy()
    return [np.flatnonzero(codes == g) for g in np.unique(codes)]


def _propagate(supp: dict[str, np.ndarray], deps: dict[str, list[str]]) -> bool:
    """Suppress the dependents of every suppressed count; whether anything changed."""
    changed = False
    for c, ds in deps.items():
        for d in ds:
            new = supp[d] | supp[c]
            if not np.array_equal(new, supp[d]):
                supp[d] = new
                changed = True
    return changed


def _complement_group(mask: np.ndarray, values: np.ndarray, rows: np.ndarray, min_cell_size: int) -> bool:
    """Complementary suppression of one count column within one group (``mask`` is updated in place).

    Suppresses the smallest visible non-zero count, one at a time, until the
    suppressed cells of the group hold at least ``min_cell_size`` students in
    two or more cells, or nothing visible and non-zero is left.
    """
    changed = False
    while True:
        s = mask[rows]
        if not s.any():
            break
        vs = values[rows]
        hidden = np.nansum(np.where(s, vs, 0.0))
        if hidden >= min_cell_size and s.sum() >= 2:
            break
        candidates = np.flatnonzero(~s & (vs > 0))
        if candidates.size == 0:
            break
        pick = candidates[np.argsort(vs[candidates], kind="stable")[0]]
        mask[rows[pick]] = True
        changed = True
    return changed


def _apply_marker(df: pd.DataFrame, supp: dict[str, np.ndarray], marker: str,
                  flag_column: str | None) -> pd.DataFrame:
    out = df.copy()
    any_row = np.zeros(len(df), dtype=bool)
    for c, mask in supp.items():
        if mask.any():
            col = out[c].astype(object)
            col[mask] = marker
            out[c] = col
            any_row |= mask
    if flag_column is not None:
        out[flag_column] = any_row
    return out


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
        Apply complementary suppression within each count column (see the
        module notes).
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
    Primary suppression hides a count ``c`` with ``1 <= c < min_cell_size``
    and its dependents; complementary suppression then hides the smallest
    visible counts until subtraction from a margin reveals only a sum of at
    least ``min_cell_size`` students over two or more cells. Both are
    repeated until nothing changes. The module docstring and
    ``docs/privacy.md`` give the rules in full.
    """
    if not isinstance(df, pd.DataFrame):
        raise TypeError("df must be a pandas DataFrame")
    counts = _as_list(count_columns)
    if not counts:
        raise ValueError("count_columns must name at least one column")
    _check_min_cell_size(min_cell_size)
    deps = _dependents(counts, dependent_columns)
    groups_by = _as_list(by)
    needed = set(counts) | {d for ds in deps.values() for d in ds} | set(groups_by)
    _check_columns(df, needed, flag_column)

    values = {c: pd.to_numeric(df[c], errors="coerce").to_numpy(dtype=float, na_value=np.nan) for c in counts}
    supp = {c: np.zeros(len(df), dtype=bool) for c in needed - set(groups_by)}
    for c in counts:  # primary suppression
        with np.errstate(invalid="ignore"):
            supp[c] |= (values[c] >= 1) & (values[c] < min_cell_size)
    group_rows = _group_rows(df, groups_by)
    changed = True
    while changed:
        changed = _propagate(supp, deps)
        if complementary:
            for c in counts:
                for rows in group_rows:
                    changed = _complement_group(supp[c], values[c], rows, min_cell_size) or changed
    return _apply_marker(df, supp, marker, flag_column)
