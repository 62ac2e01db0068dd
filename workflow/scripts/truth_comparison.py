"""Rule truth_comparison (synthetic data only): each estimate against the truth over its own sample."""
import pandas as pd

from credit_recovery.truth.comparison import truth_vs_estimates
from credit_recovery.shared.estimate_schema import estimates_frame
from credit_recovery.shared.script_io import start_log, write_csv

log = start_log(snakemake.log[0])
table = truth_vs_estimates(estimates_frame(pd.read_csv(snakemake.input.estimates, keep_default_na=False,
                                                       na_values=[""])),
                           pd.read_parquet(snakemake.input.samples), pd.read_parquet(snakemake.input.unit_effects))
write_csv(table, snakemake.output[0])
log.info("coverage: %d of %d estimates' CIs cover their truth", int(table["covers"].sum()), len(table))
