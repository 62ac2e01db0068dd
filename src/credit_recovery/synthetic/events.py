"""Platform events of online recovery courses, driven by each attempt's latent user type.

An online attempt has ``3 + Poisson(sessions)`` sessions on strictly later
days; a session starts inside the school day (on a weekday) with the type's
probability ``p_school``, else in the evening or at the weekend (local time of
``engagement.timezone``, stored in UTC). A session is a log-in, a Poisson
number of middle events (clicks, activities completed, quiz and test
submissions with Beta scores) and, usually, a log-out. A gap between events is
idle (longer than ``engagement.idle_threshold_minutes``, shorter than
``engagement.session_gap_minutes``) with the type's probability ``p_idle``,
else about 40 seconds. The realized idle share is measured with the
sessionization stage's own definition.
"""
from __future__ import annotations

from typing import Any, Mapping

import numpy as np
import pandas as pd

from credit_recovery.synthetic.world import World

__all__ = ["USER_TYPES", "TYPE_PARAMS", "EVENT_TYPES", "expected_idle", "platform_events", "grouped_cumsum"]

USER_TYPES = ("engaged", "moonlighter", "nominal_exerter", "incompatible_struggler")

#: User-type parameters: sessions, days between sessions, events per session factor,
#: share of gaps that are idle, activity/quiz/test probabilities, score Beta(a, b),
#: probability that a session starts inside the school day.
TYPE_PARAMS = {
    "engaged": dict(sessions=9, day_gap_p=0.55, ev_factor=1.25, p_idle=0.008, p_act=0.13, p_quiz=0.035,
                    p_test=0.012, score_ab=(8.0, 2.6), p_school=0.97),
    "moonlighter": dict(sessions=10, day_gap_p=0.45, ev_factor=1.15, p_idle=0.010, p_act=0.12, p_quiz=0.035,
                        p_test=0.012, score_ab=(7.5, 2.8), p_school=0.28),
    "nominal_exerter": dict(sessions=24, day_gap_p=0.35, ev_factor=0.8, p_idle=0.05, p_act=0.05, p_quiz=0.03,
                            p_test=0.010, score_ab=(6.0, 3.8), p_school=0.92),
    "incompatible_struggler": dict(sessions=13, day_gap_p=0.25, ev_factor=0.75, p_idle=0.07, p_act=0.018,
                                   p_quiz=0.02, p_test=0.008, score_ab=(3.5, 4.5), p_school=0.92),
}

#: Event type names by code (0 log-in, 1 log-out, 2 click, 3-5 activity, quiz, test).
EVENT_TYPES = np.array(["login", "logout", "click", "activity_completed", "quiz_submitted", "test_submitted"])

_SCALAR_PARAMS = ("sessions", "day_gap_p", "ev_factor", "p_idle", "p_act", "p_quiz", "p_test", "p_school")


def expected_idle(p: dict, eng: Mapping[str, Any]) -> float:
    """Expected idle share of a user type with parameters ``p`` (its idle and active gap lengths)."""
    thr = int(eng["idle_threshold_minutes"]) * 60
    lim = int(eng["session_gap_minutes"]) * 60
    idle_gap = ((thr + 30) + (lim - 61)) / 2
    active = 40.0
    e_idle = p["p_idle"] * (idle_gap - thr)
    e_span = p["p_idle"] * idle_gap + (1 - p["p_idle"]) * active
    return float(e_idle / e_span)


def grouped_cumsum(values: np.ndarray, groups: np.ndarray) -> np.ndarray:
    """Cumulative sum within consecutive runs of equal ``groups``."""
    cs = np.cumsum(values)
    starts = np.r_[0, np.flatnonzero(np.diff(groups)) + 1]
    offsets = np.repeat(cs[starts] - values[starts], np.diff(np.r_[starts, len(values)]))
    return cs - offsets


