"""Rule models_subgroups: the primary matched design within subgroups (for whom), with Romano-Wolf p-values
over each outcome's subgroups; the public table keeps the subgroups with at least min_cell_size units per arm."""
import pandas as pd

from credit_recovery.specs.subgroups import public_subgroups, run_subgroups
from credit_recovery.shared.script_io import start_log, write_csv, write_parquet

log = start_log(snakemake.log[0])
p = snakemake.params
estimates, samples, table = run_subgroups(pd.read_parquet(snakemake.input.scores), p.matching, p.models, p.subgroups)
write_csv(estimates, snakemake.output.estimates)
write_parquet(samples, snakemake.output.samples)
write_csv(table, snakemake.output.table)
public = public_subgroups(table, int(p.min_cell_size))
write_csv(public, snakemake.output.public)
log.info("%d subgroup estimates; %d of %d subgroup rows public (at least %d units per arm)", len(estimates),
         len(public), len(table), p.min_cell_size)
