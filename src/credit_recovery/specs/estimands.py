"""What the specifications estimate (estimand ids) and the units behind each estimate.

Every specification returns ``(estimates, samples)``: tidy estimate rows and,
per estimate, its units (``sample, outcome, student_id, recovery_record_id,
online``), so that the truth comparison can recompute the planted effect over
exactly those units (:mod:`credit_recovery.truth.comparison`).

The estimand registry (:data:`REGISTRY`) states, for every estimate sample, the estimand it targets
(population, contrast, time), which units its truth averages over (:func:`truth_mask`), the assumptions
it needs (:data:`ASSUMPTIONS`) and the simulator knobs that break each one (:data:`BROKEN_BY`,
:data:`KNOBS`); :func:`assumptions_hold` decides from a scenario's ``simulation`` settings whether they
hold (see docs/validity.md).
"""
from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import Any, Callable, Mapping

import numpy as np
import pandas as pd

from credit_recovery.shared.config import defaults

__all__ = ["OCR_ESTIMANDS", "DERIVED_FROM", "MENTOR_ESTIMANDS", "BOT_ESTIMANDS", "SAMPLE_COLUMNS", "units_frame",
           "stack_samples", "ASSUMPTIONS", "KNOBS", "BROKEN_BY", "EXACT_ATTRITION_COVARIATES", "SCORING_ASSUMPTIONS",
           "LONGRUN_TRUTH_HOLDS_LATER_RECOVERY", "OTHER_COURSES_EFFECT_LIMIT", "EstimandSpec",
           "REGISTRY", "DESIGNED", "designed_mask", "estimand_spec", "broken_knobs", "assumptions_hold", "truth_mask"]

#: Outcome -> estimand id of online vs classroom recovery (the longer-run outcomes last).
OCR_ESTIMANDS = {o: f"ocr_{o}" for o in ("math", "reading", "credits", "gpa", "credit_recovered", "cum_credits_2y",
                                         "on_track", "graduated")}
#: Estimands with no knob of their own: the planted credits effects they follow from (their knobs count for them).
DERIVED_FROM: dict[str, tuple[str, ...]] = {e: ("ocr_credits", "ocr_credit_recovered")
                                            for e in ("ocr_cum_credits_2y", "ocr_on_track", "ocr_graduated")}
#: Outcome -> estimand id of a supportive vs a non-supportive mentor (planted in the synthetic district).
MENTOR_ESTIMANDS = {"credit_recovered": "mentor_credit_recovered", "math": "mentor_math"}
#: Outcome -> estimand id of online recovery with a supportive mentor vs classroom recovery (the Back on Track
#: contrast), over the online takers with a supportive mentor.
BOT_ESTIMANDS = {o: f"bot_{o}" for o in OCR_ESTIMANDS}
#: Columns of a samples table.
SAMPLE_COLUMNS = ["sample", "outcome", "student_id", "recovery_record_id", "online"]


def units_frame(rows: pd.DataFrame, sample: str, outcome: str) -> pd.DataFrame:
    """``sample, outcome, student_id, recovery_record_id, online`` of the units behind an estimate."""
    u = rows[["student_id", "recovery_record_id", "online"]].drop_duplicates(["student_id", "recovery_record_id"])
    u = u.assign(sample=sample, outcome=outcome, online=u["online"].astype(int))
    return u[SAMPLE_COLUMNS]


def stack_samples(parts: list[pd.DataFrame]) -> pd.DataFrame:
    """One samples table from :func:`units_frame` parts: duplicates dropped, sorted by sample, outcome, unit.
    Parts of subgroup estimates carry a ``subgroup`` column (empty for the others in the stacked table)."""
    cols = SAMPLE_COLUMNS
    if not parts:
        return pd.DataFrame(columns=cols)
    out = pd.concat(parts, ignore_index=True)
    keys = ["sample", "outcome", "student_id", "recovery_record_id"]
    if "subgroup" in out.columns:
        out["subgroup"] = out["subgroup"].fillna("").astype(str)
        keys.insert(2, "subgroup")
    out = out.drop_duplicates(keys)
    return out.sort_values(keys, kind="stable").reset_index(drop=True)


