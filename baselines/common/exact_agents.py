"""Exact reference policies of the grid families, on the tables of :mod:`meta_explore_envs.planning.tables`.

These are the policies that *define* the bounds of :mod:`meta_explore_envs.planning.grid_values`, played as
agents: their expected exploitation returns equal the ``optimal``, ``no_exploration`` and
``thompson`` bounds (the tests check this by Monte Carlo). They track what the agent knows
from observations only: the state and the set of problems consistent with everything seen.
"""

from __future__ import annotations

from collections.abc import Hashable
from typing import Any

import numpy as np

from meta_explore_envs.core import REWARD_SCALE, EpisodeEnv
from meta_explore_envs.planning.bayes import BayesEpisode
from meta_explore_envs.planning.grid_values import prior_problems, split_planner
from meta_explore_envs.planning.tables import FamilyModel, family_model, observation_key
from meta_explore_envs.planning.thompson import ThompsonExplorer
from meta_explore_envs.registry import env_family


def expert_action(episode_env: EpisodeEnv, problem_id: int, rng: np.random.Generator) -> int:
    """An optimal action at ``episode_env``'s state and instruction in problem ``problem_id``
    (ties broken uniformly at random with ``rng``). Reads ``episode_env``; never changes it."""
    model = family_model(episode_env.family).model(episode_env.instruction)
    return int(rng.choice(model.optimal_actions_at(int(problem_id), model.env_position(episode_env))))


class _Observer:
    """Reads trial observations for the exact agents."""

    def __init__(self, env_id: str, split: str, setting: str):
        if setting != "imrl":
            raise ValueError(f"setting={setting!r} is not supported by the exact baselines: expected 'imrl' "
                             "(the bounds and these agents are defined for instruction-based meta-RL)")
        self.family = env_family(env_id)
        self.model: FamilyModel = family_model(self.family)
        self.prior = prior_problems(self.family, split)
        problems = set(self.prior) | set(self.model.env_class.split_problem_ids(split))
        self._instructions = self.model.decode_instruction(sorted(problems))
        self.num_actions = self.model.num_actions
        self.end_action = int(self.model.env.end_episode_action)

    def instruction(self, observation: dict[str, Any]) -> Hashable | None:
        key = observation_key(observation["instruction"])
        if key not in self._instructions:
            raise ValueError(f"unknown instruction observation {observation['instruction']!r} for {self.family}")
        return self._instructions[key]

    def first_step(self, observation: dict[str, Any]) -> bool:
        """Whether ``observation`` is the first of an episode (no previous action)."""
        return int(observation["prev_action"]) == self.num_actions

    def observation_id(self, observation: dict[str, Any]) -> int:
        return self.model.known_observation_id(observation["observation"])

    @staticmethod
    def reward(observation: dict[str, Any]) -> int:
        """The previous reward in hundredths."""
        return int(round(float(np.asarray(observation["prev_reward"]).reshape(-1)[0]) * REWARD_SCALE))


class NoExplorationAgent:
    """Ends the exploration episode at once, then exploits Bayes-optimally under the prior
    (ties uniformly at random): the ``no_exploration`` bound, played."""

    name = "no_exploration"

    def __init__(self, env_id: str, split: str = "test", setting: str = "imrl", seed: int | None = 0, **_: Any):
        self.observer = _Observer(env_id, split, setting)
        self.rng = np.random.default_rng(seed)
        self._episode: BayesEpisode | None = None
        self._last_action = -1

    def reset(self) -> None:
        self._episode = None
        self._last_action = -1

    def act(self, observation: dict[str, Any]) -> int:
        ob = self.observer
        if int(observation["episode"]) == 0:
            return ob.end_action
        if ob.first_step(observation):
            instruction = ob.instruction(observation)
            planner = split_planner(ob.family, tuple(ob.prior), instruction)
            self._episode = BayesEpisode(planner, planner.belief_problems(planner.prior_belief),
                                         observation["observation"], self.rng)
        else:
            self._episode.observe(self._last_action, ob.observation_id(observation), ob.reward(observation))
        self._last_action = self._episode.act()
        return self._last_action


class ThompsonAgent:
    """Thompson-sampling (PEARL-UB) exploration, then Bayes-optimal exploitation given the
    problems consistent with the exploration episode: the ``thompson`` bound, played."""

    name = "thompson"

    def __init__(self, env_id: str, split: str = "test", setting: str = "imrl", seed: int | None = 0, **_: Any):
        self.observer = _Observer(env_id, split, setting)
        self.rng = np.random.default_rng(seed)
        self.reset()

    def reset(self) -> None:
        self._explorer: ThompsonExplorer | None = None
        self._episode: BayesEpisode | None = None
        self._last_action = -1
        self._last_episode = -1

    def _start_exploration(self) -> None:
        ob = self.observer
        q = int(self.rng.choice(ob.prior))
        distribution = ob.model.instruction_distribution(q)
        instructions = sorted(distribution, key=repr)
        j = instructions[int(self.rng.choice(len(instructions), p=[distribution[i] for i in instructions]))]
        self._explorer = ThompsonExplorer(ob.model.model(j), q, np.array(ob.prior), self.rng, ob.end_action)

    def act(self, observation: dict[str, Any]) -> int:
        ob = self.observer
        episode = int(observation["episode"])
        if episode == 0:
            if ob.first_step(observation):
                self._start_exploration()
            else:
                self._explorer.observe(self._last_action, observation["observation"])
        elif ob.first_step(observation):
            if self._last_episode == 0:
                self._explorer.episode_ended(self._last_action)
            instruction = ob.instruction(observation)
            planner = split_planner(ob.family, tuple(ob.prior), instruction)
            support = [p for p in self._explorer.consistent
                       if ob.model.instruction_distribution(int(p)).get(instruction, 0.0) > 0]
            self._episode = BayesEpisode(planner, support, observation["observation"], self.rng)
        else:
            self._episode.observe(self._last_action, ob.observation_id(observation), ob.reward(observation))
        self._last_episode = episode
        self._last_action = self._explorer.act() if episode == 0 else self._episode.act()
        return self._last_action


__all__ = ["NoExplorationAgent", "ThompsonAgent", "expert_action"]
