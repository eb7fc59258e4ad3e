"""Bounds of the tabular (grid) families: exact dynamic programming on their own rules.

The bounds function of every :attr:`~meta_explore_envs.core.EpisodeEnv.tabular` family
(:data:`evaluation.bounds.EXACT_BOUNDS`); the definitions and the computation are in
:mod:`meta_explore_envs.planning.grid_values`. It has a module of its own because cached
bounds are keyed by the code their function imports (:mod:`evaluation.fingerprint`).
"""

from __future__ import annotations

import dataclasses
import time

from evaluation.bounds import Bounds, get_bounds
from meta_explore_envs.planning.grid_values import ExactProblemSet, compute_exact_bounds, shares_work
from meta_explore_envs.registry import env_family


def exact_bounds(env_id: str, split: str, num_exploit_episodes: int = 1, progress: bool = False) -> Bounds:
    """The bounds of a tabular family, by exact dynamic programming on its own rules
    (:mod:`meta_explore_envs.planning.grid_values`). Values are exact up to floating-point
    rounding and rounded to 10 decimals."""
    if num_exploit_episodes != 1:  # the definitions do not depend on it (see grid_values)
        return dataclasses.replace(get_bounds(env_id, split, 1, progress=progress),
                                   num_exploit_episodes=num_exploit_episodes)
    start = time.perf_counter()
    values = compute_exact_bounds(ExactProblemSet(env_family(env_id), split), progress)
    return Bounds(
        env_id=env_id, split=split, num_exploit_episodes=num_exploit_episodes,
        **{name: round(values[name], 10) for name in Bounds.NAMES},
        method="exact dynamic programming over states and belief sets",
        seconds=time.perf_counter() - start,
    )


#: Read by :func:`evaluation.bounds.compute_missing`: splits that share no tables (e.g.
#: MetaDistractingBus train and test) are computed in parallel processes.
exact_bounds.shares_work = shares_work  # type: ignore[attr-defined]


__all__ = ["exact_bounds"]
