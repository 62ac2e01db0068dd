"""The SLURM profile (workflow/profiles/slurm) on a real SLURM cluster: the Monte Carlo quick preset through
``--executor slurm``, every job submitted to and completed in SLURM, tables byte-identical to a local run.

Skipped when no SLURM cluster answers (``sinfo``), except with CI_SLURM=1 (set by .ci/run after
.ci/slurm_up.sh has started a single-node cluster), where it fails instead."""
import os
import re
import shutil
import subprocess

import pytest

#: finished jobs must still be in slurmctld's memory when the test asks (MinJobAge of .ci/slurm_up.sh: 600 s)
SUBMITTED = re.compile(r"submitted with SLURM jobid (\d+)")


@pytest.fixture(scope="session")
def slurm_cluster():
    """Skips (fails with CI_SLURM=1) unless a SLURM cluster answers; session-scoped and first in the test's
    arguments, so a skipped test does not wait for the local run."""
    why = None
    if shutil.which("sinfo") is None:
        why = "sinfo is not installed"
    else:
        proc = subprocess.run(["sinfo", "-h", "-o", "%T"], capture_output=True, text=True, timeout=30)
        states = proc.stdout.split()
        if proc.returncode != 0:
            why = f"sinfo failed: {proc.stderr.strip()}"
        elif not any(s.rstrip("*~#") in ("idle", "mixed", "allocated") for s in states):
            why = f"no SLURM node can run jobs (states: {states})"
    if why is None:
        return
    if os.environ.get("CI_SLURM") == "1":
        pytest.fail(f"{why}, but CI_SLURM=1: .ci/run must start the cluster with .ci/slurm_up.sh")
    pytest.skip(f"{why} (bash .ci/slurm_up.sh starts a single-node cluster; CI runs this test)")


def _tables(workdir):
    out = workdir / "results/monte_carlo"
    return {p.relative_to(out).as_posix(): p.read_bytes() for p in sorted(out.rglob("*.csv"))}


def _job(job_id):
    text = subprocess.run(["scontrol", "show", "job", job_id], capture_output=True, text=True, timeout=30).stdout
    return dict(re.findall(r"(\w+)=(\S*)", text))


@pytest.mark.slow
def test_quick_monte_carlo_runs_in_slurm_like_locally(slurm_cluster, tmp_path, run_snakemake, repo,
                                                      quick_monte_carlo):
    cfg, local = quick_monte_carlo  # the same target on the local executor, run once per session
    cluster = run_snakemake(
        tmp_path, cfg, "--profile", str(repo / "workflow/profiles/slurm"),
        "--slurm-no-account",                        # the CI cluster has no accounts
        "--slurm-keep-successful-logs",              # the jobs' SLURM logs are part of the evidence
        "--slurm-init-seconds-before-status-checks", "3", "--latency-wait", "10",
        "--", "monte_carlo")
    log = cluster.stdout + cluster.stderr
    ids = SUBMITTED.findall(log)
    n_jobs = 1 + len(cfg["monte_carlo"]["scenarios"]) + 1  # code stamp, one replicate batch each, summary
    assert len(ids) == len(set(ids)) == n_jobs, log[-4000:]
    assert re.search(rf"{n_jobs} of {n_jobs} steps \(100%\) done", log), log[-4000:]
    for job_id in ids:  # each job ran in SLURM, on a node, and succeeded
        job = _job(job_id)
        assert job.get("JobState") == "COMPLETED" and job.get("ExitCode") == "0:0", (job_id, job)
        assert job.get("NodeList") not in (None, "", "(null)"), (job_id, job)
    # the plugin's log of each job: .snakemake/slurm_logs/rule_<rule>/<wildcards>/<jobid>.log
    logs = {p.stem: p.relative_to(tmp_path / ".snakemake/slurm_logs").parts[0]
            for p in (tmp_path / ".snakemake/slurm_logs").rglob("*.log")}
    assert set(ids) <= logs.keys()
    assert sorted(logs[i] for i in ids).count("rule_monte_carlo_replicate") == len(cfg["monte_carlo"]["scenarios"])

    cluster_tables, local_tables = _tables(tmp_path), _tables(local)
    assert len(local_tables) == 3 + len(cfg["monte_carlo"]["scenarios"])  # the summary's 3 and the replicates
    assert cluster_tables.keys() == local_tables.keys()
    for name, data in local_tables.items():
        assert cluster_tables[name] == data, f"{name} differs between the SLURM and the local run"
