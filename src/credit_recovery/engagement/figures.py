"""Public figures of the engagement stage.

Each function takes DataFrames and returns ``(figure, table)``: the
matplotlib figure and the numbers drawn in it, with the number of distinct
students behind each point (``n_students``). Points resting on fewer than
``min_cell_size`` students are left out of the figure (and marked
``suppressed`` in the table), so the figures can be published
(``results/public/``). Save them with :func:`credit_recovery.save_figure`.

* :func:`type_profile_figure` - standardized feature means per user type;
* :func:`idle_pass_figure` - pass rate against idle share (binned, 95% Wilson bands);
* :func:`login_hour_figure` - share of log-ins by local hour of day per type;
* :func:`efficiency_figure` - activities per active hour by school year and type.
"""
from __future__ import annotations

from typing import Sequence

import numpy as np
import pandas as pd
from matplotlib.figure import Figure
from scipy import stats

from credit_recovery.engagement.typology import DEFAULT_TYPOLOGY_FEATURES
from credit_recovery.shared.style import PALETTE, style

__all__ = ["TYPE_LABELS", "type_profile_figure", "idle_pass_figure", "login_hour_figure", "efficiency_figure"]

#: Display names of the user types, in display order.
TYPE_LABELS: dict[str, str] = {
    "engaged": "Engaged users",
    "moonlighter": "Moonlighters",
    "nominal_exerter": "Nominal exerters",
    "incompatible_struggler": "Incompatible strugglers",
}
_FEATURE_LABELS = {
    "idle_share": "idle share",
    "activities_per_day": "activities per day",
    "minutes_per_activity": "minutes per activity",
    "n_sessions": "sessions",
    "share_outside_school_day": "log-ins outside school day",
    "activities": "activities",
    "tests_passed": "tests passed",
    "activities_per_active_hour": "activities per active hour",
    "days_to_completion": "days to completion",
}
_COLORS = [PALETTE["blue"], PALETTE["orange"], PALETTE["bluish_green"], PALETTE["vermillion"],
           PALETTE["reddish_purple"], PALETTE["sky_blue"]]


def _type_order(types: Sequence[str]) -> list[str]:
    known = [t for t in TYPE_LABELS if t in set(types)]
    return known + sorted(set(types) - set(known))


def _label(t: str) -> str:
    return TYPE_LABELS.get(t, str(t).replace("_", " "))


def _with_types(features: pd.DataFrame, types: pd.DataFrame) -> pd.DataFrame:
    return features.merge(types[["student_id", "course_record_id", "type"]], on=["student_id", "course_record_id"],
                          how="inner", validate="one_to_one")


def type_profile_figure(features: pd.DataFrame, types: pd.DataFrame, columns: Sequence[str] | None = None, *,
                        min_cell_size: int = 10):
    """Standardized feature means per user type (a heat map).

    Parameters
    ----------
    features : DataFrame
        Student-course engagement features.
    types : DataFrame
        ``student_id, course_record_id, type``.
    columns : sequence of str, optional
        Features shown (default: the typology features).
    min_cell_size : int
        Types with fewer students are left out.

    Returns
    -------
    (Figure, DataFrame)
        Table: one row per type with ``n_students``, ``suppressed`` and the
        standardized mean of each feature.

    Notes
    -----
    Each feature is standardized over all student-courses,
    :math:`z = (x - \\bar x) / s` (missing values at the median), and
    averaged within each type.
    """
    columns = list(columns or DEFAULT_TYPOLOGY_FEATURES)
    d = _with_types(features, types)
    z = pd.DataFrame(index=d.index)
    for c in columns:
        x = pd.to_numeric(d[c], errors="coerce").astype(float).replace([np.inf, -np.inf], np.nan)
        x = x.fillna(x.median())
        sd = float(x.std(ddof=0)) or 1.0
        z[c] = (x - float(x.mean())) / sd
    z["type"] = d["type"].to_numpy()
    order = _type_order(d["type"].dropna().unique())
    means = z.groupby("type")[columns].mean().reindex(order)
    n = d.groupby("type")["student_id"].nunique().reindex(order).fillna(0).astype(int)
    table = means.reset_index()
    table.insert(1, "n_students", n.to_numpy())
    table.insert(2, "suppressed", table["n_students"] < min_cell_size)
    table.loc[table["suppressed"], columns] = np.nan
    shown = table[~table["suppressed"]]
    with style():
        fig = Figure(figsize=(9.0, 2.6 + 0.6 * max(len(shown), 1)))
        ax = fig.subplots()
        vals = shown[columns].to_numpy(dtype=float)
        lim = max(1.0, float(np.nanmax(np.abs(vals))) if vals.size else 1.0)
        im = ax.imshow(vals if vals.size else np.zeros((1, len(columns))), cmap="RdBu_r", vmin=-lim, vmax=lim,
                       aspect="auto")
        for i in range(vals.shape[0]):
            for j in range(vals.shape[1]):
                ax.text(j, i, f"{vals[i, j]:+.1f}", ha="center", va="center", fontsize=11,
                        color="white" if abs(vals[i, j]) > 0.6 * lim else "black")
        ax.set_xticks(range(len(columns)))
        ax.set_xticklabels([_FEATURE_LABELS.get(c, c) for c in columns], rotation=30, ha="right")
        ax.set_yticks(range(len(shown)))
        ax.set_yticklabels([_label(t) for t in shown["type"]])
        ax.grid(False)
        ax.set_title("How the user types differ (standardized feature means)")
        fig.colorbar(im, ax=ax, label="SD from the mean", shrink=0.9)
        fig.tight_layout()
    return fig, table


