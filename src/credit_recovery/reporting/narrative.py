"""Plain-language sentences generated from the pipeline's result tables.

The effect of each headline row (:mod:`credit_recovery.reporting.headline`)
in everyday units and words (:mod:`credit_recovery.reporting.vocabulary`), how
sure we are, how much the answer moves across estimators, the naive beside the
matched comparison, the balance achieved, and the user types. Every number is
written by :func:`credit_recovery.reporting.numbers.num`, so it carries the
table cell it came from.

Functions take DataFrames and return HTML fragments (strings) or
DataFrames; they never read or write files.
"""
from __future__ import annotations

import html
from typing import Sequence

import pandas as pd

from credit_recovery.reporting.headline import classify_comparison, is_naive, naive_row
from credit_recovery.reporting.numbers import estimate_num, num, transform_value
from credit_recovery.reporting.vocabulary import COMPARISONS, USER_TYPES, Outcome, covariate_words, outcome_words

__all__ = [
    "attrition_sentence",
    "dropped_sentence",
    "balance_summary",
    "certainty_sentence",
    "design_table",
    "effect_sentence",
    "robustness_sentence",
    "type_shares",
    "types_list",
]


def _abs_transform(o: Outcome) -> str:
    return "abs_x100" if o.scale == 100.0 else "abs"


def _is_zero(o: Outcome, v: float) -> bool:
    return round(abs(v) * o.scale, o.digits) == 0


def _signed(row: pd.Series, field: str, unit: bool = True) -> str:
    """``0.21 standard deviations lower`` / ``0.05 credits more`` / ``0.00`` for a signed value of a row."""
    o = outcome_words(str(row["outcome"]))
    v = float(row[field])
    number = estimate_num(row, field, _abs_transform(o), o.digits)
    u = f" {o.unit}" if unit and o.unit else ""
    if _is_zero(o, v):
        return number + u
    up, down = (o.up, o.down) if o.scale != 100.0 else ("higher", "lower")
    return f"{number}{u} {up if v > 0 else down}"


def _fill(template: str, row: pd.Series, field: str = "estimate") -> str:
    o = outcome_words(str(row["outcome"]))
    v = float(row[field])
    number = estimate_num(row, field, _abs_transform(o), o.digits)
    return template.format(n=number, dir=o.up if v > 0 else o.down)


def certainty_sentence(row: pd.Series) -> str:
    """How sure we are, from the 95% confidence interval and p-value of a row.

    Notes
    -----
    An interval that excludes zero gives *We are confident this is a real
    difference* (p < 0.01) or *This is likely a real difference*; one that
    includes zero gives *We cannot tell this apart from no difference*.
    """
    o = outcome_words(str(row["outcome"]))
    lo, hi = float(row["ci_low"]), float(row["ci_high"])
    unit = f" {o.unit}" if o.unit else ""
    if lo > 0 or hi < 0:
        p = float(row["p_value"]) if pd.notna(row["p_value"]) else 1.0
        lead = "We are confident this is a real difference" if p < 0.01 else "This is likely a real difference"
        near_field, far_field = ("ci_low", "ci_high") if lo > 0 else ("ci_high", "ci_low")
        direction = o.up if lo > 0 else o.down
        a = estimate_num(row, near_field, _abs_transform(o), o.digits)
        b = estimate_num(row, far_field, _abs_transform(o), o.digits)
        return (f"{lead}: the range of plausible values (95% confidence interval) runs from {a} to {b}"
                f"{unit} {direction}.")
    return (f"We cannot tell this apart from no difference: the range of plausible values (95% confidence "
            f"interval) runs from {_signed(row, 'ci_low')} to {_signed(row, 'ci_high')}.")


def effect_sentence(row: pd.Series, comparison: str | None = None) -> str:
    """One outcome's effect in everyday units, naming the comparison group.

    Example: *Compared with similar students who retook the course in a
    classroom, students who recovered the course online scored 0.21 standard
    deviations lower in math the next year, about 8 percentile points.*
    Idle-time rows read *Each 10 percentage points more idle time went with a
    5.0 percentage point lower chance to pass the online course*.
    """
    comparison = comparison or classify_comparison(row)
    o = outcome_words(str(row["outcome"]))
    v = float(row["estimate"])
    if comparison == "idle":
        ten = num(10, source="constant", key="idle", field="per_percentage_points", digits=0)
        text = f"Each {ten} percentage points more idle time went with {_fill(o.idle, row)}"
    else:
        c = COMPARISONS.get(comparison, COMPARISONS["online"])
        text = f"Compared with {c['group']}, {c['who']} {_fill(o.effect, row)}"
    if o.percentile and not _is_zero(o, v):
        if round(transform_value(v, "percentile")) >= 1:
            text += f", about {estimate_num(row, 'estimate', 'percentile', 0)} percentile points"
        else:
            text += ", less than one percentile point"
    return text + "."


