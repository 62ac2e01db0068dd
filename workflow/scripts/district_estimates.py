"""Rule district_estimates: one district's propensity model, matching and outcome models (state table rows)."""
import pandas as pd

from credit_recovery.shared.script_io import start_log, write_csv, write_parquet
from credit_recovery.specs.state import district_estimates

log = start_log(snakemake.log[0])
rows, samples = district_estimates(pd.read_parquet(snakemake.input.cohort), snakemake.wildcards.district,
                                   dict(snakemake.params.matching), dict(snakemake.params.models))
write_csv(rows, snakemake.output.estimates)
write_parquet(samples, snakemake.output.samples)
log.info("district %s: %d estimates; largest |SMD| after matching %.3f", snakemake.wildcards.district,
         len(rows), float(rows["max_abs_smd"].iloc[0]) if len(rows) else float("nan"))
