"""Public outputs: the publishable estimate table, the notebooks behind the brief and appendix, figures.

Everything produced here goes under ``results/public/`` and is drawn from
aggregate result tables; no student-level data enters. The brief and the
appendix are Jupyter notebooks (``notebooks/``) executed with parameters
injected (:func:`render_notebook`) and exported to one self-contained HTML
file each: no code, figures embedded as base64 with their alt text, and no
timestamps, so the same inputs give byte-identical HTML.
"""
from __future__ import annotations

import base64
import copy
import html
import io
import re
from typing import Any, Mapping, Sequence

import numpy as np
import pandas as pd

from credit_recovery.shared.estimate_schema import ESTIMATE_COLUMNS

__all__ = [
    "REPORT_CSS",
    "execute_notebook",
    "figure_html",
    "inject_parameters",
    "notebook_html",
    "plot_effects",
    "provenance_footer",
    "provenance_summary",
    "public_estimates",
    "render_notebook",
    "table_html",
]


def public_estimates(estimates: pd.DataFrame, min_cell_size: int = 10) -> pd.DataFrame:
    """Estimates fit to publish: rows resting on fewer than ``min_cell_size`` students are suppressed.

    Suppressed rows keep their labels; their numbers become empty and
    ``suppressed`` is true.
    """
    out = estimates[list(ESTIMATE_COLUMNS)].copy()
    small = out["n"].astype(float) < min_cell_size
    for c in ("estimate", "std_error", "ci_low", "ci_high", "p_value"):
        out[c] = out[c].astype(float).where(~small)
    out["n"] = out["n"].astype("Int64").where(~small)
    out["suppressed"] = small.to_numpy()
    return out


# ---------------------------------------------------------------------------
# notebooks -> HTML
# ---------------------------------------------------------------------------

#: Style sheet of the brief and the appendix (no external resources).
REPORT_CSS = """
body{font-family:"DejaVu Sans",Arial,Helvetica,sans-serif;max-width:52em;margin:2em auto;padding:0 1em;
line-height:1.55;color:#1a1a1a;background:#fff}
h1{font-size:1.8em;line-height:1.2}h2{margin-top:1.6em;border-bottom:2px solid #0072B2;padding-bottom:.2em}
table{border-collapse:collapse;margin:1em 0;font-size:.9em}th,td{border-bottom:1px solid #ccc;padding:.3em .6em;
text-align:left;vertical-align:top}thead th{border-bottom:2px solid #333}
figure{margin:1.5em 0}figure img{max-width:100%;height:auto}figcaption{font-size:.9em;color:#444}
.num{font-weight:bold}.caveat{background:#f4f4f4;padding:.6em 1em;border-left:4px solid #E69F00}
footer{margin-top:3em;border-top:1px solid #ccc;font-size:.8em;color:#555}
.jp-OutputArea-output pre{white-space:pre-wrap}
.wide{overflow-x:auto}
.anchor-link{display:none}
"""


def inject_parameters(nb: Any, parameters: Mapping[str, Any]) -> Any:
    """Return a copy of ``nb`` with a cell assigning ``parameters`` after the ``parameters``-tagged cell.

    Works like papermill: the injected cell is tagged ``injected-parameters``
    and overrides the defaults of the cell tagged ``parameters`` (or comes
    first when no cell is tagged). Values are written with :func:`repr`.
    """
    import nbformat

    nb = copy.deepcopy(nb)
    lines = [f"{k} = {v!r}" for k, v in sorted(parameters.items())]
    cell = nbformat.v4.new_code_cell("# injected parameters\n" + "\n".join(lines))
    cell.metadata["tags"] = ["injected-parameters"]
    cell.id = "injected-parameters"
    idx = next((i for i, c in enumerate(nb.cells) if "parameters" in c.get("metadata", {}).get("tags", [])), -1)
    nb.cells.insert(idx + 1, cell)
    return nb


def execute_notebook(nb: Any, parameters: Mapping[str, Any], *, cwd: str, timeout: int = 600,
                     kernel_name: str = "python3") -> Any:
    """Execute a notebook with parameters injected; return the executed notebook.

    The kernel runs in ``cwd`` with the Python of this process; cell timing
    metadata is not recorded. A cell raising an error stops execution
    (``nbclient.exceptions.CellExecutionError``).
    """
    from nbclient import NotebookClient

    run = inject_parameters(nb, parameters)
    client = NotebookClient(run, timeout=timeout, kernel_name=kernel_name, record_timing=False,
                            resources={"metadata": {"path": cwd}})
    client.execute()
    return run


