"""The ``engagement`` config section: its defaults, the one place its values are checked, and the
validated session and school-day definitions (:class:`EngagementConfig`).

Every default of the engagement stage (session gap, idle threshold, time zone, school day, pass
mark, typology method, numbers of groups, seed...) is the config schema's
(``credit_recovery/shared/config.schema.yaml``, via :func:`credit_recovery.shared.config.defaults`);
the session, feature and typology functions take their keyword defaults from
:data:`OPTION_DEFAULTS`, so no default is written twice.
"""
from __future__ import annotations

import datetime as _dt
import re
import zoneinfo
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any, Mapping

import numpy as np
import pandas as pd

from credit_recovery.shared.config import allowed_values, defaults, resolve_options

__all__ = ["OPTION_DEFAULTS", "TYPOLOGY_METHODS", "SCHOOL_WEEKDAYS", "US_PER_MINUTE",
           "resolve_engagement_options", "EngagementConfig"]

#: The ``engagement`` section's defaults from the config schema (read-only).
OPTION_DEFAULTS: Mapping[str, Any] = MappingProxyType(defaults("engagement"))
#: Allowed ``engagement.typology_method`` values, from the config schema.
TYPOLOGY_METHODS: tuple[str, ...] = allowed_values("engagement")["typology_method"]
#: School weekdays unless given (0 = Monday ... 4 = Friday; not a config setting).
SCHOOL_WEEKDAYS: tuple[int, ...] = (0, 1, 2, 3, 4)
#: Microseconds per minute (session times are computed in integer microseconds).
US_PER_MINUTE = 60_000_000
_HHMM = re.compile(r"^([01]\d|2[0-3]):([0-5]\d)$")


def resolve_engagement_options(options: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """Merge an ``engagement`` config section over the schema's defaults and validate it.

    Raises
    ------
    ValueError
        Unknown key or a value outside its allowed set (the message lists the allowed values).
    """
    out = resolve_options("engagement", options)
    k_min, k_max = int(out["typology_k_min"]), int(out["typology_k_max"])
    if not 1 <= k_min <= k_max:
        raise ValueError(f"engagement.typology_k_min ({k_min}) must be >= 1 and <= typology_k_max ({k_max})")
    n = out["typology_n_types"]
    if n is not None and not k_min <= int(n) <= k_max:
        raise ValueError(f"engagement.typology_n_types={n!r} must be null or between typology_k_min and "
                         f"typology_k_max ({k_min}-{k_max})")
    if int(out["min_group_size"]) < 2 or int(out["idle_bins"]) < 1:
        raise ValueError("engagement.min_group_size must be >= 2 and engagement.idle_bins >= 1")
    return out


def _parse_hhmm(name: str, value: str) -> _dt.time:
    m = _HHMM.match(str(value))
    if not m:
        raise ValueError(f"{name}={value!r} must be a 24-hour time 'HH:MM', e.g. '07:30'")
    return _dt.time(int(m.group(1)), int(m.group(2)))


def _holiday_dates(holidays: Any) -> tuple[_dt.date, ...]:
    if holidays is None:
        return ()
    if isinstance(holidays, pd.DataFrame):
        if "date" not in holidays.columns:
            raise ValueError("holidays DataFrame must have a 'date' column (the calendar table)")
        values = holidays["date"]
    else:
        values = holidays
    out = set()
    for v in pd.to_datetime(pd.Series(list(values)), errors="raise"):
        out.add(v.date())
    return tuple(sorted(out))


@dataclass(frozen=True)
class EngagementConfig:
    """Validated parameters of the session and school-day definitions.

    Every string option is checked here, in one place; see :func:`credit_recovery.sessionize`
    for the meaning of each field. The defaults are the config schema's
    ``engagement`` defaults (weekdays: :data:`SCHOOL_WEEKDAYS`).
    """

    session_gap_minutes: float = OPTION_DEFAULTS["session_gap_minutes"]
    idle_threshold_minutes: float = OPTION_DEFAULTS["idle_threshold_minutes"]
    timezone: str = OPTION_DEFAULTS["timezone"]
    school_day_start: str = OPTION_DEFAULTS["school_day_start"]
    school_day_end: str = OPTION_DEFAULTS["school_day_end"]
    weekdays: tuple[int, ...] = SCHOOL_WEEKDAYS
    holidays: tuple[_dt.date, ...] = ()
    pass_mark: float = OPTION_DEFAULTS["pass_mark"]

    def __post_init__(self) -> None:
        gap = float(self.session_gap_minutes)
        if not (0 < gap < 23 * 60):
            raise ValueError(
                f"session_gap_minutes={self.session_gap_minutes!r} must be > 0 and < 1380 (23 hours)"
            )
        idle = float(self.idle_threshold_minutes)
        if not (0 <= idle <= gap):
            raise ValueError(
                f"idle_threshold_minutes={self.idle_threshold_minutes!r} must be between 0 and "
                f"session_gap_minutes ({gap})"
            )
        try:
            zoneinfo.ZoneInfo(str(self.timezone))
        except (zoneinfo.ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f"timezone={self.timezone!r} is not an IANA time zone name, e.g. 'America/Chicago'") from exc
        start = _parse_hhmm("school_day_start", self.school_day_start)
        end = _parse_hhmm("school_day_end", self.school_day_end)
        if not start < end:
            raise ValueError(f"school_day_start ({self.school_day_start}) must be before school_day_end ({self.school_day_end})")
        wd = tuple(sorted({int(d) for d in self.weekdays}))
        if not wd or any(d < 0 or d > 6 for d in wd):
            raise ValueError(f"weekdays={self.weekdays!r} must be a non-empty set of integers 0 (Monday) to 6 (Sunday)")
        object.__setattr__(self, "weekdays", wd)
        object.__setattr__(self, "holidays", _holiday_dates(self.holidays))
        if not np.isfinite(float(self.pass_mark)):
            raise ValueError(f"pass_mark={self.pass_mark!r} must be a finite number")

    @classmethod
    def from_options(cls, options: Mapping[str, Any], holidays: Any = None) -> EngagementConfig:
        """The session definitions of a resolved ``engagement`` config section, with a holiday list."""
        days = tuple(sorted({pd.Timestamp(d).date() for d in (holidays if holidays is not None else [])}))
        return cls(session_gap_minutes=options["session_gap_minutes"],
                   idle_threshold_minutes=options["idle_threshold_minutes"],
                   timezone=options["timezone"], school_day_start=options["school_day_start"],
                   school_day_end=options["school_day_end"], pass_mark=options["pass_mark"],
                   holidays=days)

    @property
    def gap_us(self) -> int:
        """The session gap in integer microseconds."""
        return int(round(float(self.session_gap_minutes) * US_PER_MINUTE))

    @property
    def idle_us(self) -> int:
        """The idle threshold in integer microseconds."""
        return int(round(float(self.idle_threshold_minutes) * US_PER_MINUTE))

    @property
    def day_start(self) -> _dt.time:
        """Local start of the school day (inclusive)."""
        return _parse_hhmm("school_day_start", self.school_day_start)

    @property
    def day_end(self) -> _dt.time:
        """Local end of the school day (exclusive)."""
        return _parse_hhmm("school_day_end", self.school_day_end)
