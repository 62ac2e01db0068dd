"""Publication figures of the study: estimates by specification, the event study, the cohort flow.

* :func:`forest_plot` - online vs classroom recovery, one panel per outcome,
  one row per specification (estimate and 95% confidence interval);
* :func:`event_study_plot` - online minus classroom recoverers by year
  relative to the recovery year (reference: the failure year, -1);
* :func:`plot_flow` - a CONSORT-style flow diagram of the cohort.

The figures take the tidy estimate rows (or the cohort flow) and return a
:class:`matplotlib.figure.Figure` drawn in the house style; save them with
:func:`credit_recovery.shared.style.save_figure`. The tables built from the
same rows are in :mod:`credit_recovery.reporting.tables`.

No text may run into other text (``tests/test_figure_text.py`` renders every
published figure and checks): panels share one axis label instead of
repeating a long one under each narrow panel, and narrow panels get only as
many round ticks as their labels fit
(:func:`credit_recovery.shared.style.fit_ticks`).
"""
from __future__ import annotations

import numbers
from typing import Any, Sequence

import pandas as pd
from matplotlib.figure import Figure

from credit_recovery.reporting.tables import OUTCOME_LABELS, SPECIFICATIONS, spec_label
from credit_recovery.shared.style import PALETTE, fit_ticks, style, styled
from credit_recovery.specs.panel import event_time_of

__all__ = ["FOREST_OUTCOMES", "EVENT_STUDY_OUTCOMES", "forest_plot", "event_study_plot", "plot_flow",
           "spec_curve_plot"]

#: Outcomes of the forest plot, in panel order.
FOREST_OUTCOMES: tuple[str, ...] = ("math", "reading", "credits", "gpa", "credit_recovered")
#: Outcomes of the event-study plot, in panel order.
EVENT_STUDY_OUTCOMES: tuple[str, ...] = ("math", "reading", "credits", "gpa")
#: Event times drawn by :func:`event_study_plot` (the ends bin everything beyond) and their labels.
_EVENT_TICKS = {-3: "≤-3", -2: "-2", -1: "-1", 0: "0", 1: "+1", 2: "≥+2"}


@styled
def forest_plot(estimates: pd.DataFrame, outcomes: Sequence[str] = FOREST_OUTCOMES) -> Figure:
    """Coefficient (forest) plot: online vs classroom recovery, one panel per outcome, one row per specification.

    Parameters
    ----------
    estimates : pandas.DataFrame
        Tidy estimate rows; the rows of the online-vs-classroom specifications
        of :data:`credit_recovery.reporting.tables.SPECIFICATIONS` are drawn.
    outcomes : sequence of str
        Outcomes, one panel each, in order (those without estimates are left out).

    Returns
    -------
    matplotlib.figure.Figure
    """
    est = estimates.copy()
    est["spec"] = spec_label(est)
    ocr_specs = [s for s in SPECIFICATIONS if SPECIFICATIONS[s][0] in ("online", "online_0")]
    est = est[est["spec"].isin(ocr_specs) & est["estimate"].notna()]
    outcomes = [o for o in outcomes if o in set(est["outcome"])]
    specs = [s for s in ocr_specs if s in set(est["spec"])]
    ncol = max(len(outcomes), 1)
    fig = Figure(figsize=(2.6 * ncol + 1.5, 0.45 * len(specs) + 1.4))
    axes = fig.subplots(1, ncol, sharey=True, squeeze=False)
    colors = list(PALETTE.values())
    for ax, y in zip(axes[0], outcomes):
        d = est[est["outcome"] == y].set_index("spec")
        for i, s in enumerate(specs):
            if s not in d.index:
                continue
            r = d[d.index == s].iloc[0]
            ax.plot([r["ci_low"], r["ci_high"]], [i, i], color=colors[i % len(colors)], lw=2)
            ax.plot(r["estimate"], i, "o", color=colors[i % len(colors)])
        ax.axvline(0, color="0.4", lw=0.8, ls="--")
        ax.set_title(OUTCOME_LABELS.get(y, y), fontsize=10)
        ax.set_yticks(range(len(specs)))
        ax.set_yticklabels(specs)
        fit_ticks(ax.xaxis)  # narrow panel: as many round ticks as fit side by side
    if outcomes:
        axes[0][0].invert_yaxis()
    fig.suptitle("Online vs classroom credit recovery: estimates with 95% confidence intervals", fontsize=11)
    fig.tight_layout()
    return fig


