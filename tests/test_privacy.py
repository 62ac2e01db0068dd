import base64
import io

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from matplotlib.figure import Figure

from credit_recovery import scan_public_files, suppress_small_cells
from credit_recovery.shared.style import save_figure
from credit_recovery.disclosure.identifiers import IdentifierIndex
from credit_recovery.disclosure.scanner import (
    PrivacyError,
    check_public_folder,
    is_count_header,
    scan_bytes,
    scan_png_bytes,
    scan_text,
)

IDS = {
    "student_id": pd.Series(["S0012345", "S0099999", None]),
    "course_record_id": ["CR-2014-000017"],
    "mentor_id": {"M042"},
}
LEAK_ID = "S0012345"


# ---------------------------------------------------------------------------
# files with planted problems, one builder per format
# ---------------------------------------------------------------------------

def _table(n_small=12, ident="S-none"):
    return pd.DataFrame({"school": ["North", "South"], "n_students": [250, n_small],
                         "mean_gpa": [2.31, 2.05], "note": ["ok", ident]})


def _csv(n_small=12, ident="S-none"):
    return _table(n_small, ident).to_csv(index=False)


def _markdown(n_small=12, ident="S-none"):
    rows = ["# Results", "", "| school | n_students | mean_gpa | note |", "|---|---:|---:|---|"]
    for r in _table(n_small, ident).itertuples(index=False):
        rows.append(f"| {r.school} | {r.n_students} | {r.mean_gpa} | {r.note} |")
    return "\n".join(rows) + "\n"


def _html(n_small=12, ident="S-none"):
    return ("<html><body><h1>Report</h1><p>Students compared with similar students.</p>"
            + _table(n_small, ident).to_html(index=False) + "</body></html>\n")


def _svg(n_small=12, ident="S-none", tmp_path=None):
    fig = Figure(figsize=(4, 3))
    ax = fig.add_subplot()
    ax.bar([0, 1], [250, n_small])
    ax.set_xticks([0, 1], ["North", ident])
    ax.set_title(f"South (n = {n_small})")
    out = save_figure(fig, tmp_path / "fig", caption="Counts by school", alt_text="Bar chart of counts")
    return open(out["files"]["svg"], encoding="utf-8").read()


BUILDERS = {"csv": _csv, "markdown": _markdown, "html": _html, "svg": _svg}
SUFFIX = {"csv": ".csv", "markdown": ".md", "html": ".html", "svg": ".svg"}


def _build(fmt, tmp_path, **kw):
    if fmt == "svg":
        return _svg(tmp_path=tmp_path, **kw)
    return BUILDERS[fmt](**kw)


@pytest.mark.parametrize("fmt", sorted(BUILDERS))
def test_clean_file_passes(fmt, tmp_path):
    assert scan_text(_build(fmt, tmp_path), fmt, identifiers=IDS) == []


@pytest.mark.parametrize("fmt", sorted(BUILDERS))
def test_planted_identifier_is_caught(fmt, tmp_path):
    found = scan_text(_build(fmt, tmp_path, ident=LEAK_ID), fmt, identifiers=IDS)
    kinds = [f.kind for f in found]
    assert kinds == ["identifier"], found
    assert "student_id" in found[0].detail
    assert LEAK_ID not in found[0].detail  # the value itself is never printed


@pytest.mark.parametrize("fmt", sorted(BUILDERS))
def test_planted_small_cell_is_caught(fmt, tmp_path):
    found = scan_text(_build(fmt, tmp_path, n_small=7), fmt, identifiers=IDS)
    assert found and {f.kind for f in found} == {"small_cell"}, found
    assert all("7" in f.detail for f in found)


@pytest.mark.parametrize("fmt", ["csv", "markdown", "html"])
def test_suppressed_table_passes(fmt, tmp_path):
    df = suppress_small_cells(_table(n_small=7), "n_students", dependent_columns=["mean_gpa"])
    if fmt == "csv":
        text = df.to_csv(index=False)
    elif fmt == "html":
        text = df.to_html(index=False)
    else:
        text = "| school | n_students | mean_gpa |\n|---|---|---|\n" + "".join(
            f"| {r.school} | {r.n_students} | {r.mean_gpa} |\n" for r in df.itertuples(index=False))
    assert "<10" in text or "&lt;10" in text
    assert scan_text(text, fmt, identifiers=IDS) == []


def test_svg_with_marker_passes(tmp_path):
    fig = Figure()
    fig.add_subplot().set_title("South (n = <10)")
    svg = open(save_figure(fig, tmp_path / "f", caption="c", alt_text="a")["files"]["svg"]).read()
    assert "n = &lt;10" in svg or "n = <10" in svg
    assert scan_text(svg, "svg", identifiers=IDS) == []


