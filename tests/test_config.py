import pytest

import yaml

from credit_recovery.shared.config import allowed_values, defaults, resolve_options, schema


def test_merges_over_defaults():
    assert resolve_options("s", {"b": "y"}, base={"a": 1, "b": "x"}, allowed={"b": ("x", "y")}) == {"a": 1, "b": "y"}


def test_unknown_key_lists_allowed_keys():
    with pytest.raises(ValueError, match=r"unknown s option 'c'; allowed options are \['a', 'b'\]"):
        resolve_options("s", {"c": 2}, base={"a": 1, "b": "x"}, allowed={})


def test_bad_value_lists_allowed_values():
    with pytest.raises(ValueError, match=r"s.b='z' is not allowed; allowed values are \['x', 'y'\]"):
        resolve_options("s", {"b": "z"}, base={"a": 1, "b": "x"}, allowed={"b": ("x", "y")})


def test_section_defaults_come_from_the_schema_and_equal_config_yaml():
    from pathlib import Path

    config = yaml.safe_load((Path(__file__).resolve().parents[1] / "config.yaml").read_text())
    for section in schema()["properties"]:
        given = config.get(section, {})
        assert given, f"config.yaml has no {section} section"
        for key, value in given.items():
            assert defaults(section)[key] == value, f"{section}.{key}"
    assert defaults("simulation")["effects"]["ocr_math"] == -0.20
    assert allowed_values("models")["cov_type"] == ("wild", "clustered", "cr2")


def test_the_workflow_validates_against_the_packaged_schema():
    from pathlib import Path

    link = Path(__file__).resolve().parents[1] / "workflow/schemas/config.schema.yaml"
    assert link.resolve().read_text() == (Path(__file__).resolve().parents[1]
                                          / "src/credit_recovery/shared/config.schema.yaml").read_text()
