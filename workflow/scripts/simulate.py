"""Rule simulate: generate the synthetic district and its planted truth."""
from pathlib import Path

from credit_recovery import simulate_district, write_extract
from credit_recovery.shared.script_io import start_log, write_json, write_parquet

log = start_log(snakemake.log[0])
result = simulate_district(snakemake.params.simulation, engagement=snakemake.params.engagement,
                          cohort=snakemake.params.cohort)
write_extract(result.tables, Path(snakemake.output.tables[0]).parent)
write_json(result.truth, snakemake.output.truth)
write_parquet(result.unit_effects, snakemake.output.unit_effects)
write_parquet(result.types, snakemake.output.types)
for name, df in result.tables.items():
    log.info("%s: %d rows", name, len(df))