def _strip(nb: Any) -> Any:
    """Drop what varies between runs or must not be published: stderr, timings, execution counts."""
    nb = copy.deepcopy(nb)
    nb.metadata = {k: v for k, v in nb.metadata.items() if k in ("kernelspec", "language_info")}
    nb.metadata.get("language_info", {}).pop("version", None)
    for cell in nb.cells:
        cell.metadata.pop("execution", None)
        if cell.cell_type == "code":
            cell.execution_count = None
            cell.outputs = [o for o in cell.outputs
                            if not (o.output_type == "stream" and o.get("name") == "stderr")]
            for o in cell.outputs:
                if "execution_count" in o:
                    o.execution_count = None
    return nb


_IMG = re.compile(r"<img\b[^>]*>", re.I)
_ALT = re.compile(r"""\balt\s*=\s*("[^"]+"|'[^']+')""", re.I)


#: The placeholder nbconvert puts on images shown without alt text (a raw matplotlib output).
_NBCONVERT_NO_ALT = "No description has been provided for this image"


def check_alt_text(page: str) -> None:
    """Raise ``ValueError`` if an ``<img>`` tag has no alt text of its own.

    nbconvert's placeholder for raw image outputs counts as missing.
    """
    bad = [m.group(0)[:80] for m in _IMG.finditer(page)
           if not _ALT.search(m.group(0)) or _NBCONVERT_NO_ALT in m.group(0)]
    if bad:
        raise ValueError(f"{len(bad)} image(s) without alt text, e.g. {bad[0]!r}; "
                         "embed figures with credit_recovery.reporting.notebooks.figure_html")


def notebook_html(nb: Any, *, title: str, lang: str = "en") -> str:
    """Export an executed notebook to one self-contained HTML page without code.

    Uses nbconvert's ``basic`` template with inputs and prompts excluded,
    wrapped in a page with :data:`REPORT_CSS`; no scripts and no external
    resources. Raises ``ValueError`` if an image lacks alt text.
    """
    from nbconvert import HTMLExporter

    exporter = HTMLExporter(template_name="basic", exclude_input=True, exclude_input_prompt=True,
                            exclude_output_prompt=True, anchor_link_text="")
    body, _ = exporter.from_notebook_node(_strip(nb))
    body = "\n".join(line.rstrip() for line in body.strip().splitlines())
    page = (f'<!DOCTYPE html>\n<html lang="{html.escape(lang)}">\n<head>\n<meta charset="utf-8">\n'
            f'<meta name="viewport" content="width=device-width, initial-scale=1">\n'
            f"<title>{html.escape(title)}</title>\n<style>{REPORT_CSS}</style>\n</head>\n<body>\n"
            f"<main>\n{body}\n</main>\n</body>\n</html>\n")
    check_alt_text(page)
    return page


def render_notebook(nb: Any, parameters: Mapping[str, Any], *, cwd: str, title: str, timeout: int = 600) -> str:
    """Execute ``nb`` with ``parameters`` (:func:`execute_notebook`) and export it (:func:`notebook_html`)."""
    return notebook_html(execute_notebook(nb, parameters, cwd=cwd, timeout=timeout), title=title)


# ---------------------------------------------------------------------------
# pieces the notebooks display
# ---------------------------------------------------------------------------


def figure_html(png: bytes, *, caption: str, alt_text: str, width: int | None = None) -> str:
    """A ``<figure>`` with the PNG embedded as base64, its alt text and caption."""
    if not png.startswith(b"\x89PNG"):
        raise ValueError("figure_html expects PNG bytes")
    if not alt_text or not alt_text.strip():
        raise ValueError("alt_text must be a non-empty string")
    data = base64.b64encode(png).decode("ascii")
    w = f' width="{int(width)}"' if width else ""
    return (f'<figure><img src="data:image/png;base64,{data}" alt="{html.escape(alt_text, quote=True)}"{w}>'
            f"<figcaption>{html.escape(caption)}</figcaption></figure>")


def table_html(df: pd.DataFrame, *, digits: int = 3, caption: str | None = None,
               na: str = "") -> str:
    """A plain HTML table of ``df`` (no index), floats rounded to ``digits`` significant places."""
    def cell(v: Any) -> str:
        if v is None or (isinstance(v, float) and np.isnan(v)) or v is pd.NA:
            return html.escape(na)
        if isinstance(v, (bool, np.bool_)):
            return "yes" if v else "no"
        if isinstance(v, (float, np.floating)):
            return f"{float(v):.{digits}g}" if abs(v) < 1e-3 and v != 0 else f"{float(v):,.{digits}f}"
        if isinstance(v, (int, np.integer)):
            return f"{int(v):,}"
        return html.escape(str(v))

    head = "".join(f"<th>{html.escape(str(c))}</th>" for c in df.columns)
    body = "".join("<tr>" + "".join(f"<td>{cell(v)}</td>" for v in row) + "</tr>"
                   for row in df.itertuples(index=False, name=None))
    cap = f"<caption>{html.escape(caption)}</caption>" if caption else ""
    return f'<div class="wide"><table>{cap}<thead><tr>{head}</tr></thead><tbody>{body}</tbody></table></div>'


