import datetime as dt
import hashlib
import json
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from credit_recovery import build_manifest
from credit_recovery.disclosure.provenance import (
    PACKAGES,
    canonical_json,
    config_sha256,
    file_sha256,
    git_state,
    manifest_json,
)

CONFIG = {
    "seed": 20240501,
    "privacy": {"min_cell_size": 10},
    "matching": {"caliper": 0.2, "ratio": 1, "covariates": ["gpa", "absences"]},
    "data": {"source": "synthetic", "path": Path("data/raw")},
}
T0 = dt.datetime(2024, 5, 1, 9, 0, 0, tzinfo=dt.timezone.utc)


def _reorder(obj, rng):
    if isinstance(obj, dict):
        keys = list(obj)
        rng.shuffle(keys)
        return {k: _reorder(obj[k], rng) for k in keys}
    return obj


def test_config_hash_ignores_key_order():
    h = config_sha256(CONFIG)
    rng = np.random.default_rng(0)
    for _ in range(5):
        shuffled = _reorder(CONFIG, rng)
        assert config_sha256(shuffled) == h
    assert h == hashlib.sha256(canonical_json(CONFIG).encode()).hexdigest()
    assert canonical_json({"b": 1, "a": {"d": [1, 2], "c": "é"}}) == '{"a":{"c":"é","d":[1,2]},"b":1}'


@settings(max_examples=40, deadline=None)
@given(cfg=st.dictionaries(st.text(min_size=1, max_size=5),
                           st.one_of(st.integers(), st.text(max_size=5), st.booleans(),
                                     st.floats(allow_nan=False, allow_infinity=False),
                                     st.dictionaries(st.text(min_size=1, max_size=3), st.integers(), max_size=3)),
                           min_size=1, max_size=6),
       seed=st.integers(0, 2**31))
def test_config_hash_property(cfg, seed):
    h = config_sha256(cfg)
    assert config_sha256(_reorder(cfg, np.random.default_rng(seed))) == h
    key = sorted(cfg)[0]
    changed = dict(cfg)
    changed[key] = [cfg[key]]  # any change of a value changes the hash
    assert config_sha256(changed) != h


def test_config_hash_changes_with_any_value():
    h = config_sha256(CONFIG)
    for path, value in [(("seed",), 20240502), (("privacy", "min_cell_size"), 11),
                        (("matching", "caliper"), 0.25), (("matching", "ratio"), 1.0),
                        (("matching", "covariates"), ["absences", "gpa"])]:
        cfg = json.loads(canonical_json(CONFIG))
        target = cfg
        for k in path[:-1]:
            target = target[k]
        target[path[-1]] = value
        assert config_sha256(cfg) != h, path


def test_canonical_json_refuses_nan_and_unknown_types():
    with pytest.raises(ValueError, match="non-finite"):
        canonical_json({"a": float("nan")})
    with pytest.raises(TypeError, match="object"):
        canonical_json({"a": object()})
    assert canonical_json({"a": np.int64(3), "b": (1, 2), "c": {3, 1}}) == '{"a":3,"b":[1,2],"c":[1,3]}'


def test_file_hashes_equal_hashlib(tmp_path):
    rng = np.random.default_rng(1)
    big = rng.bytes(3 * (1 << 20) + 17)  # crosses the chunk boundary
    for name, data in [("empty.bin", b""), ("small.csv", b"a,b\n1,2\n"), ("big.bin", big)]:
        p = tmp_path / name
        p.write_bytes(data)
        assert file_sha256(p) == hashlib.sha256(data).hexdigest()
    d = tmp_path / "dir"
    (d / "sub").mkdir(parents=True)
    (d / "sub" / "x.txt").write_bytes(b"x")
    (d / "a.txt").write_bytes(b"a")
    expected = "".join(f"{hashlib.sha256(c).hexdigest()}  {n}\n" for n, c in [("a.txt", b"a"), ("sub/x.txt", b"x")])
    assert file_sha256(d) == hashlib.sha256(expected.encode()).hexdigest()


def _files(tmp_path):
    (tmp_path / "in").mkdir()
    (tmp_path / "out").mkdir()
    (tmp_path / "in" / "students.csv").write_text("student_id\nS1\n")
    (tmp_path / "in" / "mentors.csv").write_text("mentor_id\nM1\n")
    (tmp_path / "out" / "table.csv").write_text("n\n<10\n")
    (tmp_path / "out" / "fig.svg").write_text("<svg/>")
    inputs = {"students": tmp_path / "in" / "students.csv", "mentors": tmp_path / "in" / "mentors.csv"}
    outputs = {tmp_path / "out" / "table.csv": "tables", str(tmp_path / "out" / "fig.svg"): "figures"}
    return inputs, outputs


