"""Rule district_truth (synthetic state): one district's estimates against its planted truth."""
import pandas as pd

from credit_recovery.shared.script_io import start_log, write_csv
from credit_recovery.truth.state import district_truth

log = start_log(snakemake.log[0])
table = district_truth(pd.read_csv(snakemake.input.estimates, keep_default_na=False, na_values=[""]),
                       pd.read_parquet(snakemake.input.samples), pd.read_parquet(snakemake.input.unit_effects),
                       snakemake.wildcards.district)
write_csv(table, snakemake.output[0])
log.info("district %s: %d of %d intervals cover their truth", snakemake.wildcards.district,
         int(table["covers"].sum()), len(table))