# --- the estimand registry ---------------------------------------------------------------------------
#
# One entry per estimate sample the pipeline reports: what the estimate targets (population, contrast,
# time), the population over which :mod:`credit_recovery.truth.comparison` computes its truth, the
# assumptions it needs, and for each assumption the simulator knobs (``simulation`` settings) that break
# it. :func:`assumptions_hold` reads a scenario's simulation settings against that list.

#: Assumption id -> what it says.
ASSUMPTIONS: dict[str, str] = {
    "random_assignment": "online take-up is independent of potential outcomes (no selection at all)",
    "selection_on_observables": "no unobserved confounder of online take-up and outcomes given the covariates",
    "overlap": "every online unit has comparable classroom units (common support)",
    "constant_effects_in_regression": "the regression's implicit weights do not matter: effects are constant "
                                      "across units (else OLS with controls or FE targets a variance-weighted "
                                      "average, not the average over the estimand's population)",
    "school_year_shocks_absorbed": "school-by-year shocks to take-up and outcomes are absorbed by the design "
                                   "(the designs with school-by-year FE or exact school-year matching need not "
                                   "state it; IPW with school and year dummies does)",
    "parallel_trends": "online and classroom recoverers' untreated outcomes move in parallel (time-invariant "
                       "confounding only)",
    "parallel_trends_within_cohort": "within a recovery-year cohort, online and classroom recoverers' untreated "
                                     "outcomes move in parallel from the failure year on, given the failure-year "
                                     "covariates (time-invariant confounding only)",
    "no_anticipation": "online delivery in the recovery year does not move the failure year's outcomes (it is "
                       "chosen after the failure)",
    "mentors_random_within_school": "supportive mentors are assigned at random within school",
    "no_differential_attrition": "outcomes are missing completely at random within each arm (complete-case "
                                 "analysis; also leaving the district before the second year of cum_credits_2y): "
                                 "whether a unit's outcome is missing is unrelated to its covariates and potential "
                                 "outcomes; the rates may differ between the arms",
    "outcomes_missing_at_random": "next-year outcomes are missing at random given the response model's pre-treatment "
                                  "covariates and the arm (response weighting; docs/attrition.md)",
    "longrun_truth_complete": "the simulator's truth of the two-year credits and graduation is the total effect the "
                              "estimators target: the treatment barely changes which of the recovery year's other "
                              "core courses are failed and recovered the year after (a condition on the synthetic "
                              "district's planted effects, not on the data)",
}


def _positive(value: Any) -> bool:
    return value is not None and float(value) > 0


def _own(estimand_id: str) -> list[str]:
    """The estimand and the planted effects it follows from (:data:`DERIVED_FROM`)."""
    return [estimand_id, *DERIVED_FROM.get(estimand_id, ())]


def _slopes(settings: Mapping[str, Any], estimand_id: str | None) -> bool:
    het = settings.get("effect_heterogeneity") or {}
    ids = _own(estimand_id) if estimand_id else list(het)
    return any(float(v) != 0 for e in ids for v in (het.get(e) or {}).values())


#: Attrition covariates (``simulation.attrition.covariate``) that the cohort holds exactly as the generator uses them.
EXACT_ATTRITION_COVARIATES = ("absence_rate_pre", "ell", "sped", "frl", "subject_math")


def _covariate_attrition(settings: Mapping[str, Any]) -> bool:
    a = settings.get("attrition") or {}
    rate = _positive(a.get("base")) or _positive(a.get("online_extra"))
    return rate and any(float(a.get(k) or 0) != 0 for k in ("slope", "online_slope"))


#: Estimands whose simulator truth holds later recovery episodes at the observed ones (docs/synthetic-district.md).
LONGRUN_TRUTH_HOLDS_LATER_RECOVERY = ("ocr_cum_credits_2y", "ocr_graduated", "bot_cum_credits_2y", "bot_graduated")
#: Largest |τ_credits − τ_credit_recovered| at which that truth is complete to about 0.025 credits: the other courses'
#: part of the credits effect, each credit of which changes the recovery year's failed core courses by about −1.45
#: per unit and the credits recovered the year after by about −0.35 (medium districts, docs/validity.md).
OTHER_COURSES_EFFECT_LIMIT = 0.075


