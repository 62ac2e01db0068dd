"""Rule attrition: missing outcomes by arm in the cohort and the matched sample, WWC overall and differential
attrition, and Lee bounds on the matched ATT for outcomes missing not at random."""
import pandas as pd

from credit_recovery.design.attrition import attrition_table
from credit_recovery.specs.attrition_bounds import lee_bounds_table
from credit_recovery.shared.script_io import start_log, write_csv

log = start_log(snakemake.log[0])
cohort = pd.read_parquet(snakemake.input.cohort)
matched = pd.read_parquet(snakemake.input.matched)
table = attrition_table(cohort, matched, snakemake.params.outcomes)
write_csv(table, snakemake.output.table)
for r in table.itertuples():
    log.info("%s %s: attrition online %.1f%%, classroom %.1f%%, overall %.1f%%, differential %.1f points (WWC %s / %s)",
             r.sample, r.outcome, r.attrition_online, r.attrition_classroom, r.overall_attrition,
             r.differential_attrition, r.cautious, r.optimistic)
p = snakemake.params
bounds = lee_bounds_table(matched, p.outcomes, cluster=p.cluster, reps=p.reps, seed=p.seed)
write_csv(bounds, snakemake.output.bounds)
for r in bounds.itertuples():
    log.info("Lee bounds %s: [%.4f, %.4f], Imbens-Manski %.0f%% interval [%.4f, %.4f] (%s arm trimmed by %.3f)",
             r.outcome, r.lower, r.upper, 100 * r.level, r.ci_low, r.ci_high, r.trimmed_arm or "no", r.trim_share)
