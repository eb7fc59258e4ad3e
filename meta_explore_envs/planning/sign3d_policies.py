"""Privileged MetaSign3D policies built on :mod:`sign3d_planner`: the ones that define the
No-exploration and Thompson bounds, played (``baselines.no_exploration`` and
``baselines.thompson`` use them; the oracle's hooks are in ``baselines/sign3d.py``).

Both read the trial env they act in (its problem, instructions and the agent's pose), so
they are for baselines and bounds, never for agents under evaluation. Each keeps its own
planner (its own :class:`Sign3DEnv` rules object, sharing the process's GL context), so
planning never moves the agent of the env being played.

* :class:`Sign3DNoExplorationPolicy` ends the exploration episode at once and plays each
  exploitation episode Bayes-optimally from the uniform prior (it may read the sign on
  the way if that still leaves time to fetch the object). IMRL only (it needs to see the
  instruction).
* :class:`Sign3DThompsonPolicy` explores by walking the shortest path to the target of a
  problem and instruction drawn from the prior, then exploits Bayes-optimally from what
  that path showed.
"""

from __future__ import annotations

import numpy as np

from meta_explore_envs.envs import sign3d_layout as layout
from meta_explore_envs.planning.sign3d import ACTIONS, ALL_PROBLEMS, SearchGraph, Sign3DPlanner, target_object


class _EpisodePolicy:
    """Re-plans at the start of every episode of a trial (detected from the env itself)."""

    def __init__(self, trial):
        from meta_explore_envs.envs.sign3d import Sign3DEnv

        if not isinstance(trial.episode_env, Sign3DEnv):
            raise TypeError(f"{type(self).__name__} plays MetaSign3D trials, got {type(trial.episode_env).__name__}")
        self.trial = trial
        self.planner = Sign3DPlanner()
        self._episode: tuple[int, int] | None = None
        self._steps = 0

    def reset(self) -> None:
        self._episode = None

    def act(self) -> int:
        trial, ep = self.trial, self.trial.episode_env
        key = (id(trial.instructions), trial.episode)
        if key != self._episode or ep.steps_taken < self._steps:
            self._episode = key
            self.begin(ep.state)
        self._steps = ep.steps_taken + 1
        return self.next_action()

    def begin(self, state) -> None:  # pragma: no cover - abstract
        raise NotImplementedError

    def next_action(self) -> int:  # pragma: no cover - abstract
        raise NotImplementedError


class Sign3DNoExplorationPolicy(_EpisodePolicy):
    """Skips exploration; Bayes-optimal within each exploitation episode (uniform prior)."""

    def __init__(self, trial):
        super().__init__(trial)
        if trial.setting != "imrl":
            raise ValueError(f"{type(self).__name__} needs setting='imrl' (it acts on the observed instruction)")
        self.explored: frozenset[int] = ALL_PROBLEMS  # what the exploration episode left possible

    def reset(self) -> None:
        super().reset()
        self.explored = ALL_PROBLEMS

    def begin(self, state) -> None:
        trial = self.trial
        self.plan: list[int] = []
        x, z, heading0, turns, _ = state
        start = (x, z, heading0 + turns * layout.TURN)
        if trial.episode == 0:
            self.graph = None
            self.begin_exploration(start)
            return
        self.graph: SearchGraph | None = self.planner.full_search(start)
        self.instruction = trial.instructions[trial.episode - 1]
        self.node, self.time = 0, 0
        self.belief = self._observe(self.explored)

    def begin_exploration(self, start) -> None:
        """No exploration: the episode is ended at once."""

    def explore(self) -> int:
        return layout.END_EPISODE

    def _observe(self, belief: frozenset[int]) -> frozenset[int]:
        """The belief after seeing the observation at the current node."""
        return self.seen(self.graph, self.node, belief)

    def seen(self, graph: SearchGraph, node: int, belief: frozenset[int]) -> frozenset[int]:
        """The problems of ``belief`` whose observation at ``node`` is the true problem's."""
        for part in self.planner.split(graph, node, belief):
            if self.trial.problem_id in part:
                return part
        raise AssertionError("the true problem is always consistent with what is seen")

    def next_action(self) -> int:
        if self.trial.episode == 0:
            return self.explore()
        graph = self.graph
        if graph is None:
            return layout.END_EPISODE
        if len(self.belief) == 1:
            (problem,) = self.belief
            target = target_object(problem, self.instruction)
            if graph.time_to_touch[target][self.node] > layout.MAX_STEPS - self.time:
                return layout.END_EPISODE
            action = self.planner.step_towards(graph, self.node, target)
        else:
            if not self.plan:
                value, self.plan = self.planner.plan_belief(graph, self.instruction, self.belief, self.node, self.time)
                if value == 0 or not self.plan:
                    self.graph = None  # nothing to gain: stop here
                    return layout.END_EPISODE
            action = self.plan.pop(0)
        successor = graph.succ[self.node][ACTIONS.index(action)]
        if successor >= 0:  # (a touch ends the episode)
            self.node, self.time = successor, self.time + 1
            belief = self._observe(self.belief)
            if belief != self.belief:
                self.belief, self.plan = belief, []
        return action


class Sign3DThompsonPolicy(Sign3DNoExplorationPolicy):
    """Thompson sampling (PEARL-UB): the exploration episode walks the shortest path to the
    target of a problem and instruction drawn from the prior (uniform), seeing what that path
    shows; the exploitation episodes are Bayes-optimal from what it saw."""

    def __init__(self, trial, rng: np.random.Generator | None = None):
        super().__init__(trial)
        self.rng = rng if rng is not None else np.random.default_rng(0)

    def begin_exploration(self, start) -> None:
        ep = self.trial.episode_env
        problem = int(self.rng.choice(ep.problem_ids))
        instruction = int(self.rng.integers(len(layout.SHAPE_NAMES)))
        self.explore_graph = self.planner.search(start, stop_when_all_touched=True)
        path = self.planner.shortest_path_to_object(self.explore_graph, target_object(problem, instruction))
        self.explore_plan = (path or []) + [layout.END_EPISODE]
        self.explore_node = 0
        self.explored = self.seen(self.explore_graph, 0, ALL_PROBLEMS)

    def explore(self) -> int:
        action = self.explore_plan.pop(0) if self.explore_plan else layout.END_EPISODE
        if action != layout.END_EPISODE:
            successor = self.explore_graph.succ[self.explore_node][ACTIONS.index(action)]
            if successor >= 0:  # a touch ends the episode: its last observation is not seen
                self.explore_node = successor
                self.explored = self.seen(self.explore_graph, successor, self.explored)
        return action


__all__ = ["Sign3DNoExplorationPolicy", "Sign3DThompsonPolicy"]

