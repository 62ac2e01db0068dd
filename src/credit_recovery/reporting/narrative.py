"""Plain-language sentences generated from the pipeline's result tables.

Every number a sentence shows is written by :func:`num`, which wraps it in a
``<span class="num">`` carrying where it came from (``data-source``, the row
key ``data-key``, the column ``data-field``), how it was transformed
(``data-transform``) and rounded (``data-digits``). A reader, or a test, can
therefore trace each number in the brief back to one cell of
``results/models/estimates.csv`` (or of the balance or user-type tables) and
recompute it.

Functions take DataFrames and return HTML fragments (strings) or
DataFrames; they never read or write files.
"""
from __future__ import annotations

import html
import json
import math
from dataclasses import dataclass
from typing import Any, Iterable, Mapping, Sequence

import numpy as np
import pandas as pd
from scipy import stats

__all__ = [
    "COMPARISONS",
    "KEY_COLUMNS",
    "OUTCOMES",
    "TRANSFORMS",
    "USER_TYPES",
    "balance_summary",
    "certainty_sentence",
    "classify_comparison",
    "covariate_words",
    "design_table",
    "effect_sentence",
    "headline_rows",
    "num",
    "robustness_sentence",
    "row_key",
    "transform_value",
    "type_shares",
    "types_list",
]

#: Text columns that identify an estimate row (the duplicate key of ``collect_estimates``).
KEY_COLUMNS: tuple[str, ...] = ("estimand_id", "outcome", "treatment", "estimand", "estimator", "sample",
                                "fixed_effects", "cov_type")


@dataclass(frozen=True)
class Outcome:
    """How an outcome is described in the brief.

    ``effect`` and ``idle`` are sentence fragments with ``{n}`` (the number,
    already tagged) and ``{dir}`` (``up`` or ``down`` word) placeholders;
    ``scale`` is 100 for proportions shown in percentage points.
    """

    label: str
    unit: str
    effect: str
    idle: str
    up: str = "higher"
    down: str = "lower"
    scale: float = 1.0
    digits: int = 2
    percentile: bool = False


def _prop(label: str, verb: str, digits: int = 1) -> Outcome:
    return Outcome(label, "percentage points", "were {n} percentage points {dir} likely to " + verb,
                   "a {n} percentage point {dir} chance to " + verb, up="more", down="less", scale=100.0,
                   digits=digits)


#: Everyday words for each outcome. Outcomes not listed are described generically.
OUTCOMES: dict[str, Outcome] = {
    "math": Outcome("Math score", "standard deviations", "scored {n} standard deviations {dir} in math the next year",
                    "a math score {n} standard deviations {dir}", percentile=True),
    "reading": Outcome("Reading score", "standard deviations",
                       "scored {n} standard deviations {dir} in reading the next year",
                       "a reading score {n} standard deviations {dir}", percentile=True),
    "credits": Outcome("Credits earned", "credits", "earned {n} {dir} credits in the next school year",
                       "{n} {dir} credits", up="more", down="fewer"),
    "gpa": Outcome("GPA", "grade points", "had a GPA {n} grade points {dir} the next year",
                   "a GPA {n} grade points {dir}"),
    "credit_recovered": _prop("Recovered the failed credit", "recover the failed credit"),
    "tests_taken": Outcome("Tests taken", "tests", "took {n} {dir} tests", "{n} {dir} tests taken", up="more",
                           down="fewer", digits=1),
    "test_pass_rate": Outcome("Share of tests passed", "percentage points",
                              "passed a share of their tests {n} percentage points {dir}",
                              "a share of tests passed {n} percentage points {dir}", scale=100.0, digits=1),
    "pass": _prop("Passed the online course", "pass the online course"),
    "passed": _prop("Passed the online course", "pass the online course"),
    "completed": _prop("Completed the online course", "complete the online course"),
    "completion": _prop("Completed the online course", "complete the online course"),
    "grade": Outcome("Course grade", "grade points", "had a course grade {n} grade points {dir}",
                     "a course grade {n} grade points {dir}"),
    "grade_points": Outcome("Course grade", "grade points", "had a course grade {n} grade points {dir}",
                            "a course grade {n} grade points {dir}"),
    "course_grade": Outcome("Course grade", "grade points", "had a course grade {n} grade points {dir}",
                            "a course grade {n} grade points {dir}"),
}

