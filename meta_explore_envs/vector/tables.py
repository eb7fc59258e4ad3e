"""A tabular family's episodes as lookup tables, built from the family's own rules.

For a :attr:`~meta_explore_envs.core.EpisodeEnv.tabular`, time-homogeneous family (the grids),
every (problem, instruction) pair is one *episode kind*. :class:`EpisodeTables` tabulates a
kind on first use by a breadth-first search over its core states with the family's own
``transition`` (never a second copy of the rules): each state gets a global id, its
observation, and for each action the next state, the reward (hundredths, ``end episode``
without its charge for the steps left, which depends on the step count), whether the rules
end the episode there and whether it succeeds. A vector env then steps thousands of
episodes with a few array look-ups. Kinds are tabulated once per process and family.
"""

from __future__ import annotations

import functools
from collections.abc import Hashable

import numpy as np

from meta_explore_envs.arrays import GrowableArray
from meta_explore_envs.core import EpisodeEnv
from meta_explore_envs.registry import family_class


class EpisodeTables:
    """The lazily tabulated episode kinds of one tabular family (see the module docstring).

    Arrays (:meth:`views`, up to the states tabulated so far; ``S`` states, ``A`` actions,
    flattened to ``S * A`` entries indexed by ``state * A + action`` for fast look-ups):
    ``next_state`` int32, ``reward`` int32, ``ends`` bool (the rules end the episode),
    ``success`` bool; ``observation`` (S, ...) int64, the state observations.
    ``end_charge[t]`` is what ``end episode`` adds when it is the ``t``-th step (1-based).
    """

    def __init__(self, family: str):
        cls = family_class(family)
        if not (cls.tabular and cls.time_homogeneous):
            raise ValueError(f"family {family!r} is not tabular and time-homogeneous: it has no episode tables")
        self.family = family
        self.env: EpisodeEnv = cls(split="train")  # set_problem takes any problem ID
        self.num_actions = len(self.env.action_names)
        self.end_action = int(self.env.end_episode_action)
        self.max_steps = int(self.env.max_episode_steps)
        self.end_charge = np.array([0] + [self.env.end_episode_charge(self.max_steps - t)
                                          for t in range(1, self.max_steps + 1)], np.int64)
        # ``transition`` at step count 0 adds the charge of max_steps - 1 steps left; stored without it.
        self._charge_at_first_step = self.env.end_episode_charge(self.max_steps - 1)
        shape = self.env.state_space.shape
        a = self.num_actions
        self._next = GrowableArray((a,), np.int32)
        self._reward = GrowableArray((a,), np.int32)
        self._ends = GrowableArray((a,), bool)
        self._success = GrowableArray((a,), bool)
        self._observations = GrowableArray((int(np.prod(shape)) if shape else 1,), np.int64)
        self._views: tuple[np.ndarray, ...] | None = None
        self._observation_shape = shape
        #: (problem, instruction) -> its start state id.
        self.starts: dict[tuple[int, Hashable], int] = {}

    # ------------------------------------------------------------------ arrays
    @property
    def num_states(self) -> int:
        return self._next.size

    def views(self) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """``(next_state, reward, ends, success, observation)`` over the states tabulated so far
        (the first four flat, see the class docstring); valid until :meth:`start` tabulates a
        new kind (take them again then: :attr:`num_states` tells)."""
        if self._views is None:
            self._views = (self._next.view.ravel(), self._reward.view.ravel(), self._ends.view.ravel(),
                           self._success.view.ravel(),
                           self._observations.view.reshape(-1, *self._observation_shape))
        return self._views  # type: ignore[return-value]

    # ------------------------------------------------------------------ tabulation
    def start(self, problem: int, instruction: Hashable) -> int:
        """The start state id of the episode kind ``(problem, instruction)``, tabulated on first use."""
        key = (problem, instruction)
        state = self.starts.get(key)
        if state is None:
            state = self.starts[key] = self._tabulate(problem, instruction)
        return state

    def _tabulate(self, problem: int, instruction: Hashable) -> int:
        env = self.env
        env.set_problem(problem)
        env.begin_episode(instruction)
        first = self._next.size
        start = env.core_state
        ids = {start: first}
        order = [start]
        rows, observations = [], []
        get_core, set_core = type(env).core_state.fget, type(env).core_state.fset
        actions = range(self.num_actions)
        i = 0
        while i < len(order):
            state = order[i]
            i += 1
            set_core(env, state)
            observations.append(np.asarray(env.state_observation(), np.int64).ravel())
            nexts, rewards, ends, successes = [], [], [], []
            for action in actions:
                set_core(env, state)
                env.steps_taken = 0  # time-homogeneous: the outcome does not depend on it
                reward, over, success = env.transition(action)
                after = get_core(env)
                target = ids.get(after)
                if target is None:
                    target = ids[after] = first + len(order)
                    order.append(after)
                nexts.append(target)
                rewards.append(reward - self._charge_at_first_step if action == self.end_action else reward)
                ends.append(over)  # at step 1 of 20, only the rules end an episode
                successes.append(success)
            rows.append((nexts, rewards, ends, successes))
        nexts, rewards, ends, successes = (np.array(column) for column in zip(*rows))
        self._next.extend(nexts)
        self._reward.extend(rewards)
        self._ends.extend(ends)
        self._success.extend(successes)
        self._observations.extend(np.array(observations, np.int64))
        self._views = None
        return first


@functools.cache
def episode_tables(family: str) -> EpisodeTables:
    """The process-wide :class:`EpisodeTables` of ``family``."""
    return EpisodeTables(family)


__all__ = ["EpisodeTables", "episode_tables"]
