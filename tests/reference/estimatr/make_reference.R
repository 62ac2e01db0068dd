# Frozen reference numbers for tests/test_experiments.py (credit_recovery.estimation.experiments / iv).
# Run from the repository root:
#   Rscript tests/reference/estimatr/make_reference.R
# Data  : AER's STAR (Tennessee Project STAR class-size experiment; students randomized to class types
#         within schools in kindergarten). Public data shipped with the R package AER.
# Writes: tests/reference/estimatr/star_kindergarten.csv (ITT sample), star_grade1.csv (2SLS sample),
#         results.csv (one row per specification: the coefficient of interest, its inference and, for
#         2SLS, the first stage), sessionInfo.txt.
# Every fit below is run on the CSV files as written and read back, so Python and R read the same numbers.
suppressPackageStartupMessages({ library(AER); library(estimatr) })
dir <- "tests/reference/estimatr"
data("STAR", package = "AER")

# Inverse probability of the realized arm within each block (school): p_b = share assigned in block b.
ipw <- function(z, block) { p <- ave(z, block); ifelse(z == 1, 1 / p, 1 / (1 - p)) }
# Keep blocks that have both arms (a block with one arm carries no within-block contrast).
both_arms <- function(d, z) {
  n_arms <- tapply(d[[z]], d$school, function(s) length(unique(s)))
  d[d$school %in% names(n_arms)[n_arms == 2], ]
}
num <- function(x) sprintf("%.17g", x)

# --- kindergarten: assignment to a small class (vs regular or regular+aide) -------------------------
k <- with(STAR, data.frame(
  id = as.integer(rownames(STAR)), school = as.integer(as.character(schoolidk)),
  small = as.integer(stark == "small"), math = mathk, read = readk,
  female = as.integer(gender == "female"), freelunch = as.integer(lunchk == "free")))
k <- k[complete.cases(k), ]                      # rows with a missing value dropped first
k <- both_arms(k, "small")                       # all 79 schools have both arms
k$ipw <- ipw(k$small, k$school)
k$ipw <- num(k$ipw)
write.csv(k, file.path(dir, "star_kindergarten.csv"), row.names = FALSE, quote = FALSE)

# --- grade 1: small class actually attended in grade 1, instrumented by kindergarten assignment -----
g <- with(STAR, data.frame(
  id = as.integer(rownames(STAR)), school = as.integer(as.character(schoolidk)),
  small_k = as.integer(stark == "small"), small_1 = as.integer(star1 == "small"),
  math1 = math1, read1 = read1, female = as.integer(gender == "female")))
g <- g[complete.cases(g), ]
g <- both_arms(g, "small_k")                     # drops 3 kindergarten schools with one arm in this sample
g$ipw <- ipw(g$small_k, g$school)
g$ipw <- num(g$ipw)
write.csv(g, file.path(dir, "star_grade1.csv"), row.names = FALSE, quote = FALSE)

k <- read.csv(file.path(dir, "star_kindergarten.csv"))
g <- read.csv(file.path(dir, "star_grade1.csv"))

out <- list()
add <- function(spec, fit, term, model, outcome, treatment, instrument = "", blocks = "school",
                block_method = "fixed_effects", covariates = "", cluster = "", se_type, weights = "",
                first_stage = NULL) {
  tt <- tidy(fit)
  r <- tt[tt$term == term, ]
  stopifnot(nrow(r) == 1)
  row <- data.frame(
    spec = spec, model = model, outcome = outcome, treatment = treatment, instrument = instrument,
    blocks = blocks, block_method = block_method, covariates = covariates, cluster = cluster,
    se_type = se_type, weights = weights, term = term,
    estimate = num(r$estimate), std_error = num(r$std.error), df = num(r$df),
    ci_low = num(r$conf.low), ci_high = num(r$conf.high), p_value = num(r$p.value),
    n = fit$nobs, n_clusters = if (is.null(fit$nclusters)) NA else fit$nclusters,
    first_stage_estimate = NA, first_stage_std_error = NA, first_stage_f = NA, first_stage_df = NA,
    first_stage_f_diagnostics = NA)
  if (!is.null(first_stage)) for (nm in names(first_stage)) row[[nm]] <- num(first_stage[[nm]])
  out[[length(out) + 1]] <<- row
}

# ITT: lm_robust of the outcome on the assignment with block fixed effects --------------------------
itt <- function(spec, formula, se_type, outcome = "math", blocks = "school", block_method = "fixed_effects",
                covariates = "", cluster = "", weights = "") {
  args <- list(formula = formula, data = k, se_type = se_type)
  if (block_method == "fixed_effects") args$fixed_effects <- ~ school
  if (cluster != "") args$clusters <- k[[cluster]]
  if (weights != "") args$weights <- k[[weights]]
  fit <- do.call(lm_robust, args)
  add(spec, fit, "small", "itt", outcome, "small", blocks = blocks, block_method = block_method,
      covariates = covariates, cluster = cluster, se_type = se_type, weights = weights)
}
itt("itt_math_hc2_dummies", math ~ small + factor(school), "HC2", block_method = "dummies")
itt("itt_math_hc2_fe", math ~ small, "HC2")
itt("itt_read_hc2_fe", read ~ small, "HC2", outcome = "read")
itt("itt_math_cr2_fe", math ~ small, "CR2", cluster = "school")
itt("itt_math_cr2_dummies", math ~ small + factor(school), "CR2", block_method = "dummies", cluster = "school")
itt("itt_read_cr2_fe", read ~ small, "CR2", outcome = "read", cluster = "school")
itt("itt_math_cov_hc2_fe", math ~ small + female + freelunch, "HC2", covariates = "female+freelunch")
itt("itt_math_cov_cr2_fe", math ~ small + female + freelunch, "CR2", covariates = "female+freelunch",
    cluster = "school")
