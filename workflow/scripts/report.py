"""Rule report: publishable estimate table and plain-language brief."""
import pandas as pd

from credit_recovery.estimates import estimates_frame
from credit_recovery.pipeline import start_log, write_csv
from credit_recovery.report import public_estimates, render_brief

log = start_log(snakemake.log[0])
est = public_estimates(estimates_frame(pd.read_csv(snakemake.input.estimates)), snakemake.params.min_cell_size)
write_csv(est, snakemake.output.estimates)
with open(snakemake.output.brief, "w", encoding="utf-8") as fh:
    fh.write(render_brief(est))