#: Event-study series: (sample, legend label, colour of :data:`PALETTE`).
_EVENT_SERIES: tuple[tuple[str, str, str], ...] = (
    ("panel_es", "student FE event study (two-way FE)", "blue"),
    ("panel_cs", "Callaway-Sant'Anna (same-cohort classroom comparison)", "orange"),
)


@styled
def event_study_plot(estimates: pd.DataFrame, outcomes: Sequence[str] = EVENT_STUDY_OUTCOMES) -> Figure:
    """Event-study plot: online minus classroom recoverers by year relative to the recovery year (ref. -1).

    Parameters
    ----------
    estimates : pandas.DataFrame
        Tidy estimate rows; the event-study rows (treatments ``online_m3`` ... ``online_p2``) of the
        two-way FE event study (sample ``panel_es``) and, beside them, of the same-cohort
        Callaway-Sant'Anna estimator (sample ``panel_cs``) are drawn, with the reference year -1 at zero.
    outcomes : sequence of str
        Outcomes, one panel each, in order (those without estimates are left out).

    Returns
    -------
    matplotlib.figure.Figure
        One panel per outcome; the panels share one x-axis label and, with both estimators, a legend.
    """
    rows = estimates[estimates["sample"].isin([s for s, _, _ in _EVENT_SERIES])
                     & estimates["treatment"].str.startswith("online_")]
    outcomes = [o for o in outcomes if o in set(rows["outcome"])]
    series = [x for x in _EVENT_SERIES if x[0] in set(rows["sample"])]
    ncol = max(len(outcomes), 1)
    fig = Figure(figsize=(3.2 * ncol, 3.4 + 0.4 * (len(series) > 1)))
    axes = fig.subplots(1, ncol, squeeze=False)
    for ax, y in zip(axes[0], outcomes):
        ax.axhline(0, color="0.4", lw=0.8, ls="--")
        ax.axvline(-0.5, color="0.7", lw=0.8)
        for j, (sample, label, color) in enumerate(series):
            d = rows[(rows["outcome"] == y) & (rows["sample"] == sample)].copy()
            if d.empty:
                continue
            d["k"] = [event_time_of(t) for t in d["treatment"]]
            d = pd.concat([d, pd.DataFrame({"k": [-1], "estimate": [0.0], "ci_low": [0.0], "ci_high": [0.0]})])
            d = d.sort_values("k")
            shift = (j - (len(series) - 1) / 2) * 0.15  # side by side, not on top of each other
            ax.errorbar(d["k"] + shift, d["estimate"],
                        yerr=[d["estimate"] - d["ci_low"], d["ci_high"] - d["estimate"]],
                        fmt="o-", color=PALETTE[color], capsize=3, label=label)
        ax.set_xticks(list(_EVENT_TICKS))
        ax.set_xticklabels(list(_EVENT_TICKS.values()))
        ax.set_title(OUTCOME_LABELS.get(y, y), fontsize=10)
    # one label for all panels: under each 3-inch panel the 13-point label was wider than the panel
    fig.supxlabel("years since recovery (0 = recovery year)", fontsize=12)
    fig.suptitle("Event study: online minus classroom recoverers (reference: failure year)", fontsize=11)
    legend = len(series) > 1 and bool(outcomes)  # under the title, above the panels
    fig.tight_layout(rect=(0, 0, 1, 0.9 if legend else 1))
    if legend:
        fig.legend(*axes[0][0].get_legend_handles_labels(), loc="upper center", ncol=len(series), fontsize=9,
                   frameon=False, bbox_to_anchor=(0.5, 0.93))
    return fig


# ---------------------------------------------------------------------------
# CONSORT-style flow diagram
# ---------------------------------------------------------------------------

_FLOW_COLUMNS = ("step", "n", "excluded_reason", "n_excluded")


