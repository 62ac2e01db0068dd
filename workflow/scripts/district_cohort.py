"""Rule district_cohort: one district's analytic cohort (with its district column), ledger, ledger counts and
flow."""
from credit_recovery import read_extract
from credit_recovery.data.state import district_cohort
from credit_recovery.shared.script_io import start_log, write_csv, write_parquet

log = start_log(snakemake.log[0])
result = district_cohort(read_extract(snakemake.input[0]), snakemake.params.cohort, snakemake.wildcards.district)
write_parquet(result.cohort, snakemake.output.cohort)
write_parquet(result.ledger, snakemake.output.ledger)
write_csv(result.ledger_counts(), snakemake.output.ledger_counts)
write_csv(result.flow, snakemake.output.flow)
log.info("district %s: %d cohort units (%d online)", snakemake.wildcards.district, len(result.cohort),
         int(result.cohort["online"].sum()))