#: The comparisons the brief reports, with the comparison group named in words.
COMPARISONS: dict[str, dict[str, str]] = {
    "online": {
        "title": "Online recovery compared with retaking the course in a classroom",
        "who": "students who recovered the course online",
        "group": "similar students who retook the course in a classroom",
    },
    "mentor": {
        "title": "What in-person mentor support changed",
        "who": "online students whose mentor gave instructional support",
        "group": "similar online students whose mentor did not",
    },
    "idle": {
        "title": "What idle time predicts",
        "who": "",
        "group": "otherwise similar online students with less idle time",
    },
}

#: Planted/recovered user types: label and description (from the Milwaukee log study).
USER_TYPES: dict[str, tuple[str, str]] = {
    "engaged": ("Engaged users", "least idle time, more activities a day, fewer sessions to finish"),
    "moonlighter": ("Moonlighters", "productive, but most log-ins outside the school day"),
    "nominal_exerter": ("Nominal exerters", "much idle time, many sessions, few activities a day"),
    "incompatible_struggler": ("Incompatible strugglers",
                               "much idle time and little progress, more often in the first two years of high school and in math"),
}

_COVARIATE_WORDS = {
    "math_pre": "prior math score",
    "reading_pre": "prior reading score",
    "gpa_pre": "prior GPA",
    "credits_pre": "credits earned before",
    "absence_rate_pre": "prior absences",
    "grade": "grade level",
    "frl": "free or reduced-price lunch",
    "ell": "English learner status",
    "sped": "special education status",
    "gender": "gender",
    "race_ethnicity": "race and ethnicity",
    "subject": "subject of the course",
    "school_id": "school",
    "school_year": "school year",
    "logit": "propensity score",
}

#: Transforms a number may go through between the table and the page (name -> function).
TRANSFORMS: dict[str, Any] = {
    "none": lambda v: v,
    "abs": abs,
    "x100": lambda v: 100.0 * v,
    "abs_x100": lambda v: abs(100.0 * v),
    "percentile": lambda v: abs(100.0 * (float(stats.norm.cdf(v)) - 0.5)),
}


def transform_value(value: float, transform: str) -> float:
    """Apply a named transform (:data:`TRANSFORMS`) to a value.

    Notes
    -----
    ``percentile`` is the improvement index of an effect ``d`` in standard
    deviations: ``|100 (Phi(d) - 0.5)|`` percentile points (WWC; Cohen's U3
    minus 50).
    """
    if transform not in TRANSFORMS:
        raise ValueError(f"transform must be one of {list(TRANSFORMS)}, got {transform!r}")
    return float(TRANSFORMS[transform](float(value)))


def row_key(row: Mapping[str, Any] | pd.Series) -> list[str]:
    """The key of an estimate row: its :data:`KEY_COLUMNS` values as strings."""
    return ["" if pd.isna(row[c]) else str(row[c]) for c in KEY_COLUMNS]


def _fmt(value: float, digits: int) -> str:
    out = f"{value:,.{digits}f}"
    if out.startswith("-") and float(out.replace(",", "")) == 0:
        out = out[1:]
    return out


