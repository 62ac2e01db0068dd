"""credit_recovery: causal analysis of online credit recovery.

Public functions take pandas DataFrames and return DataFrames or result
objects; none of the statistical functions reads or writes files, so they can
be used from a notebook as well as from the Snakemake pipeline
(``credit_recovery.data.extract_io`` is the one module that touches paths).

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
    "TABLES": "data.contract",
    "IDENTIFIER_COLUMNS": "data.contract",
    "ESTIMATE_COLUMNS": "shared.estimate_schema",
    "estimate_row": "shared.estimate_schema",
    "estimates_frame": "shared.estimate_schema",
    # synthetic district
    "simulate_district": "synthetic.generator",
    "SimulationResult": "synthetic.generator",
    "truth_from_unit_effects": "synthetic.planted_truth",
    # input/output and validation
    "read_extract": "data.extract_io",
    "write_extract": "data.extract_io",
    "coerce_tables": "data.extract_io",
    "validate_tables": "data.checks",
    "DataValidationError": "data.failures",
    "ValidationReport": "data.checks",
    # cohort
    "build_cohort": "data.cohort",
    "CohortResult": "data.cohort",
    # propensity scores, matching, balance, matched-sample effects
    "fit_propensity": "design.propensity",
    "PropensityResult": "design.propensity",
    "match": "design.matching",
    "MatchResult": "design.matching",
    "balance_table": "design.balance",
    "balance_before_after": "design.balance",
    "love_plot": "design.plots",
    "overlap_plot": "design.plots",
    "estimate_att": "estimation.att",
    "abadie_imbens_att": "estimation.abadie_imbens",
    "estimate_att_ai": "estimation.abadie_imbens",
    # fixed-effects models, effect sizes, multiple testing
    "fit_fixed_effects": "estimation.fixed_effects",
    "FixedEffectsResult": "estimation.fixed_effects",
    "att_gt": "estimation.staggered",
    "StaggeredResult": "estimation.staggered",
    "hedges_g": "estimation.effect_sizes",
    "improvement_index": "estimation.effect_sizes",
    "cox_index": "estimation.effect_sizes",
    "baseline_equivalence": "estimation.effect_sizes",
    # sensitivity to hidden bias
    "robustness_value": "estimation.sensitivity",
    "partial_r2": "estimation.sensitivity",
    "ovb_benchmark_bounds": "estimation.sensitivity",
    "e_value": "estimation.sensitivity",
    "rosenbaum_bounds": "estimation.sensitivity",
    "rosenbaum_gamma": "estimation.sensitivity",
    "holm_adjust": "estimation.multiple_testing",
    # randomized experiments: intention-to-treat and complier effects (estimatr's HC2 / CR2)
    "itt": "estimation.experiments",
    "ExperimentResult": "estimation.experiments",
    "cace": "estimation.iv",
    "CaceResult": "estimation.iv",
    # engagement analytics
    "sessionize": "engagement.sessions",
    "engagement_features": "engagement.features",
    "fit_typology": "engagement.typology",
    "TypologyResult": "engagement.typology",
    # privacy and provenance
    "scan_public_files": "disclosure.scanner",
    "suppress_small_cells": "disclosure.suppression",
    "check_public_folder": "disclosure.scanner",
    "PrivacyError": "disclosure.scanner",
    "build_manifest": "disclosure.provenance",
    "apply_style": "shared.style",
    "save_figure": "shared.style",
    "plot_flow": "reporting.figures",
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