def test_latex_and_json(tmp_path):
    tex = _table(n_small=7).style.hide(axis="index").to_latex(hrules=True)
    found = scan_text(tex, "latex")
    assert [f.kind for f in found] == ["small_cell"]
    assert scan_text(_table().style.to_latex(hrules=True), "latex") == []
    assert [f.kind for f in scan_text('{"groups": [{"n_treated": 4}]}', "json")] == ["small_cell"]
    assert scan_text('{"groups": [{"n_treated": 40, "p": 3}]}', "json") == []


def test_identifier_matching_is_whole_token_and_case_insensitive():
    idx = IdentifierIndex(IDS)
    assert idx.find("S00123456 and xS0012345") == []
    assert [h[0] for h in idx.find("row s0012345,")] == ["student_id"]
    # identifiers containing separators match as whole tokens too
    assert [h[0] for h in idx.find("(CR-2014-000017)")] == ["course_record_id"]
    assert idx.find("CR-2014-0000170") == []
    assert [h[0] for h in idx.find("mentor M042.")] == ["mentor_id"]


def test_many_identifiers():
    ids = pd.Series([f"S{i:07d}" for i in range(100_000)])
    idx = IdentifierIndex({"student_id": ids})
    text = "value,n\n" + "\n".join(f"{i * 0.5},{i + 20}" for i in range(5000)) + "\nS0054321,30\n"
    found = scan_text(text, "csv", identifiers=idx)
    assert [(f.kind, f.line) for f in found] == [("identifier", 5002)]


def test_count_header_convention():
    for h in ["n", "N", "n (%)", "n_treated", "N treated", "count", "Students", "n_students", "treated_n"]:
        assert is_count_header(h), h
    for h in ["mean", "n_clusters", "n_schools", "name", "nation", "p_value", ""]:
        assert not is_count_header(h), h
    assert is_count_header("n_clusters", exempt=())


def test_leading_number_cells_and_free_text():
    text = "| group | n (%) |\n|---|---|\n| a | 7 (35%) |\n| b | 1,234 (65%) |\n"
    assert [f.line for f in scan_text(text, "markdown")] == [3]
    assert scan_text("We had N=3 students", "text")[0].kind == "small_cell"
    assert scan_text("n = 12; n_treated = 1,234; n = 0; min_cell_size = 5; an = 3", "text") == []


def test_png_metadata_and_embedded_png(tmp_path):
    fig = Figure()
    fig.add_subplot().plot([1, 2])
    out = save_figure(fig, tmp_path / "fig", caption="Caption", alt_text="A line for student S0012345")
    data = open(out["files"]["png"], "rb").read()
    assert [f.kind for f in scan_png_bytes(data, identifiers=IDS)] == ["identifier"]
    clean = save_figure(fig, tmp_path / "ok", caption="Caption", alt_text="A rising line")
    clean_png = open(clean["files"]["png"], "rb").read()
    assert scan_png_bytes(clean_png, identifiers=IDS) == []
    html = f'<img src="data:image/png;base64,{base64.b64encode(data).decode()}">'
    found = scan_text(html, "html", identifiers=IDS)
    assert [f.kind for f in found] == ["identifier"] and "embedded PNG" in found[0].detail
    assert scan_bytes("x.bin", b"\x00\xff\x00")[0].kind == "unscanned"


def _write_clean_folder(root, tmp_path):
    (root / "tables").mkdir(parents=True)
    (root / "tables" / "t.csv").write_text(_csv())
    (root / "tables" / "t.md").write_text(_markdown())
    (root / "report.html").write_text(_html())
    fig = Figure()
    fig.add_subplot().plot([1, 2])
    save_figure(fig, root / "figures" / "f", caption="c", alt_text="a")


def test_folder_scan_and_check(tmp_path):
    root = tmp_path / "public"
    _write_clean_folder(root, tmp_path)
    assert scan_public_files(root, IDS).empty
    assert check_public_folder(root, IDS).empty
    (root / "tables" / "bad.csv").write_text(_csv(n_small=3, ident="M042"))
    found = scan_public_files(root, IDS)
    assert list(found.columns) == ["file", "kind", "line", "detail"]
    assert sorted(found["kind"]) == ["identifier", "small_cell"]
    assert set(found["file"]) == {"tables/bad.csv"}
    with pytest.raises(PrivacyError) as err:
        check_public_folder(root, IDS)
    assert "tables/bad.csv" in str(err.value) and "M042" not in str(err.value)
    assert len(err.value.findings) == 2
    # a PNG whose text metadata names a mentor
    fig = Figure()
    fig.add_subplot().plot([1, 2])
    leaked = save_figure(fig, tmp_path / "elsewhere" / "g", caption="c", alt_text="Mentor M042")
    (root / "figures" / "g.png").write_bytes(open(leaked["files"]["png"], "rb").read())
    found = scan_public_files(root, IDS)
    assert found.loc[found["file"] == "figures/g.png", "kind"].tolist() == ["identifier"]


