"""Rule state_cohort: the state's analytic cohort and flow (the districts' stacked; flow counts summed), its
ledger (the districts' ledgers stacked on disk, row group by row group) and ledger counts, and its flow figure."""
import pandas as pd

from credit_recovery.data.extract_io import stack_parquet
from credit_recovery.data.state import pool_cohorts, pool_ledger_counts
from credit_recovery.reporting.figures import plot_flow
from credit_recovery.shared.script_io import start_log, write_csv, write_parquet
from credit_recovery.shared.style import save_figure

log = start_log(snakemake.log[0])
names = snakemake.params.districts
result = pool_cohorts({d: pd.read_parquet(f) for d, f in zip(names, snakemake.input.cohorts)},
                      {d: pd.read_csv(f) for d, f in zip(names, snakemake.input.flows)})
write_parquet(result.cohort, snakemake.output.cohort)
stack_parquet(list(zip(names, snakemake.input.ledgers)), snakemake.output.ledger)
write_csv(pool_ledger_counts({d: pd.read_csv(f) for d, f in zip(names, snakemake.input.ledger_counts)}),
          snakemake.output.ledger_counts)
write_csv(result.flow, snakemake.output.flow)
fig = plot_flow(result.flow_public(snakemake.params.min_cell_size))
save_figure(fig, snakemake.output.figure[0][: -len(".png")],
            caption=f"How the analytic cohort was formed from the course records of {len(names)} districts.",
            alt_text="Flow diagram: failed core course attempts, exclusions with reasons, and the "
                     "online and classroom recovery groups of the state's analytic cohort.")
log.info("state cohort: %d units (%d online) from %d districts", len(result.cohort),
         int(result.cohort["online"].sum()), len(names))
