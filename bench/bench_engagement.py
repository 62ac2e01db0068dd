"""Benchmark: sessions + engagement features from a parquet event log.

Usage::

    .venv/bin/python bench/bench_engagement.py              # 5 M and 50 M events
    .venv/bin/python bench/bench_engagement.py --scales 5   # paper scale only
    .venv/bin/python bench/bench_engagement.py --repeats 3

For each scale a synthetic platform log (about 30 sessions per student-course,
about 170 events per session, like the Milwaukee logs) is written to parquet
in a temporary directory, hive-partitioned by school year. Each case then runs
in a fresh subprocess (so peak memory, ``ru_maxrss``, is that case's own):

* ``duckdb``: :func:`credit_recovery.sessionize` (default
  ``deduplicate='event_id'``, one query per school year) +
  :func:`credit_recovery.engagement_features` reading the parquet dataset
  (``threads=2``, ``memory_limit='3GB'``);
* ``duckdb-exact``: the same with ``deduplicate='exact'``;
* ``pandas``: the pandas reference implementation kept in
  ``tests/test_engagement.py`` (paper scale only), reading the same files.

The pandas sessions are checked to be identical to the DuckDB sessions.
Printed: median wall time, events per second, peak RSS, and the ratio of
pandas to DuckDB time measured in the same run.
"""
from __future__ import annotations

import argparse
import importlib.util
import json
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

ROOT = Path(__file__).resolve().parents[1]
EVENTS_PER_SESSION = 170
SESSIONS_PER_COURSE = 30
EVENT_TYPES = np.array(["login", "logout", "click", "activity_completed", "quiz_submitted", "test_submitted"])


