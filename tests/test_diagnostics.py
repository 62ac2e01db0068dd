import pandas as pd
from hypothesis import given, settings, strategies as st

from credit_recovery.design.diagnostics import balance_gate, common_support, imbalance_report, matched_weights


def test_common_support_by_hand():
    df = pd.DataFrame({"t": [1, 1, 1, 0, 0, 0, 0], "d": [0.2, 0.5, 0.9, 0.1, 0.3, 0.6, 0.7]})
    cs = common_support(df, "t", "d").set_index("group")
    assert cs.loc["treated", "support_low"] == 0.2 and cs.loc["treated", "support_high"] == 0.7
    assert cs.loc["treated", "n_above"] == 1 and cs.loc["treated", "n_below"] == 0
    assert cs.loc["control", "n_below"] == 1 and cs.loc["control", "n_above"] == 0


@settings(max_examples=40, deadline=None)
@given(st.lists(st.tuples(st.booleans(), st.floats(-5, 5)), min_size=2, max_size=60))
def test_common_support_counts_partition_each_group(rows):
    df = pd.DataFrame(rows, columns=["t", "d"]).astype({"t": int})
    if df["t"].nunique() < 2:
        return
    cs = common_support(df, "t", "d")
    for _, r in cs.iterrows():
        x = df.loc[df["t"] == (1 if r["group"] == "treated" else 0), "d"]
        inside = ((x >= r["support_low"]) & (x <= r["support_high"])).sum()
        assert inside + r["n_below"] + r["n_above"] == r["n"]


def test_matched_weights_align_and_zero_unmatched():
    full = pd.DataFrame({"recovery_record_id": ["a", "b", "c"]})
    matched = pd.DataFrame({"recovery_record_id": ["c", "a"], "weights": [2.0, 1.0]})
    assert matched_weights(full, matched).tolist() == [1.0, 0.0, 2.0]


def test_balance_gate_flags_above_threshold():
    table = pd.concat({"before": pd.DataFrame({"smd": [0.5, 0.1], "wwc": ["x", "y"]}, index=["a", "b"]),
                       "after": pd.DataFrame({"smd": [-0.3, 0.05], "wwc": ["not satisfied", "satisfied"]},
                                             index=["a", "b"])}, axis=1)
    gate = balance_gate(table, 0.25)
    assert gate["flagged"].tolist() == [True, False]
    assert imbalance_report(gate, 0.25) == (
        "balance gate: 1 of 2 covariates have |SMD| > 0.25 after matching (SMD before -> after): a +0.500 -> -0.300. "
        "Change the design (matching.ratio, caliper, exact) or relax the gate (matching.smd_threshold, or "
        "matching.stop_on_imbalance: false to flag only).")
    assert imbalance_report(balance_gate(table, 0.3), 0.3) == ""  # |-0.3| is not above 0.3


def test_an_imbalanced_match_stops_the_run_with_the_smds_and_publishes_nothing(tmp_path, run_snakemake, tiny_config):
    cfg = {**tiny_config, "matching": {**tiny_config["matching"], "smd_threshold": 0.001, "stop_on_imbalance": True}}
    out = run_snakemake(tmp_path, cfg, check=False)
    assert out.returncode != 0
    text = out.stdout + out.stderr
    assert "balance gate:" in text and "have |SMD| > 0.001 after matching" in text and "math_pre" in text
    assert not (tmp_path / "results/matching/balance.csv").exists()
    assert not (tmp_path / "results/models/estimates.csv").exists()
    public = {p.name for p in (tmp_path / "results/public").rglob("*") if p.is_file()}
    # only the stages before the gate, or beside it (the engagement figures do not use the match)
    assert public and all(p.startswith(("cohort_flow.", "engagement_")) for p in public), public
    assert not (tmp_path / "results/public/subgroups.csv").exists()
