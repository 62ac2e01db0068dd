"""Rule sensitivity: robustness values, E-values and Rosenbaum bounds of every designed estimate, and the benchmark
bounds of the matched FE estimates (how strong a hidden confounder would have to be)."""
import pandas as pd

from credit_recovery.specs.sensitivity import run_sensitivity
from credit_recovery.shared.script_io import start_log, write_csv

log = start_log(snakemake.log[0])
p = snakemake.params
estimates = pd.read_csv(snakemake.input.estimates, keep_default_na=False, na_values=[""])
events = pd.read_parquet(f"{snakemake.input.data}/platform_events.parquet",
                         columns=["course_record_id", "event_type", "score"])
table, benchmarks = run_sensitivity(pd.read_parquet(snakemake.input.matched), pd.read_parquet(snakemake.input.scores),
                                    pd.read_parquet(snakemake.input.pairs), estimates, p.matching, p.models,
                                    p.sensitivity, cohort=pd.read_parquet(snakemake.input.cohort), events=events,
                                    pass_mark=p.pass_mark)
write_csv(table, snakemake.output.table)
write_csv(benchmarks, snakemake.output.benchmarks)
for r in table.itertuples():
    log.info("%s %s %s: estimate %.4f, RV %.3f, RV(alpha) %.3f, E-value %.2f (interval %.2f), "
             "Rosenbaum Gamma %.2f over %s matched sets", r.sample, r.outcome, r.treatment, r.estimate, r.rv,
             r.rv_alpha, r.e_value, r.e_value_ci, r.rosenbaum_gamma, r.n_pairs)
