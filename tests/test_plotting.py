import json
import re
import subprocess
import sys

import matplotlib as mpl
import numpy as np
import pandas as pd
import pytest
from matplotlib.colors import to_rgb
from matplotlib.figure import Figure

from credit_recovery.reporting.figures import plot_flow
from credit_recovery.shared.style import PALETTE, STYLE, apply_style, save_figure, style

FLOW = pd.DataFrame({
    "step": ["Failed a core course", "Retook the course", "Retook the course", "Matched sample"],
    "n": [12000, 7000, 7000, 5200],
    "excluded_reason": [None, "Did not retake", "Left the district", "No match within caliper"],
    "n_excluded": [None, 4990, 10, 1800],
})


#: Source of the test figure, run here and in a fresh process (no test module imports another).
_FIGURE_SOURCE = '''
import numpy as np
from matplotlib.figure import Figure
from credit_recovery.shared.style import style


def _figure():
    with style():
        fig = Figure()
        ax = fig.add_subplot()
        x = np.linspace(0, 1, 50)
        for k in range(3):
            ax.plot(x, x ** (k + 1), label=f"power {k + 1}")
        ax.fill_between(x, 0, x ** 3, alpha=0.2)  # clip paths and hashed ids in SVG
        ax.legend()
        ax.set_title("Curves")
    return fig
'''
_namespace: dict = {}
exec(_FIGURE_SOURCE, _namespace)
_figure = _namespace["_figure"]


def test_two_saves_are_byte_identical(tmp_path):
    fig = _figure()
    a = save_figure(fig, tmp_path / "a" / "fig", caption="Three curves", alt_text="Three rising curves")
    b = save_figure(fig, tmp_path / "b" / "fig", caption="Three curves", alt_text="Three rising curves")
    for fmt in ("png", "svg", "json"):
        assert open(a["files"][fmt], "rb").read() == open(b["files"][fmt], "rb").read(), fmt
    svg = open(a["files"]["svg"], encoding="utf-8").read()
    assert "<dc:date>" not in svg and "Matplotlib v" not in svg
    png = open(a["files"]["png"], "rb").read()
    assert b"Software" not in png and b"Three rising curves" in png


_SAVE = """
from credit_recovery.shared.style import save_figure
save_figure(_figure(), STEM, caption="Three curves", alt_text="Three rising curves")
"""


def test_save_is_identical_in_a_fresh_process(tmp_path):
    """A rerun of the pipeline is a new process: hashed SVG ids must not depend on it."""
    here = save_figure(_figure(), tmp_path / "here", caption="Three curves", alt_text="Three rising curves")
    stem = str(tmp_path / "there")
    code = _FIGURE_SOURCE + _SAVE.replace("STEM", repr(stem))
    subprocess.run([sys.executable, "-c", code], check=True, timeout=120)
    for fmt in ("png", "svg"):
        assert open(here["files"][fmt], "rb").read() == open(f"{stem}.{fmt}", "rb").read(), fmt


def test_save_returns_caption_alt_text_and_sidecar(tmp_path):
    out = save_figure(_figure(), tmp_path / "fig", caption=" A caption ", alt_text="Alt text")
    assert out["caption"] == "A caption" and out["alt_text"] == "Alt text"
    assert set(out["files"]) == {"png", "svg", "json"}
    side = json.loads(open(out["files"]["json"], encoding="utf-8").read())
    assert side == {"caption": "A caption", "alt_text": "Alt text", "files": {"png": "fig.png", "svg": "fig.svg"}}
    only_svg = save_figure(_figure(), tmp_path / "g", caption="c", alt_text="a", formats=("svg",), sidecar=False)
    assert set(only_svg["files"]) == {"svg"}
    assert not (tmp_path / "g.png").exists()


@pytest.mark.parametrize("kw, match", [
    (dict(caption="", alt_text="a"), "caption"),
    (dict(caption="c", alt_text="  "), "alt_text"),
    (dict(caption="c", alt_text="a", formats=("pdf",)), "png"),
])
def test_save_validates(tmp_path, kw, match):
    with pytest.raises(ValueError, match=match):
        save_figure(_figure(), tmp_path / "x", **kw)


def test_svg_keeps_text_as_text(tmp_path):
    out = save_figure(_figure(), tmp_path / "fig", caption="c", alt_text="a")
    svg = open(out["files"]["svg"], encoding="utf-8").read()
    assert re.search(r"<text[^>]*>Curves</text>", svg)
    assert "DejaVu Sans" in svg