@functools.lru_cache(maxsize=1)
def _default_effects() -> dict[str, float]:
    return dict(defaults("simulation")["effects"])


def _other_courses_effect(settings: Mapping[str, Any], estimand_id: str | None) -> bool:
    if estimand_id is not None and estimand_id not in LONGRUN_TRUTH_HOLDS_LATER_RECOVERY:
        return False
    eff = {**_default_effects(), **(settings.get("effects") or {})}
    het = settings.get("effect_heterogeneity") or {}
    varies = any(float(v) != 0 for e in ("ocr_credits", "ocr_credit_recovered") for v in (het.get(e) or {}).values())
    return varies or abs(float(eff["ocr_credits"]) - float(eff["ocr_credit_recovered"])) > OTHER_COURSES_EFFECT_LIMIT


def _dynamics(settings: Mapping[str, Any], estimand_id: str | None) -> bool:
    dyn = settings.get("effect_dynamics") or {}
    ids = _own(estimand_id) if estimand_id else list(dyn)
    return any(float(v) != 0 for e in ids for v in (dyn.get(e) or []))


#: Knob id -> (what it is, predicate(simulation settings, estimand_id or None) -> knob is on).
KNOBS: dict[str, tuple[str, Callable[[Mapping[str, Any], str | None], bool]]] = {
    "selection": ("online take-up depends on student covariates (always, in the synthetic district)",
                  lambda s, e: True),
    "unobserved_confounding": ("simulation.unobserved_confounding > 0",
                               lambda s, e: _positive(s.get("unobserved_confounding"))),
    "recovery_year_confounding": ("simulation.unobserved_confounding > 0 for credits or GPA: the planted confounder "
                                  "also raises the chance of recovering the failed course, which happens in the "
                                  "recovery year only (a time-varying confounder a student effect cannot absorb)",
                                  lambda s, e: _positive(s.get("unobserved_confounding"))
                                  and e in (None, "ocr_credits", "ocr_gpa")),
    "effect_heterogeneity": ("a non-zero simulation.effect_heterogeneity slope for the estimand (for a longer-run "
                             "estimand: for the credits effects it follows from)", _slopes),
    "effect_dynamics": ("a non-zero simulation.effect_dynamics multiple for the estimand (for a longer-run "
                        "estimand: for the credits effects it follows from)", _dynamics),
    "school_year_shocks": ("simulation.school_shocks.school_year_sd > 0",
                           lambda s, e: _positive((s.get("school_shocks") or {}).get("school_year_sd"))),
    "mentor_selection": ("simulation.mentor_selection > 0", lambda s, e: _positive(s.get("mentor_selection"))),
    "covariate_attrition": ("simulation.attrition.slope or online_slope is non-zero (and some attrition is on): "
                            "whether an outcome is missing depends on a pre-treatment covariate, so an arm's "
                            "respondents are not a random subset of it (differential rates alone, online_extra, "
                            "break nothing)", lambda s, e: _covariate_attrition(s)),
    "attrition_on_proxy": ("covariate attrition on a covariate the cohort holds only a proxy of (the generator's "
                           "latent scores, unrounded GPA and credits, the recovery year's grade): missing at random "
                           "given the observed covariates only approximately",
                           lambda s, e: _covariate_attrition(s) and (s.get("attrition") or {}).get(
                               "covariate", "absence_rate_pre") not in EXACT_ATTRITION_COVARIATES),
    "other_courses_effect": ("|effects.ocr_credits − effects.ocr_credit_recovered| > 0.075, or a non-zero "
                             "effect_heterogeneity slope of either: the credits effect runs through the recovery "
                             "year's other courses (for some units at least), so the treatment changes which core "
                             "courses the student fails and recovers the year after, a route the simulator's truth of "
                             "the two-year credits and graduation leaves out (it holds later recovery episodes at the "
                             "observed ones)", _other_courses_effect),
}

