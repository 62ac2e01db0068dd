"""Publication tables and figures drawn from the tidy estimate rows.

* :func:`effect_size_table` - Holm-adjusted p-values across the outcome
  family and, for score outcomes, Hedges' g with the WWC improvement index
  (a companion table: the tidy schema is not widened).
* :func:`regression_table` - one column per specification, rows by outcome
  (estimate, (SE), N); :func:`table_markdown` and :func:`table_latex` render it.
* :func:`forest_plot`, :func:`event_study_plot` - figures for
  :func:`credit_recovery.shared.style.save_figure`.
"""
from __future__ import annotations

from typing import Sequence

import numpy as np
import pandas as pd

from credit_recovery.estimation.effect_sizes import hedges_g, improvement_index
from credit_recovery.estimation.multiple_testing import holm_adjust
from credit_recovery.shared.style import styled

__all__ = ["SPECIFICATIONS", "SCORE_OUTCOMES", "effect_size_table", "regression_table", "table_markdown",
           "table_latex", "forest_plot", "event_study_plot", "public_effect_sizes"]

#: Columns of the regression table: label -> (treatment, estimator, sample).
SPECIFICATIONS: dict[str, tuple[str, str, str]] = {
    "Naive": ("online", "naive difference in means (OLS)", "cohort"),
    "Matched": ("online", "nearest-neighbour matching, WLS", "matched"),
    "Matched + covariates": ("online", "nearest-neighbour matching, WLS g-computation", "matched"),
    "Matched, school-year FE": ("online", "matched WLS, covariates, school-by-year FE", "matched_fe"),
    "Student FE": ("online_0", "student FE panel, school-by-year FE", "panel"),
    "Event study, year 0": ("online_0", "student FE event study, school-by-year FE", "panel_es"),
    "Supportive mentor": ("supportive", "mentor instructionally supportive vs not, school FE", "online"),
    "Certified mentor": ("certified", "mentor certified in the subject vs not, school FE", "online"),
    "IPW: supportive vs little support": ("online_supportive vs online_low",
                                          "three-way IPW (multinomial propensity)", "ipw3"),
}
#: Outcomes measured in SD units of a score distribution (effect sizes are computed for these).
SCORE_OUTCOMES: tuple[str, ...] = ("math", "reading")
_OUTCOME_ORDER = ("math", "reading", "credits", "gpa", "credit_recovered", "tests_taken", "test_pass_rate")
_OUTCOME_LABEL = {"math": "Math score (SD)", "reading": "Reading score (SD)", "credits": "Credits earned",
                  "gpa": "GPA", "credit_recovered": "Credit recovered", "tests_taken": "Tests taken",
                  "test_pass_rate": "Test pass rate"}
_FAMILY = ["treatment", "estimand", "estimator", "sample", "fixed_effects", "cov_type"]


def _spec_label(est: pd.DataFrame) -> pd.Series:
    lookup = {v: k for k, v in SPECIFICATIONS.items()}
    keys = list(zip(est["treatment"], est["estimator"], est["sample"]))
    return pd.Series([lookup.get(k, "") for k in keys], index=est.index)


def effect_size_table(estimates: pd.DataFrame, cohort: pd.DataFrame,
                      score_outcomes: Sequence[str] = SCORE_OUTCOMES) -> pd.DataFrame:
    r"""Holm-adjusted p-values and WWC effect sizes for every estimate.

    Parameters
    ----------
    estimates : DataFrame
        Tidy estimate rows.
    cohort : DataFrame
        The cohort (``online`` and the outcomes), for the pooled SD.
    score_outcomes : sequence of str
        Outcomes that get Hedges' g and the improvement index.

    Returns
    -------
    DataFrame
        ``estimand_id, outcome, treatment, estimator, sample, cov_type,
        estimate, p_value, p_holm, family_size, sd_pooled, n_treated,
        n_control, hedges_g, g_ci_low, g_ci_high, improvement_index, n``.

    Notes
    -----
    *Family*: the estimates of one specification (same treatment, estimand,
    estimator, sample, fixed effects and covariance) across outcomes;
    ``p_holm`` is Holm's step-down adjustment within it
    (:func:`credit_recovery.holm_adjust`).

    *Effect size*: :math:`g = \omega\,\hat\beta / s_p` (WWC), with
    :math:`s_p` the pooled within-group SD of the outcome in the cohort
    (online vs classroom), :math:`\omega = 1 - 3/(4N - 9)`, N the cohort's
    units with the outcome; the interval scales the estimate's CI the same
    way; improvement index :math:`100(\Phi(g) - 1/2)`.
    """
    est = estimates.copy()
    est["p_holm"] = np.nan
    est["family_size"] = 0
    for _, idx in est.groupby(_FAMILY, sort=False).groups.items():
        p = est.loc[idx, "p_value"].astype(float)
        est.loc[idx, "p_holm"] = np.asarray(holm_adjust(p.to_numpy()))
        est.loc[idx, "family_size"] = int(p.notna().sum())
    for c in ("sd_pooled", "hedges_g", "g_ci_low", "g_ci_high", "improvement_index"):
        est[c] = np.nan
    est["n_treated"] = pd.array([pd.NA] * len(est), dtype="Int64")
    est["n_control"] = pd.array([pd.NA] * len(est), dtype="Int64")
    for y in score_outcomes:
        if y not in cohort.columns:
            continue
        d = cohort[cohort[y].notna()]
        t, c = d.loc[d["online"].astype(int) == 1, y], d.loc[d["online"].astype(int) == 0, y]
        if len(t) < 2 or len(c) < 2:
            continue
        sd = float(np.sqrt(((len(t) - 1) * t.var() + (len(c) - 1) * c.var()) / (len(t) + len(c) - 2)))
        m = est["outcome"] == y
        est.loc[m, "sd_pooled"] = sd
        est.loc[m, "n_treated"] = len(t)
        est.loc[m, "n_control"] = len(c)
        for src, dst in (("estimate", "hedges_g"), ("ci_low", "g_ci_low"), ("ci_high", "g_ci_high")):
            est.loc[m, dst] = hedges_g(est.loc[m, src].to_numpy(float), sd, n_t=len(t), n_c=len(c))
        est.loc[m, "improvement_index"] = improvement_index(est.loc[m, "hedges_g"].to_numpy(float))
    cols = ["estimand_id", "outcome", "treatment", "estimator", "sample", "cov_type", "estimate", "p_value",
            "p_holm", "family_size", "sd_pooled", "n_treated", "n_control", "hedges_g", "g_ci_low", "g_ci_high",
            "improvement_index", "n"]
    return est[cols].reset_index(drop=True)


