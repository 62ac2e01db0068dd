"""Rule monte_carlo: bias, RMSE, CI coverage and power over the replicates; the validity matrix; figures."""
import pandas as pd

from credit_recovery.truth.figures import mc_plot, validity_heatmap
from credit_recovery.truth.montecarlo import summarize_replicates, validity_matrix
from credit_recovery.truth.validity import interval_check
from credit_recovery.shared.script_io import start_log, write_csv, write_parquet
from credit_recovery.shared.style import save_figure

log = start_log(snakemake.log[0])
rows = pd.concat([pd.read_csv(p, keep_default_na=False, na_values=[""]) for p in snakemake.input.replicates],
                 ignore_index=True)
summary = summarize_replicates(rows)
order = {s: i for i, s in enumerate(snakemake.params.scenarios)}
summary = summary.sort_values("scenario", key=lambda s: s.map(order), kind="stable").reset_index(drop=True)
write_parquet(rows, snakemake.output.replicates)
write_csv(summary, snakemake.output.summary)
write_csv(validity_matrix(summary), snakemake.output.validity)
write_csv(interval_check(rows), snakemake.output.intervals)
save_figure(mc_plot(summary, "ocr_math"), snakemake.output.figure[0][: -len(".png")],
            caption="Monte Carlo: bias and 95% CI coverage of each estimator of the online effect on math, "
                    "by scenario.",
            alt_text="Bias with Monte Carlo intervals and CI coverage per estimator, one colour per scenario; "
                     "the shaded band marks coverage 0.92 to 0.98.")
save_figure(validity_heatmap(summary, scenarios=snakemake.params.scenarios),
            snakemake.output.heatmap[0][: -len(".png")],
            caption="Validity matrix: 95% CI coverage of each estimator by scenario; a dot marks the cells where "
                    "the estimator's assumptions hold (the estimand registry).",
            alt_text="Heat map of confidence-interval coverage, scenarios in rows and estimand-estimator pairs in "
                     "columns; cells near 0.95 are light, cells far below are dark.")
log.info("%d replicate tables summarized into %d rows", len(snakemake.input.replicates), len(summary))
