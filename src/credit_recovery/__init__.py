"""credit_recovery: causal analysis of online credit recovery.

Public functions take pandas DataFrames and return DataFrames or result
objects; none of them reads or writes files, so they can be used from a
notebook as well as from the Snakemake pipeline.
"""
from credit_recovery.contract import TABLES, IDENTIFIER_COLUMNS
from credit_recovery.estimates import ESTIMATE_COLUMNS, estimate_row, estimates_frame

__version__ = "0.1.0"

__all__ = [
    "TABLES",
    "IDENTIFIER_COLUMNS",
    "ESTIMATE_COLUMNS",
    "estimate_row",
    "estimates_frame",
]
