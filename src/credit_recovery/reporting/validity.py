"""The brief's "when to trust which estimate", drawn from a validity matrix, not written by hand.

:func:`trust_note` takes the validity matrix of the Monte Carlo scenario suite (see docs/validity.md;
by default the reference run shipped in ``docs/results/validity_matrix.csv``) and the brief's headline
rows, and says, for each kind of world (scenario) in plain words, which of the headline estimates can
mislead there (95% CI coverage below :data:`credit_recovery.truth.validity.MISLEADS_BELOW`), with the
coverage and the average error, and in which worlds every headline estimate held up. Each number is a
:func:`credit_recovery.reporting.numbers.num` span with source ``validity`` and key
``[scenario, scale, estimand_id, estimator, sample]`` (or ``[scale]`` with field
``replicates_total`` for the number of simulated districts), so a test can trace it to the matrix.
"""
from __future__ import annotations

import html

import pandas as pd

from credit_recovery.reporting.numbers import num
from credit_recovery.reporting.vocabulary import outcome_words
from credit_recovery.truth.validity import MISLEADS_BELOW, flag_cells, pick_scale

__all__ = ["COMPARISON_WORDS", "SCENARIO_WORDS", "DESIGN_WORDS", "scenario_words", "matrix_rows_for", "trust_note",
           "total_replicates", "primary_note"]

#: Each scenario of the suite as the condition of an "if ..." clause for policy staff.
SCENARIO_WORDS: dict[str, str] = {
    "default": "nothing is amiss (districts like the test district)",
    "heterogeneous": "the effect differs from student to student",
    "dynamic": "the effect lasts beyond the recovery year instead of ending with it",
    "school_shocks": "schools have good and bad years that also change how many students go online",
    "attrition": "online students are more often missing from next year's records",
    "mentor_selection": "schools give their more supportive mentors to students with better prospects",
    "confounding": "students who chose online differ in ways the records miss (such as motivation)",
    "random": "the true effects have other sizes or signs than in the test district",
}


def scenario_words(scenario: str) -> str:
    """:data:`SCENARIO_WORDS` of a scenario, or generic words for a scenario a study added."""
    return SCENARIO_WORDS.get(scenario, f"the world is like the study's “{scenario}” scenario")


def matrix_rows_for(matrix: pd.DataFrame, rows: pd.DataFrame, scale: str) -> pd.DataFrame:
    """The matrix rows at ``scale`` of the estimates in ``rows`` (matched on estimand id, estimator, sample),
    flagged by :func:`credit_recovery.truth.validity.flag_cells`, with ``outcome`` and ``comparison`` of the
    estimate (``rows`` are headline rows, :func:`credit_recovery.reporting.headline.headline_rows`)."""
    keys = ["estimand_id", "estimator", "sample"]
    m = flag_cells(matrix[matrix["scale"].astype(str) == scale])
    r = rows[keys + ["outcome", "comparison"]].astype(str).drop_duplicates(keys)
    return m.merge(r, on=keys, how="inner", sort=False)


def total_replicates(matrix: pd.DataFrame, scale: str) -> int:
    """Simulated districts behind the matrix at ``scale``: the largest replicate count of each scenario, summed."""
    m = matrix[matrix["scale"].astype(str) == scale]
    return int(m.groupby("scenario", sort=False)["replicates"].max().sum())


def _key(r: pd.Series) -> list[str]:
    return [str(r["scenario"]), str(r["scale"]), str(r["estimand_id"]), str(r["estimator"]), str(r["sample"])]


#: How the brief names the comparison of a headline estimate.
COMPARISON_WORDS = {"online": "online vs classroom", "mentor": "supportive mentor vs not", "idle": "idle time"}


def _miss_words(r: pd.Series) -> str:
    o = outcome_words(str(r["outcome"]))
    pct = num(float(r["coverage"]), source="validity", key=_key(r), field="coverage", transform="x100", digits=0,
              suffix="%")
    pp = o.scale != 1.0
    digits = o.digits if pp else max(o.digits, 2)
    what = f"<em>{html.escape(COMPARISON_WORDS.get(str(r['comparison']), str(r['comparison'])))}, " \
           f"{html.escape(o.label.lower() if o.label != 'GPA' else o.label)}</em>"
    text = f"{what}: its confidence interval held the true effect in {pct} of simulated districts"
    shown = round(abs(float(r["bias"])) * (100.0 if pp else 1.0), digits)
    if shown == 0:
        return text + " (not off on average: its intervals were too narrow)"
    off = num(float(r["bias"]), source="validity", key=_key(r), field="bias", transform="abs_x100" if pp else "abs",
              digits=digits)
    unit = "percentage points" if pp else o.unit
    return text + f", {off} {unit} too {'high' if float(r['bias']) > 0 else 'low'} on average"


