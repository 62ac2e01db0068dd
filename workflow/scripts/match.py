"""Rule match: greedy nearest-neighbour matching on the propensity score (no effect estimation here)."""
import pandas as pd

from credit_recovery import match
from credit_recovery.shared.script_io import start_log, write_csv, write_parquet

log = start_log(snakemake.log[0])
opt = snakemake.params.options
data = pd.read_parquet(snakemake.input.scores)
result = match(data, "online", opt["distance"], ratio=opt["ratio"], replace=opt["replace"],
               caliper=opt["caliper"], std_caliper=opt["std_caliper"], exact=opt["exact"] or None,
               order=opt["order"], seed=opt["seed"])
write_parquet(result.data, snakemake.output.matched)
write_parquet(result.pairs, snakemake.output.pairs)
write_csv(result.summary().reset_index(), snakemake.output.summary)
write_parquet(result.unmatched, snakemake.output.unmatched)
log.info("matched %d rows; %d treated unmatched", len(result.data), result.n_unmatched)
