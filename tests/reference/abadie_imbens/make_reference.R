# Frozen Abadie-Imbens (2006) standard errors from R's Matching package on its
# `lalonde` data (NSW experimental sample, 445 rows), for
# credit_recovery.estimation.abadie_imbens.
#
# Run from the repository root (R 4.2, Matching 4.10-8; Debian r-cran-matching):
#   Rscript tests/reference/abadie_imbens/make_reference.R
# It (re)writes lalonde_matching.csv (the data with the logit propensity score
# `lps` fitted here), matches_<case>.csv (Matching's index.treated,
# index.control and weights, 1-based row numbers) and results.csv (est, se =
# the Abadie-Imbens SE, se_standard = the naive SE; Z = the covariates of the
# Abadie-Imbens (2011) bias correction, BiasAdjust = TRUE, empty without it). ties = TRUE throughout:
# with ties = FALSE Match() switches to version "fast", which reports no AI SE.
suppressPackageStartupMessages(library(Matching))
out <- "tests/reference/abadie_imbens"
data(lalonde, package = "Matching")
g <- glm(treat ~ age + educ + black + hisp + married + nodegr + re74 + re75 + u74 + u75,
         family = binomial, data = lalonde)
d <- data.frame(row = seq_len(nrow(lalonde)), lalonde, lps = unname(predict(g, type = "link")))
write.csv(data.frame(lapply(d, function(x) if (is.double(x)) sprintf("%.17g", x) else x)),
          file.path(out, "lalonde_matching.csv"), row.names = FALSE, quote = FALSE)
d <- read.csv(file.path(out, "lalonde_matching.csv"))  # R and Python read the same digits

cases <- list(
  lps_m1_v0 = list(X = "lps", M = 1, Var.calc = 0),
  lps_m1_v1 = list(X = "lps", M = 1, Var.calc = 1),
  lps_m3_v4 = list(X = "lps", M = 3, Var.calc = 4),
  lps_married_exact_m3_v4 = list(X = c("lps", "married"), exact = c(FALSE, TRUE), M = 3, Var.calc = 4),
  covs_m1_v4 = list(X = c("age", "educ", "re74", "re75"), M = 1, Var.calc = 4),
  lps_m3_caliper_v0 = list(X = "lps", M = 3, Var.calc = 0, caliper = 0.1),
  # Abadie-Imbens (2011) bias correction: BiasAdjust = TRUE with Z the regression covariates
  lps_m3_v4_bias = list(X = "lps", M = 3, Var.calc = 4, Z = c("age", "educ", "re74", "re75")),
  lps_m1_v0_bias = list(X = "lps", M = 1, Var.calc = 0, Z = c("age", "educ", "black", "re74", "re75")),
  lps_married_exact_m3_v4_bias = list(X = c("lps", "married"), exact = c(FALSE, TRUE), M = 3, Var.calc = 4,
                                      Z = c("age", "educ", "nodegr", "re74", "re75"))
)
res <- list()
for (name in names(cases)) {
  cs <- cases[[name]]
  X <- as.matrix(d[, cs$X, drop = FALSE])
  m <- Match(Y = d$re78, Tr = d$treat, X = X, estimand = "ATT",
             M = cs$M, replace = TRUE, ties = TRUE, Var.calc = cs$Var.calc,
             exact = cs$exact, caliper = cs$caliper,
             Z = if (is.null(cs$Z)) X else as.matrix(d[, cs$Z, drop = FALSE]), BiasAdjust = !is.null(cs$Z))
  write.csv(data.frame(treated = m$index.treated, control = m$index.control,
                       weight = sprintf("%.17g", m$weights)),
            file.path(out, sprintf("matches_%s.csv", name)), row.names = FALSE, quote = FALSE)
  res[[name]] <- data.frame(case = name, X = paste(cs$X, collapse = "+"), M = cs$M, var_calc = cs$Var.calc,
                            exact = if (is.null(cs$exact)) "" else paste(cs$X[cs$exact], collapse = "+"),
                            caliper = if (is.null(cs$caliper)) NA else cs$caliper,
                            Z = if (is.null(cs$Z)) "" else paste(cs$Z, collapse = "+"),
                            est = sprintf("%.17g", m$est), se = sprintf("%.17g", m$se),
                            se_standard = sprintf("%.17g", m$se.standard),
                            n_treated_matched = length(unique(m$index.treated)),
                            n_treated = sum(d$treat))
}
write.csv(do.call(rbind, res), file.path(out, "results.csv"), row.names = FALSE, quote = FALSE)
writeLines(c(R.version.string, paste("Matching", packageVersion("Matching"))), file.path(out, "versions.txt"))
