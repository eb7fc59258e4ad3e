"""Batched vector envs: many trials of a tabular family stepped with a few array operations.

``gymnasium.make_vec("MetaMap-v0", num_envs=4096)`` returns a :class:`TrialVectorEnv` for the
grid families (their ``vector_entry_point``) and a :class:`PointCornerVectorEnv` for
MetaPointCorner; :class:`SyncTrialVectorEnv` steps single trial envs in turn with the same
per-sub-env reset options, for families without a batched env (a family names it as its
``vector_entry_point``); MetaSign3D uses Gymnasium's ``AsyncVectorEnv``.
"""

from meta_explore_envs.vector.point_corner import PointCornerVectorEnv
from meta_explore_envs.vector.sync import SyncTrialVectorEnv
from meta_explore_envs.vector.trials import TrialVectorEnv

__all__ = ["PointCornerVectorEnv", "SyncTrialVectorEnv", "TrialVectorEnv"]
