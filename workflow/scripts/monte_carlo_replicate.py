"""Rule monte_carlo_replicate: one replicate district of one scenario at one scale, estimates vs truth."""
from threadpoolctl import threadpool_limits

from credit_recovery.shared.script_io import start_log, write_csv
from credit_recovery.truth.montecarlo import run_replicate

threadpool_limits(limits=1)  # one core per job: jobs run in parallel (BLAS threads slowed a loaded replicate 2-3x)

log = start_log(snakemake.log[0])
w = snakemake.wildcards
rows = run_replicate(snakemake.params.config, int(w.seed), scenario=w.scenario, scale=w.scale)
write_csv(rows, snakemake.output[0])
log.info("scenario %s, scale %s, replicate %s: %d estimates", w.scenario, w.scale, w.seed, len(rows))
