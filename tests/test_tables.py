"""Companion effect-size table, regression tables and figures drawn from tidy estimate rows."""
import numpy as np
import pandas as pd
import pytest
from matplotlib.figure import Figure

from credit_recovery.estimation.effect_sizes import hedges_g, improvement_index
from credit_recovery.shared.estimate_schema import estimate_row, estimates_frame
from credit_recovery.estimation.multiple_testing import holm_adjust
from credit_recovery.disclosure.scanner import check_public_folder
from credit_recovery.reporting.figures import event_study_plot, forest_plot
from credit_recovery.reporting.tables import (SPECIFICATIONS, effect_size_table, etable, public_effect_sizes,
                                              regression_table, subgroup_table, table_latex, table_markdown)


def _rows():
    rows = []
    rng = np.random.default_rng(0)
    for label, (treat, estimator, sample) in SPECIFICATIONS.items():
        for y in ("math", "reading", "credits", "gpa", "credit_recovered"):
            rows.append(estimate_row(outcome=y, treatment=treat, estimand="ATT", estimator=estimator, sample=sample,
                                     estimate=rng.normal(-0.1, 0.05), std_error=0.04, n=500, n_clusters=10))
    for k in ("online_m3", "online_m2", "online_p1", "online_p2"):
        rows.append(estimate_row(outcome="math", treatment=k, estimand="event", sample="panel_es",
                                 estimator="student FE event study, school-by-year FE", estimate=0.01,
                                 std_error=0.03, n=900))
    rows.append(estimate_row(outcome="tests_taken", treatment="supportive", estimand="ATE", sample="online",
                             estimator=SPECIFICATIONS["Supportive mentor"][1], estimate=-0.3, std_error=0.1, n=7))
    return estimates_frame(rows)


def _cohort():
    rng = np.random.default_rng(1)
    return pd.DataFrame({"online": np.repeat([1, 0], [300, 400]), "math": rng.normal(0, 0.9, 700),
                         "reading": rng.normal(0, 1.1, 700)})


def test_effect_sizes_holm_within_family_and_hedges_g():
    est, cohort = _rows(), _cohort()
    t = effect_size_table(est, cohort)
    fam = t[(t["estimator"] == SPECIFICATIONS["Naive"][1])]
    assert fam["family_size"].eq(5).all()
    assert np.allclose(fam["p_holm"], holm_adjust(fam["p_value"].to_numpy()))
    a, b = cohort.loc[cohort.online == 1, "math"], cohort.loc[cohort.online == 0, "math"]
    sd = np.sqrt(((len(a) - 1) * a.var() + (len(b) - 1) * b.var()) / (len(a) + len(b) - 2))
    r = fam[fam["outcome"] == "math"].iloc[0]
    assert r["hedges_g"] == pytest.approx(hedges_g(r["estimate"], sd, n_t=300, n_c=400))
    assert r["improvement_index"] == pytest.approx(improvement_index(r["hedges_g"]))
    assert fam.loc[fam["outcome"] == "credits", "hedges_g"].isna().all()  # not a score
    assert list(est.columns) == list(estimates_frame(est).columns)  # tidy schema untouched


def test_regression_table_layout_and_suppression():
    tab = regression_table(_rows(), min_cell_size=10)
    assert list(tab.columns[:2]) == ["outcome", "statistic"]
    assert list(tab.columns[2:]) == list(SPECIFICATIONS)
    assert tab["statistic"].tolist()[:3] == ["estimate", "(SE)", "N"]
    tests = tab.index[tab["outcome"] == "Tests taken"][0]
    assert tab.loc[tests, "Supportive mentor"] == "" and tab.loc[tests + 2, "Supportive mentor"] == "<10"
    md, tex = table_markdown(tab, "cap"), table_latex(tab, "cap")
    assert md.count("\n") == len(tab) + 4 and "| outcome | statistic |" in md
    assert tex.count(r"\\") >= len(tab) + 1 and r"\toprule" in tex and "<10" not in tex


def test_public_outputs_pass_the_privacy_scan(tmp_path):
    est = _rows()
    pub = public_effect_sizes(effect_size_table(est, _cohort()), 10)
    assert "estimand_id" not in pub.columns
    assert (pub.loc[pub["outcome"] == "tests_taken", "estimate"] == "<10").all()
    pub.to_csv(tmp_path / "effect_sizes.csv", index=False)
    tab = regression_table(est, 10)
    tab.to_csv(tmp_path / "table.csv", index=False)
    (tmp_path / "table.md").write_text(table_markdown(tab))
    (tmp_path / "table.tex").write_text(table_latex(tab))
    check_public_folder(tmp_path, {"student_id": ["ST100001"]}, min_cell_size=10)


