"""Registers every ``Meta*-v0`` id from one table of presets."""

from __future__ import annotations

import gymnasium as gym

#: Registered id -> family name (see ``meta_explore_envs.trial.FAMILIES``). Every id is a
#: :class:`~meta_explore_envs.trial.TrialEnv`; ``gymnasium.make`` kwargs (``split``,
#: ``num_exploit_episodes``, ``setting``, ``exploration_rewards``, ``render_mode``) go to it.
ENV_PRESETS: dict[str, str] = {
    "MetaDistractingBus-v0": "distracting_bus",
    "MetaMap-v0": "map",
    "MetaCooking-v0": "cooking",
    "MetaSign3D-v0": "sign3d",
}


def register_envs() -> None:
    """Register the presets with Gymnasium (idempotent)."""
    for env_id, family in ENV_PRESETS.items():
        if env_id in gym.registry:
            continue
        gym.register(
            id=env_id,
            entry_point="meta_explore_envs.trial:TrialEnv",
            kwargs={"episode_env": family},
            # A trial bounds itself ((num_exploit_episodes + 1) * 20 steps), so no TimeLimit:
            # a fixed one would cut trials short for num_exploit_episodes > 1.
            max_episode_steps=None,
        )
