"""Rule propensity: logistic propensity score of online recovery given baseline covariates."""
import pandas as pd

from credit_recovery import fit_propensity
from credit_recovery.data.imputation import impute_missing
from credit_recovery.shared.script_io import start_log, write_csv, write_parquet

log = start_log(snakemake.log[0])
cohort = pd.read_parquet(snakemake.input.cohort)
data, covariates = impute_missing(cohort, snakemake.params.covariates)
result = fit_propensity(data, "online", covariates)
data["propensity"] = result.propensity
data["logit"] = result.logit
write_parquet(data, snakemake.output.scores)
write_csv(result.summary().reset_index(), snakemake.output.coefficients)
log.info("propensity model: %d units, %d terms, converged=%s", len(data), len(result.params), result.converged)
