"""meta_explore_envs: benchmarks for exploration in meta-reinforcement learning.

``import meta_explore_envs`` registers the ``Meta*-v0`` Gymnasium ids (see
``meta_explore_envs.registration.ENV_PRESETS``); ``gymnasium.make("MetaCooking-v0")`` then
returns a :class:`~meta_explore_envs.trial.TrialEnv`.
"""

from meta_explore_envs.core import REWARD_SCALE, EpisodeEnv
from meta_explore_envs.registration import ENV_PRESETS, register_envs
from meta_explore_envs.trial import FAMILIES, SETTINGS, ProblemIdObservation, TrialEnv, family_class

__version__ = "0.1.0"

register_envs()

__all__ = [
    "ENV_PRESETS", "EpisodeEnv", "FAMILIES", "ProblemIdObservation", "REWARD_SCALE", "SETTINGS",
    "TrialEnv", "__version__", "family_class", "register_envs",
]
