"""Rule monte_carlo_replicate: one replicate district (every confounding level), estimates vs truth."""
import os

os.environ.setdefault("OMP_NUM_THREADS", "1")  # one core per job; jobs run in parallel
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

from credit_recovery.truth.montecarlo import run_replicates  # noqa: E402
from credit_recovery.shared.script_io import start_log, write_csv  # noqa: E402

log = start_log(snakemake.log[0])
rows = run_replicates(snakemake.params.config, int(snakemake.wildcards.seed))
write_csv(rows, snakemake.output[0])
log.info("replicate %s: %d estimates", snakemake.wildcards.seed, len(rows))