itt("itt_math_hc2_noblocks", math ~ small, "HC2", blocks = "", block_method = "none")
itt("itt_math_cr2_noblocks", math ~ small + female, "CR2", blocks = "", block_method = "none",
    covariates = "female", cluster = "school")
itt("itt_math_hc0_fe", math ~ small, "HC0")
itt("itt_math_hc1_fe", math ~ small, "HC1")
itt("itt_math_hc3_fe", math ~ small, "HC3")
itt("itt_math_classical_fe", math ~ small, "classical")
itt("itt_math_cr0_fe", math ~ small, "CR0", cluster = "school")
itt("itt_math_stata_fe", math ~ small, "stata", cluster = "school")
# weighted (inverse probability of the arm within school): estimatr allows fixed_effects with weighted
# HC2, not with weighted CR2 ("Cannot use `fixed_effects` with weighted CR2"), so CR2 uses dummies
itt("itt_math_hc2_fe_weighted", math ~ small, "HC2", weights = "ipw")
itt("itt_math_cr2_dummies_weighted", math ~ small + factor(school), "CR2", block_method = "dummies",
    cluster = "school", weights = "ipw")
itt("itt_math_cov_cr2_dummies_weighted", math ~ small + female + freelunch + factor(school), "CR2",
    block_method = "dummies", covariates = "female+freelunch", cluster = "school", weights = "ipw")

# 2SLS: iv_robust of grade-1 math on small_1, instrumented by small_k ------------------------------
# First stage: lm_robust(small_1 ~ small_k (+ covariates), same blocks / weights / se_type); its Wald F
# for small_k with the same robust covariance (= t^2 for one instrument). With block dummies in the
# formula, estimatr's diagnostics = TRUE gives its own first-stage F (not available with fixed_effects).
cace <- function(spec, se_type, block_method = "fixed_effects", covariates = "", cluster = "",
                 weights = "", outcome = "math1") {
  rhs_cov <- if (covariates == "") "" else paste0(" + ", covariates)
  rhs_blk <- if (block_method == "dummies") " + factor(school)" else ""
  f2 <- as.formula(paste0(outcome, " ~ small_1", rhs_cov, rhs_blk, " | small_k", rhs_cov, rhs_blk))
  f1 <- as.formula(paste0("small_1 ~ small_k", rhs_cov, rhs_blk))
  args <- list(data = g, se_type = se_type)
  if (block_method == "fixed_effects") args$fixed_effects <- ~ school
  if (cluster != "") args$clusters <- g[[cluster]]
  if (weights != "") args$weights <- g[[weights]]
  diag <- block_method != "fixed_effects"
  fit <- do.call(iv_robust, c(list(formula = f2, diagnostics = diag), args))
  fs <- do.call(lm_robust, c(list(formula = f1), args))
  t1 <- tidy(fs); t1 <- t1[t1$term == "small_k", ]
  first <- list(first_stage_estimate = t1$estimate, first_stage_std_error = t1$std.error,
                first_stage_f = (t1$estimate / t1$std.error)^2,
                first_stage_df = if (cluster != "") fs$nclusters - 1 else fs$df.residual)
  if (diag) first$first_stage_f_diagnostics <- fit$diagnostic_first_stage_fstatistic[["value"]]
  add(spec, fit, "small_1", "cace", outcome, "small_1", instrument = "small_k",
      blocks = if (block_method == "none") "" else "school", block_method = block_method,
      covariates = gsub(" ", "", covariates), cluster = cluster, se_type = se_type, weights = weights,
      first_stage = first)
}
cace("cace_math_hc2_fe", "HC2")
cace("cace_math_hc2_dummies", "HC2", block_method = "dummies")
cace("cace_read_hc2_fe", "HC2", outcome = "read1")
cace("cace_math_cr2_fe", "CR2", cluster = "school")
cace("cace_math_cr2_dummies", "CR2", block_method = "dummies", cluster = "school")
cace("cace_math_cov_hc2_fe", "HC2", covariates = "female")
cace("cace_math_cov_cr2_fe", "CR2", covariates = "female", cluster = "school")
cace("cace_math_hc2_noblocks", "HC2", block_method = "none")
cace("cace_math_hc1_fe", "HC1")
cace("cace_math_hc0_fe", "HC0")
cace("cace_math_hc3_fe", "HC3")
cace("cace_math_classical_fe", "classical")
cace("cace_math_cr0_fe", "CR0", cluster = "school")
cace("cace_math_stata_fe", "stata", cluster = "school")
cace("cace_math_hc2_fe_weighted", "HC2", weights = "ipw")
cace("cace_math_cr2_dummies_weighted", "CR2", block_method = "dummies", cluster = "school", weights = "ipw")

res <- do.call(rbind, out)
write.csv(res, file.path(dir, "results.csv"), row.names = FALSE, na = "")
writeLines(capture.output(sessionInfo()), file.path(dir, "sessionInfo.txt"))
