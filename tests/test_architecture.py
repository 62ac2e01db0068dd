"""The package's layers (docs/architecture.md): imports point only down, never sideways or up."""
from __future__ import annotations

import ast
from pathlib import Path

import pytest

PKG = Path(__file__).resolve().parents[1] / "src" / "credit_recovery"

#: Subpackages by layer, lowest first. A module may import its own subpackage and lower layers only.
LAYERS: list[tuple[str, ...]] = [
    ("shared",),
    ("data", "disclosure"),
    ("synthetic", "design", "estimation"),
    ("specs",),
    ("engagement",),
    ("truth",),
    ("reporting",),
]
LAYER_OF = {name: i for i, names in enumerate(LAYERS) for name in names}


def _modules() -> list[Path]:
    return sorted(p for p in PKG.rglob("*.py") if p.parent != PKG)


def _package_imports(path: Path) -> list[tuple[int, str, list[str]]]:
    """(line, imported credit_recovery module, names) of every import in ``path``, at any depth."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom):
            if node.level:
                raise AssertionError(f"{path.relative_to(PKG)}:{node.lineno}: relative import; write credit_recovery.<...>")
            if node.module and node.module.split(".")[0] == "credit_recovery":
                found.append((node.lineno, node.module, [a.name for a in node.names]))
        elif isinstance(node, ast.Import):
            found += [(node.lineno, a.name, []) for a in node.names if a.name.split(".")[0] == "credit_recovery"]
    return found


def test_every_subpackage_has_a_layer():
    subpackages = {p.name for p in PKG.iterdir() if p.is_dir() and (p / "__init__.py").exists()}
    assert subpackages == set(LAYER_OF), "add new subpackages to LAYERS and docs/architecture.md"


def test_no_flat_modules_besides_the_public_api():
    assert sorted(p.name for p in PKG.glob("*.py")) == ["__init__.py"]


@pytest.mark.parametrize("path", _modules(), ids=lambda p: p.relative_to(PKG).as_posix())
def test_imports_point_down(path):
    own = path.relative_to(PKG).parts[0]
    bad = []
    for line, module, _ in _package_imports(path):
        parts = module.split(".")
        if len(parts) < 2:
            bad.append(f"line {line}: imports the top-level package; import from the subpackage's module")
            continue
        target = parts[1]
        if target != own and LAYER_OF[target] >= LAYER_OF[own]:
            bad.append(f"line {line}: {own} (layer {LAYER_OF[own]}) imports {module} (layer {LAYER_OF[target]})")
    assert not bad, "\n".join(bad)


def test_the_rule_catches_an_upward_import(tmp_path):
    """The check above is not vacuous: an upward import in a planted module is reported."""
    planted = tmp_path / "shared" / "bad.py"
    planted.parent.mkdir()
    planted.write_text("from credit_recovery.reporting.figures import forest_plot\n")
    (line, module, names), = _package_imports(planted)
    assert LAYER_OF[module.split(".")[1]] > LAYER_OF["shared"]
