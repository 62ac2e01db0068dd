"""Reports: notebooks executed to deterministic self-contained HTML; every number in the brief traceable to
its result file; the privacy rule failing on planted leaks; provenance in the manifest and the footers."""
import html
import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import nbformat
import pandas as pd
import pytest
from matplotlib.figure import Figure

from credit_recovery.reporting.numbers import KEY_COLUMNS, TRANSFORMS
from credit_recovery.shared.style import save_figure
from credit_recovery.disclosure.scanner import scan_bytes
from credit_recovery.reporting.fragments import figure_html, provenance_footer
from credit_recovery.reporting.notebooks import (INJECTED_CELL_ID, check_alt_text, execute_notebook, notebook_html,
                                                 render_notebook)


SPAN = re.compile(r'<span class="num" ([^>]*)>([^<]*)</span>')
ATTR = re.compile(r"""(data-[a-z]+)=(?:"([^"]*)"|'([^']*)')""")


# ---------------------------------------------------------------------------
# notebooks -> HTML (no pipeline)
# ---------------------------------------------------------------------------


def _png(tmp_path):
    fig = Figure(figsize=(2, 1))
    fig.add_subplot().plot([0, 1], [1, 0])
    return Path(save_figure(fig, tmp_path / "f", caption="A line.", alt_text="A falling line.")["files"]["png"])


def _notebook():
    cells = [
        nbformat.v4.new_code_cell("x = 1\nlabel = 'default'"),
        nbformat.v4.new_code_cell(
            "import sys, warnings\nfrom pathlib import Path\nfrom IPython.display import HTML, display\n"
            "from credit_recovery.reporting.fragments import figure_html\n"
            "warnings.warn('goes to stderr, not to the page')\n"
            "display(HTML(f'<p id=\"out\">{label} {x * 2}</p>'))\n"
            "display(HTML(figure_html(Path(png).read_bytes(), caption='A line.', alt_text='A falling line.')))"),
    ]
    cells[0].metadata["tags"] = ["parameters"]
    for i, c in enumerate(cells):
        c.id = f"test-{i}"
    nb = nbformat.v4.new_notebook(cells=cells)
    nb.metadata = {"kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"}}
    return nb


def test_parameters_are_injected_after_the_parameters_cell_and_override_the_defaults(tmp_path):
    nb = _notebook()
    nb.cells[1].source = "display(HTML(f'<p id=\"out\">{label} {x * 2} {cfg[\"a\"][1]}</p>'))"
    nb.cells[1].source = "from IPython.display import HTML, display\n" + nb.cells[1].source
    run = execute_notebook(nb, {"x": 21, "label": "it's \"quoted\"", "cfg": {"a": [1, None]}}, cwd=str(tmp_path))
    assert [c.id for c in run.cells] == ["test-0", INJECTED_CELL_ID, "test-1"]
    assert run.cells[1].metadata["tags"] == ["injected-parameters"]
    assert [c.id for c in nb.cells] == ["test-0", "test-1"]          # the input notebook is not modified
    html_out = run.cells[2].outputs[0]["data"]["text/html"]
    assert html_out == '<p id="out">it\'s "quoted" 42 None</p>'


def test_notebook_renders_without_code_identically_twice(tmp_path):
    png = _png(tmp_path)
    pages = [render_notebook(_notebook(), {"x": 21, "png": str(png), "label": "answer"}, cwd=str(tmp_path),
                             title="T") for _ in range(2)]
    assert pages[0] == pages[1]
    page = pages[0]
    assert '<p id="out">answer 42</p>' in page
    assert "import sys" not in page and "warnings.warn" not in page and "stderr" not in page
    assert 'alt="A falling line."' in page and "data:image/png;base64," in page
    assert "<script" not in page and "http://" not in page and "https://" not in page


