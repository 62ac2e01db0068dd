"""Rule monte_carlo_replicate: one replicate district of one scenario at one scale, estimates vs truth."""
import os

os.environ.setdefault("OMP_NUM_THREADS", "1")  # one core per job; jobs run in parallel
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

from credit_recovery.truth.montecarlo import run_replicate  # noqa: E402
from credit_recovery.shared.script_io import start_log, write_csv  # noqa: E402

log = start_log(snakemake.log[0])
w = snakemake.wildcards
rows = run_replicate(snakemake.params.config, int(w.seed), scenario=w.scenario, scale=w.scale)
write_csv(rows, snakemake.output[0])
log.info("scenario %s, scale %s, replicate %s: %d estimates", w.scenario, w.scale, w.seed, len(rows))
