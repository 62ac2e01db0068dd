"""Balance after matching on the default district (seed 20111) and two other seeds: |SMD| per covariate.

Run from the project root: `.venv/bin/python docs/results/balance_seeds.py` (about a minute); the table in
docs/matching.md ("Balance on the default district and two more seeds") comes from its output.
"""
import sys, yaml
import pandas as pd
from credit_recovery.synthetic.generator import simulate_district
from credit_recovery.data.cohort import build_cohort
from credit_recovery.data.imputation import impute_missing
from credit_recovery.design.propensity import fit_propensity
from credit_recovery.design.matching import match
from credit_recovery.design.balance import balance_before_after
from credit_recovery.design.diagnostics import matched_weights

cfg = yaml.safe_load(open("config.yaml"))
mopt = cfg["matching"]
out = []
for seed in (20111, 20112, 20113):
    sim = simulate_district({**cfg["simulation"], "seed": seed})
    cohort = build_cohort(sim.tables).cohort
    data, covs = impute_missing(cohort, mopt["covariates"])
    ps = fit_propensity(data, "online", covs)
    data["propensity"], data["logit"] = ps.propensity, ps.logit
    m = match(data, "online", mopt["distance"], ratio=mopt["ratio"], replace=mopt["replace"], caliper=mopt["caliper"],
              std_caliper=mopt["std_caliper"], exact=mopt["exact"] or None, order=mopt["order"], seed=mopt["seed"])
    w = matched_weights(data, m.data)
    t = balance_before_after(data, "online", covs + ["logit"], w)
    flat = t.copy(); flat.columns = [f"{a}_{b}" for a, b in flat.columns]
    smd_cols = [c for c in flat.columns if "smd" in c.lower()]
    out.append(flat[smd_cols].abs().add_prefix(f"{seed}_"))
    print(seed, "treated", int(data.online.sum()), "unmatched", m.n_unmatched, file=sys.stderr)
tab = pd.concat(out, axis=1)
print(tab.round(3).to_string())
print("max", tab.max().round(3).to_dict())
