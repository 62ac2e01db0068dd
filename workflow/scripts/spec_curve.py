"""Rule spec_curve: gather the specifications into one table, the per-outcome summary and a figure per outcome."""
from pathlib import Path

import pandas as pd

from credit_recovery.reporting.figures import spec_curve_plot
from credit_recovery.shared.config import resolve_options
from credit_recovery.shared.script_io import start_log, write_csv
from credit_recovery.shared.style import save_figure
from credit_recovery.specs.curve import curve_summary

log = start_log(snakemake.log[0])
opt = resolve_options("specification_curve", snakemake.params.curve)
curve = pd.concat([pd.read_csv(f) for f in snakemake.input.specs], ignore_index=True)
curve = curve.sort_values(["outcome", "spec_id"], kind="stable").reset_index(drop=True)
summary = curve_summary(curve, opt["primary"])
write_csv(curve, snakemake.output.curve)
write_csv(summary, snakemake.output.summary)
folder = Path(snakemake.output.figures)
folder.mkdir(parents=True, exist_ok=True)
for y in summary["outcome"]:
    fig = spec_curve_plot(curve[curve["outcome"] == y], opt["primary"], y)
    save_figure(fig, folder / f"spec_curve_{y}", caption=f"Specification curve of {y}",
                alt_text=f"Estimates of the online vs classroom effect on {y} under every specification, sorted, "
                     "with 95% intervals; the primary specification is marked; below, which choices each makes.")
for r in summary.itertuples():
    log.info("%s: %d specifications, %.0f%% with the primary's sign, %.0f%% also significant", r.outcome,
             r.specifications, 100 * r.share_same_sign, 100 * r.share_same_sign_significant)