def test_images_without_alt_text_are_refused(tmp_path):
    png = _png(tmp_path)
    check_alt_text(figure_html(png.read_bytes(), caption="c", alt_text="a <b> & c"))
    with pytest.raises(ValueError, match="alt text"):
        check_alt_text('<p><img src="x.png"></p>')
    with pytest.raises(ValueError, match="alt text"):
        check_alt_text('<img alt="" src="x.png">')
    with pytest.raises(ValueError):
        figure_html(b"GIF89a", caption="c", alt_text="a")
    # a notebook that shows a raw matplotlib image (no alt) cannot be exported
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("")])
    nb.cells[0].outputs = [nbformat.v4.new_output("display_data", data={"image/png": "iVBORw0KGgo="})]
    with pytest.raises(ValueError, match="alt text"):
        notebook_html(nb, title="t")


def test_footer_states_commit_config_and_data_hashes():
    f = provenance_footer({"git": {"available": True, "commit": "abc123", "dirty": True}, "config_sha256": "c0ffee",
                           "data_sha256": "d00d", "seeds": {"simulation": 3}, "python": "3.11",
                           "packages": {"pandas": "2"}, "platform": "Linux", "synthetic": True})
    assert "abc123" in f and "uncommitted changes" in f and "c0ffee" in f and "d00d" in f and "manifest.json" in f


# ---------------------------------------------------------------------------
# from a fresh tiny pipeline run
# ---------------------------------------------------------------------------


@pytest.fixture(scope="module")
def run(tiny_run):
    return tiny_run


def _brief_numbers(page):
    out = []
    for m in SPAN.finditer(page):
        attrs = {k: html.unescape(a or b) for k, a, b in ATTR.findall(m.group(1))}
        out.append((attrs, m.group(2)))
    return out


def _visible_text(page):
    body = page[page.index("<main>"):page.index('<footer class="provenance">')]
    body = re.sub(r"(?s)<style.*?</style>", " ", body)
    body = re.sub(r'data:image/[a-z+]+;base64,[A-Za-z0-9+/=]+', "", body)
    body = re.sub(r"<[^>]+>", " ", body)
    return html.unescape(body)