def _wilson(k: np.ndarray, n: np.ndarray, level: float = 0.95) -> tuple[np.ndarray, np.ndarray]:
    z = stats.norm.ppf(0.5 + level / 2)
    p = k / n
    den = 1 + z**2 / n
    mid = (p + z**2 / (2 * n)) / den
    half = z * np.sqrt(p * (1 - p) / n + z**2 / (4 * n**2)) / den
    return mid - half, mid + half


def idle_pass_figure(features: pd.DataFrame, *, bins: int = 10, min_cell_size: int = 10):
    """Pass rate of online courses against idle share, in bins, with 95% bands.

    Parameters
    ----------
    features : DataFrame
        Student-course features with ``idle_share`` and ``credits_earned``
        (passed = credit earned).
    bins : int
        Equal-width bins of idle share on [0, 1] (10 = bins of 10 percentage points).
    min_cell_size : int
        Bins with fewer students are left out.

    Returns
    -------
    (Figure, DataFrame)
        Table: ``bin_low, bin_high, idle_share_mean, n_students, n_courses,
        pass_rate, ci_low, ci_high, suppressed``.

    Notes
    -----
    The band is the Wilson score interval for the share of the bin's
    courses that were passed (courses treated as independent).
    """
    d = features[["student_id", "idle_share", "credits_earned"]].dropna()
    edges = np.linspace(0.0, 1.0, int(bins) + 1)
    b = np.clip(np.digitize(d["idle_share"].to_numpy(float), edges[1:-1], right=False), 0, int(bins) - 1)
    d = d.assign(bin=b, passed=(d["credits_earned"].astype(float) > 0).astype(float))
    g = d.groupby("bin")
    t = pd.DataFrame({"idle_share_mean": g["idle_share"].mean(), "n_students": g["student_id"].nunique(),
                      "n_courses": g.size(), "passes": g["passed"].sum()}).reset_index()
    t.insert(1, "bin_low", edges[t["bin"].to_numpy()])
    t.insert(2, "bin_high", edges[t["bin"].to_numpy() + 1])
    t["pass_rate"] = t["passes"] / t["n_courses"]
    lo, hi = _wilson(t["passes"].to_numpy(float), t["n_courses"].to_numpy(float))
    t["ci_low"], t["ci_high"] = lo, hi
    t["suppressed"] = t["n_students"] < min_cell_size
    t.loc[t["suppressed"], ["idle_share_mean", "pass_rate", "ci_low", "ci_high", "n_courses", "n_students"]] = np.nan
    t = t.drop(columns=["bin", "passes"])
    s = t[~t["suppressed"]]
    with style():
        fig = Figure()
        ax = fig.subplots()
        x = 100 * s["idle_share_mean"].to_numpy(float)
        ax.fill_between(x, 100 * s["ci_low"], 100 * s["ci_high"], color=PALETTE["sky_blue"], alpha=0.35, lw=0,
                        label="95% confidence band")
        ax.plot(x, 100 * s["pass_rate"], marker="o", color=PALETTE["blue"], label="share of courses passed")
        ax.set_xlabel("idle time, % of session time")
        ax.set_ylabel("courses passed (%)")
        ax.set_ylim(0, 100)
        ax.set_title("More idle time, fewer online courses passed")
        ax.legend(loc="lower left")
        fig.tight_layout()
    return fig, t.reset_index(drop=True)


