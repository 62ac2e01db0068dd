"""Regular courses: six semester courses per term, their latent performance and marks.

Each student-year has 12 regular course slots (fall 0-5, spring 6-11, in the
order of :data:`SUBJECT_SLOTS`). A course's latent performance (grade points)
is driven by ability, attendance, the unobserved confounder, a year effect and
the subject's difficulty, plus a course-level noise with SD :data:`PERF_SD`;
its mark is the performance floored to 0-4 (F-A), and about 1% of courses are
withdrawn (W).
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from credit_recovery.synthetic.world import World

__all__ = ["SUBJECT_SLOTS", "CORE_SLOTS", "COURSE_NAMES", "ELECTIVES", "SUBJECT_DIFFICULTY", "PERF_SD",
           "draw_course_latents", "regular_course_means", "course_means", "marks_from_perf", "marks_for_year", "gpa_points",
           "credits_regular", "nanmean_rows", "regular_course_records"]

SUBJECT_SLOTS = ("math", "ela", "science", "social_studies", "elective", "elective")
#: Core course slots of a student-year (math, ELA, science, social studies of both terms).
CORE_SLOTS = np.array([0, 1, 2, 3, 6, 7, 8, 9])
COURSE_NAMES = {
    "math": ("Algebra I", "Geometry", "Algebra II", "Precalculus"),
    "ela": ("English 9", "English 10", "English 11", "English 12"),
    "science": ("Physical Science", "Biology", "Chemistry", "Physics"),
    "social_studies": ("World History", "US History", "Civics and Economics", "American Government"),
}
ELECTIVES = ("Art", "Physical Education", "Spanish", "Health", "Music", "Computer Literacy")
SUBJECT_DIFFICULTY = {"math": -0.25, "ela": 0.0, "science": -0.1, "social_studies": 0.05, "elective": 0.45}
#: SD of a course's latent performance around its mean (grade points).
PERF_SD = 0.8


def draw_course_latents(w: World) -> None:
    """Course noise and withdrawals of every student-year's regular courses; empty shifts and marks."""
    rng = w.rng
    sy = w.student_years
    n_sy = len(sy)
    # per student-year regular course latent performance (classroom world)
    w.course_noise = rng.normal(0, PERF_SD, (n_sy, 12))
    w.course_w = rng.random((n_sy, 12)) < 0.01  # withdrawn
    w.perf_shift = np.zeros(n_sy)  # s applied to other courses of online recoverers
    w.gpa_shift = np.zeros(n_sy)
    w.gpa_dyn = np.zeros(n_sy)  # the part of gpa_shift from earlier recoveries' effect dynamics
    w.sy_key = pd.Series(np.arange(n_sy), index=pd.MultiIndex.from_arrays([sy["st"], sy["school_year"]]))
    w.marks_points = np.full((n_sy, 12), np.nan)


def regular_course_means(w: World, sy_idx: np.ndarray) -> np.ndarray:
    """Latent performance means (grade points) of the 12 regular courses of student-years."""
    sy = w.student_years
    return course_means(w, sy["st"].to_numpy()[sy_idx], sy["absence_rate_latent"].to_numpy()[sy_idx],
                        sy["year_noise"].to_numpy()[sy_idx])


def course_means(w: World, sti: np.ndarray, absence_rate: np.ndarray, year_noise: np.ndarray) -> np.ndarray:
    """Latent performance means of the 12 regular courses of students ``sti`` in years with these latent
    absence rates and year effects (also years before the simulated ones, see
    :mod:`~credit_recovery.synthetic.longrun`)."""
    st = w.students
    base = (2.95 + 0.7 * st["ability"].to_numpy()[sti] - 4.0 * (absence_rate - 0.1)
            + 0.3 * w.gamma * st["U"].to_numpy()[sti] + year_noise)
    mu = np.empty((len(sti), 12))
    for term in range(2):
        for j, subj in enumerate(SUBJECT_SLOTS):
            extra = 0.0
            if subj == "math":
                extra = 0.3 * (st["math_ability"].to_numpy()[sti] - st["ability"].to_numpy()[sti])
            elif subj == "ela":
                extra = 0.3 * (st["read_ability"].to_numpy()[sti] - st["ability"].to_numpy()[sti])
            mu[:, term * 6 + j] = base + SUBJECT_DIFFICULTY[subj] + extra
    return mu


