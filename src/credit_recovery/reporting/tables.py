"""Publication tables drawn from the tidy estimate rows.

* :func:`effect_size_table` - Holm-adjusted p-values across the outcome
  family and, for score outcomes, Hedges' g with the WWC improvement index
  (a companion table: the tidy schema is not widened).
* :func:`regression_table` - one column per specification, rows by outcome
  (estimate, (SE), N); :func:`table_markdown` and :func:`table_latex` render it.
* :func:`etable` - the appendix's regression tables; :func:`subgroup_table`, :func:`sensitivity_groups` -
  the appendix's subgroup table and its sensitivity tables (one per design).

The figures drawn from the same rows (forest plot, event study) are in
:mod:`credit_recovery.reporting.figures`.
"""
from __future__ import annotations

from typing import Sequence

import numpy as np
import pandas as pd

from credit_recovery.disclosure.suppression import suppress_small_cells
from credit_recovery.estimation.effect_sizes import hedges_g, improvement_index
from credit_recovery.estimation.multiple_testing import holm_adjust

__all__ = ["SPECIFICATIONS", "SCORE_OUTCOMES", "OUTCOME_LABELS", "SUBGROUP_WORDS", "effect_size_table",
           "regression_table", "table_markdown", "table_latex", "public_effect_sizes", "spec_label", "subgroup_table",
           "etable", "sensitivity_groups"]

#: Columns of the regression table: label -> (treatment, estimator, sample).
SPECIFICATIONS: dict[str, tuple[str, str, str]] = {
    "Naive": ("online", "naive difference in means (OLS)", "cohort"),
    "Matched": ("online", "nearest-neighbour matching, WLS", "matched"),
    "Matched, bias-corrected": ("online", "nearest-neighbour matching, bias-corrected", "matched"),
    "Matched + covariates": ("online", "nearest-neighbour matching, WLS g-computation", "matched"),
    "Matched, school-year FE": ("online", "matched WLS, covariates, school-by-year FE", "matched_fe"),
    "Matched, response-weighted": ("online", "matched WLS, covariates, school-by-year FE, response-weighted",
                                   "matched_rw"),
    "Student FE": ("online_0", "student FE panel, school-by-year FE", "panel"),
    "Event study, year 0": ("online_0", "student FE event study, school-by-year FE", "panel_es"),
    "Callaway-Sant'Anna, year 0": ("online_0", "Callaway-Sant'Anna, same-cohort classroom comparison", "panel_cs"),
    "Supportive mentor": ("supportive", "mentor instructionally supportive vs not, school FE", "online"),
    "Certified mentor": ("certified", "mentor certified in the subject vs not, school FE", "online"),
    "IPW: supportive vs little support": ("online_supportive vs online_low",
                                          "three-way IPW (multinomial propensity), ATT weights", "ipw3"),
    "IPW: online + supportive vs classroom": ("online_supportive vs classroom",
                                              "three-way IPW (multinomial propensity), ATT weights", "ipw3"),
}
#: Outcomes measured in SD units of a score distribution (effect sizes are computed for these).
SCORE_OUTCOMES: tuple[str, ...] = ("math", "reading")
_OUTCOME_ORDER = ("math", "reading", "credits", "gpa", "credit_recovered", "tests_taken", "test_pass_rate")
#: Display labels of the outcomes (table rows, figure panels).
OUTCOME_LABELS: dict[str, str] = {"math": "Math score (SD)", "reading": "Reading score (SD)",
                                  "credits": "Credits earned", "gpa": "GPA", "credit_recovered": "Credit recovered",
                                  "tests_taken": "Tests taken", "test_pass_rate": "Test pass rate"}
_FAMILY = ["treatment", "estimand", "estimator", "sample", "fixed_effects", "cov_type"]


def spec_label(est: pd.DataFrame) -> pd.Series:
    """Label of each estimate row's specification (a key of :data:`SPECIFICATIONS`; "" for other rows)."""
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
    est["spec"] = spec_label(est)
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
        label = OUTCOME_LABELS.get(y, y)
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