#: Assumption id -> the knobs that break it.
BROKEN_BY: dict[str, tuple[str, ...]] = {
    "random_assignment": ("selection", "unobserved_confounding", "school_year_shocks"),
    "selection_on_observables": ("unobserved_confounding",),
    "overlap": (),
    "constant_effects_in_regression": ("effect_heterogeneity",),
    "school_year_shocks_absorbed": ("school_year_shocks",),
    "parallel_trends": ("recovery_year_confounding",),
    "parallel_trends_within_cohort": ("recovery_year_confounding",),
    "no_anticipation": (),
    "mentors_random_within_school": ("mentor_selection",),
    "no_differential_attrition": ("covariate_attrition",),
    "outcomes_missing_at_random": ("attrition_on_proxy",),
    "longrun_truth_complete": ("other_courses_effect",),
}

#: Assumptions of the scoring, not of an estimator: every sample's cells need them to be judged against the truth.
SCORING_ASSUMPTIONS = ("longrun_truth_complete",)


@dataclass(frozen=True)
class EstimandSpec:
    """What the estimates of one sample target and what they need.

    Attributes
    ----------
    sample : str
        The ``sample`` value of the estimate rows (``results/models/estimates.csv``).
    estimators : tuple of str
        The ``estimator`` values reported on this sample.
    population : str
        The units whose mean effect is the target.
    contrast : str
    time : str
    truth_units : str
        ``"online"`` (truth = mean unit effect over the online units of the
        estimate's own sample) or ``"online_supportive"`` (over the online units
        with a supportive mentor).
    assumptions : tuple of str
        Keys of :data:`ASSUMPTIONS`.
    designed : bool
        Whether the design is meant to be unbiased, with valid intervals, in the default district
        (everything but the naive comparison, reported for contrast; of the ``matched`` sample only
        the matching estimator with Abadie-Imbens standard errors: its g-computation variant keeps
        HC3 standard errors that treat the match weights as fixed, and is left out by
        :func:`designed_mask`).
    """

    sample: str
    estimators: tuple[str, ...]
    population: str
    contrast: str
    time: str
    truth_units: str
    assumptions: tuple[str, ...]
    designed: bool

    def broken_by(self) -> tuple[str, ...]:
        """The knobs that break at least one of the assumptions or of the :data:`SCORING_ASSUMPTIONS` (sorted, unique)."""
        return tuple(sorted({k for a in (*self.assumptions, *SCORING_ASSUMPTIONS) for k in BROKEN_BY[a]}))


_NEXT_YEAR = ("the school year after the failure, i.e. the recovery year (next-year outcomes) / the recovery outcome / "
              "the longer-run outcomes (credits of the recovery year and the next, on track at the end of the "
              "recovery year, graduation within four years of grade 9)")
_OCR = "online vs classroom recovery"
_MENTOR = "instructionally supportive vs non-supportive mentor"