def marks_from_perf(perf: np.ndarray) -> np.ndarray:
    """Grade points 0-4 (F-A) of latent performances."""
    return np.clip(np.floor(perf), 0, 4)


def marks_for_year(w: World, y: int) -> None:
    """Marks of year ``y``'s regular courses, with the observed world's shifts of online recoverers."""
    idx = np.flatnonzero(w.student_years["school_year"].to_numpy() == y)
    mu = regular_course_means(w, idx)
    perf = mu + w.course_noise[idx] + w.perf_shift[idx][:, None]
    w.marks_points[idx] = marks_from_perf(perf)


def gpa_points(w: World, sy_idx: np.ndarray) -> np.ndarray:
    """Unrounded GPA of student-years' regular courses (withdrawn courses left out)."""
    pts = w.marks_points[sy_idx]
    wd = w.course_w[sy_idx]
    p = np.where(wd, np.nan, pts)
    with np.errstate(invalid="ignore"):
        return np.nanmean(p, axis=1)


def credits_regular(w: World, sy_idx: np.ndarray) -> np.ndarray:
    """Credits earned in student-years' regular courses (0.5 per passed course)."""
    pts = w.marks_points[sy_idx]
    wd = w.course_w[sy_idx]
    return 0.5 * ((pts >= 1) & ~wd).sum(axis=1)


def nanmean_rows(a: np.ndarray) -> np.ndarray:
    """Row means ignoring NaN; NaN for an all-NaN row (without a warning)."""
    cnt = (~np.isnan(a)).sum(axis=1)
    tot = np.nansum(a, axis=1)
    return np.divide(tot, cnt, out=np.full(len(a), np.nan), where=cnt > 0)


def regular_course_records(w: World) -> pd.DataFrame:
    """Course records of all regular courses, in (school_year, student, slot) order.

    Besides the contract's columns it holds ``sy`` (the student-year row),
    ``slot`` and ``recovers_slot`` (-1: recovers nothing).
    """
    sy, st = w.student_years, w.students
    n_sy = len(sy)
    sy_student = st["student_id"].to_numpy()[sy["st"].to_numpy()]
    sy_school_idx = st["school_idx"].to_numpy()[sy["st"].to_numpy()]
    rec_sy = np.repeat(np.arange(n_sy), 12)
    slot = np.tile(np.arange(12), n_sy)
    term = np.where(slot < 6, "fall", "spring")
    subj = np.array(SUBJECT_SLOTS * 2)[slot]
    grade = sy["grade"].to_numpy()[rec_sy]
    years = sy["school_year"].to_numpy()[rec_sy]
    names = np.empty(len(rec_sy), dtype=object)
    for s_name, titles in COURSE_NAMES.items():
        m = subj == s_name
        names[m] = np.array(titles, dtype=object)[grade[m] - 9]
    el = subj == "elective"
    names[el] = np.array(ELECTIVES, dtype=object)[(sy["st"].to_numpy()[rec_sy[el]] * 7 + slot[el] + grade[el]) % 6]
    pts = w.marks_points.ravel()
    wd = w.course_w.ravel()
    letters = np.array(["F", "D", "C", "B", "A"])
    mark = np.where(wd, "W", letters[np.nan_to_num(pts, nan=0).astype(int)])
    fall_start = (years - 1).astype(str).astype(object) + "-08-26"
    enrolled = np.where(term == "fall", fall_start, years.astype(str).astype(object) + "-01-25")
    completed = np.where(term == "fall", years.astype(str).astype(object) + "-01-20",
                         years.astype(str).astype(object) + "-06-05")
    completed = np.where(wd, None, completed)
    return pd.DataFrame({
        "sy": rec_sy, "slot": slot, "student_id": sy_student[rec_sy], "school_year": years,
        "school_id": w.school_ids[sy_school_idx[rec_sy]], "term": term, "course_name": names,
        "subject": subj, "attempt": "original", "recovers_slot": -1, "delivery": "classroom",
        "mentor_id": None, "enrolled_date": enrolled, "completed_date": completed, "mark": mark,
        "credits_attempted": 0.5, "credits_earned": np.where((pts >= 1) & ~wd, 0.5, 0.0),
    })