def num(value: float, *, source: str, key: Any, field: str, transform: str = "none", digits: int = 2,
        suffix: str = "") -> str:
    """A number for the page, tagged with where it came from.

    Parameters
    ----------
    value : float
        The value as stored in the source table (before ``transform``).
    source : str
        Which table (``estimates``, ``balance``, ``types``, ``config``).
    key : str or list
        Row key within the source (JSON-encoded into ``data-key``).
    field : str
        Column of the source row.
    transform : str
        One of :data:`TRANSFORMS`, applied before rounding.
    digits : int
        Decimal places shown (thousands separated by commas).
    suffix : str
        Text appended inside the span (e.g. ``"%"``).

    Returns
    -------
    str
        ``<span class="num" data-source=... data-key=... data-field=...
        data-value=... data-transform=... data-digits=...>text</span>``.
    """
    shown = _fmt(transform_value(value, transform), digits)
    attrs = {
        "data-source": source,
        "data-key": json.dumps(key, ensure_ascii=False),
        "data-field": field,
        "data-value": repr(float(value)),
        "data-transform": transform,
        "data-digits": str(int(digits)),
    }
    a = " ".join(f'{k}="{html.escape(v, quote=True)}"' for k, v in attrs.items())
    return f'<span class="num" {a}>{shown}{html.escape(suffix)}</span>'


def _est_num(row: pd.Series, field: str, transform: str = "none", digits: int = 2, suffix: str = "") -> str:
    return num(float(row[field]), source="estimates", key=row_key(row), field=field, transform=transform,
               digits=digits, suffix=suffix)


# ---------------------------------------------------------------------------
# which rows the brief reports
# ---------------------------------------------------------------------------


def classify_comparison(row: Mapping[str, Any] | pd.Series) -> str:
    """Which comparison an estimate row belongs to: ``online``, ``mentor``, ``idle`` or ``other``.

    Notes
    -----
    In order: ``idle`` if the treatment or outcome names idle time;
    ``online`` if the treatment is ``online``; ``other`` if the estimand
    reads ``... vs classroom`` (an arm of a multi-arm comparison); ``mentor``
    if the estimand id starts with ``mentor_`` or the treatment names a
    mentor or support; otherwise ``other`` (reported in the appendix only).
    """
    treatment = str(row.get("treatment", "")).lower()
    outcome = str(row.get("outcome", "")).lower()
    estimand_id = str(row.get("estimand_id", "")).lower()
    estimand = str(row.get("estimand", "")).lower()
    if "idle" in treatment or "idle" in outcome:
        return "idle"
    if treatment == "online":
        return "online"
    if "vs classroom" in estimand:  # an arm of a multi-arm comparison against the classroom
        return "other"
    if estimand_id.startswith("mentor_") or "mentor" in treatment or "support" in treatment:
        return "mentor"
    return "other"


def _is_naive(row: pd.Series) -> bool:
    return str(row["estimator"]).lower().startswith("naive") or str(row["sample"]) == "cohort"


def _preference(row: pd.Series) -> tuple:
    est = str(row["estimator"]).lower()
    sample = str(row["sample"]).lower()
    return (
        0 if str(row["estimand_id"]) else 1,                       # a validated estimand
        0 if sample.startswith("matched") else 1,                 # the matched design
        0 if str(row["fixed_effects"]) not in ("", "none") else 1,  # with fixed effects
        0 if any(w in est for w in ("g-computation", "covariate", "adjust")) else 1,
    )