def test_every_number_in_the_brief_equals_its_result_file(run, repo):
    """Each number carries the row and column it came from; recompute it from the file and compare."""
    r = run / "results"
    vm = pd.read_csv(repo / "docs/results/validity_matrix.csv", keep_default_na=False)  # reports.validity_matrix
    page = (r / "public/brief.html").read_text()
    est = pd.read_csv(r / "models/estimates.csv", keep_default_na=False, na_values=[""])
    est_key = {tuple("" if pd.isna(v) else str(v) for v in row[list(KEY_COLUMNS)]): row
               for _, row in est.iterrows()}
    bal = pd.read_csv(r / "matching/balance.csv")
    cov = bal[bal["variable"] != "logit"]
    numbers = _brief_numbers(page)
    sources = {a["data-source"] for a, _ in numbers}
    assert {"estimates", "balance", "validity"} <= sources
    matched_rows = 0
    for attrs, shown in numbers:
        key = json.loads(attrs["data-key"])
        field, source = attrs["data-field"], attrs["data-source"]
        if source == "estimates":
            value = float(est_key[tuple(key)][field])
            matched_rows += 1
        elif source == "balance" and key == "all":
            a = cov["after_smd"].abs()
            value = {"count_variables": len(cov), "count_abs_after_smd_le_0.05": int((a <= 0.05).sum()),
                     "count_abs_after_smd_gt_0.25": int((a > 0.25).sum())}[field]
        elif source == "balance":
            value = float(bal.set_index("variable").loc[key, field])
        elif source == "types":
            t = pd.read_parquet(r / "engagement/types.parquet")
            value = float((t["user_type" if "user_type" in t.columns else "type"].astype(str) == key).mean())
        elif source == "constant":
            value = {"per_percentage_points": 10, "satisfied": 0.05, "limit": 0.25}[field]
        elif source == "match_summary":
            value = float(pd.read_csv(r / "matching/match_summary.csv").set_index("index").loc[key, field])
        elif source == "sensitivity":
            from credit_recovery.specs.sensitivity import SENSITIVITY_KEY
            sens = pd.read_csv(r / "models/sensitivity.csv", keep_default_na=False, na_values=[""])
            value = float(sens.set_index(list(SENSITIVITY_KEY)).loc[tuple(key), field])
        elif source == "subgroups":
            from credit_recovery.reporting.subgroups import subgroup_counts
            value = float(subgroup_counts(pd.read_csv(r / "public/subgroups.csv"), key[0])[field])
        elif source == "sensitivity_benchmarks":
            b = pd.read_csv(r / "models/sensitivity_benchmarks.csv").set_index(["outcome", "benchmark", "kd"])
            value = float(b.loc[(key[0], key[1], float(key[2])), field])
        elif source == "validity" and field in ("replicates_total", "scenarios"):
            at = vm[vm["scale"] == key[0]]
            value = (at.groupby("scenario")["replicates"].max().sum() if field == "replicates_total"
                     else at["scenario"].nunique())
        elif source == "validity" and field == "misleads_below":
            value = 0.90
        elif source == "validity":
            value = float(vm.set_index(["scenario", "scale", "estimand_id", "estimator", "sample"]).loc[tuple(key),
                                                                                                       field])
        else:
            raise AssertionError(f"number from an unknown source: {attrs}")
        assert float(attrs["data-value"]) == pytest.approx(value, rel=1e-9, abs=1e-12), attrs
        expected = TRANSFORMS[attrs["data-transform"]](value)
        digits = int(attrs["data-digits"])
        assert shown.rstrip("%") == f"{expected:,.{digits}f}".lstrip("-") or \
            float(shown.rstrip("%").replace(",", "")) == round(abs(expected), digits), (attrs, shown)
    # the headline effects of every outcome are there (estimate and both CI limits)
    fields = {(json.loads(a["data-key"])[1], a["data-field"]) for a, _ in numbers if a["data-source"] == "estimates"}
    for outcome in ("math", "reading", "credits", "gpa", "credit_recovered"):
        assert {(outcome, "estimate"), (outcome, "ci_low"), (outcome, "ci_high")} <= fields, outcome
    assert matched_rows >= 15
    # and no number in the text escapes the tagging (apart from "95%" of the confidence level)
    tagged = SPAN.sub(" ", page)
    stray = re.findall(r"\d[\d,.]*%?", _visible_text(tagged.replace("95% confidence", "confidence")))
    assert stray == [], stray[:10]


def test_brief_names_the_comparison_group_and_hides_code(run):
    page = (run / "results/public/brief.html").read_text()
    text = _visible_text(page)
    assert text.count("compared with similar students who retook the course in a classroom".capitalize()) >= 5
    for section in ("What we compared", "What changed", "What mentor support changed",
                    "How students used the online courses", "What to keep in mind"):
        assert section in text
    assert "synthetic district" in text
    assert "import " not in page and "<script" not in page and "In&nbsp;[" not in page
    assert len(re.findall(r"<img\b", page)) == len(re.findall(r'<img\b[^>]*\balt="[^"]+"', page)) >= 1


def test_appendix_shows_tables_figures_and_truth(run):
    page = (run / "results/public/appendix.html").read_text()
    for part in ("Estimates", "Balance before and after matching", "Cohort", "Validation against the planted truth",
                 "cover the planted truth", "nearest-neighbour matching",
                 "Validity of the estimators in simulated worlds", "Coverage / bias of the designed estimators",
                 "Where each estimator can be trusted", "Cells that fail where the assumptions hold",
                 'alt="Heat map of confidence-interval coverage'):
        assert part in page, part
    imgs = re.findall(r'<img\b[^>]*\balt="([^"]+)"', page)
    assert len(imgs) >= 3 and len(imgs) == len(re.findall(r"<img\b", page))
    figures = {p.stem for p in (run / "results/public/figures").glob("*.png")} - {"brief_effects"}
    assert all(f.replace("_", " ").capitalize() in page for f in figures), figures


