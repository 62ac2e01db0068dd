"""No text runs into other text in any figure the pipeline publishes.

Every public figure (``results/public/figures/*`` and the Monte Carlo figure)
is drawn from small synthetic inputs built here, rendered, and every piece of
text it drew (titles, axis and tick labels, legends, annotations, texts) is
checked against every other: their rendered boxes may not overlap by more than
:data:`TOLERANCE` pixels. :func:`overlapping_texts` is tested on planted
figures first, so a failure of the real figures means what it says.
"""
from __future__ import annotations

import itertools

import numpy as np
import pandas as pd
import pytest
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.text import Text

from credit_recovery.design.balance import balance_before_after
from credit_recovery.design.matching import match
from credit_recovery.design.plots import love_plot, overlap_plot
from credit_recovery.engagement.figures import (efficiency_figure, idle_pass_figure, login_hour_figure,
                                                type_profile_figure)
from credit_recovery.engagement.typology import DEFAULT_TYPOLOGY_FEATURES
from credit_recovery.reporting import vocabulary
from credit_recovery.reporting.figures import event_study_plot, forest_plot, plot_flow
from credit_recovery.reporting.fragments import plot_effects
from credit_recovery.reporting.state import state_figure
from credit_recovery.reporting.tables import SPECIFICATIONS
from credit_recovery.shared.estimate_schema import estimate_row, estimates_frame
from credit_recovery.truth.figures import mc_plot, validity_heatmap
from credit_recovery.truth.montecarlo import summarize_replicates

#: Overlap (pixels at the figure's dpi) tolerated between two text boxes: glyph boxes may touch.
TOLERANCE = 1.5


# ---------------------------------------------------------------------------
# the detector
# ---------------------------------------------------------------------------

def drawn_texts(fig: Figure) -> tuple[object, list[Text]]:
    """Render ``fig``; the renderer and every text artist that drew a non-blank string.

    Texts are caught as they draw, so tick labels outside the view, hidden
    artists and empty annotations (arrows) are left out by matplotlib itself.
    """
    drawn: list[Text] = []
    draw = Text.draw

    def spy(self, renderer):
        draw(self, renderer)
        if self.get_visible() and self.get_text().strip():
            drawn.append(self)

    canvas = fig.canvas if isinstance(fig.canvas, FigureCanvasAgg) else FigureCanvasAgg(fig)
    Text.draw = spy
    try:
        canvas.draw()
    finally:
        Text.draw = draw
    return canvas.get_renderer(), drawn


def text_box(text: Text, renderer) -> tuple[np.ndarray, float, float, float]:
    """The rectangle a text covers as drawn: centre, half width, half height, angle (radians).

    A text in a frame (``bbox=...``) covers its frame. A rotated text covers
    its rotated rectangle, not the larger upright box around it, so slanted
    tick labels side by side do not count as overlapping.
    """
    frame = text.get_bbox_patch()
    ext = (frame or text).get_window_extent(renderer)
    centre = np.array([(ext.x0 + ext.x1) / 2, (ext.y0 + ext.y1) / 2])
    angle = np.deg2rad(text.get_rotation() % 180)
    if frame is not None or angle == 0:
        return centre, ext.width / 2, ext.height / 2, 0.0
    rotation = text.get_rotation()
    text.set_rotation(0)
    flat = text.get_window_extent(renderer)
    text.set_rotation(rotation)
    return centre, flat.width / 2, flat.height / 2, float(angle)


def overlap_depth(a, b) -> float:
    """How far two rectangles (:func:`text_box`) overlap: the least overlap over their edge directions (<= 0: apart)."""
    def corners(box):
        centre, hw, hh, angle = box
        u, v = np.array([np.cos(angle), np.sin(angle)]), np.array([-np.sin(angle), np.cos(angle)])
        return np.array([centre + sx * hw * u + sy * hh * v for sx in (-1, 1) for sy in (-1, 1)]), (u, v)

    (ca, axes_a), (cb, axes_b) = corners(a), corners(b)
    depth = np.inf
    for axis in (*axes_a, *axes_b):  # separating-axis test
        pa, pb = ca @ axis, cb @ axis
        depth = min(depth, min(pa.max(), pb.max()) - max(pa.min(), pb.min()))
    return float(depth)