def login_hour_figure(sessions: pd.DataFrame, types: pd.DataFrame, *, timezone: str = "America/Chicago",
                      min_cell_size: int = 10):
    """Share of log-ins (session starts) by local hour of day, per user type.

    Parameters
    ----------
    sessions : DataFrame
        ``student_id, course_record_id, start`` (UTC) of every session.
    types : DataFrame
        ``student_id, course_record_id, type``.
    timezone : str
        The schools' time zone (``engagement.timezone``).
    min_cell_size : int
        Type-by-hour cells with fewer students are left out (and types with
        fewer students altogether).

    Returns
    -------
    (Figure, DataFrame)
        Table: ``type, hour, n_students, share, suppressed`` (share of the
        type's log-ins that start in that local hour).
    """
    d = sessions[["student_id", "course_record_id", "start"]].merge(
        types[["student_id", "course_record_id", "type"]], on=["student_id", "course_record_id"], how="inner")
    start = pd.to_datetime(d["start"], utc=True).dt.tz_convert(timezone)
    d = d.assign(hour=start.dt.hour.to_numpy())
    tot = d.groupby("type").size()
    tstud = d.groupby("type")["student_id"].nunique()
    g = d.groupby(["type", "hour"])
    t = pd.DataFrame({"n_students": g["student_id"].nunique(), "logins": g.size()}).reset_index()
    full = pd.MultiIndex.from_product([_type_order(d["type"].unique()), range(24)], names=["type", "hour"])
    t = t.set_index(["type", "hour"]).reindex(full, fill_value=0).reset_index()
    t["share"] = t["logins"] / t["type"].map(tot).to_numpy(float)
    small_type = t["type"].map(tstud).to_numpy() < min_cell_size
    t["suppressed"] = (t["n_students"].to_numpy() < min_cell_size) & (t["logins"].to_numpy() > 0) | small_type
    t.loc[t["suppressed"], ["share", "n_students"]] = np.nan
    t = t.drop(columns=["logins"])
    with style():
        fig = Figure()
        ax = fig.subplots()
        for i, ty in enumerate(_type_order(d["type"].unique())):
            s = t[t["type"] == ty]
            if s["share"].notna().any():
                ax.plot(s["hour"], 100 * s["share"], marker="o", markersize=4, color=_COLORS[i % len(_COLORS)],
                        label=_label(ty))
        ax.set_xlabel("hour of day (school time zone)")
        ax.set_ylabel("share of log-ins (%)")
        ax.set_xticks(range(0, 24, 3))
        ax.set_xlim(-0.5, 23.5)
        ax.set_title("When each type logs in")
        ax.legend(loc="upper left", bbox_to_anchor=(1.0, 1.0), fontsize=10)
        fig.tight_layout()
    return fig, t


def efficiency_figure(features: pd.DataFrame, types: pd.DataFrame | None = None, *, min_cell_size: int = 10):
    """Activities per active hour by school year, per user type (means with 95% intervals).

    Parameters
    ----------
    features : DataFrame
        ``student_id, course_record_id, school_year, activities_per_active_hour``.
    types : DataFrame, optional
        ``student_id, course_record_id, type`` (all courses as one group without).
    min_cell_size : int
        Year-by-type cells with fewer students are left out.

    Returns
    -------
    (Figure, DataFrame)
        Table: ``type, school_year, n_students, mean, ci_low, ci_high, suppressed``.

    Notes
    -----
    Interval: mean :math:`\\pm t_{0.975, n-1}\\, s/\\sqrt{n}` over the cell's
    student-courses.
    """
    d = _with_types(features, types) if types is not None else features.assign(type="all")
    d = d[np.isfinite(d["activities_per_active_hour"].astype(float))]
    g = d.groupby(["type", "school_year"])
    t = pd.DataFrame({"n_students": g["student_id"].nunique(), "n": g.size(),
                      "mean": g["activities_per_active_hour"].mean(),
                      "sd": g["activities_per_active_hour"].std()}).reset_index()
    q = stats.t.ppf(0.975, np.maximum(t["n"] - 1, 1))
    half = q * t["sd"].fillna(0) / np.sqrt(t["n"])
    t["ci_low"], t["ci_high"] = t["mean"] - half, t["mean"] + half
    t["suppressed"] = t["n_students"] < min_cell_size
    t.loc[t["suppressed"], ["mean", "ci_low", "ci_high", "n_students"]] = np.nan
    t = t.drop(columns=["n", "sd"])
    order = _type_order(t["type"].unique())
    t["_o"] = t["type"].map({k: i for i, k in enumerate(order)})
    t = t.sort_values(["_o", "school_year"], kind="stable").drop(columns="_o").reset_index(drop=True)
    with style():
        fig = Figure()
        ax = fig.subplots()
        for i, ty in enumerate(order):
            s = t[(t["type"] == ty) & ~t["suppressed"]]
            if len(s):
                c = _COLORS[i % len(_COLORS)]
                ax.errorbar(s["school_year"], s["mean"], yerr=[s["mean"] - s["ci_low"], s["ci_high"] - s["mean"]],
                            marker="o", color=c, capsize=3, label=_label(ty))
        years = sorted(t["school_year"].unique())
        ax.set_xticks(years)
        ax.set_xticklabels([f"{int(y) - 1}-{str(int(y))[-2:]}" for y in years], rotation=30, ha="right")
        ax.set_xlabel("school year")
        ax.set_ylabel("activities per active hour")
        ax.set_title("Efficiency by school year")
        ax.legend(loc="upper left", bbox_to_anchor=(1.0, 1.0), fontsize=10)
        fig.tight_layout()
    return fig, t
