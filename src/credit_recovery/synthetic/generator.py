"""The embedded synthetic district: a generator with planted effects.

:func:`simulate_district` returns the input tables exactly as a district
extract looks (see :mod:`credit_recovery.data.contract`), and, kept apart, the
planted truth: each recovery episode's potential outcomes and individual
effects, the truth estimands computed from them, and each online student-
course's latent user type.

The model (documented in ``docs/synthetic-district.md``)
----------------------------------------------------------
* Schools roll out online credit recovery in a staggered way (a school-by-year
  roll-out); before its roll-out year a school offers only classroom retakes.
* Each student has a latent ability (with math and reading components), an
  attendance propensity and, optionally, an **unobserved confounder** ``U``
  (``simulation.unobserved_confounding`` = its strength ``γ``): ``γ·U`` raises
  the log-odds of choosing the online course and ``0.3·γ·U`` raises every
  year's test scores, course performance and recovery chances. ``U`` is fixed
  over time, so a student fixed-effects design removes it while a naive
  comparison does not.
* Each year every enrolled student takes six semester courses per term. A
  failed core course (mark F) in school year ``t`` may be recovered in year
  ``t + 1`` (fall term), online (with an in-lab mentor) or in a classroom.
  The delivery is chosen on observed characteristics (absences, GPA, credits,
  race/ethnicity, English-learner and special-education status), the
  school's roll-out, and ``U``.
* Outcomes of a recovery episode are the school year ``t + 1`` outcomes: math
  and reading scores (in SD units of the district's grade-by-year score
  distribution), credits earned, GPA, and whether the failed credit was
  recovered. All five are drawn as potential outcomes under classroom
  recovery, online recovery with a non-supportive mentor, and online recovery
  with an instructionally supportive mentor, sharing their random draws, so
  each unit's individual effects are exact differences.
* Online student-courses have a latent user type (engaged user, moonlighter,
  nominal exerter, incompatible struggler) that drives their platform event
  log; the realized idle share of the log lowers the chance of recovering the
  credit by ``simulation.effects.idle_share_pass`` per 10 percentage points.
"""
from __future__ import annotations

import copy
from dataclasses import dataclass, field
from typing import Any, Mapping

import numpy as np
import pandas as pd
from scipy import special, stats

from credit_recovery.data.contract import CORE_SUBJECTS, TABLES
from credit_recovery.data.extract_io import coerce_tables
from credit_recovery.shared.config import defaults

#: Size presets. ``cohort_size`` is the number of entering grade-9 students per
#: school per year; ``events_per_session`` is the mean number of platform
#: events in a session.
SCALES: dict[str, dict[str, float]] = {
    "tiny": {"n_schools": 4, "cohort_size": 30, "events_per_session": 6},
    "small": {"n_schools": 6, "cohort_size": 80, "events_per_session": 10},
    "medium": {"n_schools": 10, "cohort_size": 50, "events_per_session": 8},
    "default": {"n_schools": 10, "cohort_size": 150, "events_per_session": 12},
    "paper": {"n_schools": 18, "cohort_size": 300, "events_per_session": 14},
}

#: Default simulation settings: the ``simulation`` section's defaults in the config schema.
DEFAULTS: dict[str, Any] = defaults("simulation")

#: Engagement definitions the generator shares with the sessionization stage (their schema defaults).
SESSION_KEYS = ("session_gap_minutes", "idle_threshold_minutes", "timezone")
ENGAGEMENT_DEFAULTS: dict[str, Any] = {k: defaults("engagement")[k] for k in SESSION_KEYS}

USER_TYPES = ("engaged", "moonlighter", "nominal_exerter", "incompatible_struggler")
OUTCOMES = ("math", "reading", "credits", "gpa", "credit_recovered")

TRUTH_ESTIMANDS: dict[str, dict[str, str]] = {
    "ocr_math": {"effect": "ocr_math", "population": "online",
                 "description": "ATT of online vs classroom credit recovery on next-year math score (SD units), "
                                "over the online takers in the analytic cohort"},
    "ocr_reading": {"effect": "ocr_reading", "population": "online",
                    "description": "ATT of online vs classroom credit recovery on next-year reading score "
                                   "(SD units), over the online takers in the analytic cohort"},
    "ocr_credits": {"effect": "ocr_credits", "population": "online",
                    "description": "ATT of online vs classroom credit recovery on credits earned in the next "
                                   "school year, over the online takers in the analytic cohort"},
    "ocr_gpa": {"effect": "ocr_gpa", "population": "online",
                "description": "ATT of online vs classroom credit recovery on next-year GPA (grade points), "
                               "over the online takers in the analytic cohort"},
    "ocr_credit_recovered": {"effect": "ocr_credit_recovered", "population": "online",
                             "description": "ATT of online vs classroom credit recovery on recovering the "
                                            "failed credit (probability), over the online takers in the cohort"},
    "mentor_credit_recovered": {"effect": "mentor_credit_recovered", "population": "online_supportive",
                                "description": "ATT of an instructionally supportive vs a non-supportive mentor "
                                               "on recovering the credit, over online takers with a supportive "
                                               "mentor in the cohort"},
    "mentor_math": {"effect": "mentor_math", "population": "online_supportive",
                    "description": "ATT of an instructionally supportive vs a non-supportive mentor on next-year "
                                   "math score (SD units), over online takers with a supportive mentor in the "
                                   "cohort"},
}

_SUBJECT_SLOTS = ("math", "ela", "science", "social_studies", "elective", "elective")
_COURSE_NAMES = {
    "math": ("Algebra I", "Geometry", "Algebra II", "Precalculus"),
    "ela": ("English 9", "English 10", "English 11", "English 12"),
    "science": ("Physical Science", "Biology", "Chemistry", "Physics"),
    "social_studies": ("World History", "US History", "Civics and Economics", "American Government"),
}
_ELECTIVES = ("Art", "Physical Education", "Spanish", "Health", "Music", "Computer Literacy")
_SUBJECT_DIFFICULTY = {"math": -0.25, "ela": 0.0, "science": -0.1, "social_studies": 0.05, "elective": 0.45}

# user-type parameters: sessions, days between sessions, events per session factor,
# share of gaps that are idle, activity/quiz/test probabilities, score Beta(a, b),
# probability that a session starts inside the school day
_TYPE_PARAMS = {
    "engaged": dict(sessions=9, day_gap_p=0.55, ev_factor=1.25, p_idle=0.008, p_act=0.13, p_quiz=0.035,
                    p_test=0.012, score_ab=(8.0, 2.6), p_school=0.97),
    "moonlighter": dict(sessions=10, day_gap_p=0.45, ev_factor=1.15, p_idle=0.010, p_act=0.12, p_quiz=0.035,
                        p_test=0.012, score_ab=(7.5, 2.8), p_school=0.28),
    "nominal_exerter": dict(sessions=24, day_gap_p=0.35, ev_factor=0.8, p_idle=0.05, p_act=0.05, p_quiz=0.03,
                            p_test=0.010, score_ab=(6.0, 3.8), p_school=0.92),
    "incompatible_struggler": dict(sessions=13, day_gap_p=0.25, ev_factor=0.75, p_idle=0.07, p_act=0.018,
                                   p_quiz=0.02, p_test=0.008, score_ab=(3.5, 4.5), p_school=0.92),
}