#: ``<dimension>=<level>`` -> the words a table uses for the subgroup.
SUBGROUP_WORDS: dict[str, str] = {
    "grade_band=9-10": "Grade 9-10 at failure", "grade_band=11-12": "Grade 11-12 at failure",
    "subject=math": "Failed a math course", "subject=other": "Failed another course",
    "prior_gpa=low": "Prior GPA: lowest third", "prior_gpa=middle": "Prior GPA: middle third",
    "prior_gpa=high": "Prior GPA: highest third", "ell=yes": "English learners", "ell=no": "Not English learners",
    "sped=yes": "Special education", "sped=no": "Not in special education",
}


def subgroup_table(table: pd.DataFrame, outcome_label=None, level: float = 0.05, digits: int = 3) -> pd.DataFrame:
    """The subgroup table as a reviewer reads it: one row per subgroup, one column per outcome.

    Each cell is ``estimate [ci_low, ci_high]`` with ``*`` when the family-wise adjusted p-value (``p_fwer``)
    is at most ``level``; then the online and classroom units of the subgroup (the largest counts over its
    outcomes) and its largest |SMD| after matching. ``table`` is ``results/models/subgroups.csv`` (or its
    public version); ``outcome_label`` maps an outcome to its column label.
    """
    label = outcome_label or (lambda o: OUTCOME_LABELS.get(o, o))
    fmt = f"{{:.{digits}f}}"
    t = table.assign(cell=[f"{fmt.format(e)} [{fmt.format(lo)}, {fmt.format(hi)}]" + ("*" if p <= level else "")
                           for e, lo, hi, p in zip(table["estimate"], table["ci_low"], table["ci_high"],
                                                   table["p_fwer"])])
    order = list(dict.fromkeys(table["subgroup"]))
    outcomes = list(dict.fromkeys(table["outcome"]))
    wide = t.pivot(index="subgroup", columns="outcome", values="cell").reindex(index=order, columns=outcomes)
    wide = wide.fillna("")
    wide.columns = [label(o) for o in outcomes]
    counts = table.groupby("subgroup", sort=False).agg(online=("n_treated", "max"), classroom=("n_control", "max"),
                                                       smd=("max_abs_smd", "max")).reindex(order)
    wide["Online"] = counts["online"].astype(int).to_numpy()
    wide["Classroom"] = counts["classroom"].astype(int).to_numpy()
    wide["Largest |SMD|"] = [fmt.format(v) for v in counts["smd"]]
    wide.insert(0, "Subgroup", [SUBGROUP_WORDS.get(s, s) for s in order])
    return wide.reset_index(drop=True)


_SPEC_KEY = ["treatment", "estimand", "estimator", "sample", "fixed_effects", "cov_type"]


def _spec_name(row: pd.Series) -> str:
    label = spec_label(pd.DataFrame([row])).iloc[0]
    if label:
        return label
    name = str(row["estimator"])
    return name if row["treatment"] in ("online", "") else f"{name} ({row['treatment']})"