def headline_rows(estimates: pd.DataFrame) -> pd.DataFrame:
    """The one estimate per (comparison, outcome) that the brief reports.

    Parameters
    ----------
    estimates : pandas.DataFrame
        Tidy estimate rows, optionally with a boolean ``suppressed`` column
        (:func:`credit_recovery.reporting.notebooks.public_estimates`).

    Returns
    -------
    pandas.DataFrame
        The chosen rows with an added ``comparison`` column, ordered by
        comparison (online, mentor, idle) then by first appearance of the
        outcome. Naive comparisons (estimator ``naive ...`` or sample
        ``cohort``), suppressed rows and rows of subgroups (samples other than
        the first-choice ones) are not chosen.

    Notes
    -----
    Preference, in order: rows with an ``estimand_id``; a ``matched*``
    sample; fixed effects; covariate adjustment (``g-computation``,
    ``covariate``, ``adjust`` in the estimator); then the first row in table
    order. The rule is deterministic.
    """
    df = estimates.copy()
    df["_order"] = np.arange(len(df))
    df["comparison"] = [classify_comparison(r) for _, r in df.iterrows()]
    keep = df["comparison"].isin(list(COMPARISONS)) & df["estimate"].notna()
    if "suppressed" in df.columns:
        keep &= ~df["suppressed"].astype(bool)
    keep &= ~df.apply(_is_naive, axis=1) if len(df) else keep
    df = df[keep]
    if df.empty:
        return df.drop(columns="_order")
    df = df.assign(_pref=[_preference(r) for _, r in df.iterrows()])
    chosen = []
    for comp in COMPARISONS:
        sub = df[df["comparison"] == comp]
        for outcome in pd.unique(sub["outcome"]):
            rows = sub[sub["outcome"] == outcome]
            best = min(rows.index, key=lambda i: (rows.at[i, "_pref"], rows.at[i, "_order"]))
            chosen.append(best)
    return df.loc[chosen].drop(columns=["_order", "_pref"])


def naive_row(estimates: pd.DataFrame, outcome: str, comparison: str = "online") -> pd.Series | None:
    """The naive comparison row for an outcome (first in table order), or ``None``."""
    for _, r in estimates.iterrows():
        if (r["outcome"] == outcome and classify_comparison(r) == comparison and _is_naive(r)
                and pd.notna(r["estimate"]) and not bool(r.get("suppressed", False))):
            return r
    return None


# ---------------------------------------------------------------------------
# sentences
# ---------------------------------------------------------------------------


def _outcome(name: str) -> Outcome:
    if name in OUTCOMES:
        return OUTCOMES[name]
    words = name.replace("_", " ")
    return Outcome(words[:1].upper() + words[1:], "units", "had " + words + " {n} units {dir}",
                   words + " {n} units {dir}")


def _abs_transform(o: Outcome) -> str:
    return "abs_x100" if o.scale == 100.0 else "abs"


def _is_zero(o: Outcome, v: float) -> bool:
    return round(abs(v) * o.scale, o.digits) == 0


def _signed(row: pd.Series, field: str, unit: bool = True) -> str:
    """``0.21 standard deviations lower`` / ``0.05 credits more`` / ``0.00`` for a signed value of a row."""
    o = _outcome(str(row["outcome"]))
    v = float(row[field])
    number = _est_num(row, field, _abs_transform(o), o.digits)
    u = f" {o.unit}" if unit and o.unit else ""
    if _is_zero(o, v):
        return number + u
    up, down = (o.up, o.down) if o.scale != 100.0 else ("higher", "lower")
    return f"{number}{u} {up if v > 0 else down}"


def _fill(template: str, row: pd.Series, field: str = "estimate") -> str:
    o = _outcome(str(row["outcome"]))
    v = float(row[field])
    number = _est_num(row, field, _abs_transform(o), o.digits)
    return template.format(n=number, dir=o.up if v > 0 else o.down)


