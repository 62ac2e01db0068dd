"""One figure style for every figure the pipeline publishes.

* :data:`PALETTE` -- the Okabe-Ito colour-blind-safe palette;
* :func:`apply_style` / :func:`style` -- fonts (DejaVu Sans, shipped with
  matplotlib) and sizes readable on a slide;
* :func:`save_figure` -- writes ``<stem>.png``, ``<stem>.svg`` and
  ``<stem>.json`` (caption and alt text) byte-identically on every rerun;
* :func:`fit_ticks` -- round x ticks, as many as fit without their labels
  running together (for narrow panels).

The figures themselves are drawn by the stage that owns their numbers
(``design.plots``, ``engagement.figures``, ``truth.figures``,
``reporting.figures``).

SVG files keep their text as text (``svg.fonttype = "none"``) so that screen
readers, search and the privacy scanner (:mod:`credit_recovery.disclosure.scanner`) can
read it.
"""
from __future__ import annotations

import contextlib
import functools
import io
import json
from pathlib import Path
from typing import Any, Iterator

import matplotlib as mpl
import numpy as np
from matplotlib.axis import Axis
from matplotlib.figure import Figure
from matplotlib.textpath import text_to_path
from matplotlib.ticker import MaxNLocator

__all__ = ["PALETTE", "STYLE", "FittedTicks", "apply_style", "figure_bytes", "fit_ticks", "save_figure", "style",
           "styled"]

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


def figure_bytes(fig: Figure, fmt: str = "png", *, caption: str, alt_text: str) -> bytes:
    """The figure as PNG or SVG bytes, with :func:`save_figure`'s pinned settings and metadata.

    The saving settings are pinned, so the bytes do not depend on what else ran in the process.
    """
    meta = dict(_PNG_METADATA) if fmt == "png" else dict(_SVG_METADATA)
    meta.update({"Title": caption, "Description": alt_text})
    buf = io.BytesIO()
    with mpl.rc_context({**{k: v for k, v in STYLE.items() if k.startswith("savefig.")},
                         "svg.hashsalt": _SALT, "svg.fonttype": "none"}):
        fig.savefig(buf, format=fmt, metadata=meta)
    return buf.getvalue()


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
    for fmt in sorted(set(formats), key=allowed.index):
        path = stem.with_name(stem.name + "." + fmt)
        path.write_bytes(figure_bytes(fig, fmt, caption=caption, alt_text=alt_text))
        files[fmt] = str(path)
    result = {"stem": str(stem), "caption": caption, "alt_text": alt_text, "files": files}
    if sidecar:
        side = {"caption": caption, "alt_text": alt_text,
                "files": {k: Path(v).name for k, v in files.items()}}
        path = stem.with_name(stem.name + ".json")
        path.write_text(json.dumps(side, sort_keys=True, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
        files["json"] = str(path)
    return result


class FittedTicks(MaxNLocator):
    """Round ticks on a horizontal axis, as many as fit: neighbouring tick labels never run together.

    Steps are 1, 2 or 5 times a power of ten. Starting from at most
    ``max_ticks`` ticks, the locator takes fewer until every two neighbouring
    labels (as the axis's formatter writes them, in its tick-label font) are
    at least ``gap`` points apart at the axis's drawn width. The default
    locator assumes labels about three characters wide and so crowds labels
    such as "-0.025" on a narrow panel.
    """

    def __init__(self, max_ticks: int = 6, gap: float = 8.0):
        super().__init__(nbins=max_ticks - 1, steps=[1, 2, 5, 10], min_n_ticks=1)
        self.max_ticks, self.gap = max_ticks, gap

    def __call__(self) -> np.ndarray:
        vmin, vmax = sorted(self.axis.get_view_interval())
        for nbins in range(self.max_ticks - 1, 0, -1):
            self.set_params(nbins=nbins)
            locs = self.tick_values(vmin, vmax)
            if self._labels_fit(locs, vmin, vmax):
                break
        return locs

    def _labels_fit(self, locs: np.ndarray, vmin: float, vmax: float) -> bool:
        shown = (locs >= vmin) & (locs <= vmax)
        if shown.sum() < 2 or vmax <= vmin:
            return True
        font = self.axis.get_major_ticks(1)[0].label1.get_fontproperties()
        labels = np.asarray(self.axis.get_major_formatter().format_ticks(locs), dtype=object)[shown]
        widths = np.array([text_to_path.get_text_width_height_descent(t, font, ismath=t.count("$") >= 2)[0]
                           for t in labels])
        axis_pt = self.axis.axes.bbox.width * 72.0 / self.axis.axes.figure.dpi
        spacing = (locs[1] - locs[0]) / (vmax - vmin) * axis_pt
        return bool(np.all((widths[1:] + widths[:-1]) / 2 + self.gap <= spacing))


def fit_ticks(axis: Axis, max_ticks: int = 6) -> None:
    """Put a :class:`FittedTicks` locator on a horizontal ``axis`` (e.g. ``ax.xaxis`` of a narrow panel)."""
    axis.set_major_locator(FittedTicks(max_ticks))
