"""Schools, students, student-years and mentors of the synthetic district.

* Schools roll out online credit recovery in a staggered way; each has an
  ability level, an online propensity and a size factor.
* Students enter grade 9 in cohorts per school, with demographics, a latent
  ability (math and reading components), an attendance propensity and the
  unobserved confounder ``U``; some leave the district before grades 10-12.
* Student-years carry days enrolled and absent, programme flags and the latent
  z-scores of the spring tests (``0.3·γ·U`` raises them).
* Mentors: 2-4 per school, 45% instructionally supportive.
"""
from __future__ import annotations

import numpy as np
import pandas as pd
from scipy.special import expit

from credit_recovery.synthetic.courses import PERF_SD
from credit_recovery.synthetic.knobs import school_shock
from credit_recovery.synthetic.world import World

__all__ = ["draw_schools", "draw_students", "draw_student_years", "draw_mentors"]


def draw_schools(w: World) -> None:
    """Schools, their staggered roll-out years and school effects."""
    rng = w.rng
    n = w.n_schools
    w.school_ids = np.array([f"SCH{i + 1:02d}" for i in range(n)])
    # staggered roll-out of online credit recovery: first online courses in these years
    span = max(1, min(4, len(w.years) - 3))
    w.rollout = w.first_year + 1 + (np.arange(n) * span) // max(n - 1, 1)
    rng.shuffle(w.rollout)
    # a later-adopting district (simulation.rollout_delay): every school starts that many years later
    w.rollout = np.minimum(w.rollout + int(w.settings["rollout_delay"]), w.years[-1])
    w.school_ability = rng.normal(0, 0.2, n)
    w.school_online = rng.normal(0, 0.35, n)
    w.school_size = rng.uniform(0.7, 1.3, n)


def draw_students(w: World) -> None:
    """Entering cohorts of every school, their traits and how many grades each stays."""
    rng = w.rng
    cohorts = np.arange(w.first_year - 3, w.years[-1] + 1)
    sizes = np.rint(w.scale["cohort_size"] * w.school_size[:, None]
                    * rng.uniform(0.9, 1.1, (len(w.school_ids), len(cohorts)))).astype(int)
    school_idx = np.repeat(np.repeat(np.arange(len(w.school_ids)), len(cohorts)), sizes.ravel())
    grade9 = np.repeat(np.tile(cohorts, len(w.school_ids)), sizes.ravel())
    n = len(school_idx)
    race = rng.choice(np.array(["Black", "Hispanic", "White", "Asian", "Other"]), size=n,
                      p=[0.55, 0.26, 0.12, 0.05, 0.02])
    gender = rng.choice(np.array(["F", "M", "X"]), size=n, p=[0.49, 0.50, 0.01])
    frl = rng.random(n) < np.where(np.isin(race, ["Black", "Hispanic"]), 0.88, 0.6)
    ell = rng.random(n) < np.select([race == "Hispanic", race == "Asian"], [0.32, 0.25], 0.02)
    sped = rng.random(n) < 0.18
    ability = (w.school_ability[school_idx] - 0.25 * frl - 0.35 * sped - 0.2 * ell
               + rng.normal(0, 0.9, n))
    st = pd.DataFrame({
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
    leave_p = np.clip(0.04 + 0.04 * (st["absence"].to_numpy() > 1), 0, 1)
    grades_kept = np.ones(n, dtype=int)
    alive = np.ones(n, dtype=bool)
    for _ in range(3):
        alive &= rng.random(n) >= leave_p
        grades_kept += alive
    st["n_grades"] = grades_kept
    st["student_id"] = [f"ST{i + 100001:06d}" for i in range(n)]
    w.students = st


def draw_student_years(w: World) -> None:
    """One row per enrolled student-year in the observed years: attendance, flags, latent scores."""
    st = w.students
    rows_student = np.repeat(np.arange(len(st)), 4)
    grade = np.tile(np.arange(9, 13), len(st))
    year = st["grade9_year"].to_numpy()[rows_student] + grade - 9
    keep = ((grade - 9) < st["n_grades"].to_numpy()[rows_student]) & (year >= w.years[0]) & (year <= w.years[-1])
    sy = pd.DataFrame({"st": rows_student[keep], "school_year": year[keep], "grade": grade[keep]})
    sy = sy.sort_values(["school_year", "st"], kind="stable").reset_index(drop=True)
    rng = w.rng
    n = len(sy)
    s = st.iloc[sy["st"].to_numpy()]
    sy["days_enrolled"] = rng.integers(168, 181, n)
    rate = expit(-2.4 + 0.75 * s["absence"].to_numpy() + 0.12 * (sy["grade"].to_numpy() - 9)
                 + rng.normal(0, 0.3, n))
    sy["absence_rate_latent"] = rate
    sy["days_absent"] = rng.binomial(sy["days_enrolled"].to_numpy(), rate)
    sy["frl"] = np.where(rng.random(n) < 0.05, ~s["frl"].to_numpy(), s["frl"].to_numpy())
    sy["ell"] = s["ell"].to_numpy() & ~((sy["grade"].to_numpy() >= 11) & (rng.random(n) < 0.3))
    sy["sped"] = s["sped"].to_numpy()
    growth = 0.05 * (sy["school_year"].to_numpy() - w.first_year)
    cu = 0.3 * w.gamma * s["U"].to_numpy()
    absence_pen = 1.5 * (rate - 0.1)
    sy["z_math"] = (0.8 * s["math_ability"].to_numpy() + growth - absence_pen + cu + rng.normal(0, 0.45, n))
    sy["z_read"] = (0.8 * s["read_ability"].to_numpy() + growth - absence_pen + cu + rng.normal(0, 0.45, n))
    untested = rng.random(n) < (0.03 + 0.12 * (rate > 0.3))
    sy["math_missing"] = untested | (rng.random(n) < 0.01)
    sy["read_missing"] = untested | (rng.random(n) < 0.01)
    sy["year_noise"] = rng.normal(0, 0.35, n)
    sy["gpa_noise"] = rng.normal(0, 0.08, n)
    if w.outcome_shock is not None:  # school shocks raise the year's scores and course performance
        shock = school_shock(w, w.outcome_shock, s["school_idx"].to_numpy(), sy["school_year"].to_numpy())
        sy["z_math"] += shock
        sy["z_read"] += shock
        sy["year_noise"] += PERF_SD * shock
        sy["outcome_shock"] = shock
    w.student_years = sy


def draw_mentors(w: World) -> None:
    """2-4 mentors per school; supportive ones are more often certified in math."""
    rng = w.rng
    rows = []
    k = 0
    for si, sid in enumerate(w.school_ids):
        m = int(rng.integers(2, 5))
        for _ in range(m):
            supportive = rng.random() < 0.45
            cert = rng.choice(["math", "ela", "science", "social_studies", "none"],
                              p=[0.6, 0.1, 0.1, 0.05, 0.15] if supportive else [0.2, 0.15, 0.1, 0.1, 0.45])
            rows.append({"mentor_id": f"MT{k + 1:03d}", "school_idx": si, "school_id": sid,
                         "certified_subject": str(cert), "instructionally_supportive": bool(supportive)})
            k += 1
    w.mentors = pd.DataFrame(rows)
    w.p_supportive = float(w.mentors["instructionally_supportive"].mean())
