"""credit_recovery: causal analysis of online credit recovery.

Public functions take pandas DataFrames and return DataFrames or result
objects; none of the statistical functions reads or writes files, so they can
be used from a notebook as well as from the Snakemake pipeline
(``credit_recovery.io`` is the one module that touches paths).

Names are exported lazily: ``from credit_recovery import match`` imports only
the matching module.
"""
from __future__ import annotations

import importlib
from typing import Any

__version__ = "0.1.0"

# public name -> module that defines it (one line per name; keep sorted by module)
_EXPORTS: dict[str, str] = {
    # data contract and estimate schema
    "TABLES": "contract",
    "IDENTIFIER_COLUMNS": "contract",
    "ESTIMATE_COLUMNS": "estimates",
    "estimate_row": "estimates",
    "estimates_frame": "estimates",
    # synthetic district
    "simulate_district": "simulate",
    "SimulationResult": "simulate",
    "truth_from_unit_effects": "simulate",
    # input/output and validation
    "read_extract": "io",
    "write_extract": "io",
    "coerce_tables": "io",
    "validate_tables": "validation",
    "DataValidationError": "validation",
    "ValidationReport": "validation",
    # cohort
    "build_cohort": "cohort",
    "CohortResult": "cohort",
    # propensity scores, matching, balance, matched-sample effects
    "fit_propensity": "propensity",
    "PropensityResult": "propensity",
    "match": "matching",
    "MatchResult": "matching",
    "balance_table": "balance",
    "balance_before_after": "balance",
    "love_plot": "balance",
    "overlap_plot": "balance",
    "estimate_att": "att",
    # fixed-effects models, effect sizes, multiple testing
    "fit_fixed_effects": "fixed_effects",
    "FixedEffectsResult": "fixed_effects",
    "hedges_g": "effect_sizes",
    "improvement_index": "effect_sizes",
    "cox_index": "effect_sizes",
    "baseline_equivalence": "effect_sizes",
    "holm_adjust": "multiple_testing",
    "romano_wolf": "multiple_testing",
    # engagement analytics
    "sessionize": "engagement",
    "engagement_features": "engagement",
    "fit_typology": "typology",
    "TypologyResult": "typology",
    # privacy and provenance
    "scan_public_files": "privacy",
    "suppress_small_cells": "privacy",
    "check_public_folder": "privacy",
    "PrivacyError": "privacy",
    "build_manifest": "provenance",
    "apply_style": "plotting",
    "save_figure": "plotting",
    "plot_flow": "plotting",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'credit_recovery' has no attribute {name!r}")
    value = getattr(importlib.import_module(f"credit_recovery.{module}"), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_EXPORTS))