def test_footers_agree_with_the_manifest(run):
    manifest = json.loads((run / "results/manifest.json").read_text())
    for name in ("brief.html", "appendix.html"):
        page = (run / "results/public" / name).read_text()
        assert manifest["config_sha256"] in page
        if manifest["git"]["available"]:
            assert manifest["git"]["commit"] in page
    # the manifest: git state, config and hash, inputs' SHA-256, packages, seeds, platform, times,
    # and the rule that made every public file
    assert manifest["git"]["available"] and len(manifest["git"]["commit"]) == 40
    assert manifest["seeds"] == {"simulation": 3, "matching": manifest["config"]["matching"]["seed"]}
    assert any(k.startswith("source:") for k in manifest["inputs"])
    assert all(len(v["sha256"]) == 64 for v in manifest["inputs"].values())
    outs = manifest["outputs"]
    public = {p.relative_to(run).as_posix() for p in (run / "results/public").rglob("*") if p.is_file()}
    assert set(outs) == public
    assert outs["results/public/brief.html"]["rule"] == "brief"
    assert outs["results/public/appendix.html"]["rule"] == "appendix"
    assert outs["results/public/figures/cohort_flow.png"]["rule"] == "cohort"
    assert outs["results/public/figures/cohort_flow.json"]["rule"] == "cohort (sidecar)"
    assert not [p for p, v in outs.items() if "not made by" in v["rule"]]
    assert manifest["started"] and manifest["ended"] and manifest["packages"]["pandas"]


def test_privacy_rule_fails_the_run_on_planted_leaks(run, tmp_path, run_snakemake, tiny_config):
    wd = tmp_path / "leaky"
    shutil.copytree(run, wd, symlinks=True)
    student = str(pd.read_parquet(wd / "results/data/students.parquet")["student_id"].iloc[0])
    brief = wd / "results/public/brief.html"
    brief.write_text(brief.read_text().replace("</main>", f"<p>Example: {student}</p></main>"))
    (wd / "results/public/leaky_groups.csv").write_text("subgroup,n,mean_gpa\ngrade 9,7,1.9\ngrade 10,40,2.1\n")
    proc = run_snakemake(wd, tiny_config, "--forcerun", "privacy_scan",
                         "results/disclosure/privacy_scan.csv", check=False)
    assert proc.returncode != 0
    log = (wd / "results/logs/privacy_scan.log").read_text()
    assert "[identifier] brief.html" in log and "student_id" in log
    assert "[small_cell] leaky_groups.csv" in log
    assert student not in log                       # findings never print the identifier itself
    # and with the leaks removed the same rule passes
    brief.write_text((run / "results/public/brief.html").read_text())
    (wd / "results/public/leaky_groups.csv").unlink()
    run_snakemake(wd, tiny_config, "--forcerun", "privacy_scan",
                  "results/disclosure/privacy_scan.csv")


def test_snakemake_report_shows_every_figure_and_is_publishable(run, tmp_path, repo):
    out = tmp_path / "report.html"
    cmd = [sys.executable, "-m", "snakemake", "--snakefile", str(repo / "Snakefile"), "--directory", str(run),
           "--configfile", str(run / "study.yaml"), "--report", str(out)]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    page = out.read_text()
    for stem in ("cohort_flow", "love_plot", "propensity_overlap", "brief_effects", "forest_plot", "event_study"):
        assert f"{stem}.png" in page, stem
    for category in ("Reports", "Cohort", "Matching", "Effects"):
        assert category in page
    ids = {"student_id": pd.read_parquet(run / "results/data/students.parquet")["student_id"]}
    findings = scan_bytes("report.html", out.read_bytes(), identifiers=ids)
    assert [f for f in findings if f.kind in ("identifier", "identifier_column")] == []


@pytest.mark.parametrize("name", ["brief", "appendix"])
def test_every_notebook_cell_has_a_fixed_id(repo, name):
    """nbformat gives a cell without an id a random one when the notebook runs, and the HTML would change
    from run to run (the byte-identical rerun tests in test_pipeline.py caught it once)."""
    cells = json.loads((repo / "notebooks" / f"{name}.ipynb").read_text())["cells"]
    ids = [c.get("id") for c in cells]
    assert all(ids) and len(set(ids)) == len(ids), ids
