"""The ``models`` config section: validated options and the fixed-effects fit settings they imply."""
from __future__ import annotations

from typing import Any, Mapping

from credit_recovery.shared.config import resolve_options

__all__ = ["resolve_model_options", "fe_options"]


def resolve_model_options(options: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """Merge a ``models`` config section over the schema's defaults and validate it (the one place).

    Raises
    ------
    ValueError
        Unknown key or a value outside the allowed set (the message lists the allowed values).
    """
    out = resolve_options("models", options)
    if not 0 <= float(out["ipw_trim"]) < 0.5:
        raise ValueError(f"models.ipw_trim must be in [0, 0.5); got {out['ipw_trim']!r}")
    return out


def fe_options(opt: Mapping[str, Any]) -> dict[str, Any]:
    """Keyword arguments of :func:`credit_recovery.fit_fixed_effects` set by resolved ``models`` options:
    ``cov_type``, ``bootstrap_reps``, ``bootstrap_weights``, ``seed`` (the cluster column is passed apart)."""
    return {"cov_type": opt["cov_type"], "bootstrap_reps": int(opt["bootstrap_reps"]),
            "bootstrap_weights": opt["bootstrap_weights"], "seed": int(opt["seed"])}