def trust_note(matrix: pd.DataFrame, headline: pd.DataFrame, scale: str | None = None) -> str:
    """An HTML paragraph and list: under which kinds of world each headline estimate can mislead.

    Parameters
    ----------
    matrix : DataFrame
        A validity matrix (:data:`credit_recovery.truth.montecarlo.VALIDITY_COLUMNS`).
    headline : DataFrame
        The brief's headline rows (:func:`credit_recovery.reporting.headline.headline_rows`).
    scale : str, optional
        Which scale of the matrix to read (default :func:`credit_recovery.truth.validity.pick_scale`).

    Returns
    -------
    str
        Empty when no headline estimate has a row in the matrix. Otherwise a sentence naming how many
        simulated districts of how many kinds were run, one ``<li>`` per kind of world in which a
        headline estimate misleads (the estimates and their coverage and average error), and the kinds
        in which all of them held up (coverage at least 90%).
    """
    if matrix is None or matrix.empty or headline.empty:
        return ""
    scale = scale or pick_scale(matrix)
    m = matrix_rows_for(matrix, headline, scale)
    if m.empty:
        return ""
    known = [s for s in SCENARIO_WORDS if s in set(m["scenario"])]
    scenarios = known + [s for s in dict.fromkeys(m["scenario"]) if s not in known]
    n_total = num(total_replicates(matrix, scale), source="validity", key=[scale], field="replicates_total",
                  digits=0)
    n_kinds = num(len(scenarios), source="validity", key=[scale], field="scenarios", digits=0)
    text = (f"We ran the same methods on {n_total} simulated districts of {n_kinds} kinds, where the true "
            "effects are known, to see when the numbers above can be trusted.")
    items, fine = [], []
    for scenario in scenarios:
        bad = m[(m["scenario"] == scenario) & m["misleads"]]
        if bad.empty:
            fine.append(scenario_words(scenario))
            continue
        what = "; ".join(_miss_words(r) for _, r in bad.iterrows())
        lead = "Even when" if scenario == "default" else "If"
        which = "these estimates" if len(bad) > 1 else "this estimate"
        items.append(f"<li>{lead} {html.escape(scenario_words(scenario))}, {which} can mislead: {what}.</li>")
    if items:
        text += f"<ul>{''.join(items)}</ul>"
    if fine:
        floor = num(MISLEADS_BELOW, source="validity", key=["threshold"], field="misleads_below", transform="x100",
                    digits=0, suffix="%")
        text += (f"Every estimate above held the true effect in at least {floor} of simulated districts when "
                 + html.escape("; when ".join(fine)) + ".")
    return text


#: How the brief names the design behind an estimate sample.
DESIGN_WORDS: dict[str, str] = {
    "matched": "the matched comparison",
    "matched_fe": "the matched comparison with school-by-year fixed effects",
    "panel": "the comparison of each student with their own earlier years",
    "panel_es": "the year-by-year comparison of each student with their own earlier years",
    "online": "the comparison of mentors within each school",
    "ipw3": "the three-way weighted comparison",
}


def primary_note(matrix: pd.DataFrame | None, headline: pd.DataFrame, primary: dict[str, str],
                 scale: str | None = None) -> str:
    """Why the headline numbers come from the designs they come from (``models.primary``), in plain words.

    One sentence per comparison whose headline rows come from its primary design: the design, and, when
    the validity matrix has its cells, the range of its coverage over the simulated worlds whose
    assumptions it meets (numbers tagged with source ``validity``). Empty when no headline row comes
    from a primary design.
    """
    parts = []
    m = None
    if matrix is not None and not matrix.empty:
        scale = scale or pick_scale(matrix)
        m = matrix_rows_for(matrix, headline, scale)
    for comp, sample in primary.items():
        rows = headline[(headline["comparison"] == comp) & (headline["sample"].astype(str) == sample)]
        if rows.empty:
            continue
        text = (f"For {html.escape(COMPARISON_WORDS.get(comp, comp))}, the numbers above come from "
                f"{html.escape(DESIGN_WORDS.get(sample, sample))}, the study's primary design")
        cells = m[(m["sample"] == sample) & (m["comparison"] == comp) & m["holds"]] if m is not None else None
        if cells is not None and not cells.empty:
            cov = cells["coverage"].astype(float)
            lo, hi = cells.loc[cov.idxmin()], cells.loc[cov.idxmax()]
            low = num(float(lo["coverage"]), source="validity", key=_key(lo), field="coverage", transform="x100",
                      digits=0, suffix="%")
            high = num(float(hi["coverage"]), source="validity", key=_key(hi), field="coverage", transform="x100",
                       digits=0, suffix="%")
            text += (f": in the simulated districts whose assumptions it meets, its confidence intervals held "
                     f"the true effect in {low} to {high} of districts")
        parts.append(text + ". The other designs are in the technical appendix as checks.")
    return " ".join(parts)
