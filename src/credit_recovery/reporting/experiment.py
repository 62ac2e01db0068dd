"""Reports of a randomized study: the public tables and a plain-language brief (``results/public/experiment/``).

The brief says that the study is an experiment, shows that the lottery made the arms alike (the
randomization check), how many students took the arm they were assigned, the intention-to-treat and
complier effects in plain words with their intervals, and attrition by assigned arm with WWC's boundary.
Every number is drawn from the public tables (counts below the disclosure minimum are suppressed before
anything is written), so the brief never holds more than they do.
"""
from __future__ import annotations

import html
from typing import Mapping

import numpy as np
import pandas as pd

from credit_recovery.disclosure.suppression import suppress_small_cells
from credit_recovery.reporting.public import public_estimates

__all__ = ["EXPERIMENT_LABELS", "public_experiment_tables", "experiment_brief_html"]

#: Outcome -> (label, unit words, multiplier for display, digits).
EXPERIMENT_LABELS: dict[str, tuple[str, str, float, int]] = {
    "credit_recovered": ("recovering the credit", "percentage points", 100.0, 1),
    "df": ("a D or F in the recovery course", "percentage points", 100.0, 1),
    "math": ("the next spring's math score", "SD", 1.0, 2),
    "reading": ("the next spring's reading score", "SD", 1.0, 2),
    "credits": ("credits earned in the recovery year", "credits", 1.0, 2),
    "gpa": ("GPA in the recovery year", "grade points", 1.0, 2),
    "cum_credits_2y": ("credits over two years", "credits", 1.0, 2),
    "on_track": ("being on track to graduate", "percentage points", 100.0, 1),
    "graduated": ("graduating", "percentage points", 100.0, 1),
}


def public_experiment_tables(tables: Mapping[str, pd.DataFrame], min_cell_size: int = 10) -> dict[str, pd.DataFrame]:
    """The tables a randomized study publishes: estimates (rows on fewer than ``min_cell_size`` students
    suppressed), first stage, compliance counts, balance by assigned arm, the joint test, attrition by arm
    (counts below the minimum suppressed with the rates computed from them). No unit-level table."""
    comp = suppress_small_cells(tables["compliance"], ["took online", "took classroom"], min_cell_size=min_cell_size,
                                complementary=False)
    first = tables["first_stage"].copy()
    small = first["n"] < min_cell_size
    first.loc[small, [c for c in first.columns if c != "outcome"]] = np.nan
    counts = [c for c in tables["attrition"].columns if c.startswith("n_")]
    rates = ["attrition_online", "attrition_classroom", "overall_attrition", "differential_attrition"]
    att = suppress_small_cells(tables["attrition"], counts, min_cell_size=min_cell_size, dependent_columns=rates,
                               complementary=False)
    bal = tables["balance"].copy()
    return {"estimates": public_estimates(tables["estimates"], min_cell_size), "first_stage": first,
            "compliance": comp, "balance": bal, "joint_test": tables["joint_test"].copy(), "attrition": att}


def _fmt(value: float, y: str) -> str:
    _, unit, scale, digits = EXPERIMENT_LABELS.get(y, (y, "", 1.0, 2))
    return f"{value * scale:+.{digits}f}"


def _effect_sentence(row: pd.Series, kind: str) -> str:
    y = row["outcome"]
    label, unit, _, _ = EXPERIMENT_LABELS.get(y, (y, "", 1.0, 2))
    if pd.isna(row["estimate"]):
        return f"<li>{html.escape(label)}: too few students to report.</li>"
    clear = "distinguishable from no change" if (row["ci_low"] > 0 or row["ci_high"] < 0) else \
        "not distinguishable from no change"
    who = "Being assigned to the online course" if kind == "itt" else "For compliers, taking the online course"
    return (f"<li>{who} changed {html.escape(label)} by {_fmt(row['estimate'], y)} {html.escape(unit)} "
            f"(95% interval {_fmt(row['ci_low'], y)} to {_fmt(row['ci_high'], y)}; {clear}).</li>")


def _table_html(df: pd.DataFrame, digits: int = 3) -> str:
    return df.to_html(index=False, float_format=lambda v: f"{v:.{digits}f}", na_rep="", border=0,
                      classes="tbl", escape=True)