def public_effect_sizes(table: pd.DataFrame, min_cell_size: int = 10) -> pd.DataFrame:
    """The effect-size table fit to publish: small counts and what rests on them suppressed."""
    from credit_recovery.disclosure.suppression import suppress_small_cells

    dep = ["estimate", "p_value", "p_holm", "sd_pooled", "hedges_g", "g_ci_low", "g_ci_high", "improvement_index"]
    out = table.drop(columns=["estimand_id"])
    return suppress_small_cells(out, ["n", "n_treated", "n_control"], min_cell_size=min_cell_size,
                                dependent_columns=dep, complementary=False)


def regression_table(estimates: pd.DataFrame, min_cell_size: int = 10, digits: int = 3) -> pd.DataFrame:
    """Regression table: one column per specification, rows by outcome (estimate, (SE), N).

    Parameters
    ----------
    estimates : DataFrame
        Tidy estimate rows; rows of the specifications in :data:`SPECIFICATIONS` are used.
    min_cell_size : int
        Cells resting on fewer units show ``<min_cell_size`` and no estimate.
    digits : int
        Decimals of estimates and standard errors.

    Returns
    -------
    DataFrame
        Columns ``outcome, statistic`` and one per specification present,
        all text; significance stars ``*`` p < .05, ``**`` p < .01.
    """
    est = estimates.copy()
    est["spec"] = _spec_label(est)
    est = est[est["spec"] != ""]
    specs = [s for s in SPECIFICATIONS if s in set(est["spec"])]
    outcomes = [o for o in _OUTCOME_ORDER if o in set(est["outcome"])] + sorted(
        set(est["outcome"]) - set(_OUTCOME_ORDER))
    rows = []
    for y in outcomes:
        cells = {s: ("", "", "") for s in specs}
        for _, r in est[est["outcome"] == y].iterrows():
            n = int(r["n"]) if pd.notna(r["n"]) else 0
            if 0 < n < min_cell_size:
                cells[r["spec"]] = ("", "", f"<{min_cell_size}")
                continue
            p = r["p_value"]
            stars = "**" if p < 0.01 else "*" if p < 0.05 else ""
            cells[r["spec"]] = (f"{r['estimate']:.{digits}f}{stars}", f"({r['std_error']:.{digits}f})", f"{n}")
        label = _OUTCOME_LABEL.get(y, y)
        for i, stat in enumerate(("estimate", "(SE)", "N")):
            rows.append({"outcome": label if i == 0 else "", "statistic": stat, **{s: cells[s][i] for s in specs}})
    return pd.DataFrame(rows, columns=["outcome", "statistic", *specs])


def table_markdown(table: pd.DataFrame, caption: str = "") -> str:
    """A GitHub-flavoured Markdown rendering of :func:`regression_table`."""
    cols = list(table.columns)
    lines = []
    if caption:
        lines += [caption, ""]
    lines.append("| " + " | ".join(cols) + " |")
    lines.append("|" + "|".join("---" if i < 2 else "--:" for i in range(len(cols))) + "|")
    for _, r in table.iterrows():
        lines.append("| " + " | ".join(str(r[c]) for c in cols) + " |")
    return "\n".join(lines) + "\n"


def _tex(s: str) -> str:
    for a, b in (("\\", r"\textbackslash{}"), ("&", r"\&"), ("%", r"\%"), ("_", r"\_"), ("#", r"\#"),
                 ("<", r"$<$"), ("*", r"$^{*}$")):
        s = s.replace(a, b)
    return s.replace(r"$^{*}$$^{*}$", r"$^{**}$")


