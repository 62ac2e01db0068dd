"""Rule experiment_truth: the randomized design's estimates against the planted experiment (synthetic only)."""
import json

import pandas as pd

from credit_recovery.shared.script_io import start_log, write_csv
from credit_recovery.truth.experiment import experiment_truth_check

log = start_log(snakemake.log[0])
with open(snakemake.input.truth) as f:
    truth = json.load(f)
check = experiment_truth_check(pd.read_csv(snakemake.input.estimates), truth)
write_csv(check, snakemake.output[0])
log.info("experiment truth: %d of %d intervals cover", int(check["covers"].sum()), len(check))
