"""The study configuration's one source of defaults: the JSON schema shipped with the package.

``config.schema.yaml`` (beside this module; ``workflow/schemas/config.schema.yaml`` links to it, and
Snakemake validates every run's config against it) gives every key a description, a type, the allowed
values and the default. The option resolvers of the stages take their defaults and allowed values from
here, so no default is written twice.
"""
from __future__ import annotations

import copy
import functools
from importlib import resources
from typing import Any, Mapping, Sequence

import yaml

__all__ = ["schema", "section_schema", "defaults", "allowed_values", "resolve_options", "check_choice"]

SCHEMA_FILE = "config.schema.yaml"


@functools.lru_cache(maxsize=1)
def _schema() -> dict[str, Any]:
    text = resources.files(__package__).joinpath(SCHEMA_FILE).read_text(encoding="utf-8")
    return yaml.safe_load(text)


def schema() -> dict[str, Any]:
    """The whole config schema (a fresh copy)."""
    return copy.deepcopy(_schema())


def section_schema(section: str) -> dict[str, Any]:
    """The schema of one top-level section (``models``, ``engagement``, ...)."""
    try:
        return copy.deepcopy(_schema()["properties"][section])
    except KeyError:
        raise KeyError(f"no config section {section!r}; sections are {sorted(_schema()['properties'])}") from None


def _default(node: Mapping[str, Any]) -> Any:
    if node.get("type") == "object" and "properties" in node:
        out = copy.deepcopy(node.get("default", {}))
        for key, sub in node["properties"].items():
            out.setdefault(key, _default(sub))
        return out
    return copy.deepcopy(node["default"])


def defaults(section: str) -> dict[str, Any]:
    """Defaults of a section, nested sections filled in from their own keys' defaults."""
    return _default(_schema()["properties"][section])


def allowed_values(section: str) -> dict[str, tuple]:
    """``{key: allowed values}`` of the section's keys that the schema enumerates (``enum``)."""
    props = _schema()["properties"][section]["properties"]
    return {k: tuple(node["enum"]) for k, node in props.items() if "enum" in node}


def resolve_options(section: str, options: Mapping[str, Any] | None = None, *,
                    base: Mapping[str, Any] | None = None,
                    allowed: Mapping[str, tuple] | None = None) -> dict[str, Any]:
    """Merge ``options`` over a section's defaults and check keys and enumerated values.

    ``base`` (default: the schema's defaults of ``section``) and ``allowed`` (default: the schema's
    enums) are parameters so the rule is testable on its own.

    Raises
    ------
    ValueError
        Unknown key, or a value outside its allowed set; the message names the
        ``section`` and lists the allowed keys or values.
    """
    out = dict(defaults(section) if base is None else base)
    allowed = allowed_values(section) if allowed is None else allowed
    for k, v in (options or {}).items():
        if k not in out:
            raise ValueError(f"unknown {section} option {k!r}; allowed options are {sorted(out)}")
        out[k] = v
    for k, values in allowed.items():
        if out[k] not in values:
            raise ValueError(f"{section}.{k}={out[k]!r} is not allowed; allowed values are {list(values)}")
    return out


def check_choice(name: str, value: Any, allowed: Sequence[Any]) -> Any:
    """``value`` if it is one of ``allowed``; else ``ValueError`` naming ``name`` and the allowed values."""
    if value not in allowed:
        raise ValueError(f"{name}={value!r} is not allowed; allowed values are {list(allowed)}")
    return value
