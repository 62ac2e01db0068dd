"""Fixtures shared by the test modules (no test module imports another).

- ``repo``: the repository root.
- ``run_snakemake``: runs the workflow in a folder with a config (a function, as a fixture).
- ``tiny_run``: the whole pipeline on the tiny synthetic district, made once per test session and shared
  (read-only: copy it before changing anything).
- ``tiny_district``: the tiny synthetic district in memory (``simulate_district``), once per session.
- ``quick_monte_carlo``: the Monte Carlo quick preset (``workflow/presets/monte_carlo_quick.yaml``) run locally
  once per session: ``(config, folder)`` (read-only).
"""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

REPO = Path(__file__).resolve().parents[1]
#: The tiny synthetic study every pipeline test runs.
# a tiny district's SMDs are noisy, so its balance gate flags without stopping the run
TINY = {"simulation": {"scale": "tiny", "seed": 3}, "matching": {"stop_on_imbalance": False}}


def _run_snakemake(workdir: Path, config: dict, *args: str, check: bool = True,
                   env: dict | None = None) -> subprocess.CompletedProcess:
    workdir.mkdir(parents=True, exist_ok=True)
    (workdir / "study.yaml").write_text(yaml.safe_dump(config))
    cmd = [sys.executable, "-m", "snakemake", "--snakefile", str(REPO / "Snakefile"), "--directory", str(workdir),
           "--configfile", str(workdir / "study.yaml"), "--cores", "2", *args]
    env = {**os.environ, "MPLBACKEND": "Agg", **(env or {})}
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=900)
    if check and proc.returncode != 0:
        raise AssertionError(f"snakemake failed ({proc.returncode}):\n{proc.stdout[-4000:]}\n{proc.stderr[-8000:]}")
    return proc


@pytest.fixture(scope="session")
def repo() -> Path:
    return REPO


@pytest.fixture(scope="session")
def tiny_config() -> dict:
    """The tiny study's config, one copy per session: extend a copy (``{**tiny_config, ...}``), never mutate it."""
    return {k: dict(v) for k, v in TINY.items()}


@pytest.fixture(scope="session")
def run_snakemake():
    """``run_snakemake(workdir, config, *args, check=True, env=None)``: the workflow in ``workdir``."""
    return _run_snakemake


@pytest.fixture(scope="session")
def tiny_run(tmp_path_factory) -> Path:
    """The folder of one whole-pipeline run on the tiny district (read-only)."""
    wd = tmp_path_factory.getbasetemp() / "shared-tiny-run"
    done = wd / ".complete"
    if not done.exists():
        _run_snakemake(wd, TINY)
        done.write_text("ok\n")
    return wd


def _quick_monte_carlo_config() -> dict:
    from credit_recovery.truth.montecarlo import merge_overlay

    cfg = yaml.safe_load((REPO / "config.yaml").read_text())
    quick = yaml.safe_load((REPO / "workflow/presets/monte_carlo_quick.yaml").read_text())
    return {**cfg, "monte_carlo": merge_overlay(cfg["monte_carlo"], quick["monte_carlo"]),
            "models": {**cfg["models"], **quick["models"]}}


@pytest.fixture(scope="session")
def quick_monte_carlo(tmp_path_factory) -> tuple[dict, Path]:
    """``(config, folder)``: the quick preset's ``monte_carlo`` target run locally (read-only)."""
    cfg = _quick_monte_carlo_config()
    wd = tmp_path_factory.getbasetemp() / "shared-quick-monte-carlo"
    done = wd / ".complete"
    if not done.exists():
        _run_snakemake(wd, cfg, "monte_carlo")
        done.write_text("ok\n")
    return cfg, wd


@pytest.fixture(scope="session")
def tiny_district():
    """``simulate_district`` on the tiny scale with the pipeline tests' seed (read-only)."""
    from credit_recovery import simulate_district

    return simulate_district(TINY["simulation"])
