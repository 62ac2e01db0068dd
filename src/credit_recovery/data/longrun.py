"""Longer-run outcomes of the cohort units: credits over two years, on track to graduate, graduation.

A unit's recovery year is ``r`` (the cohort's ``school_year``; the failure year is ``r − 1``), its
student entered grade 9 in ``g9`` (``students.grade9_year``) and the extract's student-years run from
``first`` to ``last`` (the smallest and largest ``student_years.school_year``). Every outcome is
measured in or after the recovery year; whether it is *defined* for a unit is decided before the
treatment, by the calendar (``r``, ``g9``, the extract's years) and the years before the recovery:

* ``cum_credits_2y``: credits earned in the recovery year and the next school year,
  ``credits(r) + credits(r + 1)``. Defined when ``r + 1 <= last`` (the second year is in the extract)
  and ``r + 1 <= g9 + 3`` (it is at most the fourth year of high school: a student whose recovery
  year is the on-time senior year has no regular next year). Missing when the student has no
  student-year in ``r + 1`` (left the district): that one is attrition after the treatment, the
  assumption ``no_differential_attrition`` of the estimand registry.
* ``on_track``: 1 if the credits earned from grade 9 through the recovery year reach
  ``on_track_credits[k − 1]``, ``k = r − g9 + 1`` the school year of high school (counted from
  ``g9``, not from the recorded grade, which retention could make depend on the treatment); else 0.
  Defined when ``g9 >= first``, ``k <= 4`` and the student has a student-year in every year from
  ``g9`` to ``r`` (the years before ``r`` are all before the treatment).
* ``graduated``: 1 if ``diplomas`` lists a diploma of the student awarded by ``g9 + 3`` (within four
  school years of grade 9), else 0: a student who left the district counts as not graduated.
  Defined when ``g9 + 3 <= last`` and the extract has a ``diplomas`` table (else missing for all).

Credits are compared with a tolerance of ``1e-9`` (sums of fractional credits).
"""
from __future__ import annotations

from typing import Any, Mapping

import numpy as np
import pandas as pd

from credit_recovery.shared.config import resolve_options

__all__ = ["LONGRUN_OUTCOMES", "resolve_cohort_options", "longrun_outcomes"]

#: The longer-run outcome columns of the cohort.
LONGRUN_OUTCOMES = ("cum_credits_2y", "on_track", "graduated")
_TOL = 1e-9


def resolve_cohort_options(options: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """Merge a ``cohort`` config section over the schema's defaults and check ``on_track_credits``.

    Raises
    ------
    ValueError
        Unknown key, or ``on_track_credits`` not four non-decreasing numbers >= 0.
    """
    out = resolve_options("cohort", options)
    need = [float(v) for v in out["on_track_credits"]]
    if len(need) != 4 or min(need) < 0 or any(b < a for a, b in zip(need, need[1:])):
        raise ValueError("cohort.on_track_credits must be four non-decreasing numbers >= 0 (credits needed by "
                         f"the end of high-school years 1-4); got {out['on_track_credits']!r}")
    out["on_track_credits"] = need
    return out


def longrun_outcomes(units: pd.DataFrame, tables: Mapping[str, pd.DataFrame],
                     options: Mapping[str, Any] | None = None) -> pd.DataFrame:
    """The longer-run outcomes of cohort units (see the module notes for the definitions).

    Parameters
    ----------
    units : DataFrame
        ``student_id`` and ``school_year`` (the recovery year) of each unit.
    tables : mapping of DataFrame
        ``students`` (``grade9_year``), ``student_years`` (``credits_earned``) and, optionally,
        ``diplomas``.
    options : mapping, optional
        The ``cohort`` config section (``on_track_credits``).

    Returns
    -------
    DataFrame
        ``student_id``, ``cum_credits_2y``, ``on_track``, ``graduated`` (floats, NaN where not
        defined), one row per unit in the order of ``units``.
    """
    need = np.asarray(resolve_cohort_options(options)["on_track_credits"])
    sy = tables["student_years"]
    first, last = int(sy["school_year"].min()), int(sy["school_year"].max())
    credits = pd.Series(sy["credits_earned"].to_numpy(float),
                        index=pd.MultiIndex.from_arrays([sy["student_id"], sy["school_year"].astype("int64")]))
    sid = units["student_id"].to_numpy()
    r = units["school_year"].to_numpy("int64")
    g9 = units["student_id"].map(tables["students"].set_index("student_id")["grade9_year"]).to_numpy("int64")

    def year_credits(year: np.ndarray) -> np.ndarray:
        return credits.reindex(pd.MultiIndex.from_arrays([sid, year])).to_numpy(float)

    cum2 = np.where((r + 1 <= last) & (r + 1 <= g9 + 3), year_credits(r) + year_credits(r + 1), np.nan)
    k = r - g9 + 1
    total, missing = np.zeros(len(units)), np.zeros(len(units), dtype=bool)
    for j in range(4):  # high-school years g9 .. r (at most four)
        c = year_credits(g9 + j)
        inside = j < k
        total += np.where(inside, np.nan_to_num(c), 0.0)
        missing |= inside & np.isnan(c)
    ok_track = (g9 >= first) & (k >= 1) & (k <= 4) & ~missing
    on_track = np.where(ok_track, total >= need[np.clip(k, 1, 4) - 1] - _TOL, np.nan).astype(float)
    dipl = tables.get("diplomas")
    if dipl is None:
        graduated = np.full(len(units), np.nan)
    else:
        year = units["student_id"].map(dipl.set_index("student_id")["school_year"]).to_numpy(float)
        graduated = np.where(g9 + 3 <= last, ~np.isnan(year) & (year <= g9 + 3), np.nan).astype(float)
    return pd.DataFrame({"student_id": sid, "cum_credits_2y": cum2, "on_track": on_track,
                         "graduated": graduated})
