"""Checkpoint engagement_years: the school years with platform events (one sessions job per year)."""
import duckdb

from credit_recovery.engagement.sessions import event_school_years
from credit_recovery.shared.script_io import start_log, write_csv

log = start_log(snakemake.log[0])
data = snakemake.input.data
con = duckdb.connect()
years = event_school_years(con, f"read_parquet('{data}/platform_events.parquet')",
                           f"read_parquet('{data}/course_records.parquet')")
write_csv(years, snakemake.output[0])
log.info("%d school years with platform events: %s", len(years), ", ".join(map(str, years["school_year"])))
