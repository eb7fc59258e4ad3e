"""meta_explore_envs: benchmarks for exploration in meta-reinforcement learning.

``import meta_explore_envs`` registers the ``Meta*-v0`` Gymnasium ids from the one table of
families (:mod:`meta_explore_envs.registry`); ``gymnasium.make("MetaCooking-v0")`` then
returns a :class:`~meta_explore_envs.trial.TrialEnv`. Only gymnasium and numpy are needed
here; rendering (pygame), the 3D family (MiniWorld), agents (torch) and reports
(matplotlib) are optional extras, imported when used.
"""

from meta_explore_envs.core import REWARD_SCALE, EpisodeEnv
from meta_explore_envs.registry import FAMILIES, Family, env_family, env_ids, family_class, register_family
from meta_explore_envs.trial import SETTINGS, ProblemIdObservation, TrialEnv

__version__ = "0.1.0"

__all__ = [
    "EpisodeEnv", "FAMILIES", "Family", "ProblemIdObservation", "REWARD_SCALE", "SETTINGS", "TrialEnv",
    "__version__", "env_family", "env_ids", "family_class", "register_family",
]
