r"""Online vs classroom recovery on the matched sample with school-by-year fixed effects (``matched_fe``)."""
from __future__ import annotations

from typing import Any, Mapping, Sequence

import pandas as pd

from credit_recovery.estimation.fixed_effects import fit_fixed_effects
from credit_recovery.shared.estimate_schema import estimates_frame
from credit_recovery.specs.coding import covariate_design
from credit_recovery.specs.estimands import OCR_ESTIMANDS, stack_samples, units_frame
from credit_recovery.specs.options import fe_options, resolve_model_options

__all__ = ["matched_fe_estimates"]


def matched_fe_estimates(matched: pd.DataFrame, outcomes: Sequence[str], covariates: Sequence[str],
                         options: Mapping[str, Any] | None = None, *,
                         weights: str = "weights") -> tuple[pd.DataFrame, pd.DataFrame]:
    r"""Online vs classroom recovery on the matched sample with school-by-year fixed effects.

    Parameters
    ----------
    matched : DataFrame
        Matched units (``results/matching/matched.parquet``) with match weights,
        imputed covariates, ``school_id`` and ``school_year``.
    outcomes : sequence of str
    covariates : sequence of str
        Baseline covariates (categoricals become dummies; ``school_id`` and
        ``school_year`` are absorbed by the fixed effects).
    options : mapping, optional
        ``models`` config section (cluster, cov_type, bootstrap settings).

    Returns
    -------
    (estimates, samples)
        One row per outcome (estimand ``ATT``, ``estimand_id`` ``ocr_<outcome>``,
        sample ``matched_fe``) and its units.

    Notes
    -----
    Weighted least squares with the match weights :math:`w_i`,

    .. math:: y_i = \beta\,online_i + x_i'\gamma + \alpha_{s(i),t(i)} + e_i,

    :math:`\alpha_{s,t}` school-by-recovery-year effects. Singleton school-year
    cells are dropped, and covariates collinear with earlier ones after
    absorbing the fixed effects (never ``online``), by the estimator; the
    samples are the rows it used. Standard errors clustered by
    ``options["cluster"]`` (school) with ``options["cov_type"]``; the
    headline is the wild cluster bootstrap (WCR, Webb weights) because one
    district has about ten high schools; ``cr2`` is the Bell-McCaffrey
    alternative (on the weighted model).
    """
    opt = resolve_model_options(options)
    design, names = covariate_design(matched, covariates, absorbed=("school_id", "school_year"))
    kw = fe_options(opt)
    rows, samples = [], []
    for y in outcomes:
        formula = f"{y} ~ online + {' + '.join(names)} | school_id^school_year" if names else \
            f"{y} ~ online | school_id^school_year"
        res = fit_fixed_effects(design, formula, weights=weights, cluster=opt["cluster"], never_drop=["online"],
                                bootstrap_terms=["online"] if kw["cov_type"] == "wild" else None, **kw)
        rows.append(res.to_rows("online", outcome=y, estimand_id=OCR_ESTIMANDS.get(y, ""), estimand="ATT",
                                sample="matched_fe",
                                estimator="matched WLS, covariates, school-by-year FE"))
        samples.append(units_frame(design[res.used], "matched_fe", y))
    return estimates_frame(pd.concat(rows, ignore_index=True)), stack_samples(samples)
