"""The Monte Carlo's jobs: which replicate batches a config asks for (light: read by the Snakefile)."""
from __future__ import annotations

from typing import Any, Mapping

__all__ = ["replicate_jobs"]


def replicate_jobs(config: Mapping[str, Any]) -> list[tuple[str, str, int, int]]:
    """``(scenario, scale, first_seed, last_seed)`` of every replicate batch the config asks for, in order.

    Every scenario of ``monte_carlo.scenarios`` at every scale of
    ``monte_carlo.scales``, ``monte_carlo.replicates[scale]`` seeds from
    ``monte_carlo.first_seed`` (the same seeds in every scenario, so scenarios
    are compared on common random numbers as far as the generator allows), cut
    into batches of ``monte_carlo.batch_size`` consecutive seeds (the last batch
    may be shorter): one Snakemake job each. A batch's seeds are inclusive.
    """
    mc = dict(config.get("monte_carlo", {}))
    first, reps = int(mc.get("first_seed", 1000)), dict(mc.get("replicates", {}))
    size = int(mc.get("batch_size", 1))
    return [(sc, scale, first + r, first + min(r + size, int(reps.get(scale, 0))) - 1)
            for sc in mc.get("scenarios", {"default": {}}) for scale in mc.get("scales", [])
            for r in range(0, int(reps.get(scale, 0)), size)]
