"""Rule state_truth_pool: the synthetic state's planted truth (values weighted by the districts' n; unit
effects and types stacked)."""
import json

import pandas as pd

from credit_recovery.data.state import pool_truth
from credit_recovery.shared.script_io import start_log, write_json, write_parquet

log = start_log(snakemake.log[0])
names = snakemake.params.districts
truths = {}
for d, path in zip(names, snakemake.input.truths):
    with open(path) as f:
        truths[d] = json.load(f)
write_json(pool_truth(truths), snakemake.output.truth)
write_parquet(pd.concat([pd.read_parquet(f) for f in snakemake.input.unit_effects], ignore_index=True),
              snakemake.output.unit_effects)
write_parquet(pd.concat([pd.read_parquet(f) for f in snakemake.input.types], ignore_index=True),
              snakemake.output.types)
log.info("planted truth of %d districts pooled", len(names))
