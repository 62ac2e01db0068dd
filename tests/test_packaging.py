"""Layout promises: dependencies in step, config schema complete, public API importable."""
import re
import tomllib
from pathlib import Path

import jsonschema
import pytest
import yaml

import credit_recovery

REPO = Path(__file__).resolve().parents[1]
CONDA_NAMES = {"python-duckdb": "duckdb"}


def _name_spec(req: str) -> tuple[str, str]:
    m = re.match(r"^\s*([A-Za-z0-9_.\-]+)\s*(.*)$", req)
    return m.group(1).lower().replace("_", "-"), m.group(2).replace(" ", "")


def test_environment_yml_lists_the_same_dependencies_as_pyproject():
    py = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    wanted = dict(_name_spec(r) for r in py["dependencies"] + py["optional-dependencies"]["test"])
    env = yaml.safe_load((REPO / "environment.yml").read_text())
    have = {}
    for dep in env["dependencies"]:
        if not isinstance(dep, str):
            continue  # the pip section installs the package itself
        name, spec = _name_spec(dep)
        if name not in ("python", "pip"):
            have[CONDA_NAMES.get(name, name)] = spec
    assert have == wanted


def _walk(schema, path="config"):
    yield path, schema
    for key, sub in schema.get("properties", {}).items():
        yield from _walk(sub, f"{path}.{key}")


def test_every_config_key_has_description_default_and_no_extras():
    schema = yaml.safe_load((REPO / "src/credit_recovery/shared/config.schema.yaml").read_text())
    for path, node in _walk(schema):
        assert "description" in node, f"{path} has no description"
        assert "default" in node, f"{path} has no default"
        if node.get("type") == "object":
            assert node.get("additionalProperties") is False, f"{path} allows unknown keys"


def test_default_config_validates_and_equals_schema_defaults():
    schema = yaml.safe_load((REPO / "src/credit_recovery/shared/config.schema.yaml").read_text())
    config = yaml.safe_load((REPO / "config.yaml").read_text())
    jsonschema.validate(config, schema)
    for path, node in _walk(schema):
        if path == "config" or node.get("type") == "object":
            continue
        value = config
        for part in path.split(".")[1:]:
            value = value.get(part, {}) if isinstance(value, dict) else None
        if value == {}:
            continue  # not set in config.yaml: the schema default applies
        assert value == node["default"], f"{path}: config.yaml has {value!r}, schema default {node['default']!r}"


@pytest.mark.parametrize("name", credit_recovery.__all__)
def test_public_names_import_from_the_top(name):
    assert getattr(credit_recovery, name) is not None


def test_snakefile_only_wires():
    text = (REPO / "Snakefile").read_text()
    assert "configfile:" in text and "include:" in text and "rule all" in text
    assert text.count("rule ") == 1
    for rule_file in (REPO / "workflow/rules").glob("*.smk"):
        body = rule_file.read_text()
        assert "lambda" not in body, rule_file
        for block in re.split(r"\n *rule ", body)[1:]:  # rules in an ``if`` block are indented
            assert "    log:" in block, f"a rule in {rule_file.name} has no log"
            # package code changes rerun every rule that runs a script (Snakemake tracks only the script)
            if "script:" in block and not block.startswith("code_stamp"):
                assert "    code=PACKAGE_STAMP," in block, f"rule {block.split(':')[0]} lacks the code stamp"
