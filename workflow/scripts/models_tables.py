"""Rule models_tables: effect sizes with Holm-adjusted p-values, regression tables, forest and event-study plots."""
import pandas as pd

from credit_recovery.shared.estimate_schema import estimates_frame
from credit_recovery.shared.script_io import start_log, write_csv
from credit_recovery.shared.style import save_figure
from credit_recovery.reporting.figures import event_study_plot, forest_plot
from credit_recovery.reporting.tables import (effect_size_table, public_effect_sizes, regression_table, table_latex,
                                              table_markdown)

log = start_log(snakemake.log[0])
k = snakemake.params.min_cell_size
est = estimates_frame(pd.read_csv(snakemake.input.estimates, keep_default_na=False, na_values=[""]))
sizes = effect_size_table(est, pd.read_parquet(snakemake.input.cohort))
write_csv(sizes, snakemake.output.effect_sizes)
write_csv(public_effect_sizes(sizes, k), snakemake.output.public_effect_sizes)
table = regression_table(est, min_cell_size=k)
caption = ("Effects of online vs classroom credit recovery and of mentor support, by specification "
           "(see docs/specifications.md).")
csv_path, md_path, tex_path = snakemake.output.tables
write_csv(table, csv_path)
with open(md_path, "w", encoding="utf-8") as fh:
    fh.write(table_markdown(table, caption))
with open(tex_path, "w", encoding="utf-8") as fh:
    fh.write(table_latex(table, caption))
save_figure(forest_plot(est), snakemake.output.forest[0][: -len(".png")],
            caption="Online vs classroom credit recovery: estimates and 95% confidence intervals by specification.",
            alt_text="Forest plot with one panel per outcome (math, reading, credits, GPA, credit recovered) and "
                     "one row per specification, from the naive comparison to student fixed effects.")
save_figure(event_study_plot(est), snakemake.output.event_study[0][: -len(".png")],
            caption="Event study: online minus classroom recoverers by year relative to the recovery year "
                    "(reference: the failure year, -1).",
            alt_text="Event-study coefficients with 95% confidence intervals for event times -3 or earlier to "
                     "+2 or later; pre-recovery coefficients show whether trends differed before recovery.")
log.info("effect sizes for %d estimates; regression table with %d columns", len(sizes), table.shape[1] - 2)
