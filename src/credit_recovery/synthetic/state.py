"""The synthetic state: districts of different sizes and roll-out years (``simulation.state``).

A state study (``data.sources``, docs/state.md) names its districts; those whose source is ``"synthetic"`` are
made here, each from the study's ``simulation`` section with its own seed, size preset, number of schools
and roll-out delay, all fixed by the district's position among the synthetic districts. The same config
gives the same state, and adding a district at the end leaves the others unchanged.
"""
from __future__ import annotations

import copy
from typing import Any, Mapping, Sequence

__all__ = ["SYNTHETIC", "synthetic_districts", "district_settings"]

#: The ``data.sources`` value of a district of the synthetic state.
SYNTHETIC = "synthetic"


def synthetic_districts(sources: Mapping[str, str]) -> list[str]:
    """The districts of ``data.sources`` made by the simulator, in config order."""
    return [name for name, source in sources.items() if source == SYNTHETIC]


def district_settings(simulation: Mapping[str, Any], districts: Sequence[str], district: str) -> dict[str, Any]:
    """The ``simulation`` settings of synthetic district ``district`` (one of ``districts``, in order).

    District ``i`` (0-based) takes seed ``simulation.seed + 1000 (i + 1)``, scale ``state.scales[i mod len]``,
    ``n_schools = fewest + (7 i) mod (most - fewest + 1)`` from ``state.n_schools`` and ``rollout_delay =
    i mod (state.max_rollout_delay + 1)``. The randomized experiment is off in a state's districts.
    """
    if district not in districts:
        raise ValueError(f"{district!r} is not a synthetic district of data.sources; those are {list(districts)}")
    i = list(districts).index(district)
    state = {"scales": ["small", "medium", "default"], "n_schools": [4, 12], "max_rollout_delay": 2,
             **dict(simulation.get("state") or {})}
    fewest, most = (int(v) for v in state["n_schools"])
    if most < fewest:
        raise ValueError(f"simulation.state.n_schools must be [fewest, most], got {state['n_schools']}")
    sim = copy.deepcopy({k: v for k, v in simulation.items() if k != "state"})
    sim["seed"] = int(simulation.get("seed", 20111)) + 1000 * (i + 1)
    sim["scale"] = str(state["scales"][i % len(state["scales"])])
    sim["n_schools"] = fewest + (7 * i) % (most - fewest + 1)
    sim["rollout_delay"] = i % (int(state["max_rollout_delay"]) + 1)
    if (sim.get("experiment") or {}).get("enabled"):
        raise ValueError("simulation.experiment: a synthetic state has no randomized experiment (docs/state.md)")
    return sim
