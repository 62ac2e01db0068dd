"""The brief and the appendix: Jupyter notebooks executed with parameters and exported to one HTML page each.

Everything produced here goes under ``results/public/`` and is drawn from
aggregate result tables; no student-level data enters. A notebook of
``notebooks/`` is executed by papermill (:func:`execute_notebook`), which
injects the pipeline's parameters after the cell tagged ``parameters`` and runs
the cells with nbclient; nbconvert then exports it (:func:`notebook_html`) to
one self-contained HTML file: no code, figures embedded as base64 with their
alt text (:mod:`credit_recovery.reporting.fragments`), and no timestamps, so
the same inputs give byte-identical HTML.
"""
from __future__ import annotations

import copy
import html
import re
from typing import Any, Mapping

import papermill
from nbconvert import HTMLExporter

__all__ = [
    "INJECTED_CELL_ID",
    "REPORT_CSS",
    "check_alt_text",
    "execute_notebook",
    "notebook_html",
    "render_notebook",
]

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


#: Cell id given to papermill's injected-parameters cell (papermill draws a random one; the page must not vary).
INJECTED_CELL_ID = "injected-parameters"


def execute_notebook(nb: Any, parameters: Mapping[str, Any], *, cwd: str, timeout: int = 600,
                     kernel_name: str = "python3") -> Any:
    """Execute a notebook with parameters (papermill); return the executed notebook.

    Parameters
    ----------
    nb : nbformat.NotebookNode or str
        The notebook, or its path. Not modified.
    parameters : mapping
        Values papermill assigns in a cell tagged ``injected-parameters``
        inserted after the cell tagged ``parameters`` (or first, when no cell
        is tagged), overriding the defaults there.
    cwd : str
        Working directory of the kernel (relative paths in the parameters are
        resolved there); papermill also changes this process's working
        directory to it while the notebook runs.
    timeout : int
        Seconds a cell may run.
    kernel_name : str
        Jupyter kernel; ``python3`` is the Python of this process.

    Returns
    -------
    nbformat.NotebookNode
        The executed copy, its injected cell given the id
        :data:`INJECTED_CELL_ID`. A cell raising an error stops execution
        (``papermill.PapermillExecutionError``).
    """
    run = papermill.execute_notebook(nb, None, parameters=dict(parameters), kernel_name=kernel_name, cwd=cwd,
                                     execution_timeout=timeout, progress_bar=False,
                                     request_save_on_cell_execute=False)
    for cell in run.cells:
        if "injected-parameters" in cell.metadata.get("tags", []):
            cell.id = INJECTED_CELL_ID
    return run


def _strip(nb: Any) -> Any:
    """Drop what varies between runs or must not be published.

    Notebook metadata other than the kernel and language (papermill records
    the parameters there), cell timings and papermill's cell status, stderr
    outputs and execution counts.
    """
    nb = copy.deepcopy(nb)
    nb.metadata = {k: v for k, v in nb.metadata.items() if k in ("kernelspec", "language_info")}
    nb.metadata.get("language_info", {}).pop("version", None)
    for cell in nb.cells:
        cell.metadata.pop("execution", None)
        cell.metadata.pop("papermill", None)
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
                         "embed figures with credit_recovery.reporting.fragments.figure_html")


def notebook_html(nb: Any, *, title: str, lang: str = "en") -> str:
    """Export an executed notebook to one self-contained HTML page without code.

    Uses nbconvert's ``basic`` template with inputs and prompts excluded,
    wrapped in a page with :data:`REPORT_CSS`; no scripts and no external
    resources. Raises ``ValueError`` if an image lacks alt text.
    """
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