def platform_events(w: World, oc: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Platform events for online course attempts ``oc`` (one row per attempt).

    ``oc`` has ``student_id``, ``course_record_id``, ``type_code``,
    ``enrolled_date`` and ``school_year``. Returns the events (without
    ``event_id``, unsorted) and, per attempt, ``idle_share``, ``last_ts`` (the
    last event, UTC) and ``tests_taken``.
    """
    n = len(oc)
    tcode = oc["type_code"].to_numpy()
    par = {k: np.array([TYPE_PARAMS[t][k] for t in USER_TYPES])[tcode] for k in _SCALAR_PARAMS}
    sess_course, utc_start = _session_starts(w, oc, par)
    ev = _session_events(w, par, sess_course, utc_start)
    etype, score = _event_types(w, oc, par, ev)
    ev_course, gap, pos, ts = ev["course"], ev["gap"], ev["pos"], ev["ts"]
    # realized idle share per course, with the sessionization definition
    thr = int(w.engagement["idle_threshold_minutes"]) * 60
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
        "event_type": EVENT_TYPES[etype],
        "score": score,
    })
    return events, stats_df


def _session_starts(w: World, oc: pd.DataFrame, par: dict[str, np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    """Sessions of each attempt (their attempt row) and their start times (UTC epoch seconds)."""
    rng = w.rng
    n = len(oc)
    n_sess = 3 + rng.poisson(par["sessions"])
    sess_course = np.repeat(np.arange(n), n_sess)
    n_s = len(sess_course)
    # session days: strictly increasing day offsets from enrolment
    day_gap = rng.geometric(par["day_gap_p"][sess_course])
    first = np.r_[0, np.cumsum(n_sess)[:-1]]
    day_gap[first] = rng.integers(0, 3, n)
    day_off = grouped_cumsum(day_gap, sess_course)
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
    utc_start = (pd.DatetimeIndex(local_start).tz_localize(w.engagement["timezone"], nonexistent="shift_forward",
                                                            ambiguous=np.zeros(n_s, dtype=bool))
                 .tz_convert("UTC").tz_localize(None).to_numpy().astype("datetime64[s]").astype(np.int64))
    return sess_course, utc_start


def _session_events(w: World, par: dict[str, np.ndarray], sess_course: np.ndarray,
                    utc_start: np.ndarray) -> dict[str, np.ndarray]:
    """Events of each session (log-in, middle events, most often a log-out) and their timing.

    Returns, per event, ``sess`` and ``course`` (its session and attempt rows),
    ``pos`` (position in the session), ``last`` (last of its session),
    ``has_logout`` (per session), ``gap`` (seconds since the previous event
    of the session, 0 for the log-in) and ``ts`` (UTC epoch seconds).
    """
    rng = w.rng
    n_s = len(sess_course)
    # events per session: login, middle events, logout (most sessions)
    n_mid = rng.poisson(w.scale["events_per_session"] * par["ev_factor"][sess_course])
    has_logout = rng.random(n_s) < 0.85
    n_ev = 1 + n_mid + has_logout
    ev_sess = np.repeat(np.arange(n_s), n_ev)
    n_e = len(ev_sess)
    pos = np.arange(n_e) - np.repeat(np.r_[0, np.cumsum(n_ev)[:-1]], n_ev)
    last = pos == np.repeat(n_ev - 1, n_ev)
    ev_course = sess_course[ev_sess]
    thr = int(w.engagement["idle_threshold_minutes"]) * 60
    gap_lim = int(w.engagement["session_gap_minutes"]) * 60
    idle = rng.random(n_e) < par["p_idle"][ev_course]
    gap = np.where(idle, rng.integers(thr + 30, gap_lim - 60, n_e),
                   np.clip(np.rint(rng.exponential(40.0, n_e)), 1, thr - 10)).astype(np.int64)
    gap[pos == 0] = 0
    elapsed = grouped_cumsum(gap, ev_sess)
    ts = utc_start[ev_sess] + elapsed
    return {"sess": ev_sess, "course": ev_course, "pos": pos, "last": last, "has_logout": has_logout,
            "gap": gap, "ts": ts}


def _event_types(w: World, oc: pd.DataFrame, par: dict[str, np.ndarray],
                 ev: dict[str, np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    """Event type codes (see :data:`EVENT_TYPES`) and scores of quiz and test submissions.

    Activity rates grow 5% a year (all types become more efficient).
    """
    rng = w.rng
    ev_course, pos = ev["course"], ev["pos"]
    n_e = len(ev_course)
    tcode = oc["type_code"].to_numpy()
    year_eff = 1.0 + 0.05 * (oc["school_year"].to_numpy() - w.first_year)
    u = rng.random(n_e)
    p_act = np.minimum(par["p_act"][ev_course] * year_eff[ev_course], 0.5)
    p_quiz = par["p_quiz"][ev_course]
    p_test = par["p_test"][ev_course]
    etype = np.where(u < p_act, 3, np.where(u < p_act + p_quiz, 4, np.where(u < p_act + p_quiz + p_test, 5, 2)))
    etype[pos == 0] = 0
    etype[ev["last"] & ev["has_logout"][ev["sess"]]] = 1
    a = np.array([TYPE_PARAMS[t]["score_ab"][0] for t in USER_TYPES])[tcode][ev_course]
    b = np.array([TYPE_PARAMS[t]["score_ab"][1] for t in USER_TYPES])[tcode][ev_course]
    scored = etype >= 4
    score = np.where(scored, np.round(100 * rng.beta(a, b), 1), np.nan)
    return etype, score
