# Frozen reference numbers for credit_recovery's propensity / matching /
# balance / ATT code, computed with R on MatchIt's public `lalonde` data.
#
# Run from the repository root (R 4.2, MatchIt 4.5.1, sandwich, lmtest):
#   Rscript tests/reference/lalonde/make_reference.R
# It (re)writes every CSV in tests/reference/lalonde/. The data are exported
# first and read back, so R and Python see exactly the same numbers.
suppressPackageStartupMessages({
  library(MatchIt); library(sandwich); library(lmtest)
})
out <- "tests/reference/lalonde"
f17 <- function(df) { for (j in names(df)) if (is.double(df[[j]])) df[[j]] <- sprintf("%.17g", df[[j]]); df }
wcsv <- function(df, name) write.csv(f17(df), file.path(out, name), row.names = FALSE, quote = TRUE)

data("lalonde", package = "MatchIt")
lal <- data.frame(id = rownames(lalonde), lalonde, stringsAsFactors = FALSE)
lal$race <- as.character(lal$race)
wcsv(lal, "lalonde.csv")

d <- read.csv(file.path(out, "lalonde.csv"), stringsAsFactors = FALSE)
d$race <- factor(d$race)
rownames(d) <- d$id
fml <- treat ~ age + educ + race + married + nodegree + re74 + re75

# 1. propensity score -------------------------------------------------------
g <- glm(fml, family = binomial, data = d)
wcsv(data.frame(id = d$id, ps = unname(fitted(g)), lp = unname(predict(g, type = "link"))), "ps.csv")
cf <- summary(g)$coefficients
wcsv(data.frame(term = rownames(cf), estimate = cf[, 1], std_error = cf[, 2]), "glm_coef.csv")
gp <- glm(fml, family = binomial(link = "probit"), data = d)
wcsv(data.frame(id = d$id, ps = unname(fitted(gp))), "ps_probit.csv")

bal <- function(s) {
  s <- as.data.frame(s)
  data.frame(term = rownames(s), mean_treated = s[["Means Treated"]], mean_control = s[["Means Control"]],
             smd = s[["Std. Mean Diff."]], var_ratio = s[["Var. Ratio"]],
             ecdf_mean = s[["eCDF Mean"]], ecdf_max = s[["eCDF Max"]])
}

# 2. balance before matching (MatchIt summary(), SMD denominator = treated SD)
m0 <- matchit(fml, data = d, method = NULL, distance = "glm")
wcsv(bal(summary(m0)$sum.all), "balance_before.csv")

# 3. nearest-neighbour matching ---------------------------------------------
# MatchIt 4.5.1 as installed here is not a usable reference for the matched
# set: its caliper is broken (issue #163) and, as this script records in
# matchit_direction.csv, its nearest-neighbour search only ever returns
# controls with a distance below the treated unit's (it skipped a control at
# exactly the same distance for NSW12). So the matched set is computed by the
# plain greedy matcher below (base R, O(treated x controls), the documented
# rules), and MatchIt's own code is then used on that set: weights.matrix()
# for the weights, mm2subclass() for subclasses, summary() for balance and
# match.data() for the effect regression.
greedy_nn <- function(dist, treat, ratio = 1, replace = FALSE, order = "largest",
                      strata = rep(1L, length(treat)), width = Inf) {
  tr <- which(treat == 1); co <- which(treat == 0)
  ord <- switch(order,
    largest = tr[order(-dist[tr], method = "radix")],   # stable: ties in data order
    smallest = tr[order(dist[tr], method = "radix")],
    data = tr)
  mm <- matrix(NA_integer_, length(treat), ratio)
  used <- rep(FALSE, length(treat)); done <- rep(FALSE, length(treat))
  for (k in seq_len(ratio)) for (i in ord) {
    if (done[i]) next
    best <- NA_integer_; bd <- Inf
    for (j in co) {                                     # data order: first wins ties
      if (strata[j] != strata[i]) next
      if (!replace && used[j]) next
      if (j %in% mm[i, ]) next
      dd <- abs(dist[i] - dist[j])
      if (dd < bd) { bd <- dd; best <- j }
    }
    if (is.na(best) || bd > width) { done[i] <- TRUE; next }
    mm[i, k] <- best; used[best] <- TRUE
  }
  mm <- mm[tr, , drop = FALSE]; rownames(mm) <- names(treat)[tr]
  mm
}