def test_figures():
    est = _rows()
    assert isinstance(forest_plot(est), Figure)
    assert isinstance(event_study_plot(est), Figure)


def test_etable_puts_specifications_in_columns_and_every_number_in_a_cell():
    est = _rows()
    tables = etable(est, max_columns=4)
    n_specs = len(est.drop_duplicates(["treatment", "estimand", "estimator", "sample", "fixed_effects", "cov_type"]))
    assert [t.shape[1] - 1 for t in tables] == [4] * (n_specs // 4) + ([n_specs % 4] if n_specs % 4 else [])
    first = tables[0]
    assert list(first.iloc[:, 0])[-6:] == ["Estimand", "Sample", "N", "Clusters", "Fixed effects", "Standard errors"]
    row = est[(est["estimator"] == SPECIFICATIONS["Naive"][1]) & (est["outcome"] == "gpa")].iloc[0]
    cell = first.loc[first.iloc[:, 0] == "GPA", "Naive"].iloc[0]
    est_line, se_line, ci_line = cell.split("\n")
    assert est_line.rstrip("*") == f"{row['estimate']:.3f}" and se_line == f"({row['std_error']:.3f})"
    assert ci_line == f"[{row['ci_low']:.3f},\u00a0{row['ci_high']:.3f}]"
    stars = "**" if row["p_value"] < 0.01 else "*" if row["p_value"] < 0.05 else ""
    assert est_line == f"{row['estimate']:.3f}{stars}"
    # every estimate of every specification is in exactly one cell
    cells = [c for t in tables for c in t.iloc[:, 1:].to_numpy().ravel() if "\n" in str(c)]
    assert len(cells) == len(est)


def test_subgroup_table_pivots_outcomes_and_marks_familywise_significance():
    t = pd.DataFrame({"outcome": ["math", "math", "credits", "credits"], "subgroup": ["ell=yes", "ell=no"] * 2,
                      "estimate": [-0.2, 0.1, -0.3, 0.0], "ci_low": [-0.3, 0.0, -0.5, -0.1],
                      "ci_high": [-0.1, 0.2, -0.1, 0.1], "p_fwer": [0.01, 0.2, 0.06, 0.9],
                      "n_treated": [50, 500, 48, 490], "n_control": [60, 400, 58, 390],
                      "max_abs_smd": [0.1, 0.05, 0.1, 0.05]})
    out = subgroup_table(t)
    assert list(out["Subgroup"]) == ["English learners", "Not English learners"]
    assert out.iloc[0, 1] == "-0.200 [-0.300, -0.100]*" and out.iloc[0, 2] == "-0.300 [-0.500, -0.100]"
    assert list(out["Online"]) == [50, 500] and list(out["Classroom"]) == [60, 400]


def test_sensitivity_groups_give_one_narrow_table_per_design():
    from credit_recovery.reporting.tables import sensitivity_groups

    t = pd.DataFrame({
        "outcome": ["math", "math", "reading", "math"],
        "sample": ["matched", "matched_fe", "matched_fe", "online"],
        "treatment": ["online", "online", "online", "supportive"],
        "estimator": ["nearest-neighbour matching, bias-corrected", "matched WLS, covariates, school-by-year FE",
                      "matched WLS, covariates, school-by-year FE",
                      "mentor instructionally supportive vs not, school FE"],
        "estimate": [-0.2, -0.19, -0.08, 0.05], "t_design": [-8.0, -7.0, -4.0, 1.5],
        "partial_r2": [np.nan, 0.03, 0.005, 0.002], "rv": [np.nan, 0.15, 0.07, 0.04],
        "rv_alpha": [np.nan, 0.1, 0.05, 0.0], "e_value": [1.8, 1.75, 1.4, 1.3], "e_value_ci": [1.6, 1.6, 1.3, 1.0],
        "rosenbaum_gamma": [1.4, 1.4, 1.07, np.nan], "n_pairs": [1574.0, 1574.0, 1580.0, np.nan],
        "scale_group": ["matched classroom", "matched classroom", "matched classroom", "online, not supportive"]})
    groups = sensitivity_groups(t)
    assert [(name, group, len(tab)) for name, group, tab in groups] == [
        ("Matched, bias-corrected", "matched classroom", 1), ("Matched, school-year FE", "matched classroom", 2),
        ("Supportive mentor", "online, not supportive", 1)]
    assert "RV" not in groups[0][2] and "Rosenbaum Γ" in groups[0][2]          # no regression: no RV
    assert "Rosenbaum Γ" not in groups[2][2] and "RV at 5%" in groups[2][2]   # no matched sets: no Gamma
    assert groups[1][2]["matched sets"].tolist() == [1574, 1580] and groups[1][2]["outcome"][0] == "Math score (SD)"