def robustness_sentence(estimates: pd.DataFrame, row: pd.Series) -> str:
    """How much the answer moves across the other designed estimators of the same comparison and outcome."""
    comp = classify_comparison(row)
    same = estimates[(estimates["outcome"] == row["outcome"]) & estimates["estimate"].notna()]
    same = same[[classify_comparison(r) == comp and not is_naive(r) for _, r in same.iterrows()]]
    if "suppressed" in same.columns:
        same = same[~same["suppressed"].astype(bool)]
    if len(same) < 2:
        return ""
    lo_row = same.loc[same["estimate"].idxmin()]
    hi_row = same.loc[same["estimate"].idxmax()]
    agree = bool((same["estimate"] > 0).all() or (same["estimate"] < 0).all())
    if lo_row.name == hi_row.name:
        return ""
    text = (f"{html.escape(outcome_words(str(row['outcome'])).label)}: the methods we ran gave from "
            f"{_signed(lo_row, 'estimate')} to {_signed(hi_row, 'estimate')}")
    return text + (" (the same direction every time)." if agree else " (they do not agree on the direction).")


def design_table(estimates: pd.DataFrame, headline: pd.DataFrame, comparison: str = "online") -> str:
    """HTML table: the naive comparison beside the designed (headline) estimate, per outcome."""
    rows = []
    for _, h in headline[headline["comparison"] == comparison].iterrows():
        n = naive_row(estimates, h["outcome"], comparison)
        if n is None:
            continue
        o = outcome_words(str(h["outcome"]))
        rows.append(f"<tr><th scope=\"row\">{html.escape(o.label)}</th><td>{_signed(n, 'estimate')}</td>"
                    f"<td>{_signed(h, 'estimate')}</td></tr>")
    if not rows:
        return ""
    return ("<table class=\"design\"><thead><tr><th>Outcome</th><th>Simple comparison (no matching)</th>"
            "<th>Matched comparison</th></tr></thead><tbody>" + "".join(rows) + "</tbody></table>")


def balance_summary(balance: pd.DataFrame, covariates: Sequence[str] = ()) -> str:
    """Sentence on the balance achieved by matching, from ``results/matching/balance.csv``.

    Uses the absolute standardized mean difference after matching
    (``after_smd``) of each covariate (the propensity ``logit`` row is left
    out) against the What Works Clearinghouse bands (0.05 and 0.25 SD).
    """
    b = balance[balance["variable"].astype(str) != "logit"].copy()
    if b.empty or "after_smd" not in b.columns:
        return ""
    b["_abs"] = b["after_smd"].astype(float).abs()
    worst = b.loc[b["_abs"].idxmax()]
    within = int((b["_abs"] <= 0.05).sum())
    over = int((b["_abs"] > 0.25).sum())
    total = len(b)
    wk = num(float(worst["after_smd"]), source="balance", key=str(worst["variable"]), field="after_smd",
             transform="abs", digits=2)
    text = (f"After matching, the largest remaining difference between the two groups on a measured "
            f"background characteristic was {wk} standard deviations ({html.escape(covariate_words(str(worst['variable']), covariates))}); "
            f"{num(within, source='balance', key='all', field='count_abs_after_smd_le_0.05', digits=0)} of "
            f"{num(total, source='balance', key='all', field='count_variables', digits=0)} characteristics differed by "
            f"at most {num(0.05, source='constant', key='wwc', field='satisfied', digits=2)} standard deviations")
    if over:
        text += (f", and {num(over, source='balance', key='all', field='count_abs_after_smd_gt_0.25', digits=0)} "
                 f"by more than {num(0.25, source='constant', key='wwc', field='limit', digits=2)}, the What Works "
                 "Clearinghouse limit, so the groups are not fully comparable.")
    else:
        text += (f", and none by more than {num(0.25, source='constant', key='wwc', field='limit', digits=2)}, "
                 "the What Works Clearinghouse limit.")
    return text


def dropped_sentence(summary: pd.DataFrame, min_cell_size: int = 10) -> str:
    """Whom the matched estimates describe: online students left out for want of a close classroom student.

    ``summary`` is ``results/matching/match_summary.csv`` (:meth:`credit_recovery.design.matching.MatchResult.summary`
    with its row names in column ``index``). Numbers are tagged with source ``match_summary``, key the row
    name and field ``Treated``. Empty when no online student was left out; a count below
    ``min_cell_size`` is not shown.
    """
    t = summary.set_index("index")["Treated"].astype(float)
    left = float(t.get("Unmatched", 0.0))
    if not left > 0:
        return ""

    def n(row: str) -> str:
        return num(float(t[row]), source="match_summary", key=row, field="Treated", digits=0)

    if left < min_cell_size:  # neither the count nor its complement is shown
        return ("A few students who recovered online had no classroom student close enough in the same school "
                "year and are left out of the matched estimates.")
    return (f"Of the {n('All')} students who recovered online, {n('Unmatched')} had no classroom student close "
            f"enough in the same school year and are left out: the matched estimates describe the other "
            f"{n('Matched')}.")