specs <- list(
  nn1 = list(ratio = 1, replace = FALSE, m.order = "largest", exact = NULL, caliper = NULL),
  nn2 = list(ratio = 2, replace = FALSE, m.order = "largest", exact = NULL, caliper = NULL),
  nn1_smallest_exact = list(ratio = 1, replace = FALSE, m.order = "smallest", exact = "married", caliper = NULL),
  nn2_data = list(ratio = 2, replace = FALSE, m.order = "data", exact = NULL, caliper = NULL),
  nn1_cal = list(ratio = 1, replace = FALSE, m.order = "largest", exact = NULL, caliper = 0.05),
  nn1r = list(ratio = 1, replace = TRUE, m.order = "largest", exact = NULL, caliper = NULL),
  nn3r = list(ratio = 3, replace = TRUE, m.order = "largest", exact = NULL, caliper = NULL)
)
treat <- setNames(d$treat, d$id)
dist <- setNames(unname(fitted(g)), d$id)
att <- list(); direction <- list()
for (nm in names(specs)) {
  s <- specs[[nm]]
  m <- matchit(fml, data = d, method = "nearest", distance = "glm", ratio = s$ratio,
               replace = s$replace, m.order = s$m.order,
               exact = if (is.null(s$exact)) NULL else reformulate(s$exact))
  stopifnot(isTRUE(all.equal(unname(m$distance), unname(dist), tolerance = 1e-12)))
  mmR <- m$match.matrix
  direction[[nm]] <- data.frame(spec = nm, n_pairs = sum(!is.na(mmR)),
    n_control_above = sum(dist[mmR[!is.na(mmR)]] >= dist[rownames(mmR)[row(mmR)[!is.na(mmR)]]]))
  width <- if (is.null(s$caliper)) Inf else s$caliper * sd(dist)     # SD over all units
  strata <- if (is.null(s$exact)) rep(1L, nrow(d)) else as.integer(factor(d[[s$exact]]))
  mm <- greedy_nn(dist, treat, s$ratio, s$replace, s$m.order, strata, width)
  # MatchIt's own bookkeeping on this matched set
  m$match.matrix <- MatchIt:::nummm2charmm(mm, treat)
  m$weights <- MatchIt:::weights.matrix(mm, treat)
  m$subclass <- if (s$replace) NULL else MatchIt:::mm2subclass(mm, treat)
  pr <- do.call(rbind, lapply(seq_len(ncol(mm)), function(k)
    data.frame(treated = rownames(mm), control = names(treat)[mm[, k]], k = k, stringsAsFactors = FALSE)))
  pr <- pr[!is.na(mm), ]
  wcsv(pr, sprintf("pairs_%s.csv", nm))
  wcsv(data.frame(id = d$id, weights = unname(m$weights),
                  subclass = if (is.null(m$subclass)) NA else as.character(m$subclass)),
       sprintf("weights_%s.csv", nm))
  wcsv(bal(summary(m)$sum.matched), sprintf("balance_after_%s.csv", nm))
  nn <- summary(m)$nn
  wcsv(data.frame(row = rownames(nn), control = nn[, "Control"], treated = nn[, "Treated"]),
       sprintf("nn_%s.csv", nm))

  md <- match.data(m)
  fit <- lm(re78 ~ treat, data = md, weights = weights)
  if (!s$replace) {
    V <- vcovCL(fit, cluster = ~subclass)             # CR1 (type HC1), pairs as clusters
    ct <- coeftest(fit, vcov. = vcovCL, cluster = ~subclass)
    ctype <- "CR1"
  } else {
    V <- vcovHC(fit, type = "HC3")
    ct <- coeftest(fit, vcov. = V)
    ctype <- "HC3"
  }
  att[[length(att) + 1]] <- data.frame(spec = nm, covariates = "none", cov_type = ctype,
    estimate = ct["treat", 1], std_error = ct["treat", 2], n = nrow(md),
    n_clusters = if (s$replace) NA else nlevels(droplevels(factor(md$subclass))))

  # g-computation with covariates (MatchIt effect-estimation vignette),
  # delta-method SE computed in base R from the same robust vcov:
  # ATT = sum_{i:T=1} w_i (x_i(1) - x_i(0))' b / sum_{i:T=1} w_i
  fit2 <- lm(re78 ~ treat * (age + educ + race + married + nodegree + re74 + re75),
             data = md, weights = weights)
  V2 <- if (!s$replace) vcovCL(fit2, cluster = ~subclass) else vcovHC(fit2, type = "HC3")
  tr <- md[md$treat == 1, ]
  X1 <- model.matrix(delete.response(terms(fit2)), transform(tr, treat = 1L))
  X0 <- model.matrix(delete.response(terms(fit2)), transform(tr, treat = 0L))
  gr <- colSums(tr$weights * (X1 - X0)) / sum(tr$weights)
  est <- sum(gr * coef(fit2))
  att[[length(att) + 1]] <- data.frame(spec = nm, covariates = "age+educ+race+married+nodegree+re74+re75",
    cov_type = ctype, estimate = est, std_error = sqrt(drop(t(gr) %*% V2 %*% gr)), n = nrow(md),
    n_clusters = if (s$replace) NA else nlevels(droplevels(factor(md$subclass))))
}
wcsv(do.call(rbind, att), "att.csv")
# evidence for the MatchIt 4.5.1 defect: controls at or above the treated
# unit's distance are never chosen (n_control_above = 0)
wcsv(do.call(rbind, direction), "matchit_direction.csv")
writeLines(c(R.version.string, paste("MatchIt", packageVersion("MatchIt")),
             paste("sandwich", packageVersion("sandwich")), paste("lmtest", packageVersion("lmtest"))),
           file.path(out, "versions.txt"))
