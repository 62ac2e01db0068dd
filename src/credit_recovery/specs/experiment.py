r"""The randomized design: intention-to-treat and complier effects, the randomization check, compliance and
attrition by assigned arm (the ``experiment`` rule).

For each outcome of a randomized study (:func:`credit_recovery.data.experiment.randomized_units`):

* **ITT** (estimand id ``itt_<outcome>``): least squares of the outcome on the assignment with
  randomization-block fixed effects (:func:`credit_recovery.estimation.experiments.itt`), HC2 standard
  errors, or CR2 with Bell-McCaffrey degrees of freedom when ``experiment.cluster`` names the unit of a
  clustered assignment (e.g. ``school_id``);
* **CACE** (``cace_<outcome>``): two-stage least squares of the outcome on the delivery taken
  (``took_online``), instrumented by the assignment, same blocks and covariance
  (:func:`credit_recovery.estimation.iv.cace`): the effect of online recovery on the compliers, who take
  the arm they are assigned, under the exclusion restriction and monotonicity.

Units with the outcome missing are left out of that outcome's fits (complete case; the attrition table
reports how many, by assigned arm, with WWC's boundaries). Matching is not used: the assignment makes the
arms comparable; the randomization check (:func:`randomization_check`) shows it, covariate by covariate
and jointly. Nothing here reads or writes files.
"""
from __future__ import annotations

from typing import Any, Mapping, Sequence

import numpy as np
import pandas as pd
from scipy import stats

from credit_recovery.data.experiment import randomized_units
from credit_recovery.data.imputation import impute_missing
from credit_recovery.design.attrition import attrition_table
from credit_recovery.design.balance import balance_table
from credit_recovery.estimation.experiments import itt
from credit_recovery.estimation.iv import cace
from credit_recovery.shared.config import defaults
from credit_recovery.shared.estimate_schema import estimates_frame
from credit_recovery.shared.model_matrix import design_matrix

__all__ = ["EXPERIMENT_SAMPLE", "COMPLIANCE_COLUMNS", "JOINT_TEST_COLUMNS", "experiment_estimates",
           "compliance_table", "randomization_check", "run_experiment"]

#: The ``sample`` of the experiment's rows.
EXPERIMENT_SAMPLE = "randomized"
COMPLIANCE_COLUMNS = ["outcome", "n", "n_assigned_online", "n_assigned_classroom", "take_up_assigned_online",
                      "take_up_assigned_classroom", "compliance_difference", "first_stage_estimate",
                      "first_stage_std_error", "first_stage_f", "first_stage_df"]
JOINT_TEST_COLUMNS = ["test", "n", "n_covariates", "statistic", "df_num", "df_den", "p_value", "p_value_f", "draws"]
_ITT = "ITT: effect of being assigned to online recovery (all randomized students)"
_CACE = "CACE: effect of taking online recovery on compliers (who take the arm they are assigned)"


def _options(experiment: Mapping[str, Any] | None) -> dict[str, Any]:
    return {**defaults("experiment"), **(experiment or {})}


def _fits(units: pd.DataFrame, y: str, opt: Mapping[str, Any]):
    d = units[units[y].notna()]
    kw = {"blocks": "block", "covariates": list(opt["adjust_for"]), "cluster": opt["cluster"],
          "alpha": float(opt["alpha"])}
    d = d[d.groupby("block")["assigned"].transform("nunique") == 2]  # blocks that lost an arm to attrition
    return d, itt(d, y, "assigned", **kw), cace(d, y, "took_online", "assigned", **kw)