def overlapping_texts(fig: Figure, tolerance: float = TOLERANCE) -> list[tuple[str, str, float]]:
    """Every pair of drawn texts of ``fig`` whose boxes overlap by more than ``tolerance`` pixels.

    Returns ``(text, other text, overlap in pixels)`` per pair; texts of
    different panels are compared too (a panel's label can run into its
    neighbour's).
    """
    renderer, texts = drawn_texts(fig)
    boxes = [text_box(t, renderer) for t in texts]
    found = []
    for (i, a), (j, b) in itertools.combinations(enumerate(boxes), 2):
        reach = a[1] + a[2] + b[1] + b[2]
        if np.abs(a[0] - b[0]).max() > reach:
            continue
        depth = overlap_depth(a, b)
        if depth > tolerance:
            found.append((texts[i].get_text(), texts[j].get_text(), round(depth, 1)))
    return found


def assert_texts_apart(fig: Figure) -> None:
    """Fail, naming the texts, if any two texts of ``fig`` overlap."""
    found = overlapping_texts(fig)
    assert not found, "texts run into each other: " + "; ".join(f"{a!r} and {b!r} by {d} px" for a, b, d in found)


def _texts_figure(*placed) -> Figure:
    fig = Figure(figsize=(4, 3))
    for x, y, s, kw in placed:
        fig.text(x, y, s, fontsize=12, **kw)
    return fig


def test_detector_finds_planted_overlap():
    fig = _texts_figure((0.2, 0.5, "first label", {}), (0.3, 0.5, "second label", {}), (0.2, 0.1, "apart", {}))
    found = overlapping_texts(fig)
    assert [(a, b) for a, b, _ in found] == [("first label", "second label")]
    assert found[0][2] > 10


def test_detector_finds_run_together_tick_labels():
    """The old forest-plot panel: a narrow axis with the default nine ticks at steps of 0.025."""
    fig = Figure(figsize=(2.0, 2.0))
    ax = fig.add_subplot()
    ax.set_xlim(0, 0.1)
    ax.set_xticks(np.arange(0, 0.101, 0.025))
    ax.tick_params(labelsize=12)
    found = overlapping_texts(fig)
    assert ("0.000", "0.025") in {(a, b) for a, b, _ in found}


def test_detector_ignores_near_misses_rotation_blanks_and_hidden_text():
    fig = _texts_figure((0.1, 0.5, "left", {"ha": "right"}), (0.1, 0.5, "right", {"ha": "left"}),  # they touch
                        (0.5, 0.5, "hidden", {"visible": False}), (0.5, 0.5, "  ", {}),
                        (0.5, 0.5, "slanted one", {"rotation": 45}), (0.72, 0.5, "slanted two", {"rotation": 45}))
    assert overlapping_texts(fig) == []
    ax = fig.add_subplot()
    ax.set_xticks(range(8))
    ax.set_xticklabels([f"a long tick label {i}" for i in range(8)], rotation=45, ha="right")
    ax.set_xlim(0.5, 1.5)  # only tick 1 is drawn; the others exist but sit outside the view
    assert overlapping_texts(fig) == []


def test_detector_compares_texts_of_different_panels():
    fig = Figure(figsize=(6, 2))
    for ax in fig.subplots(1, 3):
        ax.set_xlabel("a label much wider than its narrow panel")
    assert len(overlapping_texts(fig)) == 2


# ---------------------------------------------------------------------------
# synthetic inputs of the public figures
# ---------------------------------------------------------------------------

#: Typical size of each outcome's effects, in its own units.
_SIZE = {"math": 0.25, "reading": 0.1, "credits": 0.15, "gpa": 0.1, "credit_recovered": 0.1}


def _estimates(seed: int = 0, scale: float = 1.0, positive: bool = False) -> pd.DataFrame:
    """Tidy estimate rows of every specification, with event-study rows, effects about ``scale`` x typical."""
    rng = np.random.default_rng(seed)
    rows = []
    for label, (treat, estimator, sample) in SPECIFICATIONS.items():
        for y, size in _SIZE.items():
            mean = size * scale * (1 if positive else -1)
            rows.append(estimate_row(outcome=y, treatment=treat, estimand="ATT", estimator=estimator, sample=sample,
                                     estimate=rng.normal(mean, abs(mean) / 3), std_error=abs(mean) / 4, n=800,
                                     n_clusters=10))
    for y, size in _SIZE.items():
        for k in ("m3", "m2", "0", "p1", "p2"):
            rows.append(estimate_row(outcome=y, treatment=f"online_{k}", estimand="event", sample="panel_es",
                                     estimator="student FE event study, school-by-year FE",
                                     estimate=rng.normal(0, size * scale / 2), std_error=size * scale / 4, n=900))
    return estimates_frame(rows)


