"""Provenance manifest of a pipeline run.

Unlike the statistical modules, this module reads files: it hashes the inputs
and the published outputs and asks git for the commit. It never writes; the
pipeline writes :func:`manifest_json` of the manifest.

A rerun with the same code, config and inputs gives the same manifest apart
from ``started``, ``ended`` and ``duration_seconds``.
"""
from __future__ import annotations

import datetime as _dt
import hashlib
import json
import math
import platform
import subprocess
from importlib import metadata
from pathlib import Path, PurePath
from typing import Any, Mapping

import numpy as np

__all__ = [
    "MANIFEST_VERSION",
    "PACKAGES",
    "build_manifest",
    "canonical_json",
    "config_sha256",
    "file_sha256",
    "git_state",
    "manifest_json",
    "package_sources",
    "package_sources_text",
    "package_versions",
]

MANIFEST_VERSION = 1
#: Distributions whose versions are recorded.
PACKAGES: tuple[str, ...] = (
    "credit_recovery",
    "duckdb",
    "linearmodels",
    "matplotlib",
    "numpy",
    "pandas",
    "pyarrow",
    "scipy",
    "snakemake",
    "statsmodels",
)
_CHUNK = 1 << 20


def _canonical(obj: Any) -> Any:
    """Convert to plain JSON types with string keys (sorted on dumping)."""
    if isinstance(obj, Mapping):
        out = {}
        for k, v in obj.items():
            key = str(k) if not isinstance(k, PurePath) else k.as_posix()
            if key in out:
                raise ValueError(f"two keys map to {key!r} in canonical JSON")
            out[key] = _canonical(v)
        return out
    if isinstance(obj, (list, tuple)):
        return [_canonical(v) for v in obj]
    if isinstance(obj, (set, frozenset)):
        return sorted((_canonical(v) for v in obj), key=lambda v: json.dumps(v, sort_keys=True))
    if isinstance(obj, PurePath):
        return obj.as_posix()
    if isinstance(obj, (_dt.datetime, _dt.date, _dt.time)):
        return obj.isoformat()
    if isinstance(obj, np.generic):
        return _canonical(obj.item())
    if isinstance(obj, np.ndarray):
        return _canonical(obj.tolist())
    if isinstance(obj, float):
        if not math.isfinite(obj):
            raise ValueError(f"non-finite number {obj!r} cannot be written to canonical JSON")
        return obj
    if obj is None or isinstance(obj, (bool, int, str)):
        return obj
    raise TypeError(f"cannot put {type(obj).__name__} into canonical JSON: {obj!r}")


def canonical_json(obj: Any) -> str:
    """Canonical JSON text: sorted keys, no whitespace, UTF-8 characters kept.

    Notes
    -----
    Mappings become objects with string keys, tuples lists, sets sorted lists,
    paths POSIX strings, dates ISO 8601, numpy scalars Python numbers;
    NaN and infinity are refused.
    """
    return json.dumps(_canonical(obj), sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False)


def config_sha256(config: Mapping[str, Any]) -> str:
    """SHA-256 (hex) of the UTF-8 bytes of :func:`canonical_json` of ``config``.

    Key order does not matter; any value change does.
    """
    return hashlib.sha256(canonical_json(config).encode("utf-8")).hexdigest()


def file_sha256(path: str | Path) -> str:
    """SHA-256 (hex) of a file's bytes, read in 1 MiB chunks.

    A directory is hashed as the SHA-256 of the lines ``<sha256>  <relative
    path>`` of its files, sorted by path.
    """
    p = Path(path)
    if p.is_dir():
        lines = "".join(f"{file_sha256(f)}  {f.relative_to(p).as_posix()}\n"
                        for f in sorted(x for x in p.rglob("*") if x.is_file()))
        return hashlib.sha256(lines.encode("utf-8")).hexdigest()
    h = hashlib.sha256()
    with p.open("rb") as fh:
        for chunk in iter(lambda: fh.read(_CHUNK), b""):
            h.update(chunk)
    return h.hexdigest()


def package_sources() -> list[tuple[str, str]]:
    """``(path, sha256)`` of every ``.py`` file of the imported ``credit_recovery`` package.

    Paths are relative to the package folder, in POSIX form, sorted. The
    workflow names its code stamp after :func:`package_sources_text`'s hash,
    so that a change to the package reruns every rule that uses it.
    """
    root = Path(__file__).resolve().parents[1]  # the credit_recovery package folder
    return [(p.relative_to(root).as_posix(), file_sha256(p)) for p in sorted(root.rglob("*.py"))]


def package_sources_text() -> str:
    """:func:`package_sources` as ``<sha256>  <path>`` lines (the code stamp's content)."""
    return "".join(f"{h}  {p}\n" for p, h in package_sources())


def _size(p: Path) -> int:
    if p.is_dir():
        return sum(f.stat().st_size for f in p.rglob("*") if f.is_file())
    return p.stat().st_size


def _git(repo_dir: Path, *args: str) -> str | None:
    try:
        r = subprocess.run(["git", "-C", str(repo_dir), *args], capture_output=True, text=True, timeout=30,
                           check=False)
    except (OSError, subprocess.SubprocessError):
        return None
    return r.stdout if r.returncode == 0 else None


