"""Settings of the synthetic district: size presets, defaults and their check.

The defaults are the ``simulation`` section's defaults in the config schema
(:func:`credit_recovery.shared.config.defaults`); :func:`resolve_settings`
merges a config section over them and rejects unknown keys.
"""
from __future__ import annotations

import copy
from typing import Any, Mapping

from credit_recovery.shared.config import defaults

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
}

#: Default simulation settings: the ``simulation`` section's defaults in the config schema.
DEFAULTS: dict[str, Any] = defaults("simulation")

#: Engagement definitions the generator shares with the sessionization stage (their schema defaults).
SESSION_KEYS = ("session_gap_minutes", "idle_threshold_minutes", "timezone")
ENGAGEMENT_DEFAULTS: dict[str, Any] = {k: defaults("engagement")[k] for k in SESSION_KEYS}


def resolve_settings(config: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """Merge a ``simulation`` config section over :data:`DEFAULTS` and check it."""
    settings = copy.deepcopy(DEFAULTS)
    for key, value in (config or {}).items():
        if key == "effects":
            unknown = set(value) - set(DEFAULTS["effects"])
            if unknown:
                raise ValueError(f"unknown simulation effect(s) {sorted(unknown)}; "
                                 f"allowed: {sorted(DEFAULTS['effects'])}")
            settings["effects"].update(value)
        elif key in settings:
            settings[key] = value
        else:
            raise ValueError(f"unknown simulation setting {key!r}; allowed: {sorted(DEFAULTS)}")
    if settings["scale"] not in SCALES:
        raise ValueError(f"simulation.scale must be one of {sorted(SCALES)}, got {settings['scale']!r}")
    if int(settings["n_years"]) < 3:
        raise ValueError("simulation.n_years must be at least 3")
    return settings
