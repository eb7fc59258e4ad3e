"""Bounds of MetaSign3D: the stored estimates of its privileged planner.

A module of its own because cached bounds are keyed by the code their function imports
(:mod:`evaluation.fingerprint`): the grid families' bounds do not depend on this code.
"""

from __future__ import annotations

from evaluation.bounds import Bounds
from meta_explore_envs.planning.sign3d import BOUNDS_METHOD, bounds


def sign3d_bounds(env_id: str, split: str, num_exploit_episodes: int, progress: bool = False) -> Bounds:
    """The bounds of the ``sign3d`` family: the stored estimates of its privileged planner
    (:data:`meta_explore_envs.planning.sign3d.BOUNDS`, per exploitation episode, so they do
    not depend on ``num_exploit_episodes``); recomputing them takes ~13 minutes
    (``python -m meta_explore_envs.planning.sign3d``)."""
    return Bounds(env_id=env_id, split=split, num_exploit_episodes=num_exploit_episodes, method=BOUNDS_METHOD,
                  **bounds(split))


__all__ = ["sign3d_bounds"]