#: Sample -> its :class:`EstimandSpec` (every sample that carries an ``ocr_*`` or ``mentor_*`` estimand).
REGISTRY: dict[str, EstimandSpec] = {s.sample: s for s in (
    EstimandSpec("cohort", ("naive difference in means (OLS)",),
                 "online recoverers of the cohort (a difference in means: their ATT only under random assignment)",
                 _OCR, _NEXT_YEAR, "online", ("random_assignment", "no_differential_attrition"), False),
    EstimandSpec("matched", ("nearest-neighbour matching, WLS", "nearest-neighbour matching, bias-corrected",
                             "nearest-neighbour matching, WLS g-computation"),
                 "matched online recoverers (ATT)", _OCR, _NEXT_YEAR, "online",
                 ("selection_on_observables", "overlap", "no_differential_attrition"), True),
    EstimandSpec("matched_fe", ("matched WLS, covariates, school-by-year FE",), "matched online recoverers (ATT)",
                 _OCR, _NEXT_YEAR, "online",
                 ("selection_on_observables", "overlap", "constant_effects_in_regression",
                  "no_differential_attrition"), True),
    EstimandSpec("matched_sub", ("matched WLS, covariates, school-by-year FE, within subgroup",),
                 "matched online recoverers of a subgroup (ATT; matched again with the subgroup as an exact stratum)",
                 _OCR, _NEXT_YEAR, "online",
                 ("selection_on_observables", "overlap", "constant_effects_in_regression",
                  "no_differential_attrition"), True),
    EstimandSpec("matched_rw", ("matched WLS, covariates, school-by-year FE, response-weighted",),
                 "matched online recoverers (ATT), with or without an observed outcome", _OCR, _NEXT_YEAR, "online",
                 ("selection_on_observables", "overlap", "constant_effects_in_regression",
                  "outcomes_missing_at_random"), True),
    EstimandSpec("panel", ("student FE panel, school-by-year FE",), "online recoverers in the panel (ATT)", _OCR,
                 "the recovery year", "online",
                 ("parallel_trends", "constant_effects_in_regression", "no_differential_attrition"), True),
    EstimandSpec("panel_es", ("student FE event study, school-by-year FE",),
                 "online recoverers in the panel (ATT)", _OCR,
                 "event time 0 (the recovery year) against event time -1", "online",
                 ("parallel_trends", "constant_effects_in_regression", "no_differential_attrition"), True),
    EstimandSpec("panel_cs", ("Callaway-Sant'Anna, same-cohort classroom comparison",),
                 "online recoverers of the panel observed in the failure and the recovery year (ATT)",
                 _OCR, "event time 0 (the recovery year) against event time -1 (the failure year)", "online",
                 ("parallel_trends_within_cohort", "no_anticipation", "overlap", "school_year_shocks_absorbed",
                  "no_differential_attrition"), True),
    EstimandSpec("online", ("mentor instructionally supportive vs not, school FE",),
                 "online takers with a supportive mentor (ATT)", _MENTOR, _NEXT_YEAR, "online_supportive",
                 ("mentors_random_within_school", "no_differential_attrition"),
                 True),
    EstimandSpec("ipw3", ("three-way IPW (multinomial propensity), ATT weights",),
                 "online takers with a supportive mentor (ATT)",
                 f"{_MENTOR}; online with a supportive mentor vs classroom (Back on Track)", _NEXT_YEAR,
                 "online_supportive",
                 ("selection_on_observables", "mentors_random_within_school", "overlap",
                  "school_year_shocks_absorbed", "no_differential_attrition"),
                 True),
)}


#: Samples of the designed estimators (everything but the naive comparison): the registry's ``designed`` entries.
DESIGNED: tuple[str, ...] = tuple(s for s, spec in REGISTRY.items() if spec.designed)


def designed_mask(rows: pd.DataFrame) -> pd.Series:
    """Which rows (``sample``, ``estimator``) are designed estimators: a :data:`DESIGNED` sample, and not the
    matched g-computation variant (its HC3 standard errors treat the match weights as fixed)."""
    return rows["sample"].isin(DESIGNED) & ~rows["estimator"].str.contains("g-computation", regex=False)


def estimand_spec(sample: str) -> EstimandSpec:
    """The registry entry of an estimate sample (raises ``KeyError`` naming the known samples)."""
    try:
        return REGISTRY[sample]
    except KeyError:
        raise KeyError(f"no estimand registry entry for sample {sample!r}; known: {sorted(REGISTRY)}") from None


def broken_knobs(sample: str, settings: Mapping[str, Any], estimand_id: str | None = None) -> list[str]:
    """The knobs switched on in ``settings`` (a ``simulation`` section) that break the sample's assumptions."""
    return [k for k in estimand_spec(sample).broken_by() if KNOBS[k][1](settings, estimand_id)]


def assumptions_hold(sample: str, settings: Mapping[str, Any], estimand_id: str | None = None) -> bool:
    """Whether every assumption of the sample's estimators holds in a district with these simulation settings.

    Parameters
    ----------
    sample : str
        The estimate's ``sample`` (a :data:`REGISTRY` key).
    settings : mapping
        The ``simulation`` section of the scenario (missing knobs count as off).
    estimand_id : str, optional
        Judge the per-estimand knobs (heterogeneity, dynamics) for this estimand
        only; by default any estimand's knob counts.
    """
    return not broken_knobs(sample, settings, estimand_id)


def truth_mask(sample: str, online: np.ndarray, supportive: np.ndarray) -> np.ndarray:
    """Which units of an estimate's own sample its truth averages over (from :attr:`EstimandSpec.truth_units`)."""
    units = estimand_spec(sample).truth_units
    mask = np.asarray(online, dtype=bool)
    if units == "online_supportive":
        mask = mask & np.asarray(supportive, dtype=bool)
    return mask
