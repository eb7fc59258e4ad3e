"""Privileged MetaSign3D policies built on :mod:`sign3d_planner`, for the oracle and
no-exploration baselines.

Both read the trial env they act in (its problem, instructions and the agent's pose), so
they are for baselines and bounds, never for agents under evaluation. Each keeps its own
planner (its own :class:`Sign3DEnv` rules object, sharing the process's GL context), so
planning never moves the agent of the env being played.

* :class:`Sign3DOraclePolicy` knows the problem. Exploration episode (IMRL): it walks the
  shortest path to a pose where the sign is clearly legible and ends the episode there
  (the exploration DREAM learns; it changes nothing for the oracle's own return, but a
  recorded trial shows the sign being read); with ``setting="standard"`` it fetches the
  trial's target instead, since that episode pays. Exploitation: the shortest path to the
  instructed object of the sign's colour. Its return is the Optimal bound (1 from every
  start).
* :class:`Sign3DNoExplorationPolicy` ends the exploration episode at once and plays each
  exploitation episode Bayes-optimally from the uniform prior (it may read the sign on
  the way if that still leaves time to fetch the object): the No-exploration bound's
  policy. IMRL only (it needs to see the instruction).
* :class:`Sign3DThompsonPolicy` explores by walking to the target of a sampled problem and
  instruction, then exploits Bayes-optimally from what that showed: the Thompson bound's
  policy.
"""

from __future__ import annotations

import numpy as np

from meta_explore_envs.envs import sign3d_layout as layout
from meta_explore_envs.envs.sign3d_planner import ALL_PROBLEMS, ACTIONS, SearchGraph, Sign3DPlanner, target_object


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


class Sign3DOraclePolicy(_EpisodePolicy):
    """Knows the problem: reads the sign while exploring, fetches the target when exploiting."""

    def begin(self, state) -> None:
        trial = self.trial
        x, z, heading0, turns, steps = state
        start = (x, z, heading0 + turns * layout.TURN)
        if trial.episode == 0 and trial.setting == "imrl":
            path = self.planner.reading_path(start, max_steps=layout.MAX_STEPS - 1 - steps)
            self.plan = (path or []) + [layout.END_EPISODE]
        else:
            instruction = trial.instructions[max(trial.episode - 1, 0)]
            graph = self.planner.search(start, stop_when_all_touched=True)
            path = self.planner.shortest_path_to_object(graph, target_object(trial.problem_id, instruction))
            self.plan = (path or []) + [layout.END_EPISODE]

    def next_action(self) -> int:
        return self.plan.pop(0) if self.plan else layout.END_EPISODE


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


def run(policy_name: str = "oracle", trials: int = 100, seed: int = 0, split: str = "test",
        record: str | None = None) -> dict[str, float]:
    """Play ``trials`` trials of MetaSign3D-v0 with a privileged policy; return the mean
    exploitation-episode return, its 95% confidence half-width and the normalised score
    against :data:`~meta_explore_envs.envs.sign3d_planner.BOUNDS`. ``record``: GIF path of
    the first trial (exploration then exploitation frames)."""
    import gymnasium as gym
    import numpy as np

    import meta_explore_envs  # noqa: F401
    from meta_explore_envs.envs.sign3d_planner import BOUNDS

    env = gym.make("MetaSign3D-v0", split=split, render_mode="rgb_array" if record else None)
    policy = {"oracle": Sign3DOraclePolicy, "no_exploration": Sign3DNoExplorationPolicy,
              "thompson": Sign3DThompsonPolicy}[policy_name](env.unwrapped)
    returns, frames = [], []
    for i in range(trials):
        env.reset(seed=seed + i)
        policy.reset()
        if record and i == 0:
            frames.append(env.render())
        done = False
        while not done:
            _, _, done, _, info = env.step(policy.act())
            if record and i == 0:
                frames.append(env.render())
            if info["episode_done"] and info["episode_index"] > 0:
                returns.append(info["episode_return"])
    env.close()
    if record:
        from meta_explore_envs.rendering import save_gif

        save_gif(record, frames, fps=4)
    mean = float(np.mean(returns))
    half = float(1.96 * np.std(returns, ddof=1) / np.sqrt(len(returns))) if len(returns) > 1 else 0.0
    optimal, none = BOUNDS["optimal"].mean, BOUNDS["no_exploration"].mean
    scale = optimal - none
    return {"return": mean, "ci95": half, "normalised": (mean - none) / scale, "normalised_ci95": half / scale,
            "trials": trials}


__all__ = ["Sign3DNoExplorationPolicy", "Sign3DOraclePolicy", "Sign3DThompsonPolicy", "run"]


if __name__ == "__main__":
    import argparse

    parser = argparse.ArgumentParser(description="Play MetaSign3D-v0 with a privileged planner policy.")
    parser.add_argument("--policy", choices=["oracle", "no_exploration", "thompson"], default="oracle")
    parser.add_argument("--trials", type=int, default=100)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--record", default=None, help="GIF path for the first trial")
    args = parser.parse_args()
    result = run(args.policy, args.trials, args.seed, record=args.record)
    print(f"{args.policy}: return {result['return']:+.3f} +- {result['ci95']:.3f} (95% CI) over "
          f"{result['trials']} trials; normalised {result['normalised']:.3f} +- {result['normalised_ci95']:.3f}")
