"""Rule models_panel: student fixed-effects panel, event study and same-cohort Callaway-Sant'Anna estimates."""
import pandas as pd

from credit_recovery.specs.drivers import run_panel_models
from credit_recovery.shared.script_io import start_log, write_csv, write_parquet

log = start_log(snakemake.log[0])
data = snakemake.input.data  # validated tables, contract format
estimates, samples = run_panel_models(pd.read_parquet(f"{data}/student_years.parquet"),
                                      # the panel needs only the recovery attempts' student, year and delivery
                                      pd.read_parquet(f"{data}/course_records.parquet",
                                                      columns=["student_id", "school_year", "attempt", "delivery"],
                                                      filters=[("attempt", "==", "recovery")]),
                                      pd.read_parquet(snakemake.input.cohort), dict(snakemake.params.models))
write_csv(estimates, snakemake.output.estimates)
write_parquet(samples, snakemake.output.samples)
log.info("%d estimates", len(estimates))
