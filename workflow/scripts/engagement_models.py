"""Rule engagement_models: idle time, absences and grade level with course results; efficiency by year."""
import pandas as pd

from credit_recovery.engagement.models import run_engagement_models
from credit_recovery.shared.script_io import start_log, write_csv, write_parquet

log = start_log(snakemake.log[0])
data = snakemake.input.data
estimates, samples = run_engagement_models(
    pd.read_parquet(snakemake.input.features), pd.read_parquet(snakemake.input.types),
    pd.read_parquet(f"{data}/student_years.parquet"), pd.read_parquet(f"{data}/students.parquet"),
    models=snakemake.params.models, options=snakemake.params.engagement)
write_csv(estimates, snakemake.output.estimates)
write_parquet(samples, snakemake.output.samples)
log.info("%d estimates", len(estimates))