def experiment_estimates(units: pd.DataFrame, outcomes: Sequence[str],
                         experiment: Mapping[str, Any] | None = None) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Tidy ITT and CACE rows per outcome (sample ``randomized``) and the compliance table (first stage per
    outcome's complete cases). Outcomes that no unit has are skipped."""
    opt = _options(experiment)
    rows, comp = [], []
    for y in outcomes:
        if y not in units or units[y].notna().sum() == 0:
            continue
        d, r_itt, r_cace = _fits(units, y, opt)
        rows.append(r_itt.to_row(sample=EXPERIMENT_SAMPLE, estimand_id=f"itt_{y}", estimand=_ITT,
                                 treatment="assigned online"))
        rows[-1]["estimator"] = "OLS on the assignment, randomization-block FE"
        rows.append(r_cace.to_row(sample=EXPERIMENT_SAMPLE, estimand_id=f"cace_{y}", estimand=_CACE,
                                  treatment="online"))
        rows[-1]["estimator"] = "2SLS, assignment as the instrument, randomization-block FE"
        comp.append({"outcome": y, "n": len(d), "n_assigned_online": int((d["assigned"] == 1).sum()),
                     "n_assigned_classroom": int((d["assigned"] == 0).sum()),
                     "take_up_assigned_online": r_cace.take_up_assigned,
                     "take_up_assigned_classroom": r_cace.take_up_control,
                     "compliance_difference": r_cace.compliance_difference,
                     "first_stage_estimate": r_cace.first_stage_estimate,
                     "first_stage_std_error": r_cace.first_stage_std_error,
                     "first_stage_f": r_cace.first_stage_f, "first_stage_df": r_cace.first_stage_df})
    est = estimates_frame(pd.DataFrame(rows)) if rows else estimates_frame([])
    return est, pd.DataFrame(comp, columns=COMPLIANCE_COLUMNS)


def compliance_table(units: pd.DataFrame) -> pd.DataFrame:
    """Delivery taken by assigned arm (counts), the whole randomized sample."""
    t = pd.crosstab(units["assigned"].map({1: "assigned online", 0: "assigned classroom"}),
                    units["took_online"].map({1: "took online", 0: "took classroom"}))
    return t.reindex(index=["assigned online", "assigned classroom"], columns=["took online", "took classroom"],
                     fill_value=0).rename_axis(index="arm", columns=None).reset_index()


def _within(values: np.ndarray, codes: np.ndarray) -> np.ndarray:
    """``values`` (n x k) minus their block means."""
    out = np.array(values, dtype=float)
    for j in range(out.shape[1]):
        means = np.bincount(codes, weights=out[:, j]) / np.bincount(codes)
        out[:, j] -= means[codes]
    return out


def _joint_f(z: np.ndarray, q: np.ndarray, dof: int) -> float:
    """F of the within-block regression of ``z`` on the orthonormal covariate basis ``q``."""
    fitted = q @ (q.T @ z)
    ssr = float(z @ z - fitted @ fitted)
    return float(fitted @ fitted) / q.shape[1] / (ssr / dof) if ssr > 0 else np.inf


def randomization_check(units: pd.DataFrame, covariates: Sequence[str], *, draws: int = 999,
                        seed: int = 0) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Balance of the baseline covariates by assigned arm (SMD with the online arm's SD, as
    :func:`credit_recovery.design.balance.balance_table`), and the joint test that the covariates do not
    predict the assignment within blocks: the F statistic of least squares of the assignment on the
    covariates (missing values mean-imputed with indicators) and block dummies, its p-value by
    randomization inference (the assignment re-drawn ``draws`` times by permutation within blocks, the
    lottery's own distribution, exact whatever the covariates' distribution), and the classical F p-value
    beside it. A small p-value says the arms differ more than a fair lottery would make them."""
    covs = [c for c in covariates if c in units.columns]
    filled, names = impute_missing(units, covs)
    bal = balance_table(filled, "assigned", names)
    codes = pd.factorize(filled["block"], sort=True)[0]
    X = _within(design_matrix(filled, names).to_numpy(float), codes)
    q, r = np.linalg.qr(X)
    q = q[:, np.abs(np.diag(r)) > 1e-9 * max(1.0, np.abs(np.diag(r)).max())]  # drop collinear covariates
    z = filled["assigned"].to_numpy(float)
    k, n_blocks = q.shape[1], int(codes.max()) + 1
    dof = len(z) - k - n_blocks
    f_obs = _joint_f(_within(z[:, None], codes)[:, 0], q, dof)
    rng = np.random.default_rng(seed)
    order = np.argsort(codes, kind="stable")
    starts = np.searchsorted(codes[order], np.arange(n_blocks))
    ends = np.append(starts[1:], len(z))
    exceed = 0
    for _ in range(draws):
        zp = z.copy()
        for a, b in zip(starts, ends):
            zp[order[a:b]] = rng.permutation(z[order[a:b]])
        exceed += _joint_f(_within(zp[:, None], codes)[:, 0], q, dof) >= f_obs - 1e-12
    joint = pd.DataFrame([{"test": "assignment ~ covariates + blocks, F by permutation within blocks", "n": len(z),
                           "n_covariates": k, "statistic": f_obs, "df_num": float(k), "df_den": float(dof),
                           "p_value": (exceed + 1) / (draws + 1), "p_value_f": float(stats.f.sf(f_obs, k, dof)),
                           "draws": draws}], columns=JOINT_TEST_COLUMNS)
    return bal, joint


def run_experiment(assignments: pd.DataFrame, cohort: pd.DataFrame, ledger: pd.DataFrame | None,
                   experiment: Mapping[str, Any] | None = None) -> dict[str, pd.DataFrame]:
    """The rule ``experiment``: units, exclusions, estimates, first stage, compliance, randomization check
    and attrition by assigned arm, as named tables."""
    opt = _options(experiment)
    units, excluded = randomized_units(assignments, cohort, ledger)
    outcomes = [y for y in opt["outcomes"] if y in units.columns]
    est, first_stage = experiment_estimates(units, outcomes, opt)
    balance, joint = randomization_check(units, opt["covariates"])
    attrition = attrition_table(units.assign(arm=units["assigned"]), None, outcomes, treatment="arm")
    attrition["sample"] = EXPERIMENT_SAMPLE
    attrition["weighting"] = "none (by assigned arm)"
    return {"units": units, "excluded": excluded, "estimates": est, "first_stage": first_stage,
            "compliance": compliance_table(units), "balance": balance.reset_index(), "joint_test": joint,
            "attrition": attrition}
