# Frozen reference numbers for the weighted (WLS) CR2 test in tests/test_fixed_effects.py.
# Run from the repository root:
#   Rscript tests/reference/wagepan/make_reference_weighted.R
# Input : tests/reference/wagepan/wagepan.csv (see make_reference.R)
# Output: tests/reference/wagepan/reference_weighted.csv (term, quantity, value)
# Model : lwage ~ union + married + expersq | nr + year on the first 150 workers (1,200 rows),
#         analytic weights w = 1 + nr %% 3, clustered by nr. estimatr cannot absorb fixed effects
#         in weighted CR2, so both packages fit the dummy-variable (LSDV) regression.
suppressPackageStartupMessages({ library(estimatr); library(clubSandwich) })
dir <- "tests/reference/wagepan"
wp <- read.csv(file.path(dir, "wagepan.csv"))
wp <- wp[wp$nr %in% sort(unique(wp$nr))[1:150], ]
wp$w <- 1 + wp$nr %% 3
terms <- c("union", "married", "expersq")
f <- lwage ~ union + married + expersq + factor(nr) + factor(year)
er <- lm_robust(f, data = wp, weights = w, clusters = nr, se_type = "CR2")
lsdv <- lm(f, data = wp, weights = w)
ct <- coef_test(lsdv, vcov = vcovCR(lsdv, cluster = wp$nr, type = "CR2"), test = "Satterthwaite", coefs = terms)
res <- rbind(
  data.frame(term = terms, quantity = "coef_estimatr_w", value = unname(coef(er)[terms])),
  data.frame(term = terms, quantity = "se_estimatr_CR2_w", value = unname(er$std.error[terms])),
  data.frame(term = terms, quantity = "df_estimatr_CR2_w", value = unname(er$df[terms])),
  data.frame(term = terms, quantity = "se_clubSandwich_CR2_w", value = ct$SE),
  data.frame(term = terms, quantity = "df_clubSandwich_CR2_Satt_w", value = ct$df_Satt)
)
write.csv(format(res, digits = 15), file.path(dir, "reference_weighted.csv"), row.names = FALSE, quote = TRUE)
print(res, digits = 10)
