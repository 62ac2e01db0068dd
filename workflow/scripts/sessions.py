"""Rule sessions: sessions of one school year's online courses, DuckDB SQL over the parquet tables."""
from pathlib import Path

import duckdb
import pandas as pd

from credit_recovery.engagement.sessions import school_year_sessions
from credit_recovery.shared.script_io import start_log, write_parquet

log = start_log(snakemake.log[0])
data = snakemake.input.data
con = duckdb.connect()
con.execute(f"SET threads = {int(snakemake.threads)}")
con.execute(f"SET memory_limit = '{int(snakemake.resources.mem_mb)}MB'")
con.execute(f"SET temp_directory = '{snakemake.resources.tmpdir}/duckdb-sessions-{snakemake.wildcards.year}'")
con.execute(f"CREATE VIEW events AS SELECT * FROM read_parquet('{data}/platform_events.parquet')")
con.execute(f"CREATE VIEW course_records AS SELECT * FROM read_parquet('{data}/course_records.parquet')")
calendar = Path(data) / "calendar.parquet"  # optional contract table: days schools are closed
holidays = pd.read_parquet(calendar)["date"].tolist() if calendar.exists() else None
sessions = school_year_sessions(con, "events", "course_records", int(snakemake.wildcards.year),
                                snakemake.params.engagement, holidays=holidays)
write_parquet(sessions.to_pandas(), snakemake.output[0])
log.info("school year %s: %d sessions", snakemake.wildcards.year, sessions.num_rows)
