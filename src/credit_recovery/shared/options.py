"""Option checking shared by the stages: one place that merges a config section over its defaults."""
from __future__ import annotations

from typing import Any, Mapping


def resolve_options(section: str, defaults: Mapping[str, Any], allowed: Mapping[str, tuple],
                    options: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """Merge ``options`` over ``defaults`` and check keys and enumerated values.

    Raises
    ------
    ValueError
        Unknown key, or a value outside its allowed set; the message names the
        ``section`` and lists the allowed keys or values.
    """
    out = dict(defaults)
    for k, v in (options or {}).items():
        if k not in defaults:
            raise ValueError(f"unknown {section} option {k!r}; allowed options are {sorted(defaults)}")
        out[k] = v
    for k, values in allowed.items():
        if out[k] not in values:
            raise ValueError(f"{section}.{k}={out[k]!r} is not allowed; allowed values are {list(values)}")
    return out
