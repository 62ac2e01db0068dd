"""Survive a crash (issue 15): a run killed mid-way (SIGKILL to Snakemake and its jobs) leaves Snakemake's
lock and half-written outputs behind; the next `make run` clears the stale lock (no Snakemake process works
in that directory), redoes the incomplete jobs and finishes, with tables byte-identical to an uninterrupted
run's."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml

pytestmark = pytest.mark.slow


def _make_run(repo: Path, wd: Path, **kw) -> subprocess.Popen:
    args = f"--directory {wd} --configfile {wd / 'study.yaml'}"
    env = {**os.environ, "MPLBACKEND": "Agg", "CORES": "2"}
    return subprocess.Popen(["make", "-s", "-C", str(repo), "run", f"VENV={sys.prefix}", f"ARGS={args}"],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env, **kw)


def _descendants(pid: int) -> list[int]:
    """``pid`` and every process below it (Snakemake may start its jobs in their own process groups)."""
    out, todo = [], [pid]
    while todo:
        p = todo.pop()
        out.append(p)
        kids = []
        for task in Path(f"/proc/{p}/task").glob("*"):  # children of every thread (jobs start from threads)
            try:
                kids += (task / "children").read_text().split()
            except OSError:
                pass
        todo += [int(k) for k in kids if int(k) not in out]
    return out


def _tables(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted((root / "results").rglob("*"))
            if p.suffix in (".csv", ".parquet") and "logs" not in p.parts}


def test_make_run_resumes_after_a_kill(repo, tiny_run, tiny_config, tmp_path):
    wd = tmp_path / "run"
    wd.mkdir()
    (wd / "study.yaml").write_text(yaml.safe_dump(tiny_config))
    first = _make_run(repo, wd, start_new_session=True)
    marker = wd / "results/matching/propensity.parquet"  # mid-way: after the cohort, before the models
    deadline = time.time() + 600
    while not marker.exists() and first.poll() is None and time.time() < deadline:
        time.sleep(0.2)
    assert first.poll() is None, "the run finished before it could be killed:\n" + first.stdout.read()[-3000:]
    # make, Snakemake and its running jobs: frozen first (so no new job escapes the tree), then killed
    tree: set[int] = set()
    for _ in range(5):
        new = set(_descendants(first.pid)) - tree
        for pid in new:
            try:
                os.kill(pid, signal.SIGSTOP)
            except ProcessLookupError:
                pass
        tree |= new
        time.sleep(0.1)
    for pid in tree:
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
    first.wait(timeout=60)
    assert any((wd / ".snakemake/locks").iterdir()), "a killed run leaves Snakemake's lock"
    assert not (wd / "results/models/estimates.csv").exists()
    second = _make_run(repo, wd)
    out, _ = second.communicate(timeout=900)
    assert second.returncode == 0, out[-4000:]
    assert "stale Snakemake lock" in out
    got, want = _tables(wd), _tables(tiny_run)
    assert sorted(got) == sorted(want)
    differ = [k for k in want if got[k] != want[k]]
    assert not differ, f"{len(differ)} of {len(want)} tables differ from the uninterrupted run: {differ[:10]}"


def test_a_live_run_keeps_its_lock(repo, tmp_path):
    """The lock of a directory where a Snakemake process is running is left alone."""
    wd = tmp_path / "busy"
    (wd / ".snakemake/locks").mkdir(parents=True)
    (wd / ".snakemake/locks/0.input.lock").write_text("x")
    # a stand-in process named snakemake working in that directory
    live = subprocess.Popen(["bash", "-c", "exec -a snakemake sleep 30"], cwd=wd)
    try:
        time.sleep(0.3)
        proc = subprocess.run([str(repo / "workflow/tools/clear_stale_lock.sh"), "false", "--directory", str(wd)],
                              capture_output=True, text=True, timeout=60)
        assert proc.returncode == 0 and "is running" in proc.stderr
        assert (wd / ".snakemake/locks/0.input.lock").exists()
    finally:
        live.kill()
    proc = subprocess.run([str(repo / "workflow/tools/clear_stale_lock.sh"), "false", "--directory", str(wd)],
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode != 0 and "removing a stale" in proc.stderr  # it called the (stand-in) unlock


def test_a_process_without_a_command_line_does_not_hold_the_lock(repo, tmp_path):
    """A process that is exiting, or a zombie nobody reaped (CI's init may be slow), has an empty command line
    even when its name is snakemake and its working directory is readable: it is not a live run. Checked on a
    stand-in /proc (CLEAR_STALE_LOCK_PROC), since the kernel shows such a process only for an instant."""
    wd = tmp_path / "killed"
    (wd / ".snakemake/locks").mkdir(parents=True)
    (wd / ".snakemake/locks/0.input.lock").write_text("x")
    fake = tmp_path / "proc"

    def process(pid: int, cmdline: bytes) -> None:
        (fake / str(pid)).mkdir(parents=True)
        (fake / str(pid) / "cmdline").write_bytes(cmdline)
        (fake / str(pid) / "comm").write_text("snakemake\n")
        (fake / str(pid) / "cwd").symlink_to(wd)

    def clear() -> subprocess.CompletedProcess:
        return subprocess.run([str(repo / "workflow/tools/clear_stale_lock.sh"), "false", "--directory", str(wd)],
                              capture_output=True, text=True, timeout=60,
                              env={**os.environ, "CLEAR_STALE_LOCK_PROC": str(fake)})

    process(4242, b"")  # exiting: no command line left
    proc = clear()
    assert proc.returncode != 0 and "removing a stale" in proc.stderr, proc.stderr  # called the stand-in unlock
    process(4343, b"/venv/bin/python\0/venv/bin/snakemake\0--cores\0" + b"2\0")  # a live run
    proc = clear()
    assert proc.returncode == 0 and "4343" in proc.stderr and "is running" in proc.stderr
    assert (wd / ".snakemake/locks/0.input.lock").exists()
