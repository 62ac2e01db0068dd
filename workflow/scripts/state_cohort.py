"""Rule state_cohort: the state's analytic cohort, ledger and flow (the districts' stacked; flow counts summed)
and its flow figure."""
import pandas as pd

from credit_recovery.data.cohort import CohortResult
from credit_recovery.data.state import pool_cohorts
from credit_recovery.reporting.figures import plot_flow
from credit_recovery.shared.script_io import start_log, write_csv, write_parquet
from credit_recovery.shared.style import save_figure

log = start_log(snakemake.log[0])
parts = {d: CohortResult(cohort=pd.read_parquet(c), ledger=pd.read_parquet(l), flow=pd.read_csv(f))
         for d, c, l, f in zip(snakemake.params.districts, snakemake.input.cohorts, snakemake.input.ledgers,
                               snakemake.input.flows)}
result = pool_cohorts(parts)
write_parquet(result.cohort, snakemake.output.cohort)
write_parquet(result.ledger, snakemake.output.ledger)
write_csv(result.ledger_counts(), snakemake.output.ledger_counts)
write_csv(result.flow, snakemake.output.flow)
fig = plot_flow(result.flow_public(snakemake.params.min_cell_size))
save_figure(fig, snakemake.output.figure[0][: -len(".png")],
            caption=f"How the analytic cohort was formed from the course records of {len(parts)} districts.",
            alt_text="Flow diagram: failed core course attempts, exclusions with reasons, and the "
                     "online and classroom recovery groups of the state's analytic cohort.")
log.info("state cohort: %d units (%d online) from %d districts", len(result.cohort),
         int(result.cohort["online"].sum()), len(parts))