def etable(estimates: pd.DataFrame, max_columns: int = 4, digits: int = 3,
           outcome_label=None) -> list[pd.DataFrame]:
    """Regression tables in the style of fixest's ``etable``: specifications as columns, outcomes as rows.

    Each cell holds the estimate (``*`` p < .05, ``**`` p < .01), its standard error in parentheses and its
    interval in brackets, one per line (``\\n``: :func:`credit_recovery.reporting.fragments.table_html` with
    ``multiline=True`` breaks them); the last rows give each specification's estimand, sample, N (the range
    over outcomes), clusters, fixed effects and covariance type. A specification is a distinct
    ``treatment, estimand, estimator, sample, fixed_effects, cov_type``; the columns come in tables of at most
    ``max_columns`` so that none is wider than the page. Suppressed rows (missing estimate) are blank.
    """
    label = outcome_label or (lambda o: OUTCOME_LABELS.get(o, o))
    est = estimates.reset_index(drop=True)
    specs = list(dict.fromkeys(map(tuple, est[_SPEC_KEY].astype(str).to_numpy())))
    outcomes = [o for o in _OUTCOME_ORDER if o in set(est["outcome"])] + \
        list(dict.fromkeys(o for o in est["outcome"] if o not in _OUTCOME_ORDER))
    fmt = f"{{:.{digits}f}}"
    out = []
    for start in range(0, len(specs), max_columns):
        chunk = specs[start:start + max_columns]
        cols, names = {}, []
        for key in chunk:
            rows = est[(est[_SPEC_KEY].astype(str).to_numpy() == key).all(axis=1)]
            name = _spec_name(rows.iloc[0])
            names.append(name)
            cells = {}
            for _, r in rows.iterrows():
                if pd.isna(r["estimate"]):
                    continue
                p = r["p_value"]
                stars = "**" if p < 0.01 else "*" if p < 0.05 else ""
                cells[r["outcome"]] = (f"{fmt.format(r['estimate'])}{stars}\n({fmt.format(r['std_error'])})\n"
                                       f"[{fmt.format(r['ci_low'])},\u00a0{fmt.format(r['ci_high'])}]")
            n = pd.to_numeric(rows["n"], errors="coerce").dropna()
            g = pd.to_numeric(rows["n_clusters"], errors="coerce").dropna()
            span = (lambda v: "" if v.empty else f"{int(v.min()):,}" if v.min() == v.max()
                    else f"{int(v.min()):,}-{int(v.max()):,}")
            cells.update({"_estimand": key[1], "_sample": key[3], "_n": span(n), "_g": span(g),
                          "_fe": key[4], "_cov": key[5]})
            cols[name] = cells
        index = [*outcomes, "_estimand", "_sample", "_n", "_g", "_fe", "_cov"]
        words = {"_estimand": "Estimand", "_sample": "Sample", "_n": "N", "_g": "Clusters", "_fe": "Fixed effects",
                 "_cov": "Standard errors"}
        table = pd.DataFrame({n: [cols[n].get(i, "") for i in index] for n in dict.fromkeys(names)})
        keep = [i < len(outcomes) and any(table.iloc[i]) or i >= len(outcomes) for i in range(len(index))]
        table.insert(0, "", [words.get(i, label(i)) for i in index])
        out.append(table[keep].reset_index(drop=True))
    return out


#: Columns of the appendix's sensitivity tables (:func:`sensitivity_groups`) and their headers.
SENSITIVITY_HEADERS = {"outcome": "outcome", "estimate": "estimate", "t_design": "t (design)",
                       "partial_r2": "partial R²", "rv": "RV", "rv_alpha": "RV at 5%", "e_value": "E-value",
                       "e_value_ci": "E-value, interval", "rosenbaum_gamma": "Rosenbaum Γ", "n_pairs": "matched sets"}


def sensitivity_groups(table: pd.DataFrame, outcome_label=None) -> list[tuple[str, str, pd.DataFrame]]:
    """The sensitivity table (:mod:`credit_recovery.specs.sensitivity`) as one small table per design.

    Returns ``(design, comparison group, table)`` per specification (:func:`spec_label`, in the order of
    ``table``): the :data:`SENSITIVITY_HEADERS` columns that have a value in that design (robustness values only
    for least-squares designs, Rosenbaum bounds only for the matched ones), one row per outcome.
    """
    label = outcome_label or (lambda o: OUTCOME_LABELS.get(o, o))
    t = table.reset_index(drop=True)
    names = [_spec_name(r) for _, r in t.iterrows()]
    out = []
    for name in dict.fromkeys(names):
        rows = t[[n == name for n in names]]
        cols = [c for c in SENSITIVITY_HEADERS if c in ("outcome", "estimate") or
                (c in rows and pd.to_numeric(rows[c], errors="coerce").notna().any())]
        body = rows[cols].assign(outcome=[label(o) for o in rows["outcome"]])
        if "n_pairs" in body:
            body["n_pairs"] = pd.to_numeric(body["n_pairs"]).round().astype("Int64")
        body = body.rename(columns=SENSITIVITY_HEADERS)
        group = str(rows["scale_group"].iloc[0]) if "scale_group" in rows else ""
        out.append((name, group, body.reset_index(drop=True)))
    return out
