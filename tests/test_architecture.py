"""The package's layers (docs/architecture.md): imports point only down, never sideways or up."""
from __future__ import annotations

import ast
import re
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


def _private_imports(path: Path) -> list[str]:
    return [f"line {line}: {module}.{name}" for line, module, names in _package_imports(path)
            for name in names if name.startswith("_")]


@pytest.mark.parametrize("path", _modules(), ids=lambda p: p.relative_to(PKG).as_posix())
def test_no_module_imports_another_modules_private_names(path):
    assert not _private_imports(path)


MAX_MODULE_LINES = 500
MAX_FUNCTION_LINES = 100


def _function_lengths(path: Path) -> list[tuple[int, str]]:
    """(lines, qualified name) of every function: from its first decorator or ``def`` to its last line,
    docstring included."""
    out = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            start = min([node.lineno] + [d.lineno for d in node.decorator_list])
            out.append((node.end_lineno - start + 1, node.name))
    return out


@pytest.mark.parametrize("path", sorted(PKG.rglob("*.py")), ids=lambda p: p.relative_to(PKG).as_posix())
def test_modules_and_functions_stay_small(path):
    lines = len(path.read_text(encoding="utf-8").splitlines())
    assert lines <= MAX_MODULE_LINES, f"{lines} lines; split the module by meaning"
    long = [f"{name} ({n} lines)" for n, name in _function_lengths(path) if n > MAX_FUNCTION_LINES]
    assert not long, f"functions over {MAX_FUNCTION_LINES} lines: {long}"


def test_the_size_rule_catches_a_long_function(tmp_path):
    planted = tmp_path / "long.py"
    planted.write_text("def f():\n" + "    x = 1\n" * MAX_FUNCTION_LINES)
    assert _function_lengths(planted) == [(MAX_FUNCTION_LINES + 1, "f")]


TESTS = Path(__file__).resolve().parent
BENCH = TESTS.parent / "bench"


def _imported_top_names(path: Path) -> set[str]:
    names = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.module and not node.level:
            names.add(node.module.split(".")[0])
        elif isinstance(node, ast.Import):
            names |= {a.name.split(".")[0] for a in node.names}
        elif isinstance(node, ast.Constant) and isinstance(node.value, str):
            # code run in a subprocess from a string: "from test_x import ..."
            names |= set(re.findall(r"^\s*(?:from|import)\s+(test_\w+|conftest)\b", node.value, flags=re.M))
    return names


def test_no_test_module_imports_another_and_benchmarks_import_only_the_package():
    test_modules = {p.stem for p in TESTS.glob("test_*.py")} | {"conftest", "tests"}
    helpers = {p.stem for p in TESTS.glob("*.py")}  # helper modules of the tests, not test modules
    bad = [f"{p.name} imports {sorted(_imported_top_names(p) & test_modules)}"
           for p in sorted(TESTS.glob("*.py")) if _imported_top_names(p) & test_modules]
    bad += [f"bench/{p.name} imports {sorted(_imported_top_names(p) & (helpers | {'tests'}))}"
            for p in sorted(BENCH.glob("*.py")) if _imported_top_names(p) & (helpers | {"tests"})]
    assert not bad, "\n".join(bad)


@pytest.mark.parametrize("path", _modules(), ids=lambda p: p.relative_to(PKG).as_posix())
def test_imports_sit_at_the_top_of_the_module(path):
    inside = [f"line {n.lineno}" for fn in ast.walk(ast.parse(path.read_text(encoding="utf-8")))
              if isinstance(fn, (ast.FunctionDef, ast.AsyncFunctionDef))
              for n in ast.walk(fn) if isinstance(n, (ast.Import, ast.ImportFrom))]
    assert not inside, f"imports inside functions: {inside}"


WORKFLOW = TESTS.parent / "workflow"


def test_rule_lists_name_rules_that_exist_and_scripts_are_named_after_their_rule():
    rules = {}
    for smk in sorted((WORKFLOW / "rules").glob("*.smk")):
        text = smk.read_text(encoding="utf-8")
        # rules may sit in an ``if`` block (a state study's rules and the single-district rules they replace)
        for m in re.finditer(r"^ *(?:rule|checkpoint) (\w+):(.*?)(?=^ *(?:rule|checkpoint) |^if |\Z)", text,
                             flags=re.M | re.S):
            script = re.search(r'script:\s*"\.\./scripts/(\w+)\.py"', m.group(2))
            rules[m.group(1)] = script.group(1) if script else None
    common = (WORKFLOW / "rules" / "common.smk").read_text(encoding="utf-8")
    for name in ("ON_DEMAND_RULES", "REPORT_RULES"):
        listed = re.findall(r'"(\w+)"', re.search(rf"^{name} = \[(.*?)\]", common, flags=re.M).group(1))
        assert set(listed) <= set(rules), f"{name} names rules that do not exist: {set(listed) - set(rules)}"
    # one script per rule, named after it (brief and appendix share the notebook renderer; a state study's
    # per-district rules run the single-district scripts on one district's folders)
    shared = {"brief": "render_notebook", "appendix": "render_notebook", "district_check_inputs": "check_inputs",
              "district_engagement_years": "engagement_years", "district_sessions": "sessions",
              "district_engagement_features": "engagement_features"}
    wrong = {r: s for r, s in rules.items() if s is not None and s != shared.get(r, r)}
    assert not wrong, f"scripts not named after their rule: {wrong}"
    unused = {p.stem for p in (WORKFLOW / "scripts").glob("*.py")} - set(rules.values())
    assert not unused, f"scripts no rule runs: {unused}"