def _cohort_flow() -> pd.DataFrame:
    """A flow as ``CohortResult.flow_public`` gives it: long labels, two-line reasons, a suppressed count."""
    return pd.DataFrame({
        "step": ["Failed core course attempts", "Failed courses with a recovery attempt",
                 "Failed courses with a recovery attempt", "Recovered in the following school year",
                 "Analytic cohort (students)\nonline 1732, classroom 2450"],
        "n": [27875, 11581, 11581, 11581, 4182],
        "excluded_reason": [None, "no recovery attempt", "recovery attempt in another district", None,
                            "later episode, or not the\nepisode's index course"],
        "n_excluded": [None, 16288, "<10", None, 7399],
    })


def _balance() -> tuple[pd.DataFrame, pd.Series, pd.Series, pd.Series]:
    """Balance before and after matching of a cohort-like sample with many dummy columns."""
    rng = np.random.default_rng(3)
    n = 600
    df = pd.DataFrame({
        "math_pre": rng.normal(0, 1, n), "reading_pre": rng.normal(0, 1, n), "gpa_pre": rng.normal(2.2, 0.6, n),
        "absence_rate_pre": rng.beta(2, 8, n), "grade": rng.integers(9, 13, n), "frl": rng.integers(0, 2, n),
        "race_ethnicity": rng.choice(["Asian", "Black", "Hispanic", "Other", "White"], n),
        "subject": rng.choice(["ela", "math", "science", "social_studies"], n),
        "school_id": rng.choice([f"SCH{i:02d}" for i in range(1, 11)], n),
    })
    logit = 0.4 * df["math_pre"] - 0.5 * df["gpa_pre"] + 0.8 + rng.normal(0, 0.5, n)
    df["propensity"] = 1 / (1 + np.exp(-logit))
    df["online"] = (rng.uniform(size=n) < df["propensity"]).astype(int)
    m = match(df, "online", "propensity", caliper=0.2)
    covariates = ["math_pre", "reading_pre", "gpa_pre", "absence_rate_pre", "grade", "frl", "race_ethnicity",
                  "subject", "school_id", "propensity"]
    return balance_before_after(df, "online", covariates, m.weights), df["propensity"], df["online"], m.weights


def _engagement() -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """Features, types and sessions of 400 online student-courses of four types, six school years."""
    rng = np.random.default_rng(4)
    n = 400
    types = np.array(["engaged", "moonlighter", "nominal_exerter", "incompatible_struggler"])[np.arange(n) % 4]
    ids = pd.DataFrame({"student_id": [f"ST{100000 + i // 2}" for i in range(n)],
                        "course_record_id": [f"CR{i:07d}" for i in range(n)]})
    features = ids.assign(school_year=2012 + np.arange(n) % 6, idle_share=rng.beta(2, 4, n),
                          credits_earned=rng.choice([0.0, 0.5], n),
                          activities_per_active_hour=np.where(types == "engaged", 12, 4) + rng.normal(0, 1, n))
    for c in DEFAULT_TYPOLOGY_FEATURES:
        if c not in features:
            features[c] = rng.gamma(2.0, 10.0, n)
    hours = np.where(types == "moonlighter", rng.integers(16, 22, n), rng.integers(8, 15, n))
    start = pd.Timestamp("2015-01-05", tz="America/Chicago") + pd.to_timedelta(hours, unit="h")
    sessions = ids.assign(start=start.tz_convert("UTC"))
    return features, ids.assign(type=types), sessions


def _mc_summary() -> pd.DataFrame:
    rng = np.random.default_rng(5)
    parts = []
    for conf in (0.0, 1.0):
        for treat, estimator, sample in list(SPECIFICATIONS.values())[:6]:
            truth = rng.normal(-0.2, 0.01, 40)
            est = truth + rng.normal(0.05 * conf * (sample in ("cohort", "matched")), 0.05, 40)
            parts.append(pd.DataFrame({"confounding": conf, "estimand_id": "ocr_math", "outcome": "math",
                                       "estimator": estimator, "sample": sample, "truth": truth, "estimate": est,
                                       "ci_low": est - 0.1, "ci_high": est + 0.1}))
    rows = pd.concat(parts, ignore_index=True)
    rows["covers"] = (rows["ci_low"] <= rows["truth"]) & (rows["truth"] <= rows["ci_high"])
    return summarize_replicates(rows)


