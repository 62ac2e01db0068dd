"""Cohort construction: the analytic sample, its baseline covariates and
outcomes, and an exclusion ledger that accounts for every input record.

The unit of analysis is a **recovery episode**: a student who failed a core
course (mark F on an original attempt) in school year ``t`` and attempted to
recover it in school year ``t + 1``. Each student enters the cohort once, with
the first such episode; within an episode the **index course** is the first
failed course (fall before spring, then math, ELA, science, social studies,
then record id). Treatment is the index course's delivery: online (1) or
classroom (0). Baseline covariates come from year ``t`` (before the recovery);
outcomes from year ``t + 1``, and the longer-run outcomes (credits over two years, on track,
graduation) from :mod:`credit_recovery.data.longrun`.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Mapping

import numpy as np
import pandas as pd

from credit_recovery.data.contract import CORE_SUBJECTS
from credit_recovery.data.longrun import longrun_outcomes

_TERM_ORDER = {"fall": 0, "spring": 1, "summer": 2}
_SUBJECT_ORDER = {s: i for i, s in enumerate(CORE_SUBJECTS)}

#: Reasons in the exclusion ledger, in the order the rules are applied.
COURSE_STATUSES = {
    "cohort_index_failure": "kept: the failed course attempt of a cohort unit",
    "cohort_index_recovery": "kept: the recovery attempt of a cohort unit",
    "original_not_failed": "original attempt passed or withdrawn (not a failure)",
    "failed_not_core": "failed a non-core (elective) course",
    "failed_no_recovery_attempt": "failed core course with no recovery attempt",
    "recovery_not_following_year": "recovery attempt not in the school year after the failure",
    "no_online_option": "index failure or recovery of a student whose retake school-year offered no online recovery",
    "later_episode_of_cohort_student": "failure or recovery in a later episode of a student already in the cohort",
    "secondary_course_in_episode": "another failed course recovered in the same episode (not the index course)",
}
STUDENT_YEAR_STATUSES = {
    "cohort_baseline_year": "kept: baseline year (failure year) of a cohort unit",
    "cohort_outcome_year": "kept: outcome year (recovery year) of a cohort unit",
    "no_online_option": "a year of a student whose retake school-year offered no online recovery",
    "other_year_of_cohort_student": "another year of a student in the cohort",
    "student_never_failed_core": "student never failed a core course",
    "student_never_attempted_recovery": "student failed a core course but never attempted recovery",
    "student_no_eligible_episode": "student's recovery attempts did not form an eligible episode",
}


@dataclass
class CohortResult:
    """Output of :func:`build_cohort`.

    Attributes
    ----------
    cohort : DataFrame
        One row per cohort unit: identifiers, treatment, baseline covariates, outcomes.
    ledger : DataFrame
        One row per input record (``table``, ``record_id``, ``status``, ``kept``):
        every student-year and course record is kept or excluded with one reason.
    flow : DataFrame
        Steps of the CONSORT-style flow (``step``, ``n``, ``excluded``, ``reason``).
    """

    cohort: pd.DataFrame
    ledger: pd.DataFrame
    flow: pd.DataFrame

    def flow_public(self, min_cell_size: int = 10) -> pd.DataFrame:
        """The flow in the shape :func:`credit_recovery.reporting.figures.plot_flow` draws, small counts suppressed.

        Each row gives a step's count and the records excluded on the way from
        the previous step; counts in ``[1, min_cell_size)`` become ``"<min"``.
        """
        f = self.flow
        n_online = int(f.loc[f["step"] == "Online recovery", "n"].iloc[0])
        n_class = int(f.loc[f["step"] == "Classroom recovery", "n"].iloc[0])
        rows = [{"step": f.loc[0, "step"], "n": int(f.loc[0, "n"]), "excluded_reason": None, "n_excluded": None}]
        last = int(f.index[f["step"] == "Analytic cohort (students)"][0])
        for i in range(1, last + 1):
            label = f.loc[i, "step"]
            if i == last:
                label = f"Analytic cohort (students)\nonline {_fmt(n_online, min_cell_size)}, " \
                        f"classroom {_fmt(n_class, min_cell_size)}"
            n_excl = int(f.loc[i - 1, "excluded"])
            rows.append({"step": label, "n": int(f.loc[i, "n"]),
                         "excluded_reason": _SHORT_REASONS[i - 1] if n_excl else None,
                         "n_excluded": n_excl if n_excl else None})
        out = pd.DataFrame(rows)
        for col in ("n", "n_excluded"):
            out[col] = [(_fmt(v, min_cell_size) if v is not None and not pd.isna(v) else None) for v in out[col]]
        return out

    def ledger_counts(self) -> pd.DataFrame:
        """Counts of the ledger by table and status."""
        return (self.ledger.groupby(["table", "status", "kept"], sort=False).size()
                .rename("n").reset_index())


_SHORT_REASONS = ("no recovery attempt", "not recovered in the\nfollowing school year",
                  "later episode, or not the\nepisode's index course", "no online option in the\nschool year")


def _fmt(v, min_cell_size: int):
    v = int(v)
    return f"<{min_cell_size}" if 0 < v < min_cell_size else v


def _episodes(tables: Mapping[str, pd.DataFrame]) -> pd.DataFrame:
    """Recovery attempts joined to their failed attempts, with ordering keys."""
    cr = tables["course_records"]
    rec = cr[cr["attempt"] == "recovery"][["course_record_id", "student_id", "school_year", "school_id",
                                           "recovers_record_id", "delivery", "mentor_id", "mark",
                                           "credits_earned", "credits_attempted"]]
    # optional column: missing when the district does not record program models
    rec = rec.assign(program_model=cr.loc[rec.index, "program_model"] if "program_model" in cr else None)
    failed = cr[["course_record_id", "school_year", "term", "subject", "course_name", "mark"]].rename(columns={
        "course_record_id": "recovers_record_id", "school_year": "failed_year", "term": "failed_term",
        "subject": "subject", "course_name": "course_name", "mark": "failed_mark"})
    ep = rec.merge(failed, on="recovers_record_id", how="left", validate="many_to_one")
    ep = ep.rename(columns={"course_record_id": "recovery_record_id", "recovers_record_id": "failed_record_id"})
    ep["core"] = ep["subject"].isin(CORE_SUBJECTS)
    ep["following_year"] = ep["school_year"] == ep["failed_year"] + 1
    ep["_term"] = ep["failed_term"].map(_TERM_ORDER).fillna(9)
    ep["_subj"] = ep["subject"].map(_SUBJECT_ORDER).fillna(9)
    return ep


def cohort_units(tables: Mapping[str, pd.DataFrame]) -> pd.DataFrame:
    """The cohort's units: one row per student (first eligible recovery episode).

    Returns
    -------
    DataFrame
        ``student_id``, ``recovery_record_id``, ``failed_record_id``,
        ``school_year`` (recovery year), ``baseline_year``, ``episode_courses``
        (recovery attempts in the episode: chosen with the treatment, so descriptive only),
        ``failed_courses_pre`` (core courses failed in the baseline year: pre-treatment),
        ``online_offered`` (the retake's school offered online recovery that year: some recovery attempt
        there and then was online), sorted by student. Every student's first eligible episode, offered
        or not (:func:`build_cohort` keeps the offered ones).
    """
    ep = _episodes(tables)
    elig = ep[ep["core"] & ep["following_year"]]
    first_year = elig.groupby("student_id")["school_year"].transform("min")
    elig = elig[elig["school_year"] == first_year]
    n_courses = elig.groupby("student_id")["recovery_record_id"].transform("size")
    elig = elig.assign(episode_courses=n_courses)
    elig = elig.sort_values(["student_id", "_term", "_subj", "failed_record_id"], kind="stable")
    units = elig.drop_duplicates("student_id", keep="first")
    units = units.assign(baseline_year=units["failed_year"])
    cr = tables["course_records"]
    failed = cr[(cr["attempt"] == "original") & cr["subject"].isin(CORE_SUBJECTS) & (cr["mark"] == "F")]
    n_failed = failed.groupby(["student_id", "school_year"]).size().rename("failed_courses_pre").reset_index()
    units = units.merge(n_failed.rename(columns={"school_year": "baseline_year"}), on=["student_id", "baseline_year"],
                        how="left", validate="one_to_one")
    units["failed_courses_pre"] = units["failed_courses_pre"].fillna(0).astype("int64")
    offered = set(zip(*[ep.loc[ep["delivery"] == "online", c] for c in ("school_id", "school_year")]))
    units["online_offered"] = [k in offered for k in zip(units["school_id"], units["school_year"])]
    return units[["student_id", "recovery_record_id", "failed_record_id", "school_year", "baseline_year",
                  "episode_courses", "failed_courses_pre", "online_offered"]].reset_index(drop=True)


def analytic_units(tables: Mapping[str, pd.DataFrame]) -> pd.DataFrame:
    """The analytic cohort's units: the :func:`cohort_units` whose retake school-year offered online recovery.

    The one place the rule lives for code that needs the cohort's units without building it (the
    synthetic district's ``in_cohort``).
    """
    return _offered(cohort_units(tables))


def _offered(units: pd.DataFrame) -> pd.DataFrame:
    """The units whose retake school-year offered online recovery (the ones :func:`build_cohort` keeps)."""
    return units[units["online_offered"]]


def standardize_scores(student_years: pd.DataFrame) -> pd.DataFrame:
    """Scores in SD units of the district's grade-by-year distribution.

    Notes
    -----
    ``z = (score − mean_{grade, year}) / sd_{grade, year}`` over all tested
    student-years of the input (SD with ``n − 1``). With a ``district`` column (the stacked student-years of
    a state study, :func:`credit_recovery.data.extract_io.stack_extracts`) the grade-by-year distribution is
    each district's, so a district's scores are the same alone and in its state.
    """
    sy = student_years
    out = pd.DataFrame(index=sy.index)
    keys = (["district"] if "district" in sy.columns else []) + ["school_year", "grade"]
    for col, name in (("math_score", "math_z"), ("reading_score", "reading_z")):
        g = sy.groupby(keys)[col]
        out[name] = (sy[col] - g.transform("mean")) / g.transform("std")
    return out


def _analysis_table(tables: Mapping[str, pd.DataFrame], units: pd.DataFrame, ep: pd.DataFrame,
                    options: Mapping[str, Any] | None = None) -> pd.DataFrame:
    """One row per cohort unit: treatment, mentor, baseline covariates (year t), outcomes (year t + 1), the placebo
    outcomes of year t - 1 (``math_pre2``, ``reading_pre2``, ``gpa_pre2``: missing when not enrolled) and the
    longer-run outcomes (:func:`credit_recovery.data.longrun.longrun_outcomes`, ``options`` the ``cohort`` section)."""
    sy = tables["student_years"].copy()
    z = standardize_scores(sy)
    sy = sy.assign(math_z=z["math_z"], reading_z=z["reading_z"],
                   absence_rate=sy["days_absent"] / sy["days_enrolled"])
    base_cols = ["student_id", "school_year", "school_id", "grade", "frl", "ell", "sped", "absence_rate",
                 "math_z", "reading_z", "gpa", "credits_earned"]
    base = sy[base_cols].rename(columns={
        "school_year": "baseline_year", "school_id": "baseline_school_id", "grade": "grade",
        "absence_rate": "absence_rate_pre", "math_z": "math_pre", "reading_z": "reading_pre", "gpa": "gpa_pre",
        "credits_earned": "credits_pre"})
    pre2 = sy[["student_id", "school_year", "math_z", "reading_z", "gpa"]].rename(columns={
        "math_z": "math_pre2", "reading_z": "reading_pre2", "gpa": "gpa_pre2"})
    pre2["baseline_year"] = pre2.pop("school_year") + 1  # the year before the failure (event time -2)
    outc = sy[["student_id", "school_year", "school_id", "math_z", "reading_z", "gpa", "credits_earned"]].rename(
        columns={"math_z": "math", "reading_z": "reading", "gpa": "gpa", "credits_earned": "credits"})
    c = units.merge(ep[["recovery_record_id", "delivery", "mentor_id", "program_model", "mark", "credits_earned",
                        "subject", "course_name", "failed_term"]], on="recovery_record_id", how="left")
    c = c.rename(columns={"credits_earned": "recovery_credits", "mark": "recovery_mark"})
    c["credit_recovered"] = (c["recovery_credits"] > 0).astype(float)
    c["online"] = (c["delivery"] == "online").astype(int)
    c = c.merge(base, on=["student_id", "baseline_year"], how="left", validate="one_to_one")
    c = c.merge(pre2, on=["student_id", "baseline_year"], how="left", validate="one_to_one")
    c = c.merge(outc, on=["student_id", "school_year"], how="left", validate="one_to_one")
    c = c.merge(tables["students"][["student_id", "gender", "race_ethnicity"]], on="student_id", how="left")
    m = tables["mentors"].rename(columns={"instructionally_supportive": "mentor_supportive",
                                          "certified_subject": "mentor_certified_subject"})
    c = c.merge(m[["mentor_id", "mentor_supportive", "mentor_certified_subject"]], on="mentor_id", how="left")
    c["mentor_supportive"] = c["mentor_supportive"].astype("boolean")
    c["mentor_certified"] = (c["mentor_certified_subject"] == c["subject"]).where(c["mentor_id"].notna())
    c["mentor_certified"] = c["mentor_certified"].astype("boolean")
    c["school_year"] = c["school_year"].astype("int64")
    order = ["student_id", "failed_record_id", "recovery_record_id", "school_id", "school_year", "baseline_year",
             "online", "delivery", "mentor_id", "mentor_supportive", "mentor_certified", "program_model", "subject",
             "course_name",
             "failed_term", "episode_courses", "failed_courses_pre", "grade", "gender", "race_ethnicity", "frl", "ell", "sped",
             "absence_rate_pre", "math_pre", "reading_pre", "gpa_pre", "credits_pre",
             "math", "reading", "credits", "gpa", "credit_recovered", "recovery_mark",
             "math_pre2", "reading_pre2", "gpa_pre2"]
    longrun = longrun_outcomes(c[["student_id", "school_year"]], tables, options)
    c = pd.concat([c[order], longrun.drop(columns="student_id").set_index(c.index)], axis=1)
    return c.sort_values(["school_year", "student_id"], kind="stable").reset_index(drop=True)


def _first_status(status: pd.Series, mask: pd.Series, value: str) -> pd.Series:
    """``status`` with ``value`` where ``mask`` holds and no earlier rule gave a status."""
    return status.mask(mask & (status == ""), value)


def _course_statuses(cr: pd.DataFrame, units: pd.DataFrame, ep: pd.DataFrame) -> pd.Series:
    """Ledger status of every course record (``COURSE_STATUSES``, first applicable rule wins)."""
    status = pd.Series("", index=cr.index, dtype=object)
    rid = cr["course_record_id"]
    is_orig = cr["attempt"] == "original"
    is_core = cr["subject"].isin(CORE_SUBJECTS)
    ep_by_rec = ep.set_index("recovery_record_id")
    ep_by_failed = ep.drop_duplicates("failed_record_id").set_index("failed_record_id")
    kept = _offered(units)
    status = _first_status(status, rid.isin(set(kept["failed_record_id"])), "cohort_index_failure")
    status = _first_status(status, rid.isin(set(kept["recovery_record_id"])), "cohort_index_recovery")
    status = _first_status(status, is_orig & (cr["mark"] != "F"), "original_not_failed")
    status = _first_status(status, is_orig & ~is_core, "failed_not_core")
    status = _first_status(status, is_orig & ~rid.isin(set(ep["failed_record_id"])), "failed_no_recovery_attempt")
    # recovery attempts (and their failed attempts) outside the cohort
    rec_following = rid.map(ep_by_rec["following_year"]).astype("boolean")
    rec_core = rid.map(ep_by_rec["core"]).astype("boolean")
    fail_following = rid.map(ep_by_failed["following_year"]).astype("boolean")
    status = _first_status(status, ~is_orig & (rec_core == False), "failed_not_core")  # noqa: E712
    status = _first_status(status, ~is_orig & (rec_following == False), "recovery_not_following_year")  # noqa: E712
    status = _first_status(status, is_orig & (fail_following == False), "recovery_not_following_year")  # noqa: E712
    no_option = units[~units["online_offered"]]
    status = _first_status(status, rid.isin(set(no_option["failed_record_id"]) | set(no_option["recovery_record_id"])),
                           "no_online_option")
    in_cohort_student = cr["student_id"].isin(set(units["student_id"]))
    yr_unit = cr["student_id"].map(units.set_index("student_id")["school_year"])
    episode_year = np.where(is_orig, cr["school_year"] + 1, cr["school_year"])
    status = _first_status(status, in_cohort_student & (episode_year > yr_unit), "later_episode_of_cohort_student")
    status = _first_status(status, in_cohort_student & (episode_year == yr_unit), "secondary_course_in_episode")
    leftover = status == ""
    if leftover.any():  # pragma: no cover - a defect in the rules above
        raise AssertionError(f"{int(leftover.sum())} course records have no ledger status, e.g. "
                             f"{cr.loc[leftover, 'course_record_id'].head().tolist()}")
    return status


def _student_year_statuses(sy: pd.DataFrame, cr: pd.DataFrame, units: pd.DataFrame,
                           ep: pd.DataFrame) -> pd.Series:
    """Ledger status of every student-year (``STUDENT_YEAR_STATUSES``, first applicable rule wins)."""
    sy_status = pd.Series("", index=sy.index, dtype=object)
    key = list(zip(sy["student_id"], sy["school_year"]))
    kept = _offered(units)
    base_keys = set(zip(kept["student_id"], kept["baseline_year"]))
    out_keys = set(zip(kept["student_id"], kept["school_year"]))
    is_orig = cr["attempt"] == "original"
    is_core = cr["subject"].isin(CORE_SUBJECTS)
    failed_core_students = set(cr.loc[is_orig & is_core & (cr["mark"] == "F"), "student_id"])
    attempted_students = set(ep["student_id"])
    sy_status[[k in base_keys for k in key]] = "cohort_baseline_year"
    m = (sy_status == "") & pd.Series([k in out_keys for k in key], index=sy.index)
    sy_status[m] = "cohort_outcome_year"
    sid = sy["student_id"]
    for mask, value in (
        (sid.isin(set(units.loc[~units["online_offered"], "student_id"])), "no_online_option"),
        (sid.isin(set(kept["student_id"])), "other_year_of_cohort_student"),
        (~sid.isin(failed_core_students), "student_never_failed_core"),
        (~sid.isin(attempted_students), "student_never_attempted_recovery"),
        (pd.Series(True, index=sy.index), "student_no_eligible_episode"),
    ):
        sy_status[(sy_status == "") & mask] = value
    return sy_status


def _ledger(tables: Mapping[str, pd.DataFrame], units: pd.DataFrame, ep: pd.DataFrame) -> pd.DataFrame:
    """One row per student-year and course record: ``table, record_id, status, kept, reason``."""
    sy, cr = tables["student_years"], tables["course_records"]
    ledger_cr = pd.DataFrame({"table": "course_records", "record_id": cr["course_record_id"].to_numpy(),
                              "status": _course_statuses(cr, units, ep).to_numpy()})
    sy_id = sy["student_id"].astype(str) + ":" + sy["school_year"].astype(str)
    ledger_sy = pd.DataFrame({"table": "student_years", "record_id": sy_id.to_numpy(),
                              "status": _student_year_statuses(sy, cr, units, ep).to_numpy()})
    ledger = pd.concat([ledger_sy, ledger_cr], ignore_index=True)
    ledger["kept"] = ledger["status"].str.startswith("cohort_")
    ledger["reason"] = ledger["status"].map({**COURSE_STATUSES, **STUDENT_YEAR_STATUSES})
    return ledger


def _flow(cr: pd.DataFrame, ledger: pd.DataFrame, cohort: pd.DataFrame) -> pd.DataFrame:
    """CONSORT-style flow from failed core course attempts to the online and classroom groups."""
    course_status = ledger.loc[ledger["table"] == "course_records", "status"].reset_index(drop=True)
    counts = course_status.value_counts()
    failed_core = (cr["attempt"] == "original") & cr["subject"].isin(CORE_SUBJECTS) & (cr["mark"] == "F")
    n_orig_core_fail = int(failed_core.sum())
    n_no_rec = int(counts.get("failed_no_recovery_attempt", 0))
    failed_status = course_status.loc[failed_core.to_numpy()].value_counts()
    n_not_following = int(failed_status.get("recovery_not_following_year", 0))
    n_later = int(failed_status.get("later_episode_of_cohort_student", 0))
    n_secondary = int(failed_status.get("secondary_course_in_episode", 0))
    n_no_option = int(failed_status.get("no_online_option", 0))
    n_units = len(cohort)
    flow = pd.DataFrame([
        {"step": "Failed core course attempts", "n": n_orig_core_fail, "excluded": n_no_rec,
         "reason": COURSE_STATUSES["failed_no_recovery_attempt"]},
        {"step": "Failed courses with a recovery attempt", "n": n_orig_core_fail - n_no_rec,
         "excluded": n_not_following, "reason": COURSE_STATUSES["recovery_not_following_year"]},
        {"step": "Recovered in the following school year", "n": n_orig_core_fail - n_no_rec - n_not_following,
         "excluded": n_later + n_secondary,
         "reason": "later episode of a student already counted, or not the episode's index course"},
        {"step": "First recovery episode of a student", "n": n_units + n_no_option, "excluded": n_no_option,
         "reason": COURSE_STATUSES["no_online_option"]},
        {"step": "Analytic cohort (students)", "n": n_units, "excluded": 0, "reason": ""},
        {"step": "Online recovery", "n": int(cohort["online"].sum()), "excluded": 0, "reason": ""},
        {"step": "Classroom recovery", "n": int((1 - cohort["online"]).sum()), "excluded": 0, "reason": ""},
    ])
    assert flow.loc[2, "n"] - flow.loc[2, "excluded"] == n_units + n_no_option, "flow counts do not add up"
    return flow


def build_cohort(tables: Mapping[str, pd.DataFrame], options: Mapping[str, Any] | None = None) -> CohortResult:
    """Build the analytic cohort, the exclusion ledger and the flow counts.

    Parameters
    ----------
    tables : mapping of DataFrame
        Validated input tables (``students``, ``student_years``,
        ``course_records``, ``mentors``; ``diplomas`` if the extract has it).
    options : mapping, optional
        The ``cohort`` config section (``on_track_credits``; defaults from the config schema).

    Returns
    -------
    CohortResult
    """
    units = cohort_units(tables)
    ep = _episodes(tables)
    cohort = _analysis_table(tables, _offered(units), ep, options)
    ledger = _ledger(tables, units, ep)
    return CohortResult(cohort=cohort, ledger=ledger, flow=_flow(tables["course_records"], ledger, cohort))