def certainty_sentence(row: pd.Series) -> str:
    """How sure we are, from the 95% confidence interval and p-value of a row.

    Notes
    -----
    An interval that excludes zero gives *We are confident this is a real
    difference* (p < 0.01) or *This is likely a real difference*; one that
    includes zero gives *We cannot tell this apart from no difference*.
    """
    o = _outcome(str(row["outcome"]))
    lo, hi = float(row["ci_low"]), float(row["ci_high"])
    unit = f" {o.unit}" if o.unit else ""
    if lo > 0 or hi < 0:
        p = float(row["p_value"]) if pd.notna(row["p_value"]) else 1.0
        lead = "We are confident this is a real difference" if p < 0.01 else "This is likely a real difference"
        near_field, far_field = ("ci_low", "ci_high") if lo > 0 else ("ci_high", "ci_low")
        direction = o.up if lo > 0 else o.down
        a = _est_num(row, near_field, _abs_transform(o), o.digits)
        b = _est_num(row, far_field, _abs_transform(o), o.digits)
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
    o = _outcome(str(row["outcome"]))
    v = float(row["estimate"])
    if comparison == "idle":
        ten = num(10, source="constant", key="idle", field="per_percentage_points", digits=0)
        text = f"Each {ten} percentage points more idle time went with {_fill(o.idle, row)}"
    else:
        c = COMPARISONS.get(comparison, COMPARISONS["online"])
        text = f"Compared with {c['group']}, {c['who']} {_fill(o.effect, row)}"
    if o.percentile and not _is_zero(o, v):
        if round(transform_value(v, "percentile")) >= 1:
            text += f", about {_est_num(row, 'estimate', 'percentile', 0)} percentile points"
        else:
            text += ", less than one percentile point"
    return text + "."


def robustness_sentence(estimates: pd.DataFrame, row: pd.Series) -> str:
    """How much the answer moves across the other designed estimators of the same comparison and outcome."""
    comp = classify_comparison(row)
    same = estimates[(estimates["outcome"] == row["outcome"]) & estimates["estimate"].notna()]
    same = same[[classify_comparison(r) == comp and not _is_naive(r) for _, r in same.iterrows()]]
    if "suppressed" in same.columns:
        same = same[~same["suppressed"].astype(bool)]
    if len(same) < 2:
        return ""
    lo_row = same.loc[same["estimate"].idxmin()]
    hi_row = same.loc[same["estimate"].idxmax()]
    agree = bool((same["estimate"] > 0).all() or (same["estimate"] < 0).all())
    if lo_row.name == hi_row.name:
        return ""
    text = (f"{html.escape(_outcome(str(row['outcome'])).label)}: the methods we ran gave from "
            f"{_signed(lo_row, 'estimate')} to {_signed(hi_row, 'estimate')}")
    return text + (" (the same direction every time)." if agree else " (they do not agree on the direction).")


def design_table(estimates: pd.DataFrame, headline: pd.DataFrame, comparison: str = "online") -> str:
    """HTML table: the naive comparison beside the designed (headline) estimate, per outcome."""
    rows = []
    for _, h in headline[headline["comparison"] == comparison].iterrows():
        n = naive_row(estimates, h["outcome"], comparison)
        if n is None:
            continue
        o = _outcome(str(h["outcome"]))
        rows.append(f"<tr><th scope=\"row\">{html.escape(o.label)}</th><td>{_signed(n, 'estimate')}</td>"
                    f"<td>{_signed(h, 'estimate')}</td></tr>")
    if not rows:
        return ""
    return ("<table class=\"design\"><thead><tr><th>Outcome</th><th>Simple comparison (no matching)</th>"
            "<th>Matched comparison</th></tr></thead><tbody>" + "".join(rows) + "</tbody></table>")


# ---------------------------------------------------------------------------
# covariates and balance
# ---------------------------------------------------------------------------


def covariate_words(name: str, covariates: Sequence[str] = ()) -> str:
    """Everyday name of a covariate or of a dummy of a categorical one (``race_ethnicityBlack``)."""
    if name in _COVARIATE_WORDS:
        return _COVARIATE_WORDS[name]
    for base in sorted(set(covariates) | set(_COVARIATE_WORDS), key=len, reverse=True):
        if name.startswith(base) and len(name) > len(base):
            level = name[len(base):].lstrip("_").replace("_", " ")
            return f"{_COVARIATE_WORDS.get(base, base.replace('_', ' '))}: {level}"
    return name.replace("_", " ")


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


# ---------------------------------------------------------------------------
# user types
# ---------------------------------------------------------------------------


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