def test_palette_is_okabe_ito_and_style_is_scoped():
    assert len(set(PALETTE.values())) == 8
    assert PALETTE["vermillion"] == "#D55E00" and PALETTE["bluish_green"] == "#009E73"
    before = dict(mpl.rcParams)
    with style():
        assert mpl.rcParams["font.sans-serif"][0] == "DejaVu Sans"
        assert [to_rgb(c) for c in mpl.rcParams["axes.prop_cycle"].by_key()["color"]] == \
            [to_rgb(c) for c in PALETTE.values()]
    assert mpl.rcParams["svg.hashsalt"] == before["svg.hashsalt"]
    with mpl.rc_context():
        apply_style()
        assert mpl.rcParams["font.size"] == STYLE["font.size"]


def _texts(fig):
    return [t.get_text() for ax in fig.axes for t in ax.texts]


def test_flow_diagram_boxes_and_exclusions():
    fig = plot_flow(FLOW, title="Cohort")
    texts = _texts(fig)
    assert "Failed a core course\nn = 12,000" in texts
    assert "Matched sample\nn = 5,200" in texts
    side = [t for t in texts if t.startswith("Excluded")]
    assert side == ["Excluded (n = 5,000)\n• Did not retake (n = 4,990)\n• Left the district (n = 10)",
                    "Excluded (n = 1,800)\n• No match within caliper (n = 1,800)"]
    # boxes go down the page
    ys = [t.get_position()[1] for t in fig.axes[0].texts if t.get_text().split("\n")[0] in set(FLOW["step"])]
    assert ys == sorted(ys, reverse=True) and len(ys) == 3


def test_flow_diagram_accepts_markers_and_checks_arithmetic(tmp_path):
    steps = FLOW.astype({"n_excluded": object})
    steps.loc[2, "n_excluded"] = "<10"
    fig = plot_flow(steps)
    assert any("Left the district (n = <10)" in t for t in _texts(fig))
    assert any(t.startswith("Excluded\n") for t in _texts(fig))
    save_figure(fig, tmp_path / "flow", caption="Flow", alt_text="Flow diagram")
    bad = FLOW.copy()
    bad.loc[3, "n_excluded"] = 1700
    with pytest.raises(ValueError, match="does not add up"):
        plot_flow(bad)
    with pytest.raises(KeyError, match="step"):
        plot_flow(FLOW.drop(columns="n"))
    first = FLOW.copy()
    first.loc[0, "excluded_reason"] = "x"
    with pytest.raises(ValueError, match="first step"):
        plot_flow(first)


def test_styled_figures_leave_global_rcparams_alone():
    """Figure builders use the house style without leaking it (a leak made later saves differ by process)."""
    import matplotlib as mpl

    from credit_recovery.shared.style import styled

    @styled
    def build():
        fig = Figure()
        fig.add_subplot().plot([0, 1], [0, 1])
        return fig

    before = {k: v for k, v in mpl.rcParams.items()}
    build()
    after = {k: v for k, v in mpl.rcParams.items()}
    assert {k for k in before if before[k] != after[k]} == set()


def _tick_label_boxes(width_in, lim, max_ticks=6, fitted=True):
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    from credit_recovery.shared.style import fit_ticks

    with style():
        fig = Figure(figsize=(width_in, 2))
        ax = fig.add_subplot()
        ax.set_xlim(*lim)
        if fitted:
            fit_ticks(ax.xaxis, max_ticks)
        canvas = FigureCanvasAgg(fig)
        canvas.draw()
        shown = [t for t in ax.get_xticklabels() if t.get_text()]
        lo, hi = ax.get_xlim()
        ticks = [x for x in ax.get_xticks() if lo <= x <= hi]
        return ticks, [t.get_window_extent(canvas.get_renderer()) for t in shown]


def _smallest_gap(boxes):
    return min(b.x0 - a.x1 for a, b in zip(boxes, boxes[1:]))


#: Axis ranges on which matplotlib's default ticks run together on a 2.6-inch figure (labels such as "0.025").
CROWDED = [(0, 0.1), (-0.0083, 0.0004), (-1234.0, 560.0)]


def test_default_ticks_run_together_on_a_narrow_axis():
    for lim in CROWDED:
        assert _smallest_gap(_tick_label_boxes(2.6, lim, fitted=False)[1]) < 4, lim


@pytest.mark.parametrize("lim", CROWDED + [(-0.21, 0.0)])
def test_fitted_ticks_keep_labels_apart_on_a_narrow_axis(lim):
    ticks, boxes = _tick_label_boxes(2.6, lim)
    assert len(ticks) >= 2
    steps = np.diff(ticks) / 10 ** np.floor(np.log10(np.diff(ticks)))
    assert np.all(np.isin(np.round(steps, 6), [1, 2, 5]))  # round steps
    assert _smallest_gap(boxes) >= 4  # a visible gap between neighbouring labels


def test_fitted_ticks_use_the_room_of_a_wide_axis():
    narrow, _ = _tick_label_boxes(2.6, (0, 0.1))
    wide, _ = _tick_label_boxes(10, (0, 0.1), max_ticks=6)
    assert len(narrow) < len(wide) == 6
