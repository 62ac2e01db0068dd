"""Rules brief and appendix: execute a notebook of notebooks/ with parameters and export it to HTML.

Parameters given to the notebook: every named input (other than the notebook and the code stamp) under its own name,
every named output (other than the HTML) as ``out_<name>``, ``params.parameters``, and ``repo`` (the
repository holding the notebook, for the git state in the footer). Paths are relative to the working
directory, where the kernel runs.
"""
import os
from pathlib import Path

import nbformat

from credit_recovery.shared.script_io import start_log
from credit_recovery.reporting.notebooks import render_notebook


def plain(value):
    return str(value) if isinstance(value, str) else [str(v) for v in value]


log = start_log(snakemake.log[0])
parameters = {k: plain(v) for k, v in snakemake.input.items() if k not in ("notebook", "code")}
parameters.update({f"out_{k}": plain(v) for k, v in snakemake.output.items() if k != "html"})
parameters.update(snakemake.params.parameters)
parameters["repo"] = str(Path(snakemake.input.notebook).resolve().parent.parent)  # the workflow's repository
nb = nbformat.read(snakemake.input.notebook, as_version=4)
page = render_notebook(nb, parameters, cwd=os.getcwd(), title=snakemake.params.title)
out = Path(snakemake.output.html)
tmp = out.with_name(f".{out.name}.tmp-{os.getpid()}")
tmp.write_text(page, encoding="utf-8")
os.replace(tmp, out)
log.info("%s: %d bytes from %s", snakemake.output.html, len(page), snakemake.input.notebook)
