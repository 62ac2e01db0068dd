"""Back-on-Track replicas: the randomized design's ITT and complier effects against the planted experiment.

Run from the project root (``PROCS`` worker processes; each replica about 40 s and 2 GB):

    .venv/bin/python docs/results/experiment_monte_carlo.py FIRST_SEED LAST_SEED OUT.csv [PROCS]

Each seed simulates a replica of Back on Track (about 1,200 ninth graders who failed math, 17 schools, two
cohorts, assignment within school-year, 8% never-takers and 5% always-takers; ``REPLICA`` below,
docs/synthetic-district.md), builds the cohort, runs the ``experiment`` rule's design
(:func:`credit_recovery.specs.experiment.run_experiment` with the config's ``experiment`` section) and scores
every ITT and CACE row against its truth (:func:`credit_recovery.truth.experiment.experiment_truth_check`).
Writes one row per seed x estimate (with the observed arm means of the replica) and prints coverage, bias
and the mean arm means. Quoted in docs/experiment.md.
"""
import sys
from multiprocessing import Pool

import pandas as pd
import yaml

from credit_recovery import build_cohort, simulate_district
from credit_recovery.specs.experiment import run_experiment
from credit_recovery.truth.experiment import experiment_truth_check
from credit_recovery.truth.montecarlo import merge_overlay

CFG = yaml.safe_load(open("config.yaml"))
#: The Back-on-Track replica (docs/synthetic-district.md, "Experiment mode").
REPLICA = {"scale": "experiment", "n_years": 5, "effects": {"ocr_math": -0.23, "ocr_credits": -0.05},
           "recovery_course": {"base_log_odds": 1.85, "d_share_online": 0.72, "d_share_classroom": 0.33},
           "experiment": {"enabled": True, "start_year": 2012}}
MEANS = ["credit_recovered", "df", "math", "graduated"]


def replica(seed: int) -> pd.DataFrame:
    sim = merge_overlay(CFG["simulation"], {**REPLICA, "seed": int(seed)})
    res = simulate_district(sim, None, CFG.get("cohort"))
    c = build_cohort(res.tables, CFG.get("cohort"))
    out = run_experiment(res.tables["assignments"], c.cohort, c.ledger, CFG["experiment"])
    check = experiment_truth_check(out["estimates"], res.truth)
    units = out["units"]
    means = {f"{y}_{arm}": float(units.loc[units["assigned"] == z, y].mean()) for y in MEANS
             for arm, z in (("online", 1), ("classroom", 0))}
    fs = out["first_stage"].iloc[0]
    return check.assign(seed=seed, n_units=len(units), n_excluded=len(out["excluded"]),
                        compliance=float(fs["compliance_difference"]), first_stage_f=float(fs["first_stage_f"]),
                        joint_p=float(out["joint_test"]["p_value"].iloc[0]), **means)


if __name__ == "__main__":
    a, b, path = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
    procs = int(sys.argv[4]) if len(sys.argv) > 4 else 2
    rows = []
    with Pool(procs) as pool:
        for i, df in enumerate(pool.imap(replica, range(a, b))):
            rows.append(df)
            pd.concat(rows, ignore_index=True).to_csv(path, index=False)
            print(a + i, flush=True)
    d = pd.concat(rows, ignore_index=True)
    print(f"{d['seed'].nunique()} replicas; units {d['n_units'].mean():.0f}")
    print(d.groupby("estimand_id").agg(coverage=("covers", "mean"), bias=("bias", "mean"), truth=("truth", "mean"),
                                       sd=("estimate", "std"), mean_se=("std_error", "mean")).round(4).to_string())
    arm = d.drop_duplicates("seed")[[f"{y}_{s}" for y in MEANS for s in ("online", "classroom")]].mean().round(3)
    print(arm.to_string())
    print("joint randomization test p < 0.05:", round(float((d.drop_duplicates("seed")["joint_p"] < 0.05).mean()), 3))
