"""Settings of the synthetic district: size presets, defaults and their check.

The defaults are the ``simulation`` section's defaults in the config schema
(:func:`credit_recovery.shared.config.defaults`); :func:`resolve_settings`
merges a config section over them, nested sections key by key (``attrition:
{base: 0.1}`` keeps ``online_extra``'s default), rejects unknown keys at any
depth and checks the result against the section's schema.
"""
from __future__ import annotations

import copy
from typing import Any, Mapping

import jsonschema

from credit_recovery.shared.config import defaults, section_schema

__all__ = ["SCALES", "DEFAULTS", "SESSION_KEYS", "ENGAGEMENT_DEFAULTS", "resolve_settings"]

#: Size presets. ``cohort_size`` is the number of entering grade-9 students per
#: school per year; ``events_per_session`` is the mean number of platform
#: events in a session.
SCALES: dict[str, dict[str, float]] = {
    "tiny": {"n_schools": 4, "cohort_size": 30, "events_per_session": 6},
    "small": {"n_schools": 6, "cohort_size": 80, "events_per_session": 10},
    "medium": {"n_schools": 10, "cohort_size": 50, "events_per_session": 8},
    "default": {"n_schools": 10, "cohort_size": 150, "events_per_session": 12},
    "paper": {"n_schools": 18, "cohort_size": 300, "events_per_session": 14},
    # the randomized experiment (simulation.experiment): large grade-9 cohorts, few events per session
    "experiment_small": {"n_schools": 6, "cohort_size": 200, "events_per_session": 6},
    "experiment": {"n_schools": 17, "cohort_size": 365, "events_per_session": 6},
}

#: Default simulation settings: the ``simulation`` section's defaults in the config schema.
DEFAULTS: dict[str, Any] = defaults("simulation")

#: Engagement definitions the generator shares with the sessionization stage (their schema defaults).
SESSION_KEYS = ("session_gap_minutes", "idle_threshold_minutes", "timezone")
ENGAGEMENT_DEFAULTS: dict[str, Any] = {k: v for k, v in defaults("engagement").items() if k in SESSION_KEYS}


def resolve_settings(config: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """Merge a ``simulation`` config section over :data:`DEFAULTS` and check it.

    Nested sections (``effects``, ``attrition``, ``effect_heterogeneity.<estimand>``, ...) are merged
    key by key; an unknown key at any depth is an error naming the allowed ones, and the merged
    settings must satisfy the schema (types, ranges).
    """
    settings = copy.deepcopy(DEFAULTS)
    _merge(settings, config or {}, "")
    if settings["scale"] not in SCALES:
        raise ValueError(f"simulation.scale must be one of {sorted(SCALES)}, got {settings['scale']!r}")
    if int(settings["n_years"]) < 3:
        raise ValueError("simulation.n_years must be at least 3")
    try:
        jsonschema.validate(settings, section_schema("simulation"))
    except jsonschema.ValidationError as err:
        where = ".".join(str(p) for p in err.absolute_path)
        raise ValueError(f"invalid simulation setting {where!r}: {err.message}") from None
    return settings


def _merge(target: dict[str, Any], update: Mapping[str, Any], prefix: str) -> None:
    """Merge ``update`` into ``target`` in place: dicts key by key, other values replaced."""
    for key, value in update.items():
        if key not in target:
            what = "effect(s)" if prefix == "effects." else "setting"
            raise ValueError(f"unknown simulation {what} {prefix + key!r}; allowed: {sorted(target)}")
        if isinstance(target[key], dict) and isinstance(value, Mapping):
            _merge(target[key], value, f"{prefix}{key}.")
        else:
            target[key] = copy.deepcopy(value)
