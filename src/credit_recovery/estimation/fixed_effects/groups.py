"""Group codes of fixed effects and clusters, sums within groups, and nesting of one grouping in another."""
from __future__ import annotations

from typing import Sequence

import numpy as np
import pandas as pd
from scipy import sparse

__all__ = ["group_codes", "group_sum", "is_nested"]


def group_codes(frame: pd.DataFrame, cols: Sequence[str]) -> np.ndarray:
    """Integer codes 0..L-1 of the combinations of ``cols`` (order of appearance)."""
    code = np.zeros(len(frame), dtype=np.int64)
    for c in cols:
        k, uniq = pd.factorize(frame[c], sort=False)
        code = code * max(len(uniq), 1) + k
    return pd.factorize(code, sort=False)[0].astype(np.int64)


def group_sum(values: np.ndarray, codes: np.ndarray, n_groups: int) -> np.ndarray:
    """Sum the rows of ``values`` (N x k) within groups -> (n_groups x k)."""
    values = np.asarray(values, dtype=float)
    v2 = values.reshape(values.shape[0], -1)
    ind = sparse.csr_matrix(
        (np.ones(codes.size), (codes, np.arange(codes.size))), shape=(n_groups, codes.size)
    )
    out = np.asarray(ind @ v2)
    return out.reshape((n_groups,) + values.shape[1:])


def is_nested(fe: np.ndarray, clusters: np.ndarray) -> bool:
    """True if every level of ``fe`` lies within one cluster (both integer codes 0..L-1)."""
    fe = np.asarray(fe, dtype=np.int64)
    clusters = np.asarray(clusters)
    if fe.size == 0:
        return True
    one = np.empty(int(fe.max()) + 1, dtype=clusters.dtype)
    one[fe] = clusters  # some cluster of each level; nested iff it is every row's cluster
    return bool(np.all(one[fe] == clusters))
