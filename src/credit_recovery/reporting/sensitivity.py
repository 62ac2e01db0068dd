"""Plain words for the sensitivity of the matched estimates to hidden bias (the brief's caveat).

Drawn from the ``sensitivity`` rule's tables (:mod:`credit_recovery.specs.sensitivity`): for each outcome
whose interval excludes zero, how much of what the records leave unexplained a hidden difference would have
to account for (the robustness values), and where the estimate would move if such a difference were as
strong as the most influential recorded characteristic (the benchmark bound at ``kd = 1``). Every number
is tagged with its table cell (:func:`credit_recovery.reporting.numbers.num`): source ``sensitivity``, key
``[outcome]``; source ``sensitivity_benchmarks``, key ``[outcome, benchmark, kd]``.
"""
from __future__ import annotations

import html

import pandas as pd

from credit_recovery.reporting.numbers import num
from credit_recovery.reporting.vocabulary import covariate_words, outcome_words, sentence_label

__all__ = ["hidden_bias_sentences", "strongest_benchmark"]


def strongest_benchmark(benchmarks: pd.DataFrame, outcome: str, estimate: float) -> pd.Series | None:
    """The ``kd = 1`` benchmark row of ``outcome`` that moves ``estimate`` most (None if there is none)."""
    b = benchmarks[(benchmarks["outcome"] == outcome) & (benchmarks["kd"] == 1)]
    if b.empty:
        return None
    return b.loc[(b["adjusted_estimate"] - estimate).abs().idxmax()]


def _pct(row: pd.Series, field: str) -> str:
    return num(row[field], source="sensitivity", key=[row["outcome"]], field=field, transform="x100", digits=1,
               suffix="%")


def _bench_num(b: pd.Series, field: str, words, unit: bool = False) -> str:
    """A benchmark-row number in the outcome's units, as a size with its direction word (the brief's convention:
    numbers are shown without sign), with the unit between them if ``unit``."""
    size = num(b[field], source="sensitivity_benchmarks", key=[b["outcome"], b["benchmark"], float(b["kd"])],
               field=field, transform="abs_x100" if words.scale == 100 else "abs", digits=words.digits)
    middle = f" {html.escape(words.unit)}" if unit else ""
    return f"{size}{middle} {html.escape(words.up if b[field] > 0 else words.down)}"


def hidden_bias_sentences(table: pd.DataFrame, benchmarks: pd.DataFrame, outcomes: list[str] | None = None) -> str:
    """Two sentences on the outcomes (of ``outcomes``, default all) whose matched estimate's interval excludes
    zero: the robustness values, then where a confounder as strong as the most influential recorded
    characteristic would move each estimate. Empty when no such outcome is in the table."""
    rows = table if outcomes is None else table[table["outcome"].isin(outcomes)]
    rows = rows[(rows["rv_alpha"] > 0) & ((rows["ci_low"] > 0) | (rows["ci_high"] < 0))]
    if rows.empty:
        return ""
    rv = ", ".join(f"{html.escape(sentence_label(r['outcome']))} {_pct(r, 'rv')} "
                   f"({_pct(r, 'rv_alpha')})" for _, r in rows.iterrows())
    text = ("To erase an estimate, a hidden difference would have to account for this share of what the records "
            "leave unexplained, both in who recovered online and in the outcome (in brackets: to make it "
            f"indistinguishable from no effect): {rv}.")
    moves = []
    for _, r in rows.iterrows():
        b = strongest_benchmark(benchmarks, r["outcome"], float(r["estimate"]))
        if b is None:
            continue
        w = outcome_words(r["outcome"])
        moves.append(f"{html.escape(sentence_label(r['outcome']))} to {_bench_num(b, 'adjusted_estimate', w, unit=True)} "
                     f"(interval {_bench_num(b, 'adjusted_ci_low', w)} to {_bench_num(b, 'adjusted_ci_high', w)}) "
                     f"if as strong as {html.escape(covariate_words(b['benchmark']))}")
    if moves:
        text += (" A hidden difference as strong as the most influential recorded characteristic would move "
                 + "; ".join(moves) + ".")
    return text
