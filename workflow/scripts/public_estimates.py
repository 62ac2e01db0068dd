"""Rule public_estimates: the publishable estimate table (rows on fewer than privacy.min_cell_size students suppressed)."""
import pandas as pd

from credit_recovery.shared.estimate_schema import estimates_frame
from credit_recovery.shared.script_io import start_log, write_csv
from credit_recovery.reporting.public import public_estimates

log = start_log(snakemake.log[0])
est = public_estimates(estimates_frame(pd.read_csv(snakemake.input.estimates)), snakemake.params.min_cell_size)
write_csv(est, snakemake.output.estimates)
log.info("public estimates: %d rows, %d suppressed", len(est), int(est["suppressed"].sum()))
