"""Uniformly random actions in every episode: the ``random`` bound, played.

``python -m evaluation.score --agent baselines.random``. Works for every family (it only
needs the action space: ``Discrete`` actions uniformly, ``Box`` actions uniformly in the box);
seeded by the ``seed`` keyword of :func:`load_agent`.
"""

from __future__ import annotations

from typing import Any

import gymnasium as gym
import numpy as np

from meta_explore_envs.registry import env_family, family_class


class RandomAgent:
    """Draws every action uniformly from ``Discrete(num_actions)`` (an int) or, given a
    ``Box``, uniformly in it, with its own generator."""

    name = "random"

    def __init__(self, num_actions: int | gym.spaces.Box, seed: int | None = 0):
        self.num_actions = num_actions
        self.rng = np.random.default_rng(seed)

    def reset(self) -> None:
        pass

    def act(self, observation: dict[str, Any]) -> int | np.ndarray:
        return self._draw(None)

    def act_batch(self, observations: dict[str, np.ndarray], new_trial: np.ndarray) -> np.ndarray:
        return self._draw(len(new_trial))

    def _draw(self, n: int | None):
        box = self.num_actions
        if isinstance(box, gym.spaces.Box):
            shape = box.shape if n is None else (n, *box.shape)
            return self.rng.uniform(box.low, box.high, shape).astype(box.dtype)
        return int(self.rng.integers(box)) if n is None else self.rng.integers(box, size=n)


def load_agent(env_id: str, checkpoint: str | None = None, *, seed: int | None = 0, **kwargs: Any) -> RandomAgent:
    """A :class:`RandomAgent` for ``env_id`` (no checkpoint)."""
    if checkpoint is not None:
        raise ValueError(f"baselines.random takes no checkpoint, got {checkpoint!r}")
    space = family_class(env_family(env_id)).make_action_space()
    return RandomAgent(space if isinstance(space, gym.spaces.Box) else space.n, seed)
