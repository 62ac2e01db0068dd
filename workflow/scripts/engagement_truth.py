"""Rule engagement_truth (synthetic data only): recovered vs planted user types; idle-share estimate vs truth."""
import json

import pandas as pd

from credit_recovery.truth.engagement import engagement_truth
from credit_recovery.shared.estimate_schema import estimates_frame
from credit_recovery.shared.script_io import start_log, write_csv

log = start_log(snakemake.log[0])
table = engagement_truth(
    pd.read_parquet(snakemake.input.types), pd.read_parquet(snakemake.input.planted),
    estimates_frame(pd.read_csv(snakemake.input.estimates, keep_default_na=False, na_values=[""])),
    json.loads(open(snakemake.input.truth).read()))
write_csv(table, snakemake.output[0])
for _, r in table.iterrows():
    log.info("%s %s: %.4g (target %s) %s", r["check"], r["type"], r["estimate"], r["target"],
             "ok" if r["passes"] else "NOT MET")
