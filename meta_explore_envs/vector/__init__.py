"""Batched vector envs: many trials of a tabular family stepped with a few array operations.

``gymnasium.make_vec("MetaMap-v0", num_envs=4096)`` returns a :class:`TrialVectorEnv` for the
grid families (their ``vector_entry_point``) and a :class:`PointCornerVectorEnv` for
MetaPointCorner; MetaSign3D uses Gymnasium's ``AsyncVectorEnv``.
"""

from meta_explore_envs.vector.point_corner import PointCornerVectorEnv
from meta_explore_envs.vector.trials import TrialVectorEnv

__all__ = ["PointCornerVectorEnv", "TrialVectorEnv"]
