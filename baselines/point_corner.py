"""Reference agents of MetaPointCorner (the hooks of :mod:`baselines.common.hooks`).

They play the policies that define its bounds (:mod:`meta_explore_envs.planning.point_corner`)
one trial at a time: the oracle's expert for the true corner, and two agents that see only
observations (positions, rewards and the episode index) and keep the belief over corners:

* :class:`NoExplorationAgent`: stands still through the exploration episode (in the zone
  nothing pays, so it learns nothing), then probes from the uniform prior;
* :class:`ThompsonAgent`: plays the expert of a corner drawn at the start of the trial
  through the exploration episode, updating its belief from the rewards, then probes from
  that belief.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from meta_explore_envs.envs.point_corner import CORNERS, MAX_STEPS, PointCornerEnv
from meta_explore_envs.planning.point_corner import expert_actions, nearest_candidates, update_beliefs


def expert_action(episode_env: PointCornerEnv, problem_id: int, rng: np.random.Generator) -> np.ndarray:
    """The expert's action at the current state if the goal were corner ``problem_id``."""
    steps_left = episode_env.max_episode_steps - episode_env.steps_taken
    return expert_actions(episode_env.position[None], CORNERS[problem_id][None], steps_left)[0].astype(np.float32)


class _BeliefAgent:
    """Counts steps per episode and keeps the corners consistent with the rewards it saw."""

    explores = False

    def __init__(self, env_id: str, split: str = "test", setting: str = "standard", seed: int | None = 0,
                 **_: Any):
        if setting != "standard":
            raise ValueError(f"setting={setting!r} is not supported by {type(self).__name__}: expected 'standard'")
        self.rng = np.random.default_rng(seed)
        self.reset()

    def reset(self) -> None:
        self.belief = np.ones(len(CORNERS), bool)
        self.sample = int(self.rng.integers(len(CORNERS))) if self.explores else None
        self.episode, self.steps, self.position = -1, 0, None

    def act(self, observation: dict[str, Any]) -> np.ndarray:
        position = np.asarray(observation["observation"], dtype=np.float64)
        episode = int(observation["episode"])
        if episode != self.episode:
            self.episode, self.steps = episode, 0
        elif episode > 0 or self.explores:  # the no-exploration agent learns nothing while exploring
            reward = float(observation["prev_reward"][0])
            self.belief = update_beliefs(self.belief[None], self.position[None], position[None], [reward])[0]
        self.position = position
        self.steps += 1
        if episode == 0:
            if not self.explores:
                return np.zeros(2, np.float32)
            acting = np.eye(len(CORNERS), dtype=bool)[self.sample]
        else:
            acting = self.belief
        target = nearest_candidates(position[None], acting[None])
        return expert_actions(position[None], target, MAX_STEPS - self.steps + 1)[0].astype(np.float32)


class NoExplorationAgent(_BeliefAgent):
    """Learns nothing in the exploration episode, then probes from the uniform prior."""

    name = "no_exploration"


class ThompsonAgent(_BeliefAgent):
    """Thompson sampling (PEARL-UB): explores with a sampled corner's expert, then probes from
    the belief its rewards left."""

    name = "thompson"
    explores = True


__all__ = ["NoExplorationAgent", "ThompsonAgent", "expert_action"]
