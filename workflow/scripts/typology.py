"""Rule typology: user types of the online student-courses (k-means by default; silhouette and inertia for k = 2-8)."""
import pandas as pd

from credit_recovery.engagement.typology import typology_tables
from credit_recovery.shared.script_io import start_log, write_csv, write_parquet

log = start_log(snakemake.log[0])
types, diagnostics, profiles, result = typology_tables(pd.read_parquet(snakemake.input.features),
                                                       snakemake.params.engagement)
write_parquet(types, snakemake.output.types)
write_csv(diagnostics, snakemake.output.diagnostics)
write_csv(profiles, snakemake.output.profiles)
log.info("%s with k = %d groups; types: %s", result.method, result.k,
         types["type"].value_counts().sort_index().to_dict())
