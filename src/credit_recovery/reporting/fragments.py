"""What the brief and the appendix display: HTML fragments, the brief's effects figure, the provenance footer.

The notebooks (``notebooks/``) call these in their cells: :func:`figure_html`
embeds a PNG with its alt text and caption, :func:`table_html` writes a plain
table, :func:`plot_effects` draws the brief's dot-and-whisker figure, and
:func:`provenance_footer` states how the page was made
(:func:`provenance_summary`). No times are written, so the same inputs give
the same page.
"""
from __future__ import annotations

import base64
import html
import platform
from typing import Any, Mapping

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from credit_recovery.disclosure.provenance import config_sha256, file_sha256, git_state, package_versions
from credit_recovery.shared.style import PALETTE, style

__all__ = ["figure_html", "plot_effects", "provenance_footer", "provenance_summary", "table_html"]


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
               na: str = "", multiline: bool = False) -> str:
    """A plain HTML table of ``df`` (no index), floats rounded to ``digits`` significant places, underscores of
    column names shown as spaces (so headers wrap); with ``multiline`` a newline inside a text cell becomes a
    line break."""
    def cell(v: Any) -> str:
        if v is None or (isinstance(v, float) and np.isnan(v)) or v is pd.NA:
            return html.escape(na)
        if isinstance(v, (bool, np.bool_)):
            return "yes" if v else "no"
        if isinstance(v, (float, np.floating)):
            return f"{float(v):.{digits}g}" if abs(v) < 1e-3 and v != 0 else f"{float(v):,.{digits}f}"
        if isinstance(v, (int, np.integer)):
            return f"{int(v):,}"
        text = html.escape(str(v))
        return text.replace("\n", "<br>") if multiline else text

    head = "".join(f"<th>{html.escape(str(c).replace('_', ' '))}</th>" for c in df.columns)  # headers may wrap
    body = "".join("<tr>" + "".join(f"<td>{cell(v)}</td>" for v in row) + "</tr>"
                   for row in df.itertuples(index=False, name=None))
    cap = f"<caption>{html.escape(caption)}</caption>" if caption else ""
    return f'<div class="wide"><table>{cap}<thead><tr>{head}</tr></thead><tbody>{body}</tbody></table></div>'


def plot_effects(headline: pd.DataFrame, labels: Mapping[str, str] | None = None, *,
                 units: Mapping[str, str] | None = None, scale: Mapping[str, float] | None = None) -> Figure:
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
