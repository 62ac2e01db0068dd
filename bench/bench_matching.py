"""Benchmark: 1:1 greedy nearest-neighbour matching without replacement,
caliper 0.2 SD of the logit propensity score, 20% treated.

    .venv/bin/python bench/bench_matching.py [--sizes 10000 100000 1000000] [--repeats 3]

Compares credit_recovery.design.matching.match (its matcher,
credit_recovery.design.nearest.greedy_nn: sorted controls + union-find
"next unused" skip lists, O(n log n)) with a brute-force O(treated x controls)
greedy matcher (numpy argmin over all controls per treated unit) in the same
run, and checks that both give identical pairs. Prints medians and ratios.
"""
from __future__ import annotations

import argparse
import statistics
import time

import numpy as np
import pandas as pd

from credit_recovery.design.matching import match


def make_data(n: int, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    t = np.zeros(n, dtype=np.int64)
    t[rng.choice(n, size=n // 5, replace=False)] = 1
    # logit propensity: treated shifted right; rounded to 4 decimals -> many ties
    lp = np.round(rng.normal(loc=np.where(t == 1, 0.5, -0.5), scale=1.0), 4)
    return pd.DataFrame({"treat": t, "lp": lp})


def brute_force(d: np.ndarray, t: np.ndarray, width: float) -> set[tuple[int, int]]:
    """O(T x C) greedy, order 'largest', ties by data order (argmin = first)."""
    tr = np.flatnonzero(t == 1)
    co = np.flatnonzero(t == 0)
    dc = d[co].copy()
    avail = np.ones(len(co), dtype=bool)
    pairs = set()
    for i in tr[np.argsort(-d[tr], kind="stable")]:
        dd = np.abs(d[i] - dc)
        dd[~avail] = np.inf
        j = int(np.argmin(dd))
        if dd[j] <= width:
            pairs.add((int(i), int(co[j])))
            avail[j] = False
    return pairs


def timeit(fn, repeats: int) -> tuple[float, object]:
    times, out = [], None
    for _ in range(repeats):
        t0 = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times), out


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000, 1_000_000])
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--brute-max", type=int, default=100_000, help="largest n for the brute force")
    args = ap.parse_args()
    print(f"{'n':>9} {'fast_s':>9} {'brute_s':>9} {'ratio':>8}  matched  identical")
    for n in args.sizes:
        df = make_data(n)
        width = 0.2 * float(np.std(df["lp"].to_numpy(), ddof=1))
        fast_s, res = timeit(lambda: match(df, "treat", "lp", caliper=0.2), args.repeats)
        fast_pairs = set(zip(res.pairs["treated"].tolist(), res.pairs["control"].tolist()))
        if n <= args.brute_max:
            reps = 1 if n > 20_000 else args.repeats
            brute_s, bp = timeit(lambda: brute_force(df["lp"].to_numpy(), df["treat"].to_numpy(), width), reps)
            same = bp == fast_pairs
            print(f"{n:>9} {fast_s:>9.3f} {brute_s:>9.3f} {brute_s / fast_s:>7.1f}x {len(fast_pairs):>8} {same!s:>10}")
        else:
            print(f"{n:>9} {fast_s:>9.3f} {'-':>9} {'-':>8} {len(fast_pairs):>8} {'-':>10}")


if __name__ == "__main__":
    main()