def _fmt_count(v: Any) -> str:
    if isinstance(v, numbers.Integral):
        return f"{int(v):,}"
    if isinstance(v, numbers.Real) and float(v).is_integer():
        return f"{int(v):,}"
    return str(v)  # e.g. a suppression marker "<10"


def _is_count(v: Any) -> bool:
    return isinstance(v, numbers.Real) and not isinstance(v, bool) and not pd.isna(v) and float(v).is_integer()


def _flow_steps(steps: pd.DataFrame) -> list[dict[str, Any]]:
    missing = [c for c in ("step", "n") if c not in steps.columns]
    if missing:
        raise KeyError(f"steps lacks columns {missing}; expected {list(_FLOW_COLUMNS)} "
                       "(excluded_reason and n_excluded optional)")
    if steps.empty:
        raise ValueError("steps is empty")
    has_excl = "excluded_reason" in steps.columns and "n_excluded" in steps.columns
    out: list[dict[str, Any]] = []
    for row in steps.itertuples(index=False):
        label = str(row.step)
        n = row.n
        reason = getattr(row, "excluded_reason", None) if has_excl else None
        n_ex = getattr(row, "n_excluded", None) if has_excl else None
        if out and out[-1]["step"] == label:
            box = out[-1]
            if box["n"] != n:
                raise ValueError(f"step {label!r} appears with different n: {box['n']} and {n}")
        else:
            box = {"step": label, "n": n, "excluded": []}
            out.append(box)
        if reason is not None and not pd.isna(reason) and str(reason).strip():
            if len(out) == 1:
                raise ValueError("the first step cannot have exclusions (nobody precedes it)")
            box["excluded"].append((str(reason), n_ex))
    for prev, cur in zip(out, out[1:]):
        counts = [e for _, e in cur["excluded"]]
        if cur["excluded"] and all(_is_count(c) for c in counts) and _is_count(prev["n"]) and _is_count(cur["n"]):
            if int(prev["n"]) - int(cur["n"]) != int(sum(counts)):
                raise ValueError(
                    f"flow does not add up at step {cur['step']!r}: {prev['n']} - {cur['n']} != "
                    f"{int(sum(counts))} excluded")
    return out


def plot_flow(steps: pd.DataFrame, *, title: str | None = None, width: float = 10.0) -> Figure:
    """CONSORT-style flow diagram: boxes with counts going down, exclusions to the side.

    Parameters
    ----------
    steps : pandas.DataFrame
        One row per step, in order, with columns ``step`` (label) and ``n``
        (students remaining after the step), and optionally
        ``excluded_reason`` and ``n_excluded`` (students excluded on the way
        from the previous step to this one). A step with several exclusion
        reasons is given as consecutive rows with the same ``step`` and ``n``.
        Counts may be suppression markers (``"<10"``); pass counts through
        :func:`credit_recovery.disclosure.suppression.suppress_small_cells` first.
    title : str, optional
        Figure title.
    width : float
        Figure width in inches.

    Returns
    -------
    matplotlib.figure.Figure

    Raises
    ------
    ValueError
        If the counts do not add up: ``n_previous - n != sum(n_excluded)``.

    Notes
    -----
    Box text reads ``<step>`` and ``n = <count>``; exclusion boxes list
    ``<reason> (n = <count>)``. Counts are written with thousands separators.
    """
    boxes = _flow_steps(steps)
    k = len(boxes)
    with style():
        fig = Figure(figsize=(width, 1.0 + 1.45 * k))
        ax = fig.add_axes((0.0, 0.0, 1.0, 1.0))
        ax.set_axis_off()
        ax.set_xlim(0, 10)
        ax.set_ylim(-1.45 * (k - 1) - 0.6, 0.95 if title else 0.6)
        main_x, side_x = 3.0, 6.3
        box_style = dict(boxstyle="round,pad=0.5", facecolor="white", edgecolor=PALETTE["blue"], linewidth=1.5)
        side_style = dict(boxstyle="round,pad=0.4", facecolor="#F4F4F4", edgecolor=PALETTE["vermillion"],
                          linewidth=1.2)
        arrow = dict(arrowstyle="-|>", color="#333333", linewidth=1.3, shrinkA=0, shrinkB=0)
        if title:
            ax.text(5.0, 0.7, title, ha="center", va="center", fontsize=15, fontweight="bold")
        artists = []
        for i, b in enumerate(boxes):
            y = -1.45 * i
            t = ax.text(main_x, y, f"{b['step']}\nn = {_fmt_count(b['n'])}", ha="center", va="center",
                        fontsize=12, bbox=box_style, linespacing=1.4)
            artists.append(t)
        for i in range(1, k):
            ax.annotate("", xy=(0.5, 1.0), xycoords=artists[i], xytext=(0.5, 0.0), textcoords=artists[i - 1],
                        arrowprops=arrow)
            excl = boxes[i]["excluded"]
            if not excl:
                continue
            y_mid = -1.45 * (i - 0.5)
            total = [e for _, e in excl]
            head = (f"Excluded (n = {_fmt_count(int(sum(total)))})" if all(_is_count(e) for e in total)
                    else "Excluded")
            lines = [head] + [f"• {r} (n = {_fmt_count(e)})" for r, e in excl]
            s = ax.text(side_x, y_mid, "\n".join(lines), ha="left", va="center", fontsize=11, bbox=side_style,
                        linespacing=1.3)
            ax.annotate("", xy=(0.0, 0.5), xycoords=s, xytext=(main_x, y_mid), textcoords="data",
                        arrowprops=dict(arrow, shrinkB=2))
    return fig