def _validity_summary() -> pd.DataFrame:
    """A Monte Carlo summary over the default scenario suite's worlds and every designed estimator."""
    rng = np.random.default_rng(6)
    scenarios = ["default", "heterogeneous", "dynamic", "school_shocks", "attrition", "mentor_selection",
                 "confounding", "random"]
    specs = [("ocr_math", "matched_fe"), ("ocr_math", "panel"), ("ocr_credits", "matched_fe"),
             ("ocr_credits", "panel"), ("ocr_gpa", "panel_es"), ("mentor_math", "online"), ("mentor_math", "ipw3")]
    parts = []
    for scenario in scenarios:
        for estimand, sample in specs:
            truth = rng.normal(-0.2, 0.01, 30)
            est = truth + rng.normal(0.03, 0.05, 30)
            parts.append(pd.DataFrame({"scenario": scenario, "scale": "medium", "estimand_id": estimand,
                                       "outcome": estimand.split("_", 1)[1], "estimator": f"estimator of {sample}",
                                       "sample": sample, "truth": truth, "estimate": est, "ci_low": est - 0.1,
                                       "ci_high": est + 0.1, "planted": -0.2,
                                       "assumptions_hold": scenario in ("default", "random")}))
    rows = pd.concat(parts, ignore_index=True)
    rows["covers"] = (rows["ci_low"] <= rows["truth"]) & (rows["truth"] <= rows["ci_high"])
    return summarize_replicates(rows)


def _brief_effects() -> Figure:
    """The brief's figure as ``notebooks/brief.ipynb`` calls it (labels, units, scales of the narrative)."""
    est = _estimates()
    head = est[est["sample"] == "matched_fe"]
    out = vocabulary.OUTCOMES
    return plot_effects(head, {o: out[o].label for o in head["outcome"]}, units={o: out[o].unit for o in head["outcome"]},
                        scale={o: out[o].scale for o in head["outcome"]})


def _state_table(n_districts: int = 20) -> pd.DataFrame:
    """A state table of ``n_districts`` districts and the pooled row, five outcomes, intervals of every width."""
    rng = np.random.default_rng(5)
    rows = []
    for d in [f"district_{i + 1:02d}" for i in range(n_districts)] + ["pooled"]:
        for y, scale in (("math", 0.2), ("reading", 0.1), ("credits", 0.3), ("gpa", 0.1), ("credit_recovered", 0.05)):
            est, half = rng.normal(-scale, scale), abs(rng.normal(scale, scale / 2))
            rows.append({"district": d, "outcome": y, "estimate": est, "ci_low": est - half, "ci_high": est + half})
    return pd.DataFrame(rows)


def _public_figures() -> dict:
    def balance(which):
        table, distance, treatment, weights = _balance()
        return love_plot(table) if which == "love" else overlap_plot(distance, treatment, weights)

    def engagement(which):
        features, types, sessions = _engagement()
        return {"profiles": lambda: type_profile_figure(features, types),
                "idle_pass": lambda: idle_pass_figure(features),
                "login_hours": lambda: login_hour_figure(sessions, types),
                "efficiency": lambda: efficiency_figure(features, types)}[which]()[0]

    return {
        "cohort_flow": lambda: plot_flow(_cohort_flow()),
        "love_plot": lambda: balance("love"),
        "propensity_overlap": lambda: balance("overlap"),
        "forest_plot": lambda: forest_plot(_estimates()),
        "event_study": lambda: event_study_plot(_estimates()),
        "brief_effects": _brief_effects,
        "engagement_type_profiles": lambda: engagement("profiles"),
        "engagement_idle_pass": lambda: engagement("idle_pass"),
        "engagement_login_hours": lambda: engagement("login_hours"),
        "engagement_efficiency": lambda: engagement("efficiency"),
        "monte_carlo": lambda: mc_plot(_mc_summary()),
        "validity_matrix": lambda: validity_heatmap(_validity_summary()),
        "state_districts": lambda: state_figure(_state_table()),
    }


PUBLIC_FIGURES = _public_figures()


@pytest.mark.parametrize("name", sorted(PUBLIC_FIGURES))
def test_no_text_runs_into_other_text(name):
    assert_texts_apart(PUBLIC_FIGURES[name]())


@pytest.mark.parametrize("scale, positive", [(0.02, False), (0.1, True), (0.4, False), (0.7, True), (40.0, False)])
def test_forest_and_event_study_fit_their_labels_at_any_scale(scale, positive):
    """Tick labels of the narrow panels stay apart whatever the outcomes' units.

    The forest plot of commit 312dadd fails every case but the last (e.g. at
    0.7: "0.000", "0.025", "0.050" run together in the credit-recovered panel).
    """
    est = _estimates(seed=int(scale * 10), scale=scale, positive=positive)
    assert_texts_apart(forest_plot(est))
    assert_texts_apart(event_study_plot(est))


def test_love_plot_key_stays_off_the_points():
    """The key sits beside the axes: inside it hid the largest differences (drawn bottom right)."""
    fig = _public_figures()["love_plot"]()
    renderer, _ = drawn_texts(fig)
    ax = fig.axes[0]
    assert ax.get_legend().get_window_extent(renderer).x0 >= ax.get_window_extent(renderer).x1
