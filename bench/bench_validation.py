"""Validation/read/write speed on a 5M-event platform log (tiny extract for the other tables)."""
import sys, time, statistics, tempfile
from pathlib import Path
import numpy as np, pandas as pd
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
from extract_factory import tiny_extract
from credit_recovery import validate_tables, read_extract, write_extract

N = int(sys.argv[1]) if len(sys.argv) > 1 else 5_000_000
rng = np.random.default_rng(0)
t = tiny_extract()
ev0 = t["platform_events"]
# online attempts and their students
cr = t["course_records"]
on = cr[cr.delivery == "online"][["course_record_id", "student_id"]].reset_index(drop=True)
pick = rng.integers(0, len(on), N)
kinds = np.array(["login", "logout", "click", "activity_completed", "quiz_submitted", "test_submitted"])
k = kinds[rng.integers(0, 6, N)]
score = np.where(np.isin(k, ["quiz_submitted", "test_submitted"]), rng.uniform(0, 100, N).round(1), np.nan)
ev = pd.DataFrame({
    "event_id": pd.array(np.arange(N), dtype="Int64"),
    "student_id": on.student_id.to_numpy()[pick].astype(str),
    "course_record_id": on.course_record_id.to_numpy()[pick].astype(str),
    "timestamp": pd.Timestamp("2014-01-01", tz="UTC") + pd.to_timedelta(rng.integers(0, 3e7, N), unit="s"),
    "event_type": k, "score": score,
}).astype({"student_id": "str", "course_record_id": "str", "event_type": "str", "timestamp": "datetime64[us, UTC]"})
t["platform_events"] = ev

def med(f, reps=3):
    ts = []
    for _ in range(reps):
        t0 = time.perf_counter(); f(); ts.append(time.perf_counter() - t0)
    return statistics.median(ts)

base = med(lambda: ev.duplicated(subset=["event_id"]))  # baseline: a single hash pass over the key
val = med(lambda: validate_tables(t))
print(f"events={N:,}  baseline duplicated(event_id) median {base:.2f}s")
print(f"validate_tables median {val:.2f}s  ratio to baseline {val/base:.1f}x")
with tempfile.TemporaryDirectory() as d:
    w = med(lambda: write_extract(t, Path(d) / "x"), reps=1)
    r = med(lambda: read_extract(Path(d) / "x"), reps=3)
    size = (Path(d) / "x" / "platform_events.parquet").stat().st_size
    back = read_extract(Path(d) / "x")
    mem = back["platform_events"].memory_usage(deep=True).sum()
    print(f"write_extract {w:.2f}s  read_extract(parquet) median {r:.2f}s  events parquet {size/1e6:.0f} MB, in memory {mem/1e6:.0f} MB")
    tcsv = Path(d) / "csv"; tcsv.mkdir()
    for n, df in t.items():
        df.to_csv(tcsv / f"{n}.csv", index=False)
    rc = med(lambda: read_extract(tcsv), reps=1)
    print(f"read_extract(csv) {rc:.2f}s")
