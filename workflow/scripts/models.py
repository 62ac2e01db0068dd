"""Rule models: online vs classroom estimates (naive, matched ATT, matched school-by-year FE); the
matched ATT without covariates takes Abadie-Imbens standard errors from the propensity scores and pairs."""
import pandas as pd

from credit_recovery.specs.drivers import numeric_covariates, run_models
from credit_recovery.data.imputation import impute_missing
from credit_recovery.shared.script_io import start_log, write_csv, write_parquet

log = start_log(snakemake.log[0])
cohort = pd.read_parquet(snakemake.input.cohort)
matched = pd.read_parquet(snakemake.input.matched)
opt = snakemake.params.matching
_, covariates = impute_missing(matched, opt["covariates"])
numeric = numeric_covariates(matched, covariates)
design = {"scores": pd.read_parquet(snakemake.input.scores), "pairs": pd.read_parquet(snakemake.input.pairs),
          "matching": opt}
estimates, samples = run_models(cohort, matched, snakemake.params.outcomes, numeric, replace=opt["replace"],
                                options=dict(snakemake.params.models), design_covariates=covariates,
                                design=design)
write_csv(estimates, snakemake.output.estimates)
write_parquet(samples, snakemake.output.samples)
log.info("%d estimates", len(estimates))
