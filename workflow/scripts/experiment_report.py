"""Rule experiment_report: the randomized study's public tables and brief."""
from pathlib import Path

import pandas as pd

from credit_recovery.reporting.experiment import experiment_brief_html, public_experiment_tables
from credit_recovery.shared.script_io import start_log, write_csv

log = start_log(snakemake.log[0])
names = ("estimates", "first_stage", "compliance", "balance", "joint_test", "attrition")
tables = {n: pd.read_csv(getattr(snakemake.input, n)) for n in names}
public = public_experiment_tables(tables, snakemake.params.min_cell_size)
for n in names:
    write_csv(public[n], getattr(snakemake.output, n))
excluded = pd.read_csv(snakemake.input.excluded)["assigned_arm"].value_counts().to_dict()
n_blocks = pd.read_parquet(snakemake.input.units, columns=["block"])["block"].nunique()
Path(snakemake.output.brief).write_text(experiment_brief_html(public, n_blocks=n_blocks, excluded=excluded),
                                        encoding="utf-8")
log.info("experiment report: %d public estimates", len(public["estimates"]))
