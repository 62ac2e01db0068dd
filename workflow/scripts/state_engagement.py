"""Rule state_engagement: the districts' student-course engagement features stacked (config order)."""
import pandas as pd

from credit_recovery.shared.script_io import start_log, write_parquet

log = start_log(snakemake.log[0])
features = pd.concat([pd.read_parquet(f) for f in snakemake.input.features], ignore_index=True)
write_parquet(features, snakemake.output[0])
log.info("%d student-courses from %d districts", len(features), len(snakemake.input.features))