def experiment_brief_html(public: Mapping[str, pd.DataFrame], *, n_blocks: int, excluded: Mapping[str, int],
                          title: str = "Online credit recovery: what the experiment shows") -> str:
    """The randomized study's brief, a self-contained HTML page, from :func:`public_experiment_tables`
    (``n_blocks``: randomization blocks; ``excluded``: assigned students without an analysable unit, by arm)."""
    est = public["estimates"]
    comp = public["compliance"].set_index("arm")
    joint = public["joint_test"].iloc[0]
    smd = pd.to_numeric(public["balance"]["smd"], errors="coerce").abs().max()
    first = public["first_stage"].dropna(subset=["take_up_assigned_online"])
    parts = [f"<h1>{html.escape(title)}</h1>",
             "<p><strong>This study is an experiment.</strong> Students who failed a course were assigned by "
             f"lottery, within {n_blocks} randomization blocks, to an online or a classroom recovery course. "
             "Because a lottery decided, the two groups were alike before the course, so differences afterwards "
             "are effects of the assignment.</p>",
             f"<p>Randomization check: the largest difference between the arms in a recorded characteristic is "
             f"{smd:.2f} standard deviations; a joint test of all of them gives p = {joint['p_value']:.2f} "
             "(a small value would signal a problem with the lottery).</p>"]
    if len(first):
        f = first.iloc[0]
        parts.append(f"<p>Not everyone took the course they were assigned: {100 * f['take_up_assigned_online']:.0f}% "
                     f"of students assigned online took it online, and {100 * f['take_up_assigned_classroom']:.0f}% "
                     "of those assigned to a classroom took it online anyway. The effect of being assigned (intention "
                     "to treat) is what a district gets by offering the option; the effect on compliers (students "
                     f"who take whichever course they are assigned, about {100 * f['compliance_difference']:.0f}% "
                     "here) is the effect of actually taking the course online.</p>")
        if not f["first_stage_f"] >= 10:
            parts.append(f"<p><strong>Caution:</strong> the lottery changed little in who took the course online "
                         f"(first-stage F = {f['first_stage_f']:.1f}, below 10): the complier effects below are "
                         "imprecise and can be far off; rely on the effects of being assigned.</p>")
    if sum(excluded.values()):
        parts.append(f"<p>{sum(excluded.values())} assigned students had no recovery record to analyse "
                     f"({excluded.get('online', 0)} assigned online, {excluded.get('classroom', 0)} classroom).</p>")
    for kind, head in (("itt", "Effect of being assigned to online recovery"),
                       ("cace", "Effect of taking online recovery, for compliers")):
        rows = est[est["estimand_id"].str.startswith(kind + "_")]
        parts.append(f"<h2>{head}</h2><ul>" + "".join(_effect_sentence(r, kind) for _, r in rows.iterrows())
                     + "</ul>")
    att = public["attrition"]
    high = att[att["cautious"] == "high"]["outcome"].tolist()
    parts.append("<h2>Missing outcomes</h2><p>" + (
        "Attrition is low by the What Works Clearinghouse's cautious boundary for every outcome."
        if not high else "Attrition is high by the What Works Clearinghouse's cautious boundary for: "
        + ", ".join(html.escape(EXPERIMENT_LABELS.get(y, (y,))[0]) for y in high)
        + "; those estimates rest on the students with the outcome recorded.") + "</p>")
    cols = ["estimand_id", "estimate", "std_error", "ci_low", "ci_high", "p_value", "n", "cov_type"]
    parts += ["<h2>Estimates</h2>", _table_html(est[cols]), "<h2>Compliance</h2>", _table_html(public["compliance"]),
              "<h2>Attrition by assigned arm</h2>",
              "<p>Percent of each arm without the outcome; WWC's highest differential attrition that still counts "
              "as low at the overall rate, under its cautious and optimistic assumptions.</p>",
              _table_html(att[["outcome", "attrition_online", "attrition_classroom", "overall_attrition",
                               "differential_attrition", "cautious_max_differential", "cautious",
                               "optimistic_max_differential", "optimistic"]], digits=1),
              "<h2>Randomization check</h2>",
              "<p>Baseline means by assigned arm and their standardized difference (online arm's SD); the joint "
              "test's p-value is by re-drawing the lottery within blocks.</p>",
              _table_html(public["balance"][["variable", "mean_treated", "mean_control", "smd"]].rename(
                  columns={"mean_treated": "assigned online", "mean_control": "assigned classroom"})),
              _table_html(public["joint_test"][["test", "n", "n_covariates", "statistic", "p_value", "p_value_f",
                                                "draws"]])]
    style = ("body{font-family:sans-serif;max-width:60em;margin:2em auto;line-height:1.45}"
             ".tbl{border-collapse:collapse;font-size:0.9em}.tbl td,.tbl th{padding:2px 8px;text-align:right}")
    return (f"<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'><title>{html.escape(title)}</title>"
            f"<style>{style}</style></head><body>" + "".join(parts) + "</body></html>\n")
