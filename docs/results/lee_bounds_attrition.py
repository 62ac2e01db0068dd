"""Lee bounds in the attrition scenario: bounds and Imbens-Manski interval vs the matched online takers' truth.

Run from the project root: `.venv/bin/python docs/results/lee_bounds_attrition.py medium 3000 3030` (a few minutes);
the numbers in docs/attrition.md ("Lee bounds when outcomes are missing not at random") come from its output.
"""
import sys

import pandas as pd
import yaml

from district import matched_district  # docs/results/district.py
from credit_recovery.specs.attrition_bounds import lee_bounds_table
cfg = yaml.safe_load(open("config.yaml"))
scale = sys.argv[1]; seeds = range(int(sys.argv[2]), int(sys.argv[3]))
rows = []
for seed in seeds:
    res, cohort, data, m = matched_district(cfg, "attrition", seed, scale)
    tab = lee_bounds_table(m.data, ["math", "reading", "gpa"], cluster="school_id", reps=199, seed=1)
    ue = res.unit_effects.rename(columns={"course_record_id": "recovery_record_id"})
    tr = m.data[m.data["online"] == 1][["student_id", "recovery_record_id"]].merge(ue, on=["student_id", "recovery_record_id"])
    for r in tab.itertuples():
        truth = float(tr[f"ocr_{r.outcome}"].mean())
        rows.append({"seed": seed, "outcome": r.outcome, "truth": truth, "lower": r.lower, "upper": r.upper,
                     "ci_low": r.ci_low, "ci_high": r.ci_high, "trim": r.trim_share, "arm": r.trimmed_arm,
                     "in_bounds": r.lower <= truth <= r.upper, "covers": r.ci_low <= truth <= r.ci_high})
out = pd.DataFrame(rows).sort_values(["seed", "outcome"], kind="stable")
print(out.groupby("outcome")[["truth", "lower", "upper", "trim", "in_bounds", "covers"]].mean().round(4).to_string())
