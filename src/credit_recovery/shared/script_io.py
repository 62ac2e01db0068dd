"""Small helpers for the Snakemake scripts: logging and deterministic writing.

The rule scripts in ``workflow/scripts/`` stay thin: they read their inputs,
call one function of the package and write their outputs with these helpers,
so the same config always gives byte-identical result tables.
"""
from __future__ import annotations

import json
import logging
import os
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

#: Decimal places kept in CSV result tables.
CSV_FLOAT_FORMAT = "%.10g"


def start_log(log_path: str | os.PathLike) -> logging.Logger:
    """Send this script's log records (and warnings) to ``log_path`` and stderr."""
    Path(log_path).parent.mkdir(parents=True, exist_ok=True)
    logger = logging.getLogger("credit_recovery")
    logger.handlers.clear()
    logger.setLevel(logging.INFO)
    fmt = logging.Formatter("%(levelname)s %(message)s")
    for h in (logging.FileHandler(log_path, mode="w"), logging.StreamHandler(sys.stderr)):
        h.setFormatter(fmt)
        logger.addHandler(h)
    logging.captureWarnings(True)
    return logger


def _atomic(path: str | os.PathLike):
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    return path, path.with_name(f".{path.name}.tmp-{os.getpid()}")


def write_parquet(df: pd.DataFrame, path: str | os.PathLike) -> None:
    """Write a DataFrame to parquet deterministically (no pandas index, fixed row groups)."""
    path, tmp = _atomic(path)
    table = pa.Table.from_pandas(df.reset_index(drop=True), preserve_index=False)
    table = table.replace_schema_metadata(None)
    pq.write_table(table, tmp, row_group_size=1_048_576, compression="zstd")
    os.replace(tmp, path)


def write_csv(df: pd.DataFrame, path: str | os.PathLike) -> None:
    """Write a DataFrame to CSV with a fixed float format."""
    path, tmp = _atomic(path)
    df.to_csv(tmp, index=False, float_format=CSV_FLOAT_FORMAT, lineterminator="\n")
    os.replace(tmp, path)


def _default(o: Any):
    if isinstance(o, (np.integer,)):
        return int(o)
    if isinstance(o, (np.floating,)):
        return float(o)
    if isinstance(o, (np.bool_,)):
        return bool(o)
    raise TypeError(f"not JSON serializable: {type(o)}")


def write_json(obj: Any, path: str | os.PathLike) -> None:
    """Write JSON with sorted keys and a trailing newline."""
    path, tmp = _atomic(path)
    tmp.write_text(json.dumps(obj, indent=2, sort_keys=True, default=_default) + "\n", encoding="utf-8")
    os.replace(tmp, path)
