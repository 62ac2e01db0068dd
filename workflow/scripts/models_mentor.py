"""Rule models_mentor: mentor support among online takers and the three-way IPW comparison."""
import pandas as pd

from credit_recovery.specs.drivers import run_mentor_models
from credit_recovery.data.imputation import impute_missing
from credit_recovery.shared.script_io import start_log, write_csv, write_parquet

log = start_log(snakemake.log[0])
cohort, covariates = impute_missing(pd.read_parquet(snakemake.input.cohort), snakemake.params.covariates)
# only the online takers' recovery courses get test statistics: read just their events
online = sorted(cohort.loc[cohort["online"].astype(bool), "recovery_record_id"].astype(str).unique())
events = pd.read_parquet(f"{snakemake.input.data}/platform_events.parquet",
                         columns=["course_record_id", "event_type", "score"],
                         filters=[("course_record_id", "in", online)] if online else None)
estimates, samples = run_mentor_models(cohort, events, covariates, dict(snakemake.params.models),
                                       pass_mark=snakemake.params.pass_mark)
write_csv(estimates, snakemake.output.estimates)
write_parquet(samples, snakemake.output.samples)
log.info("%d estimates", len(estimates))
