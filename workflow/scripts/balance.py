"""Rule balance: covariate balance before and after matching, the balance gate, love and overlap plots."""
import sys

import pandas as pd

from credit_recovery.design.balance import balance_before_after
from credit_recovery.design.plots import love_plot, overlap_plot
from credit_recovery.data.imputation import impute_missing
from credit_recovery.design.diagnostics import balance_gate, common_support, imbalance_report, matched_weights
from credit_recovery.shared.script_io import start_log, write_csv
from credit_recovery.shared.style import save_figure

log = start_log(snakemake.log[0])
opt = snakemake.params.options
scores = pd.read_parquet(snakemake.input.scores)
matched = pd.read_parquet(snakemake.input.matched)
_, covariates = impute_missing(scores, opt["covariates"])
weights = matched_weights(scores, matched)
table = balance_before_after(scores, "online", covariates + ["logit"], weights)
gate = balance_gate(table, opt["smd_threshold"])
report = imbalance_report(gate, opt["smd_threshold"])
if report:  # checked before anything is written: a stopped run leaves no file of this step behind
    log.warning(report)
    if opt["stop_on_imbalance"]:
        log.error("stopping: matching.stop_on_imbalance is true")
        sys.exit(report)
flat = table.copy()
flat.columns = [f"{a}_{b}" for a, b in flat.columns]
write_csv(flat.reset_index(), snakemake.output.table)
write_csv(common_support(scores, "online", "propensity"), snakemake.output.support)
write_csv(gate, snakemake.output.gate)
save_figure(love_plot(table), snakemake.output.love[0][: -len(".png")],
            caption="Standardized mean differences of baseline covariates before and after matching "
                    "(What Works Clearinghouse bands at 0.05 and 0.25 SD).",
            alt_text="Dot plot of absolute standardized mean differences for each covariate, before and after "
                     "matching.")
save_figure(overlap_plot(scores["propensity"], scores["online"], weights), snakemake.output.overlap[0][: -len(".png")],
            caption="Propensity scores of online and classroom recoverers in the matched sample.",
            alt_text="Mirrored histograms of the propensity score for online (above) and classroom (below) "
                     "recoverers.")