@dataclass
class SimulationResult:
    """What :func:`simulate_district` returns.

    Attributes
    ----------
    tables : dict of DataFrame
        The input tables of the data contract (what a district extract holds).
    truth : list of dict
        ``{estimand_id, description, value}`` records.
    unit_effects : DataFrame
        One row per recovery episode: potential outcomes and individual effects.
    types : DataFrame
        Planted user type of each online student-course.
    settings : dict
        The resolved simulation settings.
    """

    tables: dict[str, pd.DataFrame]
    truth: list[dict[str, Any]]
    unit_effects: pd.DataFrame
    types: pd.DataFrame
    settings: dict[str, Any] = field(default_factory=dict)


def resolve_settings(config: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """Merge a ``simulation`` config section over :data:`DEFAULTS` and check it."""
    settings = copy.deepcopy(DEFAULTS)
    for key, value in (config or {}).items():
        if key == "effects":
            unknown = set(value) - set(DEFAULTS["effects"])
            if unknown:
                raise ValueError(f"unknown simulation effect(s) {sorted(unknown)}; "
                                 f"allowed: {sorted(DEFAULTS['effects'])}")
            settings["effects"].update(value)
        elif key in settings:
            settings[key] = value
        else:
            raise ValueError(f"unknown simulation setting {key!r}; allowed: {sorted(DEFAULTS)}")
    if settings["scale"] not in SCALES:
        raise ValueError(f"simulation.scale must be one of {sorted(SCALES)}, got {settings['scale']!r}")
    if int(settings["n_years"]) < 3:
        raise ValueError("simulation.n_years must be at least 3")
    return settings


def simulate_district(
    config: Mapping[str, Any] | None = None,
    engagement: Mapping[str, Any] | None = None,
) -> SimulationResult:
    """Generate a synthetic school district with planted effects.

    Parameters
    ----------
    config : mapping, optional
        The ``simulation`` section of the study config (keys of
        :data:`DEFAULTS`); missing keys take their defaults.
    engagement : mapping, optional
        ``session_gap_minutes``, ``idle_threshold_minutes`` and ``timezone``
        from the ``engagement`` section, so that the planted idle share is the
        one the sessionization stage measures.

    Returns
    -------
    SimulationResult

    Notes
    -----
    For a recovery episode ``i`` with failure in year ``t`` and recovery in
    ``t + 1``, let ``D`` be online delivery and ``S`` an instructionally
    supportive mentor (``p_S`` the district's share of supportive mentors).
    Scores: ``z(D, S) = z(0) + D·[τ_math + δ_math·(S − p_S) + η_i]``
    with ``η_i ~ N(0, 0.05²)``. Credit recovery of each failed course:
    ``R(D, S) = 1[V < P(D, S)]`` with a shared uniform ``V`` and
    ``P(1, S) = clip(P(0) + τ_R + δ_R·(S − p_S) + β_idle·10·(idle − idle_ref))``
    (``idle_ref`` the mean expected idle share of the year's online takers).
    Other courses' latent performance shifts by ``s`` and the reported GPA by
    ``g``, both chosen each year so that the expected effects on credits and
    GPA equal ``τ_credits`` and ``τ_gpa``. The truth of an estimand is the
    mean of the realized individual effects over its population.
    """
    settings = resolve_settings(config)
    eng = {**ENGAGEMENT_DEFAULTS, **(engagement or {})}
    return _Generator(settings, eng).run()


def truth_from_unit_effects(unit_effects: pd.DataFrame, units: pd.DataFrame | None = None) -> list[dict[str, Any]]:
    """Recompute the truth estimands from unit-level effects.

    Parameters
    ----------
    unit_effects : DataFrame
        ``results/truth/unit_effects.parquet``.
    units : DataFrame, optional
        Restrict to these units (columns ``student_id`` and
        ``course_record_id``, the index recovery attempt), e.g. a matched
        sample. By default the analytic cohort (``in_cohort``).

    Returns
    -------
    list of dict
        ``{estimand_id, description, value, n}`` records.
    """
    ue = unit_effects
    if units is None:
        ue = ue[ue["in_cohort"]]
    else:
        keys = units[["student_id", "course_record_id"]].drop_duplicates()
        ue = ue.merge(keys, on=["student_id", "course_record_id"], how="inner")
    out = []
    for estimand_id, spec in TRUTH_ESTIMANDS.items():
        mask = ue["online"].to_numpy(bool).copy()
        if spec["population"] == "online_supportive":
            mask &= ue["supportive"].to_numpy(bool)
        values = ue.loc[mask, spec["effect"]].astype(float)
        out.append({
            "estimand_id": estimand_id,
            "description": spec["description"],
            "value": float(values.mean()) if len(values) else float("nan"),
            "n": int(values.notna().sum()),
        })
    return out


# --------------------------------------------------------------------------------------
# the generator
# --------------------------------------------------------------------------------------


def _logistic(x):
    return special.expit(x)


class _Generator:
    def __init__(self, settings: dict[str, Any], engagement: dict[str, Any]):
        self.s = settings
        self.eng = engagement
        self.scale = SCALES[settings["scale"]]
        self.rng = np.random.default_rng(int(settings["seed"]))
        self.gamma = float(settings["unobserved_confounding"])
        self.eff = settings["effects"]
        self.first_year = int(settings["first_year"])
        self.years = list(range(self.first_year, self.first_year + int(settings["n_years"])))

    # ---------------------------------------------------------------- schools, students
    def _schools(self):
        rng = self.rng
        n = int(self.scale["n_schools"])
        self.school_ids = np.array([f"SCH{i + 1:02d}" for i in range(n)])
        # staggered roll-out of online credit recovery: first online courses in these years
        span = max(1, min(4, len(self.years) - 3))
        self.rollout = self.first_year + 1 + (np.arange(n) * span) // max(n - 1, 1)
        rng.shuffle(self.rollout)
        self.school_ability = rng.normal(0, 0.2, n)
        self.school_online = rng.normal(0, 0.35, n)
        self.school_size = rng.uniform(0.7, 1.3, n)

    def _students(self):
        rng = self.rng
        cohorts = np.arange(self.first_year - 3, self.years[-1] + 1)
        sizes = np.rint(self.scale["cohort_size"] * self.school_size[:, None]
                        * rng.uniform(0.9, 1.1, (len(self.school_ids), len(cohorts)))).astype(int)
        school_idx = np.repeat(np.repeat(np.arange(len(self.school_ids)), len(cohorts)), sizes.ravel())
        grade9 = np.repeat(np.tile(cohorts, len(self.school_ids)), sizes.ravel())
        n = len(school_idx)
        race = rng.choice(np.array(["Black", "Hispanic", "White", "Asian", "Other"]), size=n,
                          p=[0.55, 0.26, 0.12, 0.05, 0.02])
        gender = rng.choice(np.array(["F", "M", "X"]), size=n, p=[0.49, 0.50, 0.01])
        frl = rng.random(n) < np.where(np.isin(race, ["Black", "Hispanic"]), 0.88, 0.6)
        ell = rng.random(n) < np.select([race == "Hispanic", race == "Asian"], [0.32, 0.25], 0.02)
        sped = rng.random(n) < 0.18
        ability = (self.school_ability[school_idx] - 0.25 * frl - 0.35 * sped - 0.2 * ell
                   + rng.normal(0, 0.9, n))
        self.st = pd.DataFrame({
            "school_idx": school_idx,
            "grade9_year": grade9,
            "gender": gender,
            "race_ethnicity": race,
            "frl": frl,
            "ell": ell,
            "sped": sped,
            "ability": ability,
            "math_ability": ability + rng.normal(0, 0.5, n),
            "read_ability": ability + rng.normal(0, 0.5, n),
            "absence": rng.normal(0, 0.8, n) - 0.25 * ability,
            "U": rng.normal(0, 1, n),
        })
        # leaving the district (drop-out or transfer) before each grade 10-12
        leave_p = np.clip(0.04 + 0.04 * (self.st["absence"].to_numpy() > 1), 0, 1)
        grades_kept = np.ones(n, dtype=int)
        alive = np.ones(n, dtype=bool)
        for _ in range(3):
            alive &= rng.random(n) >= leave_p
            grades_kept += alive
        self.st["n_grades"] = grades_kept
        self.st["student_id"] = [f"ST{i + 100001:06d}" for i in range(n)]

    def _student_years(self):
        st = self.st
        rows_student = np.repeat(np.arange(len(st)), 4)
        grade = np.tile(np.arange(9, 13), len(st))
        year = st["grade9_year"].to_numpy()[rows_student] + grade - 9
        keep = ((grade - 9) < st["n_grades"].to_numpy()[rows_student]) & (year >= self.years[0]) & (year <= self.years[-1])
        sy = pd.DataFrame({"st": rows_student[keep], "school_year": year[keep], "grade": grade[keep]})
        sy = sy.sort_values(["school_year", "st"], kind="stable").reset_index(drop=True)
        rng = self.rng
        n = len(sy)
        s = st.iloc[sy["st"].to_numpy()]
        sy["days_enrolled"] = rng.integers(168, 181, n)
        rate = _logistic(-2.4 + 0.75 * s["absence"].to_numpy() + 0.12 * (sy["grade"].to_numpy() - 9)
                         + rng.normal(0, 0.3, n))
        sy["absence_rate_latent"] = rate
        sy["days_absent"] = rng.binomial(sy["days_enrolled"].to_numpy(), rate)
        sy["frl"] = np.where(rng.random(n) < 0.05, ~s["frl"].to_numpy(), s["frl"].to_numpy())
        sy["ell"] = s["ell"].to_numpy() & ~((sy["grade"].to_numpy() >= 11) & (rng.random(n) < 0.3))
        sy["sped"] = s["sped"].to_numpy()
        growth = 0.05 * (sy["school_year"].to_numpy() - self.first_year)
        cu = 0.3 * self.gamma * s["U"].to_numpy()
        absence_pen = 1.5 * (rate - 0.1)
        sy["z_math"] = (0.8 * s["math_ability"].to_numpy() + growth - absence_pen + cu + rng.normal(0, 0.45, n))
        sy["z_read"] = (0.8 * s["read_ability"].to_numpy() + growth - absence_pen + cu + rng.normal(0, 0.45, n))
        untested = rng.random(n) < (0.03 + 0.12 * (rate > 0.3))
        sy["math_missing"] = untested | (rng.random(n) < 0.01)
        sy["read_missing"] = untested | (rng.random(n) < 0.01)
        sy["year_noise"] = rng.normal(0, 0.35, n)
        sy["gpa_noise"] = rng.normal(0, 0.08, n)
        self.sy = sy

    # ---------------------------------------------------------------- courses
    def _regular_course_means(self, sy_idx: np.ndarray):
        """Latent performance means (grade points) of the 12 regular courses of student-years."""
        sy = self.sy
        st = self.st
        sti = sy["st"].to_numpy()[sy_idx]
        base = (2.95 + 0.7 * st["ability"].to_numpy()[sti] - 4.0 * (sy["absence_rate_latent"].to_numpy()[sy_idx] - 0.1)
                + 0.3 * self.gamma * st["U"].to_numpy()[sti] + sy["year_noise"].to_numpy()[sy_idx])
        mu = np.empty((len(sy_idx), 12))
        for term in range(2):
            for j, subj in enumerate(_SUBJECT_SLOTS):
                extra = 0.0
                if subj == "math":
                    extra = 0.3 * (st["math_ability"].to_numpy()[sti] - st["ability"].to_numpy()[sti])
                elif subj == "ela":
                    extra = 0.3 * (st["read_ability"].to_numpy()[sti] - st["ability"].to_numpy()[sti])
                mu[:, term * 6 + j] = base + _SUBJECT_DIFFICULTY[subj] + extra
        return mu

    _PERF_SD = 0.8

    def run(self) -> SimulationResult:
        self._schools()
        self._students()
        self._student_years()
        self._mentors()
        rng = self.rng
        sy = self.sy
        n_sy = len(sy)
        # per student-year regular course latent performance (classroom world)
        self.course_noise = rng.normal(0, self._PERF_SD, (n_sy, 12))
        self.course_w = rng.random((n_sy, 12)) < 0.01  # withdrawn
        self.perf_shift = np.zeros(n_sy)  # s applied to other courses of online recoverers
        self.gpa_shift = np.zeros(n_sy)
        sy_key = pd.Series(np.arange(n_sy), index=pd.MultiIndex.from_arrays([sy["st"], sy["school_year"]]))
        self.sy_key = sy_key
        episodes = []
        self.marks_points = np.full((n_sy, 12), np.nan)
        for y in self.years:
            ep = self._episodes_for_year(y) if y > self.years[0] else None
            if ep is not None and len(ep):
                episodes.append(ep)
            self._marks_for_year(y)
        self.episodes = pd.concat(episodes, ignore_index=True) if episodes else pd.DataFrame()
        return self._assemble()

    def _mentors(self):
        rng = self.rng
        rows = []
        k = 0
        for si, sid in enumerate(self.school_ids):
            m = int(rng.integers(2, 5))
            for _ in range(m):
                supportive = rng.random() < 0.45
                cert = rng.choice(["math", "ela", "science", "social_studies", "none"],
                                  p=[0.6, 0.1, 0.1, 0.05, 0.15] if supportive else [0.2, 0.15, 0.1, 0.1, 0.45])
                rows.append({"mentor_id": f"MT{k + 1:03d}", "school_idx": si, "school_id": sid,
                             "certified_subject": str(cert), "instructionally_supportive": bool(supportive)})
                k += 1
        self.mentors = pd.DataFrame(rows)
        self.p_supportive = float(self.mentors["instructionally_supportive"].mean())

    def _marks_from_perf(self, perf: np.ndarray) -> np.ndarray:
        return np.clip(np.floor(perf), 0, 4)

    def _marks_for_year(self, y):
        idx = np.flatnonzero(self.sy["school_year"].to_numpy() == y)
        mu = self._regular_course_means(idx)
        perf = mu + self.course_noise[idx] + self.perf_shift[idx][:, None]
        self.marks_points[idx] = self._marks_from_perf(perf)

    def _episodes_for_year(self, y):
        """Recovery episodes whose recovery takes place in school year ``y``."""
        rng = self.rng
        sy = self.sy
        st = self.st
        prev = np.flatnonzero(sy["school_year"].to_numpy() == y - 1)
        # core slots: columns 0-3 and 6-9
        core_cols = np.array([0, 1, 2, 3, 6, 7, 8, 9])
        pts = self.marks_points[prev][:, core_cols]
        wd = self.course_w[prev][:, core_cols]
        failed = (pts == 0) & ~wd
        any_fail = failed.any(axis=1)
        cand = prev[any_fail]
        # enrolled next year?
        key_next = pd.MultiIndex.from_arrays([sy["st"].to_numpy()[cand], np.full(len(cand), y)])
        nxt = self.sy_key.reindex(key_next).to_numpy()
        ok = ~np.isnan(nxt)
        cand, nxt, failed_c = cand[ok], nxt[ok].astype(int), failed[any_fail][ok]
        if len(cand) == 0:
            return None
        sti = sy["st"].to_numpy()[cand]
        # baseline (year y-1) observables
        gpa_prev = self._gpa_points(cand)
        credits_prev = self._credits_regular(cand)
        absr = sy["days_absent"].to_numpy()[cand] / sy["days_enrolled"].to_numpy()[cand]
        attempt = rng.random(len(cand)) < _logistic(1.0 + 0.4 * (gpa_prev - 1.5) - 2.0 * (absr - 0.15))
        cand, nxt, failed_c, sti = cand[attempt], nxt[attempt], failed_c[attempt], sti[attempt]
        gpa_prev, credits_prev, absr = gpa_prev[attempt], credits_prev[attempt], absr[attempt]
        n = len(cand)
        school_idx = st["school_idx"].to_numpy()[sti]
        available = self.rollout[school_idx] <= y
        race = st["race_ethnicity"].to_numpy()[sti]
        lin = (0.35 + self.school_online[school_idx] + 0.15 * (y - self.first_year - 3)
               + 4.0 * (absr - 0.15) - 0.5 * (gpa_prev - 1.5) - 0.12 * (credits_prev - 4.5)
               + 0.4 * (race == "Black") - 0.5 * sy["ell"].to_numpy()[cand] - 0.45 * sy["sped"].to_numpy()[cand]
               + self.gamma * st["U"].to_numpy()[sti])
        online = available & (rng.random(n) < _logistic(lin))
        # mentor (actual for online takers, hypothetical for classroom recoverers)
        mentor_idx = np.empty(n, dtype=int)
        for si in np.unique(school_idx):
            pool = np.flatnonzero(self.mentors["school_idx"].to_numpy() == si)
            sel = school_idx == si
            mentor_idx[sel] = rng.choice(pool, size=int(sel.sum()))
        supportive = self.mentors["instructionally_supportive"].to_numpy()[mentor_idx]
        grade_next = sy["grade"].to_numpy()[nxt]
        # latent user type of the online course(s) (hypothetical for classroom recoverers)
        first_failed_slot = np.argmax(failed_c, axis=1)  # index failure: first failed core slot
        index_subject = np.array(_SUBJECT_SLOTS)[core_cols[first_failed_slot] % 6]
        type_logits = np.column_stack([
            0.3 + 0.45 * (grade_next >= 11) + 0.3 * st["ability"].to_numpy()[sti],
            np.full(n, -0.1),
            np.full(n, 0.3),
            -0.1 + 0.6 * (grade_next <= 10) + 0.5 * (index_subject == "math") - 0.3 * st["ability"].to_numpy()[sti],
        ])
        pt = np.exp(type_logits)
        pt /= pt.sum(axis=1, keepdims=True)
        type_code = (rng.random(n)[:, None] > np.cumsum(pt, axis=1)).sum(axis=1)
        ep = pd.DataFrame({
            "sy_prev": cand, "sy_next": nxt, "st": sti, "school_year": y, "school_idx": school_idx,
            "online": online, "mentor_idx": mentor_idx, "supportive": supportive, "type_code": type_code,
            "grade": grade_next, "absr_prev": absr,
        })
        ep["failed_slots"] = [core_cols[row] for row in failed_c]
        ep["index_slot"] = core_cols[first_failed_slot]
        self._episode_outcomes(ep, y)
        return ep

    def _gpa_points(self, sy_idx):
        pts = self.marks_points[sy_idx]
        w = self.course_w[sy_idx]
        p = np.where(w, np.nan, pts)
        with np.errstate(invalid="ignore"):
            return np.nanmean(p, axis=1)

    def _credits_regular(self, sy_idx):
        pts = self.marks_points[sy_idx]
        w = self.course_w[sy_idx]
        return 0.5 * ((pts >= 1) & ~w).sum(axis=1)

    def _episode_outcomes(self, ep: pd.DataFrame, y: int):
        """Potential outcomes of this year's episodes; applies the observed world's shifts."""
        rng = self.rng
        st, sy = self.st, self.sy
        n = len(ep)
        sti = ep["st"].to_numpy()
        nxt = ep["sy_next"].to_numpy()
        S = ep["supportive"].to_numpy().astype(float)
        D = ep["online"].to_numpy()
        pS = self.p_supportive
        eff = self.eff
        tp = [_TYPE_PARAMS[t] for t in USER_TYPES]
        # expected idle share of the type (for hypothetical online worlds); realized later for online takers
        ep["idle_expected"] = np.array([_expected_idle(p, self.eng) for p in tp])[ep["type_code"].to_numpy()]
        # ---- credit recovery of each failed course: P(0), P(1, S)
        abil = st["ability"].to_numpy()[sti]
        p0 = _logistic(1.75 + 0.55 * abil - 3.0 * (ep["absr_prev"].to_numpy() - 0.15)
                       + 0.3 * self.gamma * st["U"].to_numpy()[sti] + 0.3 * (ep["grade"].to_numpy() >= 11))
        ep["p0"] = p0
        ep["V_courses"] = [rng.random(len(s)) for s in ep["failed_slots"]]
        ep["mark_u"] = [rng.random(len(s)) for s in ep["failed_slots"]]
        ep["withdraw_u"] = [rng.random(len(s)) for s in ep["failed_slots"]]
        ep["eta_math"] = rng.normal(0, 0.05, n)
        ep["eta_read"] = rng.normal(0, 0.05, n)
        # expected recovered courses under each world (idle at the type's expectation)
        n_failed = np.array([len(s) for s in ep["failed_slots"]])
        # idle shares enter relative to the mean expected idle share of this year's online takers
        idle_ref = float(ep.loc[D, "idle_expected"].mean()) if D.any() else float(ep["idle_expected"].mean())
        ep["idle_ref"] = idle_ref
        p_on = np.clip(p0 + eff["ocr_credit_recovered"] + eff["mentor_credit_recovered"] * (S - pS)
                       + eff["idle_share_pass"] * 10 * (ep["idle_expected"].to_numpy() - idle_ref), 0.01, 0.99)
        exp_rec_effect = n_failed * (p_on - p0)
        # ---- other courses of the recovery year: choose s and g (per year) so that expected
        # credits and GPA effects over this year's online takers equal the planted values
        mu = self._regular_course_means(nxt)
        w = self.course_w[nxt]
        online_rows = np.flatnonzero(D)
        target_cred = eff["ocr_credits"]
        target_gpa = eff["ocr_gpa"]
        s_shift, g_shift = 0.0, 0.0
        if len(online_rows):
            mu_o, w_o = mu[online_rows], w[online_rows]
            rec_part = float(np.mean(0.5 * exp_rec_effect[online_rows]))

            def cred_effect(s):
                pass0 = stats.norm.sf((1 - mu_o) / self._PERF_SD)
                pass1 = stats.norm.sf((1 - mu_o - s) / self._PERF_SD)
                return rec_part + float(np.mean(0.5 * ((pass1 - pass0) * ~w_o).sum(axis=1)))

            s_shift = _bisect(lambda s: cred_effect(s) - target_cred, -3.0, 3.0)

            def exp_points(shift):
                e = sum(stats.norm.sf((k - mu_o - shift) / self._PERF_SD) for k in (1, 2, 3, 4))
                e = np.where(w_o, np.nan, e)
                return np.nanmean(e, axis=1)

            g_shift = target_gpa - float(np.nanmean(exp_points(s_shift) - exp_points(0.0)))
        ep["s_shift"] = s_shift
        ep["g_shift"] = g_shift
        # other courses' marks under both worlds
        perf0 = mu + self.course_noise[nxt]
        pts0 = self._marks_from_perf(perf0)
        pts1 = self._marks_from_perf(perf0 + s_shift)
        ep["gpa_other0"] = _nanmean_rows(np.where(w, np.nan, pts0))
        ep["gpa_other1"] = _nanmean_rows(np.where(w, np.nan, pts1))
        ep["cred_other0"] = 0.5 * ((pts0 >= 1) & ~w).sum(axis=1)
        ep["cred_other1"] = 0.5 * ((pts1 >= 1) & ~w).sum(axis=1)
        # the observed world: shift other courses of online takers
        self.perf_shift[nxt] = np.where(D, s_shift, 0.0)
        self.gpa_shift[nxt] = np.where(D, g_shift, 0.0)

    # ---------------------------------------------------------------- events
    def _events(self, oc: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
        """Platform events for online course attempts ``oc`` (one row per attempt)."""
        rng = self.rng
        n = len(oc)
        tcode = oc["type_code"].to_numpy()
        par = {k: np.array([_TYPE_PARAMS[t][k] for t in USER_TYPES])[tcode]
               for k in ("sessions", "day_gap_p", "ev_factor", "p_idle", "p_act", "p_quiz", "p_test", "p_school")}
        n_sess = 3 + rng.poisson(par["sessions"])
        sess_course = np.repeat(np.arange(n), n_sess)
        n_s = len(sess_course)
        # session days: strictly increasing day offsets from enrolment
        day_gap = rng.geometric(par["day_gap_p"][sess_course])
        first = np.r_[0, np.cumsum(n_sess)[:-1]]
        day_gap[first] = rng.integers(0, 3, n)
        day_off = _grouped_cumsum(day_gap, sess_course)
        enrolled = oc["enrolled_date"].to_numpy().astype("datetime64[D]")
        day = enrolled[sess_course] + day_off.astype("timedelta64[D]")
        weekday = ((day.astype(np.int64) + 3) % 7)  # 1970-01-01 was a Thursday -> Monday = 0
        want_school = rng.random(n_s) < par["p_school"][sess_course]
        in_school = want_school & (weekday < 5)
        weekend = weekday >= 5
        start_min = np.where(
            in_school, rng.integers(8 * 60, 14 * 60, n_s),
            np.where(weekend, rng.integers(10 * 60, 20 * 60, n_s), rng.integers(16 * 60 + 30, 22 * 60, n_s)))
        local_start = day.astype("datetime64[s]") + (start_min * 60).astype("timedelta64[s]")
        utc_start = (pd.DatetimeIndex(local_start).tz_localize(self.eng["timezone"], nonexistent="shift_forward",
                                                                ambiguous=np.zeros(n_s, dtype=bool))
                     .tz_convert("UTC").tz_localize(None).to_numpy().astype("datetime64[s]").astype(np.int64))
        # events per session: login, middle events, logout (most sessions)
        year_eff = 1.0 + 0.05 * (oc["school_year"].to_numpy() - self.first_year)
        n_mid = rng.poisson(self.scale["events_per_session"] * par["ev_factor"][sess_course])
        has_logout = rng.random(n_s) < 0.85
        n_ev = 1 + n_mid + has_logout
        ev_sess = np.repeat(np.arange(n_s), n_ev)
        n_e = len(ev_sess)
        pos = np.arange(n_e) - np.repeat(np.r_[0, np.cumsum(n_ev)[:-1]], n_ev)
        last = pos == np.repeat(n_ev - 1, n_ev)
        ev_course = sess_course[ev_sess]
        thr = int(self.eng["idle_threshold_minutes"]) * 60
        gap_lim = int(self.eng["session_gap_minutes"]) * 60
        idle = rng.random(n_e) < par["p_idle"][ev_course]
        gap = np.where(idle, rng.integers(thr + 30, gap_lim - 60, n_e),
                       np.clip(np.rint(rng.exponential(40.0, n_e)), 1, thr - 10)).astype(np.int64)
        gap[pos == 0] = 0
        elapsed = _grouped_cumsum(gap, ev_sess)
        ts = utc_start[ev_sess] + elapsed
        # event types
        u = rng.random(n_e)
        p_act = np.minimum(par["p_act"][ev_course] * year_eff[ev_course], 0.5)
        p_quiz = par["p_quiz"][ev_course]
        p_test = par["p_test"][ev_course]
        etype = np.where(u < p_act, 3, np.where(u < p_act + p_quiz, 4, np.where(u < p_act + p_quiz + p_test, 5, 2)))
        etype[pos == 0] = 0
        etype[last & has_logout[ev_sess]] = 1
        ev_types = np.array(["login", "logout", "click", "activity_completed", "quiz_submitted", "test_submitted"])
        a = np.array([_TYPE_PARAMS[t]["score_ab"][0] for t in USER_TYPES])[tcode][ev_course]
        b = np.array([_TYPE_PARAMS[t]["score_ab"][1] for t in USER_TYPES])[tcode][ev_course]
        scored = etype >= 4
        score = np.where(scored, np.round(100 * rng.beta(a, b), 1), np.nan)
        # realized idle share per course, with the sessionization definition
        idle_sec = np.maximum(gap - thr, 0)
        idle_sec[pos == 0] = 0
        span_sec = gap.copy()
        span_sec[pos == 0] = 0
        c_idle = np.bincount(ev_course, weights=idle_sec, minlength=n)
        c_span = np.bincount(ev_course, weights=span_sec, minlength=n)
        stats_df = pd.DataFrame({
            "idle_share": np.divide(c_idle, c_span, out=np.zeros(n), where=c_span > 0),
            "last_ts": pd.to_datetime(np.maximum.reduceat(ts, np.r_[0, np.cumsum(np.bincount(ev_course, minlength=n))[:-1]]),
                                      unit="s"),
            "tests_taken": np.bincount(ev_course, weights=(etype == 5), minlength=n),
        })
        events = pd.DataFrame({
            "student_id": oc["student_id"].to_numpy()[ev_course],
            "course_record_id": oc["course_record_id"].to_numpy()[ev_course],
            "timestamp": pd.to_datetime(ts, unit="s", utc=True),
            "event_type": ev_types[etype],
            "score": score,
        })
        return events, stats_df

    # ---------------------------------------------------------------- assemble
    def _assemble(self) -> SimulationResult:
        rng = self.rng
        sy, st, ep = self.sy, self.st, self.episodes
        eff = self.eff
        pS = self.p_supportive
        n_sy = len(sy)
        sy_student = st["student_id"].to_numpy()[sy["st"].to_numpy()]
        sy_school_idx = st["school_idx"].to_numpy()[sy["st"].to_numpy()]
        # ------------------------------------------------ regular course records
        rec_sy = np.repeat(np.arange(n_sy), 12)
        slot = np.tile(np.arange(12), n_sy)
        term = np.where(slot < 6, "fall", "spring")
        subj = np.array(_SUBJECT_SLOTS * 2)[slot]
        grade = sy["grade"].to_numpy()[rec_sy]
        years = sy["school_year"].to_numpy()[rec_sy]
        names = np.empty(len(rec_sy), dtype=object)
        for s_name, titles in _COURSE_NAMES.items():
            m = subj == s_name
            names[m] = np.array(titles, dtype=object)[grade[m] - 9]
        el = subj == "elective"
        names[el] = np.array(_ELECTIVES, dtype=object)[(sy["st"].to_numpy()[rec_sy[el]] * 7 + slot[el] + grade[el]) % 6]
        pts = self.marks_points.ravel()
        wd = self.course_w.ravel()
        letters = np.array(["F", "D", "C", "B", "A"])
        mark = np.where(wd, "W", letters[np.nan_to_num(pts, nan=0).astype(int)])
        fall_start = (years - 1).astype(str).astype(object) + "-08-26"
        enrolled = np.where(term == "fall", fall_start, years.astype(str).astype(object) + "-01-25")
        completed = np.where(term == "fall", years.astype(str).astype(object) + "-01-20",
                             years.astype(str).astype(object) + "-06-05")
        completed = np.where(wd, None, completed)
        regular = pd.DataFrame({
            "sy": rec_sy, "slot": slot, "student_id": sy_student[rec_sy], "school_year": years,
            "school_id": self.school_ids[sy_school_idx[rec_sy]], "term": term, "course_name": names,
            "subject": subj, "attempt": "original", "recovers_slot": -1, "delivery": "classroom",
            "mentor_id": None, "enrolled_date": enrolled, "completed_date": completed, "mark": mark,
            "credits_attempted": 0.5, "credits_earned": np.where((pts >= 1) & ~wd, 0.5, 0.0),
        })
        # ------------------------------------------------ recovery attempts
        ep = ep.reset_index(drop=True)
        ep["episode"] = np.arange(len(ep))
        rec = ep[["episode", "failed_slots", "V_courses", "mark_u", "withdraw_u"]].explode(
            ["failed_slots", "V_courses", "mark_u", "withdraw_u"])
        rec = rec.rename(columns={"failed_slots": "slot", "V_courses": "V"})
        rec["slot"] = rec["slot"].astype(int)
        for c in ("V", "mark_u", "withdraw_u"):
            rec[c] = rec[c].astype(float)
        rec = rec.reset_index(drop=True)
        e = ep.iloc[rec["episode"].to_numpy()].reset_index(drop=True)
        rec["is_index"] = rec["slot"].to_numpy() == e["index_slot"].to_numpy()
        rec["online"] = e["online"].to_numpy()
        rec["student_id"] = st["student_id"].to_numpy()[e["st"].to_numpy()]
        rec["school_year"] = e["school_year"].to_numpy()
        rec["school_idx"] = e["school_idx"].to_numpy()
        rec["sy_prev"] = e["sy_prev"].to_numpy()
        rec["sy_next"] = e["sy_next"].to_numpy()
        rec["type_code"] = e["type_code"].to_numpy()
        rec["mentor_id"] = np.where(rec["online"], self.mentors["mentor_id"].to_numpy()[e["mentor_idx"].to_numpy()], None)
        yr = rec["school_year"].to_numpy()
        rec["enrolled_date"] = pd.to_datetime((yr - 1).astype(str).astype(object) + "-09-03") + pd.to_timedelta(
            rng.integers(0, 35, len(rec)), unit="D")
        # events and realized idle share for online attempts
        online_rec = rec[rec["online"]].copy()
        n_regular = len(regular)
        # ids: regular records first, in (school_year, student) order, then recovery attempts
        online_rec["course_record_id"] = [f"CR{n_regular + i + 1:08d}" for i in online_rec.index]
        events, ev_stats = self._events(online_rec[["student_id", "course_record_id", "type_code", "enrolled_date",
                                                    "school_year"]].reset_index(drop=True))
        idle_real = np.full(len(rec), np.nan)
        idle_real[online_rec.index.to_numpy()] = ev_stats["idle_share"].to_numpy()
        last_ts = pd.Series(pd.NaT, index=rec.index, dtype="datetime64[ns]")
        last_ts.loc[online_rec.index] = ev_stats["last_ts"].to_numpy()
        rec["idle_share"] = np.where(rec["online"], idle_real, e["idle_expected"].to_numpy())
        # recovery potential outcomes
        p0 = e["p0"].to_numpy()
        base_on = (p0 + eff["ocr_credit_recovered"]
                   + eff["idle_share_pass"] * 10 * (rec["idle_share"].to_numpy() - e["idle_ref"].to_numpy()))
        p_s1 = np.clip(base_on + eff["mentor_credit_recovered"] * (1 - pS), 0.01, 0.99)
        p_s0 = np.clip(base_on + eff["mentor_credit_recovered"] * (0 - pS), 0.01, 0.99)
        V = rec["V"].to_numpy()
        r0 = V < p0
        r_s1 = V < p_s1
        r_s0 = V < p_s0
        S = e["supportive"].to_numpy()
        r1 = np.where(S, r_s1, r_s0)
        recovered = np.where(rec["online"], r1, r0)
        # marks of recovery attempts: passing letter depends on delivery (shared uniform)
        mu_ = rec["mark_u"].to_numpy()
        letter_online = np.where(mu_ < 0.55, "D", np.where(mu_ < 0.85, "C", np.where(mu_ < 0.97, "B", "A")))
        letter_class = np.where(mu_ < 0.35, "D", np.where(mu_ < 0.70, "C", np.where(mu_ < 0.92, "B", "A")))
        withdrawn = ~recovered & (rec["withdraw_u"].to_numpy() < np.where(rec["online"], 0.25, 0.1))
        mark = np.where(recovered, np.where(rec["online"], letter_online, letter_class),
                        np.where(withdrawn, "W", "F"))
        comp = np.where(rec["online"], last_ts.dt.strftime("%Y-%m-%d").to_numpy(dtype=object),
                        yr.astype(str).astype(object) + "-01-20")
        # an online course's end date is the local date of its last event
        if len(online_rec):
            local_last = (pd.DatetimeIndex(last_ts.loc[online_rec.index].to_numpy()).tz_localize("UTC")
                          .tz_convert(self.eng["timezone"]).strftime("%Y-%m-%d"))
            comp[online_rec.index.to_numpy()] = np.asarray(local_last, dtype=object)
        comp = np.where(withdrawn, None, comp)
        failed_ids_slot = rec["slot"].to_numpy()
        recovery = pd.DataFrame({
            "sy": rec["sy_next"].to_numpy(), "slot": -1, "student_id": rec["student_id"].to_numpy(),
            "school_year": yr, "school_id": self.school_ids[rec["school_idx"].to_numpy()], "term": "fall",
            "course_name": regular["course_name"].to_numpy()[rec["sy_prev"].to_numpy() * 12 + failed_ids_slot],
            "subject": regular["subject"].to_numpy()[rec["sy_prev"].to_numpy() * 12 + failed_ids_slot],
            "attempt": "recovery", "recovers_slot": rec["sy_prev"].to_numpy() * 12 + failed_ids_slot,
            "delivery": np.where(rec["online"], "online", "classroom"), "mentor_id": rec["mentor_id"].to_numpy(),
            "enrolled_date": rec["enrolled_date"].dt.strftime("%Y-%m-%d").to_numpy(dtype=object),
            "completed_date": comp, "mark": mark, "credits_attempted": 0.5,
            "credits_earned": np.where(recovered, 0.5, 0.0),
        })
        courses = pd.concat([regular, recovery], ignore_index=True)
        courses["course_record_id"] = [f"CR{i + 1:08d}" for i in range(len(courses))]
        rec_ids = courses["course_record_id"].to_numpy()
        courses["recovers_record_id"] = np.where(courses["recovers_slot"].to_numpy() >= 0,
                                                 rec_ids[np.maximum(courses["recovers_slot"].to_numpy(), 0)], None)
        assert (courses["course_record_id"].to_numpy()[n_regular:][rec["online"].to_numpy()]
                == online_rec["course_record_id"].to_numpy()).all()
        rec["course_record_id"] = rec_ids[n_regular:]
        rec["failed_record_id"] = courses["recovers_record_id"].to_numpy()[n_regular:]
        # ------------------------------------------------ student-year outcomes (observed world)
        gpa_obs = _nanmean_rows(np.where(self.course_w, np.nan, self.marks_points))
        gpa_obs = gpa_obs + sy["gpa_noise"].to_numpy() + self.gpa_shift
        credits_obs = 0.5 * ((self.marks_points >= 1) & ~self.course_w).sum(axis=1)
        extra_cred = np.bincount(rec["sy_next"].to_numpy(), weights=0.5 * recovered, minlength=n_sy)
        credits_obs = credits_obs + extra_cred
        # scores: add treatment effects of online recoverers in their recovery year
        z_math = sy["z_math"].to_numpy().copy()
        z_read = sy["z_read"].to_numpy().copy()
        tau_math = eff["ocr_math"] + eff["mentor_math"] * (ep["supportive"].to_numpy() - pS) + ep["eta_math"].to_numpy()
        tau_math_s1 = eff["ocr_math"] + eff["mentor_math"] * (1 - pS) + ep["eta_math"].to_numpy()
        tau_math_s0 = eff["ocr_math"] + eff["mentor_math"] * (0 - pS) + ep["eta_math"].to_numpy()
        tau_read = eff["ocr_reading"] + ep["eta_read"].to_numpy()
        nxt = ep["sy_next"].to_numpy()
        on = ep["online"].to_numpy()
        z_math[nxt] += np.where(on, tau_math, 0.0)
        z_read[nxt] += np.where(on, tau_read, 0.0)

        def scale(z):
            return np.clip(np.rint(250 + 40 * z), 100, 400)

        math_obs = np.where(sy["math_missing"], np.nan, scale(z_math))
        read_obs = np.where(sy["read_missing"], np.nan, scale(z_read))
        gpa_rounded = np.round(np.clip(gpa_obs, 0, 4), 2)
        student_years = pd.DataFrame({
            "student_id": sy_student, "school_year": sy["school_year"].to_numpy(),
            "school_id": self.school_ids[sy_school_idx], "grade": sy["grade"].to_numpy(),
            "frl": sy["frl"].to_numpy(bool), "ell": sy["ell"].to_numpy(bool), "sped": sy["sped"].to_numpy(bool),
            "days_enrolled": sy["days_enrolled"].to_numpy(), "days_absent": sy["days_absent"].to_numpy(),
            "math_score": math_obs, "reading_score": read_obs, "gpa": gpa_rounded,
            "credits_earned": credits_obs,
        })
        # standardization used by the cohort: grade-by-year mean and SD of observed scores
        grp = pd.DataFrame({"y": sy["school_year"], "g": sy["grade"], "m": math_obs, "r": read_obs})
        mstats = grp.groupby(["y", "g"])[["m", "r"]].agg(["mean", "std"])
        key = pd.MultiIndex.from_arrays([sy["school_year"].to_numpy()[nxt], sy["grade"].to_numpy()[nxt]])
        m_mean, m_sd = mstats[("m", "mean")].reindex(key).to_numpy(), mstats[("m", "std")].reindex(key).to_numpy()
        r_mean, r_sd = mstats[("r", "mean")].reindex(key).to_numpy(), mstats[("r", "std")].reindex(key).to_numpy()
        zm0 = z_math[nxt] - np.where(on, tau_math, 0.0)
        zr0 = z_read[nxt] - np.where(on, tau_read, 0.0)
        ue = pd.DataFrame({
            "student_id": st["student_id"].to_numpy()[ep["st"].to_numpy()],
            "course_record_id": rec.loc[rec["is_index"], "course_record_id"].to_numpy(),
            "failed_record_id": rec.loc[rec["is_index"], "failed_record_id"].to_numpy(),
            "school_year": ep["school_year"].to_numpy(),
            "online": on, "supportive": ep["supportive"].to_numpy(bool),
            "user_type": np.array(USER_TYPES)[ep["type_code"].to_numpy()],
        })
        assert (rec.loc[rec["is_index"], "episode"].to_numpy() == ep["episode"].to_numpy()).all()

        def std(scale_v, mean, sd):
            return (scale_v - mean) / sd

        for name, z0, tau, ts1, ts0, mean, sd in (
            ("math", zm0, tau_math, tau_math_s1, tau_math_s0, m_mean, m_sd),
            ("reading", zr0, tau_read, tau_read, tau_read, r_mean, r_sd),
        ):
            y0 = std(scale(z0), mean, sd)
            y1 = std(scale(z0 + tau), mean, sd)
            ue[f"y0_{name}"] = y0
            ue[f"y1_{name}"] = y1
            ue[f"ocr_{name}"] = y1 - y0
            ue[f"mentor_{name}"] = std(scale(z0 + ts1), mean, sd) - std(scale(z0 + ts0), mean, sd)
        # recovery: index course for credit_recovered; all recovered courses for credits
        idx_rows = rec["is_index"].to_numpy()
        ue["y0_credit_recovered"] = r0[idx_rows].astype(float)
        ue["y1_credit_recovered"] = r1[idx_rows].astype(float)
        ue["ocr_credit_recovered"] = ue["y1_credit_recovered"] - ue["y0_credit_recovered"]
        ue["mentor_credit_recovered"] = (r_s1[idx_rows].astype(float) - r_s0[idx_rows].astype(float))
        ep_idx = rec["episode"].to_numpy()
        n_ep = len(ep)
        rec0 = np.bincount(ep_idx, weights=0.5 * r0, minlength=n_ep)
        rec1 = np.bincount(ep_idx, weights=0.5 * r1, minlength=n_ep)
        rec_s1 = np.bincount(ep_idx, weights=0.5 * r_s1, minlength=n_ep)
        rec_s0 = np.bincount(ep_idx, weights=0.5 * r_s0, minlength=n_ep)
        c0 = ep["cred_other0"].to_numpy() + rec0
        c1 = ep["cred_other1"].to_numpy() + rec1
        ue["y0_credits"], ue["y1_credits"] = c0, c1
        ue["ocr_credits"] = c1 - c0
        ue["mentor_credits"] = rec_s1 - rec_s0
        noise = sy["gpa_noise"].to_numpy()[nxt]
        g0 = np.round(np.clip(ep["gpa_other0"].to_numpy() + noise, 0, 4), 2)
        g1 = np.round(np.clip(ep["gpa_other1"].to_numpy() + noise + ep["g_shift"].to_numpy(), 0, 4), 2)
        ue["y0_gpa"], ue["y1_gpa"] = g0, g1
        ue["ocr_gpa"] = g1 - g0
        ue["mentor_gpa"] = 0.0
        # consistency: the observed world equals the potential outcome of the observed treatment
        obs_c = credits_obs[nxt]
        assert np.allclose(np.where(on, c1, c0), obs_c), "credits potential outcomes inconsistent"
        assert np.allclose(np.where(on, g1, g0), gpa_rounded[nxt]), "GPA potential outcomes inconsistent"
        # ------------------------------------------------ tables as a district extract
        students = pd.DataFrame({
            "student_id": st["student_id"].to_numpy(), "gender": st["gender"].to_numpy(),
            "race_ethnicity": st["race_ethnicity"].to_numpy(), "grade9_year": st["grade9_year"].to_numpy(),
        })
        students = students[students["student_id"].isin(set(sy_student))].reset_index(drop=True)
        mentors = self.mentors[["mentor_id", "school_id", "certified_subject", "instructionally_supportive"]].copy()
        courses_out = courses[list(TABLES["course_records"].column_names)].copy()
        courses_out["enrolled_date"] = pd.to_datetime(courses_out["enrolled_date"])
        courses_out["completed_date"] = pd.to_datetime(courses_out["completed_date"])
        events = events.sort_values(["timestamp", "course_record_id"], kind="stable").reset_index(drop=True)
        events.insert(0, "event_id", np.arange(1, len(events) + 1, dtype=np.int64))
        tables = {
            "students": students,
            "student_years": student_years,
            "mentors": mentors,
            "course_records": courses_out,
            "platform_events": events,
        }
        tables = coerce_tables({k: v[TABLES[k].column_names] for k, v in tables.items()})
        # ------------------------------------------------ planted truth
        from credit_recovery.data.cohort import cohort_units  # local import: cohort depends on contract only

        units = cohort_units(tables)
        cohort_keys = set(zip(units["student_id"], units["recovery_record_id"]))
        ue["in_cohort"] = [(a, b) in cohort_keys for a, b in zip(ue["student_id"], ue["course_record_id"])]
        truth = truth_from_unit_effects(ue)
        truth.append({
            "estimand_id": "engagement_idle_pass",
            "description": "Planted change in the probability of passing an online recovery course per 10 "
                           "percentage points more idle time (structural coefficient)",
            "value": float(eff["idle_share_pass"]),
            "n": int(len(online_rec)),
        })
        types = pd.DataFrame({
            "student_id": online_rec["student_id"].to_numpy(),
            "course_record_id": online_rec["course_record_id"].to_numpy(),
            "user_type": np.array(USER_TYPES)[online_rec["type_code"].to_numpy()],
            "idle_share": ev_stats["idle_share"].to_numpy(),
        })
        return SimulationResult(tables=tables, truth=truth, unit_effects=ue, types=types, settings={
            **self.s, "engagement": dict(self.eng), "p_supportive": pS,
            "rollout_year": dict(zip(self.school_ids.tolist(), self.rollout.tolist())),
        })


def _expected_idle(p: dict, eng: Mapping[str, Any]) -> float:
    thr = int(eng["idle_threshold_minutes"]) * 60
    lim = int(eng["session_gap_minutes"]) * 60
    idle_gap = ((thr + 30) + (lim - 61)) / 2
    active = 40.0
    e_idle = p["p_idle"] * (idle_gap - thr)
    e_span = p["p_idle"] * idle_gap + (1 - p["p_idle"]) * active
    return float(e_idle / e_span)


def _bisect(f, lo, hi, tol=1e-10, max_iter=200):
    flo, fhi = f(lo), f(hi)
    if flo * fhi > 0:
        raise ValueError("planted effect out of reach of the generator: "
                         f"f({lo})={flo:.4f}, f({hi})={fhi:.4f}")
    for _ in range(max_iter):
        mid = (lo + hi) / 2
        fm = f(mid)
        if abs(fm) < tol or hi - lo < tol:
            return mid
        if (fm > 0) == (fhi > 0):
            hi, fhi = mid, fm
        else:
            lo, flo = mid, fm
    return (lo + hi) / 2


def _nanmean_rows(a: np.ndarray) -> np.ndarray:
    cnt = (~np.isnan(a)).sum(axis=1)
    tot = np.nansum(a, axis=1)
    return np.divide(tot, cnt, out=np.full(len(a), np.nan), where=cnt > 0)


def _grouped_cumsum(values: np.ndarray, groups: np.ndarray) -> np.ndarray:
    """Cumulative sum within consecutive runs of equal ``groups``."""
    cs = np.cumsum(values)
    starts = np.r_[0, np.flatnonzero(np.diff(groups)) + 1]
    offsets = np.repeat(cs[starts] - values[starts], np.diff(np.r_[starts, len(values)]))
    return cs - offsets