def plot_effects(headline: pd.DataFrame, labels: Mapping[str, str] | None = None, *,
                 units: Mapping[str, str] | None = None, scale: Mapping[str, float] | None = None):
    """Dot-and-whisker figure of effects, one row per outcome, each on its own scale.

    Parameters
    ----------
    headline : pandas.DataFrame
        Estimate rows (``outcome, estimate, ci_low, ci_high``).
    labels, units, scale : mapping, optional
        Outcome label, unit words and multiplier (100 for proportions).

    Returns
    -------
    matplotlib.figure.Figure
    """
    from matplotlib.figure import Figure

    from credit_recovery.shared.style import PALETTE, style

    labels, units, scale = dict(labels or {}), dict(units or {}), dict(scale or {})
    k = len(headline)
    if k == 0:
        raise ValueError("headline has no rows to plot")
    with style():
        fig = Figure(figsize=(8.0, 1.0 + 1.1 * k))
        axes = fig.subplots(k, 1, squeeze=False)[:, 0]
        for ax, (_, r) in zip(axes, headline.iterrows()):
            s = scale.get(r["outcome"], 1.0)
            est, lo, hi = (float(r[c]) * s for c in ("estimate", "ci_low", "ci_high"))
            colour = PALETTE["vermillion"] if est < 0 else PALETTE["blue"]
            ax.errorbar([est], [0], xerr=[[est - lo], [hi - est]], fmt="o", color=colour, capsize=6)
            ax.axvline(0, color="#333333", linewidth=1)
            span = max(abs(lo), abs(hi)) * 1.25 or 1.0
            ax.set_xlim(-span, span)
            ax.set_yticks([])
            ax.grid(axis="y", visible=False)
            ax.set_title(labels.get(r["outcome"], r["outcome"]), loc="left", fontsize=13)
            unit = units.get(r["outcome"], "")
            ax.set_xlabel(unit, fontsize=11)
        fig.tight_layout()
    return fig


def provenance_summary(config: Mapping[str, Any], data_dir: str, repo_dir: str = ".") -> dict[str, Any]:
    """What each report's footer states about how it was made.

    Git commit and whether tracked files differed from it, the SHA-256 of
    the resolved config and of the validated input tables, seeds, the Python
    and key package versions, and the platform. The full provenance (with
    times and every file's hash) is ``results/manifest.json``.
    """
    import platform

    from credit_recovery.disclosure.provenance import config_sha256, file_sha256, git_state, package_versions

    pk = package_versions()
    return {
        "git": git_state(repo_dir),
        "config_sha256": config_sha256(config),
        "data_sha256": file_sha256(data_dir),
        "seeds": {"simulation": config.get("simulation", {}).get("seed"),
                  "matching": config.get("matching", {}).get("seed")},
        "python": pk.get("python"),
        "packages": {k: pk.get(k) for k in ("credit_recovery", "pandas", "numpy", "statsmodels", "linearmodels",
                                            "snakemake")},
        "platform": f"{platform.system()} {platform.machine()}",
        "synthetic": config.get("data", {}).get("source") == "synthetic",
    }


def provenance_footer(summary: Mapping[str, Any]) -> str:
    """HTML footer summarising :func:`provenance_summary` (no times, so reruns give the same page)."""
    git = summary.get("git", {})
    if git.get("available"):
        state = "with uncommitted changes" if git.get("dirty") else "clean working tree"
        code = f'code at git commit <code class="commit">{html.escape(str(git.get("commit")))}</code> ({state})'
    else:
        code = "code outside a git repository"
    pk = ", ".join(f"{k} {v}" for k, v in summary.get("packages", {}).items() if v)
    seeds = ", ".join(f"{k} {v}" for k, v in summary.get("seeds", {}).items() if v is not None)
    data = "synthetic district" if summary.get("synthetic") else "district extract"
    return (
        '<footer class="provenance"><p><strong>How this report was made.</strong> '
        f"Generated by the credit_recovery pipeline from the {data}; {code}; "
        f'configuration SHA-256 <code class="config-sha">{html.escape(str(summary.get("config_sha256")))}</code>; '
        f'validated input tables SHA-256 <code class="data-sha">{html.escape(str(summary.get("data_sha256")))}</code>; '
        f"random seeds: {html.escape(seeds)}; Python {html.escape(str(summary.get('python')))} "
        f"({html.escape(pk)}) on {html.escape(str(summary.get('platform')))}. "
        "Every input file's checksum, package versions, start and end times and the rule that made each "
        "public file are in <code>manifest.json</code>.</p></footer>"
    )
