"""Uniformly random actions in every episode: the ``random`` bound, played.

``python -m evaluation.score --agent baselines.random``. Works for every family (it only
needs the number of actions); seeded by the ``seed`` keyword of :func:`load_agent`.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from meta_explore_envs.registry import env_family, family_class


class RandomAgent:
    """Draws every action uniformly from ``Discrete(num_actions)`` with its own generator."""

    name = "random"

    def __init__(self, num_actions: int, seed: int | None = 0):
        self.num_actions = num_actions
        self.rng = np.random.default_rng(seed)

    def reset(self) -> None:
        pass

    def act(self, observation: dict[str, Any]) -> int:
        return int(self.rng.integers(self.num_actions))

    def act_batch(self, observations: dict[str, np.ndarray], new_trial: np.ndarray) -> np.ndarray:
        return self.rng.integers(self.num_actions, size=len(new_trial))


def load_agent(env_id: str, checkpoint: str | None = None, *, seed: int | None = 0, **kwargs: Any) -> RandomAgent:
    """A :class:`RandomAgent` for ``env_id`` (no checkpoint)."""
    if checkpoint is not None:
        raise ValueError(f"baselines.random takes no checkpoint, got {checkpoint!r}")
    return RandomAgent(len(family_class(env_family(env_id)).action_names), seed)
