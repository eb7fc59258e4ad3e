"""Bounds of MetaPointCorner: Monte Carlo returns of its reference policies.

A module of its own because cached bounds are keyed by the code their function imports
(:mod:`evaluation.fingerprint`): the other families' bounds do not depend on this code.
"""

from __future__ import annotations

from evaluation.bounds import Bounds
from meta_explore_envs.planning.point_corner import NUM_STARTS, estimate_bounds


def point_corner_bounds(env_id: str, split: str, num_exploit_episodes: int, progress: bool = False) -> Bounds:
    """The bounds of the ``point_corner`` family per exploitation episode of the standard setting
    (:mod:`meta_explore_envs.planning.point_corner` defines the policies): the same for both
    splits (the same four corners) and every ``num_exploit_episodes`` (the first exploitation
    episode after one exploration episode); the method names each value's standard error."""
    values = estimate_bounds()
    errors = ", ".join(f"{name} {values[name][1]:.4f}" for name in Bounds.NAMES)
    upper, _ = values["optimal_upper_bound"]
    method = (f"standard setting; Monte Carlo over {NUM_STARTS} uniform starts x 4 goals (seed 0) of the reference "
              f"policies of meta_explore_envs.planning.point_corner, lower bounds of the exact values; standard "
              f"errors: {errors}; the exact optimal is at most {upper:.4f}")
    return Bounds(env_id=env_id, split=split, num_exploit_episodes=num_exploit_episodes, method=method,
                  **{name: values[name][0] for name in Bounds.NAMES})


__all__ = ["point_corner_bounds"]