def table_latex(table: pd.DataFrame, caption: str = "", label: str = "tab:estimates") -> str:
    """A LaTeX (booktabs) rendering of :func:`regression_table`."""
    cols = list(table.columns)
    out = [r"\begin{table}[htbp]", r"\centering", r"\small"]
    if caption:
        out.append(rf"\caption{{{_tex(caption)}}}")
    out.append(rf"\label{{{label}}}")
    out.append(r"\begin{tabular}{ll" + "r" * (len(cols) - 2) + "}")
    out.append(r"\toprule")
    out.append(" & ".join(_tex(str(c)) if i >= 2 else "" for i, c in enumerate(cols)) + r" \\")
    out.append(r"\midrule")
    for _, r in table.iterrows():
        out.append(" & ".join(_tex(str(r[c])) for c in cols) + r" \\")
    out += [r"\bottomrule", r"\end{tabular}",
            r"\par\footnotesize Standard errors in parentheses; $^{*}$ p $<$ 0.05, $^{**}$ p $<$ 0.01.",
            r"\end{table}"]
    return "\n".join(out) + "\n"


@styled
def forest_plot(estimates: pd.DataFrame, outcomes: Sequence[str] = ("math", "reading", "credits", "gpa",
                                                                      "credit_recovered")):
    """Coefficient (forest) plot: online vs classroom recovery, one panel per outcome, one row per specification.

    Returns
    -------
    matplotlib.figure.Figure
    """
    import matplotlib

    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt

    from credit_recovery.shared.style import PALETTE

    est = estimates.copy()
    est["spec"] = _spec_label(est)
    ocr_specs = [s for s in SPECIFICATIONS if SPECIFICATIONS[s][0] in ("online", "online_0")]
    est = est[est["spec"].isin(ocr_specs) & est["estimate"].notna()]
    outcomes = [o for o in outcomes if o in set(est["outcome"])]
    specs = [s for s in ocr_specs if s in set(est["spec"])]
    fig, axes = plt.subplots(1, max(len(outcomes), 1), figsize=(2.6 * max(len(outcomes), 1) + 1.5, 0.45 * len(specs)
                                                                 + 1.4), sharey=True, squeeze=False)
    colors = list(PALETTE.values())
    for ax, y in zip(axes[0], outcomes):
        d = est[est["outcome"] == y].set_index("spec")
        for i, s in enumerate(specs):
            if s not in d.index:
                continue
            r = d[d.index == s].iloc[0]
            ax.plot([r["ci_low"], r["ci_high"]], [i, i], color=colors[i % len(colors)], lw=2)
            ax.plot(r["estimate"], i, "o", color=colors[i % len(colors)])
        ax.axvline(0, color="0.4", lw=0.8, ls="--")
        ax.set_title(_OUTCOME_LABEL.get(y, y), fontsize=10)
        ax.set_yticks(range(len(specs)))
        ax.set_yticklabels(specs)
    if outcomes:
        axes[0][0].invert_yaxis()
    fig.suptitle("Online vs classroom credit recovery: estimates with 95% confidence intervals", fontsize=11)
    fig.tight_layout()
    return fig


@styled
def event_study_plot(estimates: pd.DataFrame, outcomes: Sequence[str] = ("math", "reading", "credits", "gpa")):
    """Event-study plot: online minus classroom recoverers by year relative to the recovery year (ref. -1).

    Returns
    -------
    matplotlib.figure.Figure
    """
    import matplotlib

    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt

    from credit_recovery.specs.panel import event_time_of
    from credit_recovery.shared.style import PALETTE

    es = estimates[(estimates["sample"] == "panel_es") & estimates["treatment"].str.startswith("online_")]
    outcomes = [o for o in outcomes if o in set(es["outcome"])]
    fig, axes = plt.subplots(1, max(len(outcomes), 1), figsize=(3.2 * max(len(outcomes), 1), 3.2), squeeze=False)
    for ax, y in zip(axes[0], outcomes):
        d = es[es["outcome"] == y].copy()
        d["k"] = [event_time_of(t) for t in d["treatment"]]
        d = pd.concat([d, pd.DataFrame({"k": [-1], "estimate": [0.0], "ci_low": [0.0], "ci_high": [0.0]})])
        d = d.sort_values("k")
        ax.axhline(0, color="0.4", lw=0.8, ls="--")
        ax.axvline(-0.5, color="0.7", lw=0.8)
        ax.errorbar(d["k"], d["estimate"], yerr=[d["estimate"] - d["ci_low"], d["ci_high"] - d["estimate"]],
                    fmt="o-", color=PALETTE["blue"], capsize=3)
        ax.set_xticks([-3, -2, -1, 0, 1, 2])
        ax.set_xticklabels(["≤-3", "-2", "-1", "0", "+1", "≥+2"])
        ax.set_xlabel("years since recovery (0 = recovery year)")
        ax.set_title(_OUTCOME_LABEL.get(y, y), fontsize=10)
    fig.suptitle("Student fixed-effects event study: online minus classroom recoverers (reference: failure year)",
                 fontsize=11)
    fig.tight_layout()
    return fig