def generate_events(n_events: int, *, years=(2015, 2016, 2017), seed: int = 0):
    """Yield ``(school_year, pyarrow.Table)`` of synthetic platform events.

    Sessions: ~170 events (Poisson), 90 % log in first, 60 % log out last;
    gaps between events are a mixture (90 % exponential with mean 15 s,
    9.8 % exponential with mean 3 min, 0.2 % uniform 35-120 min, which
    splits sessions); ~70 % of sessions start between 08:00 and 15:00
    Chicago time on weekdays, the rest in the evening or at weekends.
    Event types: 88 % clicks, 8 % activities completed, 2.5 % quizzes,
    1.5 % tests, scores ~ N(70, 15) clipped to [0, 100]. 0.1 % of rows are
    exact duplicates, and rows are written in global time order (so the
    student-courses interleave as in a real log).
    """
    rng = np.random.default_rng(seed)
    n_sessions_total = max(1, int(round(n_events / EVENTS_PER_SESSION)))
    n_courses = max(1, n_sessions_total // SESSIONS_PER_COURSE)
    per_year = np.array_split(np.arange(n_courses), len(years))
    next_event_id = 0
    for year, courses in zip(years, per_year):
        nc = len(courses)
        n_sess = rng.poisson(SESSIONS_PER_COURSE - 1, nc) + 1
        sess_course = np.repeat(courses, n_sess)
        ns = len(sess_course)
        # session start: a day in the school year, a local time of day
        day = rng.integers(0, 270, ns)
        school = rng.random(ns) < 0.7
        minute_of_day = np.where(school, rng.integers(8 * 60, 15 * 60, ns), rng.integers(16 * 60, 23 * 60, ns))
        base = np.datetime64(f"{year - 1}-08-25T00:00:00", "us").astype(np.int64)
        # local Chicago -> UTC (+5 h in the fall/spring, +6 h in winter: close enough for a benchmark)
        start_us = base + (day * 1440 + minute_of_day + 360).astype(np.int64) * 60_000_000
        n_ev = np.maximum(1, rng.poisson(EVENTS_PER_SESSION, ns))
        total = int(n_ev.sum())
        sess_of_event = np.repeat(np.arange(ns), n_ev)
        first = np.zeros(total, dtype=bool)
        first[np.concatenate([[0], np.cumsum(n_ev)[:-1]])] = True
        last = np.zeros(total, dtype=bool)
        last[np.cumsum(n_ev) - 1] = True
        u = rng.random(total)
        gap_s = np.where(u < 0.9, rng.exponential(15, total),
                         np.where(u < 0.998, rng.exponential(180, total), rng.uniform(2100, 7200, total)))
        gap_us = (gap_s * 1e6).astype(np.int64)
        gap_us[first] = 0
        csum = np.cumsum(gap_us)
        offset = csum - np.repeat(csum[first], n_ev)
        ts = start_us[sess_of_event] + offset
        r = rng.random(total)
        etype = np.select([r < 0.88, r < 0.96, r < 0.985], [2, 3, 4], default=5).astype(np.int8)
        etype[first & (rng.random(total) < 0.9)] = 0
        etype[last & ~first & (rng.random(total) < 0.6)] = 1
        score = np.where(etype >= 4, np.clip(rng.normal(70, 15, total), 0, 100), np.nan)
        event_id = np.arange(next_event_id, next_event_id + total, dtype=np.int64)
        next_event_id += total
        course = sess_course[sess_of_event]
        # exact duplicates
        dup = rng.random(total) < 0.001
        idx = np.concatenate([np.arange(total), np.flatnonzero(dup)])
        order = idx[np.argsort(ts[idx], kind="stable")]
        course = course[order]
        student_idx = course  # one student per course record (students take several courses: irrelevant here)
        sdict = pa.array([f"S{i:07d}" for i in range(n_courses)])
        cdict = pa.array([f"CR{i:08d}" for i in range(n_courses)])
        table = pa.table({
            "event_id": event_id[order],
            "student_id": pa.DictionaryArray.from_arrays(pa.array(student_idx.astype(np.int32)), sdict),
            "course_record_id": pa.DictionaryArray.from_arrays(pa.array(course.astype(np.int32)), cdict),
            "timestamp": pa.array(ts[order], type=pa.timestamp("us", tz="UTC")),
            "event_type": pa.DictionaryArray.from_arrays(pa.array(etype[order].astype(np.int32)),
                                                         pa.array(EVENT_TYPES)),
            "score": pa.array(score[order], from_pandas=True),
        })
        yield year, table


def write_dataset(root: Path, n_events: int, seed: int = 0) -> int:
    """Write the synthetic log to ``root/school_year=YYYY/part-0.parquet``; return the row count."""
    n = 0
    for year, table in generate_events(n_events, seed=seed):
        d = root / f"school_year={year}"
        d.mkdir(parents=True, exist_ok=True)
        pq.write_table(table, d / "part-0.parquet", row_group_size=1_000_000)
        n += table.num_rows
    return n


def _load_reference():
    spec = importlib.util.spec_from_file_location("_engagement_reference", ROOT / "tests" / "test_engagement.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def run_case(case: str, data: str, out: str, threads: int, memory_limit: str) -> dict:
    """Run one case in this process; print a JSON line with timings and peak RSS."""
    t0 = time.perf_counter()
    if case.startswith("duckdb"):
        import duckdb

        from credit_recovery.engagement.features import engagement_features
        from credit_recovery.engagement.sessions import sessionize

        con = duckdb.connect(config={"threads": threads, "memory_limit": memory_limit})
        rel = con.sql(f"SELECT * FROM read_parquet('{data}/*/*.parquet', hive_partitioning = true)")
        mode = "exact" if case == "duckdb-exact" else "event_id"
        sessions = sessionize(rel, con=con, output="pandas", deduplicate=mode)
        features = engagement_features(sessions, con=con)
    else:
        import pandas as pd

        ref = _load_reference()
        events = pd.read_parquet(data)
        sessions = ref.reference_sessionize(events)
        features = ref.reference_features(sessions)
    elapsed = time.perf_counter() - t0
    sessions.to_parquet(out)
    rss_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return {"case": case, "seconds": elapsed, "sessions": len(sessions), "features": len(features),
            "peak_rss_mb": rss_kb / 1024}


def _subprocess(case, data, out, threads, memory_limit):
    cmd = [sys.executable, __file__, "--run-case", case, "--data", data, "--out", out,
           "--threads", str(threads), "--memory-limit", memory_limit]
    res = subprocess.run(cmd, capture_output=True, text=True, check=False)
    if res.returncode != 0:
        raise RuntimeError(f"case {case} failed:\n{res.stderr}")
    return json.loads(res.stdout.strip().splitlines()[-1])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--scales", type=float, nargs="+", default=[5, 50], help="millions of events")
    ap.add_argument("--repeats", type=int, default=1)
    ap.add_argument("--pandas-max", type=float, default=5, help="run pandas only up to this many millions")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--memory-limit", default="3GB")
    ap.add_argument("--run-case")
    ap.add_argument("--data")
    ap.add_argument("--out")
    a = ap.parse_args()
    if a.run_case:
        print(json.dumps(run_case(a.run_case, a.data, a.out, a.threads, a.memory_limit)))
        return
    import pandas as pd

    for scale in a.scales:
        with tempfile.TemporaryDirectory(prefix="bench_engagement_") as tmp:
            tmp = Path(tmp)
            t0 = time.perf_counter()
            n = write_dataset(tmp / "events", int(scale * 1e6))
            print(f"\n== {n:,} events ({scale:g} M target), written in {time.perf_counter() - t0:.1f} s")
            cases = ["duckdb", "duckdb-exact"] + (["pandas"] if scale <= a.pandas_max else [])
            med = {}
            for case in cases:
                runs = [_subprocess(case, str(tmp / "events"), str(tmp / f"{case}.parquet"), a.threads,
                                    a.memory_limit) for _ in range(a.repeats)]
                m = statistics.median(r["seconds"] for r in runs)
                rss = max(r["peak_rss_mb"] for r in runs)
                med[case] = m
                print(f"{case:12s} median {m:7.2f} s  {n / m / 1e6:6.2f} M events/s  peak RSS {rss:7.0f} MB  "
                      f"sessions {runs[0]['sessions']:,}  student-courses {runs[0]['features']:,}")
            if "pandas" in med:
                ref = _load_reference()
                b_ = pd.read_parquet(tmp / "pandas.parquet")
                b_["school_year"] = b_["school_year"].astype("int64")
                for case in ("duckdb", "duckdb-exact"):
                    a_ = pd.read_parquet(tmp / f"{case}.parquet")
                    ref.assert_sessions_equal(a_, b_)  # the synthetic log has exact duplicates only
                    print(f"{case}: sessions identical to pandas: yes   pandas / {case} time ratio: "
                          f"{med['pandas'] / med[case]:.2f}")


if __name__ == "__main__":
    main()
