"""MetaSign3D's hooks for the reference baselines (see :mod:`baselines.common.hooks`).

The 3D family has no exact tables; its reference policies come from the privileged planner
of :mod:`meta_explore_envs.planning.sign3d` (exhaustive search over the env's own
deterministic dynamics from the agent's pose), the same one that gives its bounds:

* :func:`expert_action`: the next action of a shortest path to the instructed object of
  ``problem_id``'s colour (ties: the search's action order, left, right, forward; ``rng``
  is not needed). With no reward per step every path that reaches the object is optimal;
  the shortest one is the canonical choice, and the one Thompson sampling's bound uses.
* :func:`explore_action`: the oracle's exploration: the shortest path to a pose where the
  sign is clearly legible, then ``end episode``; it shows in recorded trials what a good
  explorer does and leaves the oracle's (IMRL) return unchanged.
* :class:`NoExplorationAgent`, :class:`ThompsonAgent`: the policies that define the
  No-exploration and Thompson bounds, played. They are privileged: they read the agent's
  pose from the live env (a learned agent would have to infer it from pixels) and compare
  the true problem's rendered observations with the others' to track what they have seen.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from meta_explore_envs.envs import sign3d_layout as layout

_PLANNER = None
#: (kind, problem, instruction, state) -> the rest of a planned path from that state.
_PLANS: dict[tuple, list[int]] = {}


def _planner():
    global _PLANNER
    if _PLANNER is None:
        from meta_explore_envs.planning.sign3d import Sign3DPlanner

        _PLANNER = Sign3DPlanner()
    return _PLANNER


def _follow(kind: str, episode_env, problem_id: int, make_plan) -> int:
    """The next action of a plan for ``episode_env``'s state, made by ``make_plan(start, steps_left)``
    on first use and replayed afterwards (the plan's next state is predicted with the planner's
    own copy of the rules, so ``episode_env`` is only read)."""
    state = episode_env.state
    key = (kind, problem_id, episode_env.instruction, state)
    plan = _PLANS.pop(key, None)
    if plan is None:
        x, z, heading0, turns, steps = state
        plan = make_plan((x, z, heading0 + turns * layout.TURN), layout.MAX_STEPS - steps)
        plan = (plan or []) + [layout.END_EPISODE]
        if len(_PLANS) > 64:
            _PLANS.clear()
    action, rest = plan[0], plan[1:]
    if rest and action != layout.END_EPISODE:
        rules = _planner().env
        rules.instruction = None  # no reward bookkeeping needed to move
        rules.state = state
        over = rules.transition(action)[1]
        if not over:
            _PLANS[(kind, problem_id, episode_env.instruction, rules.state)] = rest
    return int(action)


def expert_action(episode_env, problem_id: int, rng: np.random.Generator | None = None) -> int:
    """Next action of a shortest path to the instructed object in ``problem_id`` (``end episode``
    without an instruction or when the object is out of reach)."""
    instruction = episode_env.instruction
    if instruction is None:
        return layout.END_EPISODE
    from meta_explore_envs.planning.sign3d import target_object

    planner = _planner()
    target = target_object(problem_id, instruction)

    def plan(start, steps_left):
        graph = planner.search(start, max_steps=steps_left, stop_when_all_touched=True)
        return planner.shortest_path_to_object(graph, target)

    return _follow("expert", episode_env, problem_id, plan)


def explore_action(episode_env, problem_id: int, rng: np.random.Generator | None = None) -> int:
    """Next action of the shortest path to a pose where the sign is clearly legible, then
    ``end episode`` (the sign reads the same from there whatever ``problem_id`` is)."""
    planner = _planner()
    return _follow("read", episode_env, problem_id,
                   lambda start, steps_left: planner.reading_path(start, steps_left - 1))


class _PolicyAgent:
    """A privileged agent playing one of the planner's policies in the live trial env."""

    privileged = True
    policy_class: Any = None

    def __init__(self, env_id: str, split: str = "test", setting: str = "imrl", seed: int | None = 0, **_: Any):
        if setting != "imrl":
            raise ValueError(f"setting={setting!r} is not supported by {type(self).__name__}: expected 'imrl'")
        self.seed = seed
        self._policy = None
        self._trial = None

    def reset(self) -> None:
        if self._policy is not None:
            self._policy.reset()

    def make_policy(self, trial):
        return self.policy_class(trial)

    def act_privileged(self, observation: dict[str, Any], env) -> int:
        trial = env.unwrapped
        if self._policy is None or self._trial is not trial:
            self._policy, self._trial = self.make_policy(trial), trial
        return self._policy.act()


class NoExplorationAgent(_PolicyAgent):
    """Ends the exploration episode at once, then exploits Bayes-optimally (uniform prior)."""

    name = "no_exploration"

    @property
    def policy_class(self):
        from meta_explore_envs.planning.sign3d_policies import Sign3DNoExplorationPolicy

        return Sign3DNoExplorationPolicy


class ThompsonAgent(_PolicyAgent):
    """Thompson sampling (PEARL-UB): explores towards a sampled problem's target, then exploits
    Bayes-optimally from what it saw."""

    name = "thompson"

    def make_policy(self, trial):
        from meta_explore_envs.planning.sign3d_policies import Sign3DThompsonPolicy

        return Sign3DThompsonPolicy(trial, np.random.default_rng(self.seed))


__all__ = ["NoExplorationAgent", "ThompsonAgent", "expert_action", "explore_action"]