#: Choices shown in the lower panel of :func:`spec_curve_plot`: (column, label).
_CURVE_ROWS: tuple[tuple[str, str], ...] = (
    ("caliper", "caliper"), ("ratio", "controls per online unit"), ("replace", "with replacement"),
    ("covariates", "covariates"), ("fixed_effects", "fixed effects"), ("cluster", "cluster"),
)


@styled
def spec_curve_plot(curve: pd.DataFrame, primary: str, outcome: str) -> Figure:
    """Specification curve of one outcome: the estimates sorted with 95% intervals (the primary specification
    in orange, the others blue if significant at 5%, grey if not), and below, the choices of each specification.

    ``curve`` holds one outcome's rows of ``results/spec_curve/curve.csv`` (:mod:`credit_recovery.specs.curve`).
    """
    d = curve.sort_values(["estimate", "spec_id"], kind="stable").reset_index(drop=True)
    x = range(len(d))
    levels = [(c, v) for c, _ in _CURVE_ROWS for v in sorted(d[c].astype(str).unique())]
    fig = Figure(figsize=(10, 6.5))
    top, bottom = fig.subplots(2, 1, sharex=True, gridspec_kw={"height_ratios": [3, 2.2]})
    for i, r in d.iterrows():
        color = PALETTE["orange"] if r["spec_id"] == primary else PALETTE["blue"] if r["p_value"] < 0.05 else "0.6"
        top.plot([i, i], [r["ci_low"], r["ci_high"]], color=color, lw=1.2 if r["spec_id"] == primary else 0.8)
        top.plot(i, r["estimate"], "o", color=color, ms=5 if r["spec_id"] == primary else 3)
        for k, (c, v) in enumerate(levels):
            if str(r[c]) == v:
                bottom.plot(i, k, "s", color=color, ms=3)
    top.axhline(0, color="0.3", lw=0.8, ls="--")
    top.set_ylabel(f"{OUTCOME_LABELS.get(outcome, outcome)}: estimate")
    top.set_title(f"Specification curve, {OUTCOME_LABELS.get(outcome, outcome)}: {len(d)} specifications "
                  "(orange: the primary; blue: p < .05)", fontsize=10)
    labels = dict(_CURVE_ROWS)
    bottom.set_yticks(range(len(levels)))
    bottom.set_yticklabels([f"{labels[c]}: {v}" for c, v in levels], fontsize=7)
    bottom.invert_yaxis()
    bottom.set_xlabel("specifications, sorted by estimate")
    bottom.set_xticks(list(x)[:: max(1, len(d) // 10)])
    fig.tight_layout()
    return fig
