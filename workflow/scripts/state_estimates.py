"""Rule state_estimates: every district's estimates beside the pooled state's; the public table and figure."""
import pandas as pd

from credit_recovery.reporting.state import state_figure, state_public_table, state_sentence
from credit_recovery.shared.script_io import start_log, write_csv
from credit_recovery.shared.style import save_figure
from credit_recovery.specs.state import state_estimates

log = start_log(snakemake.log[0])


def read(path):
    return pd.read_csv(path, keep_default_na=False, na_values=[""])


parts = {d: read(f) for d, f in zip(snakemake.params.districts, snakemake.input.districts)}
state = state_estimates(parts, read(snakemake.input.pooled), pd.read_csv(snakemake.input.balance))
public = state_public_table(state, snakemake.params.primary, snakemake.params.min_cell_size)
write_csv(state, snakemake.output.table)
write_csv(public, snakemake.output.public)
save_figure(state_figure(public), snakemake.output.figure[0][: -len(".png")],
            caption="Online vs classroom credit recovery in each district and pooled over the state: the primary "
                    "design's estimates with 95% confidence intervals.",
            alt_text="Dot-and-line plot, one panel per outcome, one row per district and a last row for the pooled "
                     "state, showing each estimate and its 95% confidence interval.")
log.info("%d state rows; %s", len(state), state_sentence(public))