def test_manifest_contents_and_determinism(tmp_path):
    inputs, outputs = _files(tmp_path)
    kw = dict(config=CONFIG, input_files=inputs, outputs=outputs, seeds={"simulate": 1, "bootstrap": 2},
              repo_dir=tmp_path)
    m1 = build_manifest(started=T0, ended=T0 + dt.timedelta(seconds=90), **kw)
    m2 = build_manifest(started=T0 + dt.timedelta(days=1), ended=T0 + dt.timedelta(days=1, seconds=5),
                        **dict(kw, config=_reorder(CONFIG, np.random.default_rng(5))))
    times = ("started", "ended", "duration_seconds")
    assert {k: v for k, v in m1.items() if k not in times} == {k: v for k, v in m2.items() if k not in times}
    assert manifest_json({k: v for k, v in m1.items() if k not in times}) == \
        manifest_json({k: v for k, v in m2.items() if k not in times})
    assert list(m1) == sorted(m1)
    assert m1["config_sha256"] == config_sha256(CONFIG)
    assert m1["config"]["data"]["path"] == "data/raw"
    assert m1["inputs"]["students"]["sha256"] == hashlib.sha256(b"student_id\nS1\n").hexdigest()
    assert m1["inputs"]["students"]["bytes"] == len(b"student_id\nS1\n")
    table = (tmp_path / "out" / "table.csv").as_posix()
    assert m1["outputs"][table] == {"bytes": 6, "rule": "tables", "sha256": hashlib.sha256(b"n\n<10\n").hexdigest()}
    assert set(m1["packages"]) == set(PACKAGES) | {"python"}
    assert m1["packages"]["numpy"] == np.__version__
    assert m1["seeds"] == {"bootstrap": 2, "simulate": 1}
    assert m1["started"] == "2024-05-01T09:00:00+00:00" and m1["duration_seconds"] == 90.0
    assert {"system", "machine"} <= set(m1["platform"])
    json.loads(manifest_json(m1))
    # a changed output changes its hash
    (tmp_path / "out" / "table.csv").write_text("n\n12\n")
    m3 = build_manifest(started=T0, ended=T0, **kw)
    assert m3["outputs"][table]["sha256"] != m1["outputs"][table]["sha256"]


def test_manifest_missing_files(tmp_path):
    inputs, outputs = _files(tmp_path)
    kw = dict(config=CONFIG, seeds=1, started=T0, ended=T0, repo_dir=tmp_path)
    with pytest.raises(FileNotFoundError, match="students"):
        build_manifest(input_files={"students": tmp_path / "nope.csv"}, outputs=outputs, **kw)
    with pytest.raises(FileNotFoundError, match="rule 'tables'"):
        build_manifest(input_files=inputs, outputs={tmp_path / "nope.csv": "tables"}, **kw)


def test_git_state_without_repo(tmp_path):
    assert git_state(tmp_path) == {"available": False, "commit": None, "dirty": None}


@pytest.mark.skipif(shutil.which("git") is None, reason="git not installed")
def test_git_state_commit_and_dirty(tmp_path):
    def git(*args):
        subprocess.run(["git", "-C", str(tmp_path), *args], check=True, capture_output=True,
                       env={"GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@example.org", "GIT_COMMITTER_NAME": "t",
                            "GIT_COMMITTER_EMAIL": "t@example.org", "HOME": str(tmp_path), "PATH": "/usr/bin:/bin"})
    git("init", "-q")
    (tmp_path / "a.txt").write_text("a")
    git("add", "a.txt")
    git("commit", "-q", "-m", "a")
    head = subprocess.run(["git", "-C", str(tmp_path), "rev-parse", "HEAD"], capture_output=True,
                          text=True, check=True).stdout.strip()
    assert git_state(tmp_path) == {"available": True, "commit": head, "dirty": False}
    (tmp_path / "untracked.txt").write_text("u")  # outputs are untracked: still clean
    assert git_state(tmp_path)["dirty"] is False
    (tmp_path / "a.txt").write_text("b")
    assert git_state(tmp_path) == {"available": True, "commit": head, "dirty": True}