def git_state(repo_dir: str | Path) -> dict[str, Any]:
    """Git commit of ``repo_dir`` and whether tracked files differ from it.

    Returns
    -------
    dict
        ``{"available": bool, "commit": str | None, "dirty": bool | None}``;
        ``available`` is false (and the others ``None``) when git is not
        installed or ``repo_dir`` is not inside a repository. Untracked files
        (such as pipeline outputs) do not make the tree dirty.
    """
    repo = Path(repo_dir)
    commit = _git(repo, "rev-parse", "--verify", "HEAD")
    if commit is None:
        return {"available": False, "commit": None, "dirty": None}
    status = _git(repo, "status", "--porcelain", "--untracked-files=no")
    return {"available": True, "commit": commit.strip(), "dirty": None if status is None else bool(status.strip())}


def package_versions(packages: tuple[str, ...] = PACKAGES) -> dict[str, str | None]:
    """Installed versions of ``packages`` and of Python (``None`` if not installed)."""
    out: dict[str, str | None] = {"python": platform.python_version()}
    for name in packages:
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            out[name] = None
    return dict(sorted(out.items()))


def _platform() -> dict[str, str]:
    return {
        "machine": platform.machine(),
        "python_implementation": platform.python_implementation(),
        "release": platform.release(),
        "system": platform.system(),
    }


def _time(t: Any) -> str | None:
    if t is None:
        return None
    if isinstance(t, (_dt.datetime, _dt.date)):
        return t.isoformat()
    if isinstance(t, (int, float)) and not isinstance(t, bool):
        return _dt.datetime.fromtimestamp(t, tz=_dt.timezone.utc).isoformat()
    return str(t)


def _sort(obj: Any) -> Any:
    if isinstance(obj, dict):
        return {k: _sort(obj[k]) for k in sorted(obj)}
    if isinstance(obj, list):
        return [_sort(v) for v in obj]
    return obj


def build_manifest(
    *,
    config: Mapping[str, Any],
    input_files: Mapping[str, str | Path],
    outputs: Mapping[str | Path, str],
    seeds: Any,
    started: _dt.datetime | str | float | None,
    ended: _dt.datetime | str | float | None,
    repo_dir: str | Path,
) -> dict[str, Any]:
    """Provenance manifest of one pipeline run.

    Parameters
    ----------
    config : mapping
        The resolved configuration (after defaults and overrides).
    input_files : mapping of name to path
        Input tables, e.g. ``{"students": "data/students.csv"}``.
    outputs : mapping of path to rule name
        Every published file and the Snakemake rule that made it.
    seeds : int, list or mapping
        Random seeds used (recorded as given).
    started, ended : datetime, ISO string or POSIX timestamp
        Start and end of the run.
    repo_dir : str or Path
        Where to ask git for the commit.

    Returns
    -------
    dict
        Keys (sorted at every level): ``manifest_version``, ``git``
        (``available``, ``commit``, ``dirty``), ``config``, ``config_sha256``,
        ``inputs`` (name -> ``path``, ``sha256``, ``bytes``), ``outputs``
        (path -> ``rule``, ``sha256``, ``bytes``), ``packages``, ``platform``,
        ``seeds``, ``started``, ``ended``, ``duration_seconds``.

    Raises
    ------
    FileNotFoundError
        If an input or output file does not exist.

    Notes
    -----
    ``config_sha256 = SHA256(canonical_json(config))`` with sorted keys (see
    :func:`canonical_json`); file hashes are SHA-256 of the bytes
    (:func:`file_sha256`). Paths are recorded as given, in POSIX form.
    """
    if not isinstance(config, Mapping):
        raise TypeError("config must be a mapping")
    resolved = _canonical(config)
    inputs: dict[str, Any] = {}
    for name, path in input_files.items():
        p = Path(path)
        if not p.exists():
            raise FileNotFoundError(f"input {name!r} not found: {p}")
        inputs[str(name)] = {"path": p.as_posix(), "sha256": file_sha256(p), "bytes": _size(p)}
    outs: dict[str, Any] = {}
    for path, rule in outputs.items():
        p = Path(path)
        if not p.exists():
            raise FileNotFoundError(f"output made by rule {rule!r} not found: {p}")
        outs[p.as_posix()] = {"rule": str(rule), "sha256": file_sha256(p), "bytes": _size(p)}
    duration = None
    if isinstance(started, _dt.datetime) and isinstance(ended, _dt.datetime):
        try:
            duration = round((ended - started).total_seconds(), 3)
        except TypeError:  # naive vs aware
            duration = None
    manifest = {
        "manifest_version": MANIFEST_VERSION,
        "git": git_state(repo_dir),
        "config": resolved,
        "config_sha256": config_sha256(config),
        "inputs": inputs,
        "outputs": outs,
        "packages": package_versions(),
        "platform": _platform(),
        "seeds": _canonical(seeds),
        "started": _time(started),
        "ended": _time(ended),
        "duration_seconds": duration,
    }
    return _sort(manifest)


def manifest_json(manifest: Mapping[str, Any]) -> str:
    """The manifest as indented JSON with sorted keys and a final newline."""
    return json.dumps(_canonical(manifest), sort_keys=True, indent=2, ensure_ascii=False, allow_nan=False) + "\n"