def test_scan_text_validates_format():
    with pytest.raises(ValueError, match="csv"):
        scan_text("", "docx")


# ---------------------------------------------------------------------------
# suppression
# ---------------------------------------------------------------------------

def _visible_small(col, lo, hi):
    v = pd.to_numeric(col, errors="coerce")
    return ((v >= lo) & (v < hi)).any()


@settings(max_examples=60, deadline=None)
@given(counts=st.lists(st.integers(0, 40), min_size=1, max_size=12),
       k=st.integers(1, 15), complementary=st.booleans(), n_groups=st.integers(1, 3))
def test_suppression_never_leaves_small_counts(counts, k, complementary, n_groups):
    df = pd.DataFrame({"g": [i % n_groups for i in range(len(counts))], "n": counts,
                       "rate": np.linspace(0, 1, len(counts))})
    out = suppress_small_cells(df, "n", min_cell_size=k, dependent_columns=["rate"], marker="<k",
                               complementary=complementary, by="g")
    assert not _visible_small(out["n"], 1, k)
    hidden = (out["n"] == "<k").to_numpy()
    assert ((out["rate"] == "<k").to_numpy() == hidden).all()  # dependents follow their count
    orig = np.asarray(counts)
    assert (pd.to_numeric(out["n"], errors="coerce").to_numpy()[~hidden] == orig[~hidden]).all()
    assert (orig[hidden] > 0).all()  # zeros are never hidden
    if complementary:
        for g in range(n_groups):
            m = df["g"].to_numpy() == g
            h = hidden & m
            if h.any():
                # subtraction from the group total reveals >= k students in >= 2 cells,
                # unless every non-zero cell of the group is hidden
                assert (orig[h].sum() >= k and h.sum() >= 2) or (orig[m & ~hidden] == 0).all()
    pd.testing.assert_frame_equal(df, pd.DataFrame({"g": df["g"], "n": counts, "rate": df["rate"]}))


def test_suppression_example_and_cross_column_dependents():
    df = pd.DataFrame({"school": list("abcd"), "n_treated": [5, 30, 40, 50], "n_control": [20, 25, 30, 35]})
    df["n"] = df["n_treated"] + df["n_control"]
    out = suppress_small_cells(df, ["n_treated", "n_control"],
                               dependent_columns={"n_treated": ["n"], "n_control": ["n"]}, flag_column="suppressed")
    # primary a; complementary b (smallest visible n_treated); n follows its parts
    assert out["n_treated"].tolist() == ["<10", "<10", 40, 50]
    assert out["n"].tolist() == ["<10", "<10", 70, 85]
    assert out["n_control"].tolist() == [20, 25, 30, 35]
    assert out["suppressed"].tolist() == [True, True, False, False]
    assert out["n_control"].dtype == df["n_control"].dtype


def test_suppression_validates():
    df = pd.DataFrame({"n": [1, 20]})
    with pytest.raises(KeyError, match="available"):
        suppress_small_cells(df, "count")
    with pytest.raises(ValueError, match="min_cell_size"):
        suppress_small_cells(df, "n", min_cell_size=0)
    with pytest.raises(ValueError, match="not count columns"):
        suppress_small_cells(df, "n", dependent_columns={"x": ["n"]})


def test_suppressed_output_passes_the_scanner(tmp_path):
    rng = np.random.default_rng(3)
    df = pd.DataFrame({"school": [f"sch{i}" for i in range(30)], "n": rng.integers(0, 60, 30),
                       "mean_score": rng.normal(250, 20, 30).round(1)})
    assert scan_text(df.to_csv(index=False), "csv")  # unsuppressed has small cells
    out = suppress_small_cells(df, "n", dependent_columns=["mean_score"])
    buf = io.StringIO()
    out.to_csv(buf, index=False)
    assert scan_text(buf.getvalue(), "csv") == []


def test_html_scripts_and_embedded_svg(tmp_path):
    # minified JavaScript is not prose: no n = k there, but identifiers inside scripts are still found
    assert scan_text("<script>for(var n=1;n<5;n++){}</script><p>All students</p>", "html") == []
    found = scan_text('<script>var rows = ["S0012345"];</script>', "html", identifiers=IDS)
    assert [f.kind for f in found] == ["identifier"]
    svg = _svg(n_small=4, ident=LEAK_ID, tmp_path=tmp_path)
    html = f'<p>Figure</p>\n<img alt="a" src="data:image/svg+xml;base64,{base64.b64encode(svg.encode()).decode()}">'
    found = scan_text(html, "html", identifiers=IDS)
    assert sorted(f.kind for f in found) == ["identifier", "small_cell"]
    assert all(f.detail.startswith("embedded SVG") and f.line == 2 for f in found)
