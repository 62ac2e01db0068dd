"""Plain words for the sensitivity of the headline estimates to hidden bias (the brief's caveats).

Drawn from the ``sensitivity`` rule's tables (:mod:`credit_recovery.specs.sensitivity`). The matched
design (:func:`hidden_bias_sentences`): for each outcome whose interval excludes zero, how much of what the
records leave unexplained a hidden difference would have to account for (the robustness values), and where
the estimate would move if such a difference were as strong as the most influential recorded characteristic
(the benchmark bound at ``kd = 1``). The mentor comparison (:func:`mentor_bias_sentences`): the robustness
values and E-values of its estimates whose interval excludes zero, and one short sentence on the others.
Every number is tagged with its table cell (:func:`credit_recovery.reporting.numbers.num`): source
``sensitivity``, key ``[outcome, sample, treatment]`` (:data:`~credit_recovery.specs.sensitivity.SENSITIVITY_KEY`);
source ``sensitivity_benchmarks``, key ``[outcome, benchmark, kd]``.
"""
from __future__ import annotations

import html

import pandas as pd

from credit_recovery.reporting.numbers import num
from credit_recovery.reporting.vocabulary import covariate_words, outcome_words, sentence_label
from credit_recovery.specs.sensitivity import SENSITIVITY_KEY

__all__ = ["hidden_bias_sentences", "mentor_bias_sentences", "strongest_benchmark"]


def strongest_benchmark(benchmarks: pd.DataFrame, outcome: str, estimate: float) -> pd.Series | None:
    """The ``kd = 1`` benchmark row of ``outcome`` that moves ``estimate`` most (None if there is none)."""
    b = benchmarks[(benchmarks["outcome"] == outcome) & (benchmarks["kd"] == 1)]
    if b.empty:
        return None
    return b.loc[(b["adjusted_estimate"] - estimate).abs().idxmax()]


def _key(row: pd.Series) -> list[str]:
    return [str(row[c]) for c in SENSITIVITY_KEY]


def _pct(row: pd.Series, field: str) -> str:
    return num(row[field], source="sensitivity", key=_key(row), field=field, transform="x100", digits=1, suffix="%")


def _times(row: pd.Series, field: str) -> str:
    return num(row[field], source="sensitivity", key=_key(row), field=field, digits=2)


def _excludes_zero(rows: pd.DataFrame) -> pd.Series:
    return (rows["ci_low"] > 0) | (rows["ci_high"] < 0)


def _bench_num(b: pd.Series, field: str, words, unit: bool = False) -> str:
    """A benchmark-row number in the outcome's units, as a size with its direction word (the brief's convention:
    numbers are shown without sign), with the unit between them if ``unit``."""
    size = num(b[field], source="sensitivity_benchmarks", key=[b["outcome"], b["benchmark"], float(b["kd"])],
               field=field, transform="abs_x100" if words.scale == 100 else "abs", digits=words.digits)
    middle = f" {html.escape(words.unit)}" if unit else ""
    return f"{size}{middle} {html.escape(words.up if b[field] > 0 else words.down)}"


def hidden_bias_sentences(table: pd.DataFrame, benchmarks: pd.DataFrame, outcomes: list[str] | None = None,
                          sample: str = "matched_fe") -> str:
    """Two sentences on the outcomes (of ``outcomes``, default all) whose ``sample`` estimate's interval excludes
    zero: the robustness values, then where a confounder as strong as the most influential recorded
    characteristic would move each estimate. Empty when no such outcome is in the table."""
    rows = table[table["sample"] == sample]
    rows = rows if outcomes is None else rows[rows["outcome"].isin(outcomes)]
    rows = rows[(rows["rv_alpha"] > 0) & _excludes_zero(rows)]
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


def _mentor_words(treatment: str) -> str:
    return "a certified mentor" if "certified" in treatment else "a supportive mentor"


def _mentor_clause(r: pd.Series) -> str:
    """One outcome's robustness values and E-values, as a clause."""
    mentor = _mentor_words(str(r["treatment"]))
    parts = []
    if pd.notna(r["rv"]):
        extra = (f" ({_pct(r, 'rv_alpha')} to make it indistinguishable from no effect)" if r["rv_alpha"] > 0
                 else "")
        parts.append(f"account for {_pct(r, 'rv')} of what the records leave unexplained, both in who had "
                     f"{mentor} and in the outcome{extra}")
    if pd.notna(r["e_value"]):
        extra = f" ({_times(r, 'e_value_ci')} times to make it indistinguishable)" if r["e_value_ci"] > 1 else ""
        parts.append(f"{'put as risk ratios, ' if parts else ''}make the students who have it at least "
                     f"{_times(r, 'e_value')} times as likely both to have {mentor} and to have the outcome{extra}")
    if not parts:
        return ""
    return (f"to erase the estimate for {html.escape(sentence_label(r['outcome']))}, a hidden difference would "
            "have to " + ", or, ".join(parts))


def mentor_bias_sentences(table: pd.DataFrame, rows: pd.DataFrame) -> str:
    """Sentences on the sensitivity of the mentor estimates ``rows`` (estimate rows: ``outcome``, ``sample``,
    ``treatment``; the brief passes the headline rows of the primary mentor design): for each whose interval
    excludes zero, the strength a hidden difference between students with and without such a mentor would need
    to erase it (robustness values, E-values); one short sentence naming the others, already indistinguishable
    from no effect. Empty when none of ``rows`` is in the table."""
    key = list(SENSITIVITY_KEY)
    found = table.merge(rows[key].astype(str).drop_duplicates(), on=key, how="inner")
    if found.empty:
        return ""
    clauses = [c for c in (_mentor_clause(r) for _, r in found[_excludes_zero(found)].iterrows()) if c]
    text = ""
    if clauses:
        text = "; ".join(clauses) + "."
        text = text[0].upper() + text[1:]
    null = found[~_excludes_zero(found)]
    if len(null):
        names = [html.escape(sentence_label(o)) for o in null["outcome"]]
        listed = ", ".join(names[:-1]) + (" and " + names[-1] if len(names) > 1 else names[0])
        verb = "is" if len(names) == 1 else "are"
        text += (" " if text else "") + (f"The estimate{'s' if len(names) > 1 else ''} for {listed} {verb} already "
                                        "indistinguishable from no effect: there is nothing for a hidden difference "
                                        "to explain away.")
    return text
