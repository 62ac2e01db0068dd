"""Rule monte_carlo: bias, RMSE and CI coverage over the replicates, and a figure."""
import pandas as pd

from credit_recovery.truth.figures import mc_plot
from credit_recovery.truth.montecarlo import summarize_replicates
from credit_recovery.shared.script_io import start_log, write_csv, write_parquet
from credit_recovery.shared.style import save_figure

log = start_log(snakemake.log[0])
rows = pd.concat([pd.read_csv(p, keep_default_na=False, na_values=[""]) for p in snakemake.input.replicates],
                 ignore_index=True)
summary = summarize_replicates(rows)
write_parquet(rows, snakemake.output.replicates)
write_csv(summary, snakemake.output.summary)
save_figure(mc_plot(summary, "ocr_math"), snakemake.output.figure[0][: -len(".png")],
            caption="Monte Carlo: bias and 95% CI coverage of each estimator of the online effect on math.",
            alt_text="Bias with Monte Carlo intervals and CI coverage per estimator, one colour per level of "
                     "unobserved confounding; the shaded band marks coverage 0.92 to 0.98.")
log.info("%d replicates summarized into %d rows", rows["seed"].nunique(), len(summary))
