"""Speed of validate_tables, write_extract and read_extract on a synthetic district.

    python bench/bench_validation.py [scale] [seed]

The district comes from the package (``credit_recovery.simulate_district``);
the default scale ``paper`` has the Milwaukee study's size (about 5 million
platform events and 1.6 million course records). The baseline is one hash
pass over the largest key (``platform_events.event_id``), so the ratio printed
is comparable between machines; to compare two versions of the package, run
this script with each on ``PYTHONPATH`` and compare the medians.
"""
import statistics
import sys
import tempfile
import time
from pathlib import Path

from credit_recovery import read_extract, simulate_district, validate_tables, write_extract


def median_seconds(f, reps: int = 3) -> float:
    times = []
    for _ in range(reps):
        t0 = time.perf_counter()
        f()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def main(scale: str = "paper", seed: int = 0) -> None:
    tables = simulate_district({"scale": scale, "seed": seed}).tables
    ev = tables["platform_events"]
    sizes = ", ".join(f"{k} {len(v):,}" for k, v in tables.items())
    print(f"scale={scale} seed={seed}: {sizes}")
    base = median_seconds(lambda: ev.duplicated(subset=["event_id"]))
    val = median_seconds(lambda: validate_tables(tables))
    print(f"baseline duplicated(event_id) median {base:.2f}s")
    print(f"validate_tables median {val:.2f}s  ratio to baseline {val / base:.1f}x")
    with tempfile.TemporaryDirectory() as d:
        w = median_seconds(lambda: write_extract(tables, Path(d) / "x"), reps=1)
        r = median_seconds(lambda: read_extract(Path(d) / "x"), reps=3)
        size = (Path(d) / "x" / "platform_events.parquet").stat().st_size
        mem = read_extract(Path(d) / "x")["platform_events"].memory_usage(deep=True).sum()
        print(f"write_extract {w:.2f}s  read_extract(parquet) median {r:.2f}s  "
              f"events parquet {size / 1e6:.0f} MB, in memory {mem / 1e6:.0f} MB")
        csv = Path(d) / "csv"
        csv.mkdir()
        for name, df in tables.items():
            df.to_csv(csv / f"{name}.csv", index=False)
        rc = median_seconds(lambda: read_extract(csv), reps=1)
        print(f"read_extract(csv) {rc:.2f}s")


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "paper", int(sys.argv[2]) if len(sys.argv) > 2 else 0)
