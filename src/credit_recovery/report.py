"""Public outputs: the publishable estimate table and a plain-language brief.

Everything produced here goes under ``results/public/`` and is drawn from the
tidy estimate rows; no student-level data enters.
"""
from __future__ import annotations

import html

import numpy as np
import pandas as pd
from scipy import stats

from credit_recovery.estimates import ESTIMATE_COLUMNS

_OUTCOME_WORDS = {
    "math": ("math score", "standard deviations"),
    "reading": ("reading score", "standard deviations"),
    "credits": ("credits earned", "credits"),
    "gpa": ("GPA", "grade points"),
    "credit_recovered": ("chance of recovering the failed credit", "percentage points"),
}


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


def _sentence(row: pd.Series) -> str:
    name, unit = _OUTCOME_WORDS.get(row["outcome"], (row["outcome"], "units"))
    est, lo, hi = float(row["estimate"]), float(row["ci_low"]), float(row["ci_high"])
    scale = 100.0 if row["outcome"] == "credit_recovered" else 1.0
    direction = "lower" if est < 0 else "higher"
    text = (f"{name[0].upper() + name[1:]}: {abs(est) * scale:.2f} {unit} {direction} "
            f"(95% confidence interval {lo * scale:.2f} to {hi * scale:.2f})")
    if row["outcome"] in ("math", "reading"):
        pct = 100 * (stats.norm.cdf(est) - 0.5)
        text += f", about {abs(pct):.0f} percentile points"
    return text + "."


def render_brief(estimates: pd.DataFrame, title: str = "Online credit recovery: what changed for students") -> str:
    """A short, self-contained HTML brief generated from the public estimate rows."""
    pub = estimates[(estimates["sample"] == "matched") & ~estimates["suppressed"]]
    pub = pub[~pub["estimator"].str.contains("covariate", case=False, na=False)] if len(pub) > 1 else pub
    items = "\n".join(f"<li>{html.escape(_sentence(r))}</li>" for _, r in pub.iterrows())
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>{html.escape(title)}</title>
<style>body{{font-family:DejaVu Sans,Arial,sans-serif;max-width:46em;margin:2em auto;line-height:1.5}}</style>
</head><body>
<h1>{html.escape(title)}</h1>
<p>We compared students who recovered a failed course online with similar students who retook the course
in a classroom (matched on their prior scores, grades, attendance, credits and background, within the same
school year). In the school year of the recovery, compared with similar students who retook the course in a
classroom, students who recovered online had:</p>
<ul>
{items}
</ul>
<p>These estimates assume that, after matching, the two groups did not differ in ways the records do not
show. The full tables are in <code>estimates.csv</code>.</p>
</body></html>
"""
