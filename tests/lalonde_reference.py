"""The Dehejia-Wahba lalonde data and the matching specifications with frozen R references.

Made by tests/reference/lalonde/make_reference.R; shared by the propensity, matching, balance and
ATT parity tests.
"""
from pathlib import Path

import pandas as pd

REF = Path(__file__).parent / "reference" / "lalonde"
COVS = ["age", "educ", "race", "married", "nodegree", "re74", "re75"]
#: Matching specifications with reference pairs, weights, balance and effects in REF.
SPECS = {
    "nn1": dict(),
    "nn2": dict(ratio=2),
    "nn1_smallest_exact": dict(order="smallest", exact="married"),
    "nn2_data": dict(ratio=2, order="data"),
    "nn1_cal": dict(caliper=0.05),
    "nn1r": dict(replace=True),
    "nn3r": dict(ratio=3, replace=True),
}


def load_lalonde(ps_column: str | None = "ps") -> pd.DataFrame:
    """lalonde indexed by id, with R's propensity score as ``ps_column`` (none if None)."""
    d = pd.read_csv(REF / "lalonde.csv", index_col="id")
    if ps_column:
        d[ps_column] = pd.read_csv(REF / "ps.csv", index_col="id")["ps"]
    return d
