"""Rule engagement_features: student-course engagement features from the sessions of every school year."""
import duckdb

from credit_recovery.engagement.features import course_features
from credit_recovery.shared.script_io import start_log, write_parquet

log = start_log(snakemake.log[0])
data = snakemake.input.data
files = ", ".join(f"'{f}'" for f in snakemake.input.sessions)
if not files:
    raise ValueError("no platform events with a known course record: nothing to sessionize")
con = duckdb.connect()
con.execute(f"SET threads = {int(snakemake.threads)}")
con.execute(f"SET memory_limit = '{int(snakemake.resources.mem_mb)}MB'")
con.execute(f"CREATE VIEW sessions AS SELECT * FROM read_parquet([{files}])")
con.execute(f"CREATE VIEW course_records AS SELECT * FROM read_parquet('{data}/course_records.parquet')")
con.execute(f"CREATE VIEW student_years AS SELECT * FROM read_parquet('{data}/student_years.parquet')")
features = course_features(con, "sessions", "course_records", "student_years", snakemake.params.engagement)
write_parquet(features, snakemake.output[0])
log.info("%d student-courses", len(features))
