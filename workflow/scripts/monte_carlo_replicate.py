"""Rule monte_carlo_replicate: a batch of replicate districts of one scenario at one scale, estimates vs truth."""
from threadpoolctl import threadpool_limits

from credit_recovery.shared.script_io import start_log, write_csv
from credit_recovery.truth.montecarlo import run_replicates

threadpool_limits(limits=1)  # one core per job: jobs run in parallel (BLAS threads slowed a loaded replicate 2-3x)

log = start_log(snakemake.log[0])
w = snakemake.wildcards
rows = run_replicates(snakemake.params.config, range(int(w.first), int(w.last) + 1), scenario=w.scenario,
                      scale=w.scale, log=log.info)
write_csv(rows, snakemake.output[0])
