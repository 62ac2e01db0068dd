"""One figure style for every figure the pipeline publishes.

* :data:`PALETTE` -- the Okabe-Ito colour-blind-safe palette;
* :func:`apply_style` / :func:`style` -- fonts (DejaVu Sans, shipped with
  matplotlib) and sizes readable on a slide;
* :func:`save_figure` -- writes ``<stem>.png``, ``<stem>.svg`` and
  ``<stem>.json`` (caption and alt text) byte-identically on every rerun;
* :func:`plot_flow` -- a CONSORT-style flow diagram of the cohort.

SVG files keep their text as text (``svg.fonttype = "none"``) so that screen
readers, search and the privacy scanner (:mod:`credit_recovery.disclosure.privacy`) can
read it.
"""
from __future__ import annotations

import contextlib
import functools
import io
import json
import numbers
from pathlib import Path
from typing import Any, Iterator

import matplotlib as mpl
import pandas as pd
from matplotlib.figure import Figure

__all__ = ["PALETTE", "STYLE", "apply_style", "plot_flow", "save_figure", "style"]

#: Okabe & Ito (2008) colour-blind-safe palette, in the order used for series.
PALETTE: dict[str, str] = {
    "blue": "#0072B2",
    "orange": "#E69F00",
    "bluish_green": "#009E73",
    "vermillion": "#D55E00",
    "reddish_purple": "#CC79A7",
    "sky_blue": "#56B4E9",
    "yellow": "#F0E442",
    "black": "#000000",
}

_SALT = "credit_recovery"

#: rcParams of the house style (16:9 figures, fonts readable on a slide).
STYLE: dict[str, Any] = {
    "font.family": "sans-serif",
    "font.sans-serif": ["DejaVu Sans"],
    "font.size": 13,
    "axes.titlesize": 15,
    "axes.titleweight": "bold",
    "axes.labelsize": 13,
    "xtick.labelsize": 12,
    "ytick.labelsize": 12,
    "legend.fontsize": 12,
    "legend.frameon": False,
    "figure.figsize": (8.0, 4.5),
    "figure.dpi": 100,
    "savefig.dpi": 200,
    "savefig.bbox": "tight",
    "savefig.pad_inches": 0.1,
    "axes.prop_cycle": mpl.cycler(color=list(PALETTE.values())),
    "axes.spines.top": False,
    "axes.spines.right": False,
    "axes.grid": True,
    "grid.color": "#DDDDDD",
    "grid.linewidth": 0.8,
    "axes.axisbelow": True,
    "lines.linewidth": 2.0,
    "lines.markersize": 7,
    "image.cmap": "cividis",
    "svg.fonttype": "none",
    "svg.hashsalt": _SALT,
    "pdf.fonttype": 42,
    "path.simplify": True,
}

_PNG_METADATA = {"Software": None}
_SVG_METADATA = {"Date": None, "Creator": None}


def apply_style() -> None:
    """Set the house style globally (``matplotlib.rcParams``)."""
    mpl.rcParams.update(STYLE)


@contextlib.contextmanager
def style() -> Iterator[None]:
    """Context manager applying the house style only inside the ``with`` block.

    Examples
    --------
    >>> with style():
    ...     fig = Figure()
    """
    with mpl.rc_context(STYLE):
        yield


def styled(func):
    """Decorator: build a figure under the house style without changing global rcParams."""

    @functools.wraps(func)
    def wrapper(*args, **kwargs):
        with style():
            return func(*args, **kwargs)

    return wrapper


def _check_text(name: str, value: Any) -> str:
    if not isinstance(value, str) or not value.strip():
        raise ValueError(f"{name} must be a non-empty string")
    return value.strip()


def save_figure(
    fig: Figure,
    stem: str | Path,
    *,
    caption: str,
    alt_text: str,
    formats: tuple[str, ...] = ("png", "svg"),
    sidecar: bool = True,
) -> dict[str, Any]:
    """Write a figure as PNG and SVG, byte-identical on every rerun.

    Parameters
    ----------
    fig : matplotlib.figure.Figure
        The figure (not closed; the caller owns it).
    stem : str or Path
        Output path without suffix; ``<stem>.png``, ``<stem>.svg`` and
        ``<stem>.json`` are written (parent folders are created).
    caption : str
        Caption printed under the figure in reports.
    alt_text : str
        Text alternative for readers who cannot see the figure: say what the
        figure shows and its main message.
    formats : tuple of {"png", "svg"}
        Image formats to write.
    sidecar : bool
        Also write ``<stem>.json`` with the caption, alt text and file names.

    Returns
    -------
    dict
        ``{"stem", "caption", "alt_text", "files": {format: path}}``, paths as
        strings.

    Notes
    -----
    Reproducibility: no date or software version in the metadata, a fixed
    ``svg.hashsalt`` for SVG element ids, text kept as text in SVG. The alt
    text and caption go into the files' own metadata as well (PNG
    ``Description``/``Title``, SVG ``dc:description``/``dc:title``).
    """
    if not isinstance(fig, Figure):
        raise TypeError("fig must be a matplotlib Figure")
    caption = _check_text("caption", caption)
    alt_text = _check_text("alt_text", alt_text)
    allowed = ("png", "svg")
    bad = [f for f in formats if f not in allowed]
    if bad or not formats:
        raise ValueError(f"formats must be a non-empty subset of {list(allowed)}, got {list(formats)}")
    stem = Path(stem)
    stem.parent.mkdir(parents=True, exist_ok=True)
    files: dict[str, str] = {}
    # the saving settings are pinned, so the bytes do not depend on what else ran in this process
    with mpl.rc_context({**{k: v for k, v in STYLE.items() if k.startswith("savefig.")},
                         "svg.hashsalt": _SALT, "svg.fonttype": "none"}):
        for fmt in sorted(set(formats), key=allowed.index):
            meta = dict(_PNG_METADATA) if fmt == "png" else dict(_SVG_METADATA)
            meta.update({"Title": caption, "Description": alt_text})
            buf = io.BytesIO()
            fig.savefig(buf, format=fmt, metadata=meta)
            path = stem.with_name(stem.name + "." + fmt)
            path.write_bytes(buf.getvalue())
            files[fmt] = str(path)
    result = {"stem": str(stem), "caption": caption, "alt_text": alt_text, "files": files}
    if sidecar:
        side = {"caption": caption, "alt_text": alt_text,
                "files": {k: Path(v).name for k, v in files.items()}}
        path = stem.with_name(stem.name + ".json")
        path.write_text(json.dumps(side, sort_keys=True, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
        files["json"] = str(path)
    return result


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
        :func:`credit_recovery.disclosure.privacy.suppress_small_cells` first.
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

