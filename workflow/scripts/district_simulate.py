"""Rule district_simulate: one district of the synthetic state (its extract, raw identifiers as a district
would send them) and its planted truth (identifiers prefixed with the district's name, as after validation)."""
from pathlib import Path

from credit_recovery import simulate_district, write_extract
from credit_recovery.data.state import namespace_ids
from credit_recovery.shared.script_io import start_log, write_json, write_parquet
from credit_recovery.synthetic.state import district_settings

log = start_log(snakemake.log[0])
district = snakemake.wildcards.district
settings = district_settings(snakemake.params.simulation, snakemake.params.districts, district)
result = simulate_district(settings, engagement=snakemake.params.engagement, cohort=snakemake.params.cohort)
write_extract(result.tables, Path(snakemake.output.tables[0]).parent)
truth = namespace_ids({"unit_effects": result.unit_effects, "types": result.types}, district)
write_json(result.truth, snakemake.output.truth)
write_parquet(truth["unit_effects"], snakemake.output.unit_effects)
write_parquet(truth["types"], snakemake.output.types)
log.info("district %s: seed %d, scale %s, %d schools, roll-out delay %d; %s", district, settings["seed"],
         settings["scale"], settings["n_schools"], settings["rollout_delay"],
         ", ".join(f"{k} {len(v)} rows" for k, v in result.tables.items()))
