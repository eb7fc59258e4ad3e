"""Exact reference policies of the grid families, on the tables of :mod:`evaluation.exact`.

These are the policies that *define* the bounds of :mod:`evaluation.exact_bounds`, played as
agents: their expected exploitation returns equal the ``optimal``, ``no_exploration`` and
``thompson`` bounds (the tests check this by Monte Carlo). They track what the agent knows
from observations only: the state and the set of problems consistent with everything seen.
"""

from __future__ import annotations

from typing import Any, Hashable

import numpy as np

from evaluation.bounds import env_family
from evaluation.exact import FamilyModel, InstructionModel, family_model, observation_key
from evaluation.exact_bounds import prior_problems, split_planner
from evaluation.planner import BayesPlanner
from meta_explore_envs.core import REWARD_SCALE, EpisodeEnv


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


class BayesEpisode:
    """One episode played Bayes-optimally: tracks ``(state, belief)`` from what is observed."""

    def __init__(self, planner: BayesPlanner, problems, observation: Any, rng: np.random.Generator):
        self.planner = planner
        self.rng = rng
        belief = planner.belief(problems)  # (tabulates the problems: their observations get ids)
        observation_id = planner.model.family.known_observation_id(observation)
        self.state = planner.start_state(belief)
        # Problems whose start shows a different observation are ruled out at once.
        members = planner.belief_problems(belief)
        rows = planner.model.rows(members, planner.model.family.split_position(self.state)[0])
        consistent = members[planner.model.row_observation[rows] == observation_id]
        if len(consistent) == 0:
            raise RuntimeError("the first observation of the episode matches no problem of the prior")
        self.belief = planner.belief(consistent)

    def observe(self, action: int, observation_id: int, reward: int) -> None:
        """Move to the group of problems that give what was observed after ``action``."""
        node = self.planner.action_node(self.state, self.belief, action)
        for outcome in node.outcomes:
            if outcome.observation == observation_id and outcome.reward == reward:
                self.state, self.belief = outcome.state, outcome.belief
                return
        raise RuntimeError(f"observation {observation_id} with reward {reward} after action {action} matches no "
                           "problem still believed possible")

    def act(self) -> int:
        return int(self.rng.choice(self.planner.optimal_actions(self.state, self.belief)))


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


class ThompsonExplorer:
    """Thompson-sampling exploration: follow the optimal policy of a sampled problem ``q``
    and instruction ``j`` in the true problem, tracking which problems are consistent with
    the observations (see :mod:`evaluation.exact_bounds` for the exact definition)."""

    def __init__(self, model: InstructionModel, q: int, prior: np.ndarray, rng: np.random.Generator,
                 end_action: int):
        self.model, self.q, self.rng, self.end_action = model, int(q), rng, end_action
        self.consistent = np.asarray(prior, np.int64)
        model.add_problems(self.consistent)
        self.state = model.start_position(self.q)  # position of the imagined episode
        self.done = False  # the imagined episode of (q, j) is over

    def act(self) -> int:
        if self.done:
            return self.end_action
        return int(self.rng.choice(self.model.optimal_actions_at(self.q, self.state)))

    def observe(self, action: int, observation: Any) -> None:
        """The exploration episode went on after ``action`` and shows ``observation``."""
        outcomes = self.model.exploration_outcomes(self.consistent, self.state, action)
        observation_id = self.model.family.known_observation_id(observation)
        for outcome in outcomes:
            if outcome.observation == observation_id and observation_id >= 0:
                self.consistent, self.state, self.done = outcome.problems, outcome.state, outcome.imagined_over
                return
        raise RuntimeError(f"the observation after action {action} matches no problem of the prior")

    def episode_ended(self, action: int) -> None:
        """The exploration episode ended with ``action`` (its last observation is not shown)."""
        if self.done:  # the explorer ended it itself after the imagined episode: nothing new
            return
        for outcome in self.model.exploration_outcomes(self.consistent, self.state, action):
            if outcome.observation == -1:
                self.consistent = outcome.problems
                return
        raise RuntimeError("the exploration episode ended where no problem of the prior ends it")


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


__all__ = ["BayesEpisode", "NoExplorationAgent", "ThompsonAgent", "ThompsonExplorer", "expert_action"]
