"""Rule cohort: analytic cohort, exclusion ledger and flow figure."""
from credit_recovery import build_cohort, read_extract
from credit_recovery.shared.script_io import start_log, write_csv, write_parquet
from credit_recovery.reporting.figures import plot_flow
from credit_recovery.shared.style import save_figure

log = start_log(snakemake.log[0])
result = build_cohort(read_extract(snakemake.input[0]), snakemake.params.cohort)
write_parquet(result.cohort, snakemake.output.cohort)
write_parquet(result.ledger, snakemake.output.ledger)
write_csv(result.ledger_counts(), snakemake.output.ledger_counts)
write_csv(result.flow, snakemake.output.flow)
fig = plot_flow(result.flow_public(snakemake.params.min_cell_size))
save_figure(fig, snakemake.output.figure[0][: -len(".png")],
            caption="How the analytic cohort was formed from the district's course records.",
            alt_text="Flow diagram: failed core course attempts, exclusions with reasons, and the "
                     "online and classroom recovery groups of the analytic cohort.")
log.info("cohort: %d units (%d online)", len(result.cohort), int(result.cohort["online"].sum()))