def attrition_sentence(table: pd.DataFrame) -> str:
    """How many students lack an outcome, by arm, for the outcome with the largest differential attrition.

    ``table`` is the public attrition table (:func:`credit_recovery.design.attrition.public_attrition_table` of
    ``results/matching/attrition.csv``): suppressed cells hold a marker and are never shown. The sentence
    is about the matched sample, or the analytic cohort when no matched row is visible: the outcome whose
    rates and differential are all visible, with some missing value, and the largest differential.
    Numbers are tagged with source ``attrition``, key ``[sample, outcome]`` and their column. Empty when
    no such row exists.
    """
    fields = ["attrition_online", "attrition_classroom", "overall_attrition", "differential_attrition"]
    for sample in ("matched", "cohort"):
        m = table[table["sample"].astype(str) == sample].copy()
        for f in fields:
            m[f] = pd.to_numeric(m[f], errors="coerce")
        m = m.dropna(subset=fields)
        m = m[m["overall_attrition"] > 0]
        if not m.empty:
            break
    else:
        return ""
    r = m.loc[m["differential_attrition"].idxmax()]
    key = [sample, str(r["outcome"])]

    def pct(field: str, suffix: str = "%") -> str:
        return num(float(r[field]), source="attrition", key=key, field=field, digits=1, suffix=suffix)

    words = outcome_words(str(r["outcome"])).label.lower().replace("gpa", "GPA")
    level = {"low": "low", "high": "high"}.get(str(r["cautious"]), "")
    verdict = (f": {level} attrition by the What Works Clearinghouse's cautious boundary, a standard written for "
               "randomized trials and reported here as a description") if level else ""
    where, how = (("the matched sample", "weighted as in the estimates; ") if sample == "matched"
                  else ("the analytic cohort", ""))
    return (f"In {where}, the next-year {html.escape(words)} is missing for {pct('attrition_online')} of online "
            f"and {pct('attrition_classroom')} of classroom students ({how}{pct('overall_attrition')} overall, a "
            f"difference of {pct('differential_attrition', '')} percentage points{verdict}).")


def type_shares(types: pd.DataFrame, min_cell_size: int = 10) -> pd.DataFrame:
    """Number and share of online course attempts of each user type, small cells suppressed.

    Parameters
    ----------
    types : pandas.DataFrame
        One row per online course attempt with a ``user_type`` (or ``type``)
        column (``results/engagement/types.parquet``).
    min_cell_size : int
        Types with fewer attempts have ``n_attempts`` and ``share`` set to
        missing and ``suppressed`` true.

    Returns
    -------
    pandas.DataFrame
        Columns ``user_type``, ``n_attempts``, ``share`` (0-1),
        ``suppressed``; known types first in :data:`USER_TYPES` order.
    """
    col = "user_type" if "user_type" in types.columns else "type"
    if col not in types.columns:
        raise KeyError(f"types lacks a user_type column; columns: {list(types.columns)}")
    counts = types[col].astype(str).value_counts()
    order = [t for t in USER_TYPES if t in counts.index] + sorted(t for t in counts.index if t not in USER_TYPES)
    total = int(counts.sum())
    n = counts.reindex(order).astype(int)
    small = (n < min_cell_size) & (n > 0)
    # complementary: a lone suppressed type could be recovered from the total
    if small.sum() == 1 and len(n) > 1:
        others = n[~small].sort_values(kind="stable")
        small[others.index[0]] = True
    out = pd.DataFrame({
        "user_type": order,
        "n_attempts": n.astype("Int64").where(~small).to_numpy(),
        "share": (n / total).where(~small).to_numpy(),
        "suppressed": small.to_numpy(),
    })
    return out


def types_list(shares: pd.DataFrame) -> str:
    """HTML list of the user types with their share of online course attempts."""
    items = []
    for _, r in shares.iterrows():
        label, desc = USER_TYPES.get(r["user_type"], (str(r["user_type"]).replace("_", " ").capitalize(), ""))
        if r["suppressed"]:
            amount = "too few attempts to report"
        else:
            amount = (num(float(r["share"]), source="types", key=str(r["user_type"]), field="share",
                          transform="x100", digits=0, suffix="%")
                      + " of online course attempts")
        d = f" ({html.escape(desc)})" if desc else ""
        items.append(f"<li><strong>{html.escape(label)}</strong>{d}: {amount}.</li>")
    return "<ul class=\"types\">" + "".join(items) + "</ul>"
