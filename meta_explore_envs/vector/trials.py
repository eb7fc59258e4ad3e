"""``TrialVectorEnv``: N trials of a tabular family stepped at once with array look-ups.

``gymnasium.make_vec("MetaMap-v0", num_envs=N)`` returns it for the grid families (their
``vector_entry_point``). Sub-env ``i`` after ``reset(seed=s)`` plays exactly the trials of
``gymnasium.make("MetaMap-v0")`` reset with seed ``s + i`` (observations, rewards,
terminations and infos, bit for bit, across autoresets): the dynamics are the family's own
rules tabulated (:mod:`.tables`), the trial draws replay each sub-env's own generator
(:mod:`.draws`), and the trial bookkeeping follows :class:`~meta_explore_envs.trial.TrialEnv`.

* **Autoreset:** ``NEXT_STEP`` (Gymnasium's default, ``metadata["autoreset_mode"]``): the
  step after a trial terminated resets that sub-env, ignores its action and returns its first
  observation with reward 0 and the reset's info.
* **Infos:** Gymnasium 1.x style: a dict of arrays, each key with a boolean ``_key`` mask;
  ``final_observation`` is a dict of arrays with its own mask.
* **Reset options:** ``{"problem_id": [N ids], "instructions": [N lists]}`` (either or both;
  ``None`` in a list leaves that sub-env's draw to its generator), checked by the single env's
  own validation; errors name the sub-env.
* ``render_mode="rgb_array"``: :meth:`render` returns the frames of the first
  ``render_envs`` sub-envs (default 16), drawn by the single env's renderer: those sub-envs
  are mirrored by single envs stepped alongside (they play the same trials), so rendering
  costs ``render_envs`` single-env steps per step.
"""

from __future__ import annotations

import itertools
from typing import Any

import gymnasium as gym
import numpy as np
from gymnasium.vector import AutoresetMode, VectorEnv

from meta_explore_envs.core import REWARD_SCALE, check_choice, check_int
from meta_explore_envs.registry import FAMILIES
from meta_explore_envs.trial import TrialEnv
from meta_explore_envs.vector.base import TrialVectorBase
from meta_explore_envs.vector.draws import BoundedDraws
from meta_explore_envs.vector.tables import episode_tables


class TrialVectorEnv(TrialVectorBase, VectorEnv):
    """``num_envs`` trials of one tabular family (see the module docstring).

    Arguments: ``num_envs`` and the single env's ``episode_env`` (family name), ``split``,
    ``num_exploit_episodes``, ``setting``, ``exploration_rewards``, ``render_mode`` (``None`` or
    ``"rgb_array"``); ``render_envs``: how many sub-envs :meth:`render` draws.
    """

    metadata = {"autoreset_mode": AutoresetMode.NEXT_STEP, "render_modes": ["rgb_array"]}

    def __init__(self, num_envs: int = 1, *, episode_env: str, split: str | None = None,
                 num_exploit_episodes: int = 1, setting: str = "imrl", exploration_rewards: bool | None = None,
                 render_mode: str | None = None, render_envs: int = 16):
        if render_mode is not None:
            check_choice("render_mode", render_mode, self.metadata["render_modes"])
        check_int("num_envs", num_envs, 1)
        check_int("render_envs", render_envs, 1)
        check_choice("episode_env", episode_env, sorted(FAMILIES))
        self._adopt_single(TrialEnv(episode_env, split=split, num_exploit_episodes=num_exploit_episodes,
                                    setting=setting, exploration_rewards=exploration_rewards), num_envs)
        ep = self.single.episode_env
        self.tables = episode_tables(episode_env)
        self.render_mode = render_mode
        # Single envs mirroring the first sub-envs, for frames drawn by the single env's renderer.
        self._mirrors = [] if render_mode is None else [
            TrialEnv(episode_env, split=split, num_exploit_episodes=num_exploit_episodes, setting=setting,
                     exploration_rewards=exploration_rewards, render_mode=render_mode)
            for _ in range(min(num_envs, render_envs))]
        self._mirror_needs_reset = [False] * len(self._mirrors)
        self._n_actions = len(ep.action_names)
        # Instruction ids: 0 is "none"; texts and observed values per id.
        self._instruction_ids: dict[Any, int] = {None: 0}
        self._instruction_texts = [ep.instruction_text(None)]
        self._instruction_observations = [np.asarray(ep.instruction_observation(None))]
        bounds = ep.instruction_draws
        #: [problem, outcome of the instruction draws] -> instruction id (-1: not yet known).
        self._draw_table = np.full((ep.num_problems, int(np.prod(bounds, dtype=np.int64))), -1, np.int64)
        #: [problem, instruction id] -> start state of that episode kind (-1: not tabulated yet).
        self._start_table = np.full((ep.num_problems, 8), -1, np.int64)
        n, k = num_envs, num_exploit_episodes + 1
        self._draws: BoundedDraws | None = None  # made by the first reset
        self._problem = np.zeros(n, np.int64)
        self._instructions = np.zeros((n, k), np.int64)  # instruction id of each episode (0: none)
        self._starts = np.zeros((n, k), np.int64)  # start state of each episode
        self._episode = np.zeros(n, np.int64)
        self._state = np.zeros(n, np.int64)
        self._steps = np.zeros(n, np.int64)
        self._return = np.zeros(n, np.int64)  # this episode's, hundredths
        self._prev_action = np.full(n, self._n_actions, np.int64)
        self._prev_reward = np.zeros(n, np.int64)  # hundredths
        self._needs_reset = np.ones(n, bool)
        self._row_starts = np.arange(n, dtype=np.int64) * k  # first entry of each env's row in _instructions
        self._text_array: np.ndarray | None = None
        self._observation_array: np.ndarray | None = None

    def tabulate_all(self) -> int:
        """Tabulate every episode kind of this split now rather than on first use (for
        benchmarks and long runs); return the number of states tabulated in all."""
        ep = self.single.episode_env
        for problem in self.problem_ids.tolist():
            with ep.trying_problem(problem):
                instructions = [None, *ep.instruction_distribution()]
            ids = np.array([[self._instruction_id(x) for x in instructions]], np.int64)
            self._start_states(np.array([problem]), ids)
        return self.tables.num_states

    @property
    def problem_id(self) -> np.ndarray:
        """(num_envs,) the problem of each sub-env's current trial (privileged, like
        ``TrialEnv.problem_id``: for meta-training, never for agents under evaluation)."""
        return self._problem.copy()

    # ------------------------------------------------------------------ instructions
    def _instruction_id(self, instruction: Any) -> int:
        iid = self._instruction_ids.get(instruction)
        if iid is None:
            ep = self.single.episode_env
            iid = self._instruction_ids[instruction] = len(self._instruction_texts)
            self._instruction_texts.append(ep.instruction_text(instruction))
            self._instruction_observations.append(np.asarray(ep.instruction_observation(instruction)))
            self._text_array = self._observation_array = None
        return iid

    def _sample_instructions(self, envs: np.ndarray, problems: np.ndarray) -> np.ndarray:
        """One instruction id per env in ``envs``, drawn as ``sample_instruction`` draws it."""
        ep = self.single.episode_env
        bounds = ep.instruction_draws
        flat = np.zeros(len(envs), np.int64)
        for bound in bounds:
            flat = flat * bound + self._draws.integers(envs, bound)
        ids = self._draw_table[problems, flat]
        for problem in np.unique(problems[ids < 0]).tolist():  # each problem once per process
            with ep.trying_problem(problem):
                outcomes = itertools.product(*(range(bound) for bound in bounds))
                self._draw_table[problem] = [self._instruction_id(ep.instruction_from_draws(o)) for o in outcomes]
            ids = self._draw_table[problems, flat]
        return ids

    def _start_states(self, problems: np.ndarray, instructions: np.ndarray) -> np.ndarray:
        """Start state of each episode kind ``(problems[i], instructions[i, j])``."""
        if instructions.max(initial=0) >= self._start_table.shape[1]:
            grown = np.full((len(self._start_table), 2 * (int(instructions.max()) + 1)), -1, np.int64)
            grown[:, : self._start_table.shape[1]] = self._start_table
            self._start_table = grown
        starts = self._start_table[problems[:, None], instructions]
        missing = np.argwhere(starts < 0)
        if len(missing):
            keys = list(self._instruction_ids)
            for row, column in missing.tolist():
                problem, iid = int(problems[row]), int(instructions[row, column])
                self._start_table[problem, iid] = self.tables.start(problem, keys[iid])
            starts = self._start_table[problems[:, None], instructions]
        return starts

    # ------------------------------------------------------------------ reset
    def reset(self, *, seed: int | list[int | None] | None = None, options: dict[str, Any] | None = None):
        envs = np.arange(self.num_envs)
        if seed is None and self._draws is None:
            # Unseeded first reset: an entropy seed, shared by the mirrors of render_mode.
            seed = int(np.random.SeedSequence().generate_state(1)[0])
        seeds = self._seeds(seed)
        checked, given_instructions = self._check_reset_options(
            options, lambda instructions: [self._instruction_id(x) for x in instructions])
        if self._draws is None:
            self._draws = BoundedDraws.seeded(seeds)
        else:
            for i, s in enumerate(seeds):
                if s is not None:
                    self._draws.reseed(i, s)
        self._begin_trials(envs, checked)
        for i, mirror in enumerate(self._mirrors):
            given = (("problem_id", checked[i][0]), ("instructions", given_instructions[i]))
            mirror.reset(seed=seeds[i], options={key: value for key, value in given if value is not None})
            self._mirror_needs_reset[i] = False
        observation = self._observations()
        return observation, self._reset_infos(None)

    def _begin_trials(self, envs: np.ndarray, checked: list | None = None) -> None:
        """Draw (or take from ``checked``) and start a new trial in each sub-env of ``envs``."""
        k = self.num_exploit_episodes
        problems = np.empty(len(envs), np.int64)
        given = np.array([c[0] is not None for c in checked], bool) if checked else np.zeros(len(envs), bool)
        if given.any():
            problems[given] = [c[0] for c in checked if c[0] is not None]
        draw = envs[~given]
        problems[~given] = self.problem_ids[self._draws.integers(draw, len(self.problem_ids))]
        instructions = np.empty((len(envs), k), np.int64)
        fixed = np.array([c[1] is not None for c in checked], bool) if checked else np.zeros(len(envs), bool)
        for row in np.flatnonzero(fixed).tolist():
            instructions[row] = checked[row][1]
        drawn = np.flatnonzero(~fixed)
        if len(drawn):
            if self.setting == "imrl":
                for episode in range(k):
                    instructions[drawn, episode] = self._sample_instructions(envs[drawn], problems[drawn])
            else:
                instructions[drawn] = self._sample_instructions(envs[drawn], problems[drawn])[:, None]
        exploration = np.zeros(len(envs), np.int64) if self.setting == "imrl" else instructions[:, 0]
        ids = np.concatenate([exploration[:, None], instructions], axis=1)
        self._problem[envs] = problems
        self._instructions[envs] = ids
        self._starts[envs] = self._start_states(problems, ids)
        self._episode[envs] = 0
        self._begin_episode(envs)
        self._needs_reset[envs] = False

    def _begin_episode(self, envs: np.ndarray) -> None:
        self._state[envs] = self._starts[envs, self._episode[envs]]
        self._steps[envs] = 0
        self._return[envs] = 0
        self._prev_action[envs] = self._n_actions
        self._prev_reward[envs] = 0

    # ------------------------------------------------------------------ step
    def step(self, actions: Any):
        if self._draws is None:
            raise gym.error.ResetNeeded("call reset() before step()")
        actions = self._check_actions(actions)
        restart = np.flatnonzero(self._needs_reset)
        # Every sub-env steps in the same array operations; those whose trial ended last step
        # (``restart``) step from their final state too, and are then overwritten by a new trial.
        next_state, rewards_table, ends, successes, _ = self.tables.views()
        flat = self._state * self._n_actions + actions
        self._state = next_state.take(flat).astype(np.int64)
        self._steps += 1
        steps = self._steps
        reward = rewards_table.take(flat).astype(np.int64)
        reward += (actions == self.tables.end_action) * self.tables.end_charge.take(steps, mode="clip")
        if not self.exploration_rewards:
            reward *= self._episode != 0
        over = ends.take(flat) | (steps >= self.tables.max_steps)
        if len(restart):
            reward[restart] = 0
            over[restart] = False
        success = successes.take(flat)
        self._return += reward
        self._prev_action = actions.copy()
        self._prev_reward = reward
        rewards = reward / REWARD_SCALE
        observations, terminated, infos = self._end_step(over, success, restart, REWARD_SCALE)
        for i, mirror in enumerate(self._mirrors):
            if self._mirror_needs_reset[i]:
                mirror.reset()
                self._mirror_needs_reset[i] = False
            else:
                self._mirror_needs_reset[i] = mirror.step(int(actions[i]))[2]
        return observations, rewards, terminated, np.zeros(self.num_envs, bool), infos

    def _check_actions(self, actions: Any) -> np.ndarray:
        array = np.asarray(actions)
        if array.shape != (self.num_envs,):
            raise ValueError(f"actions must have shape ({self.num_envs},), one per sub-env; got shape {array.shape}")
        if array.dtype.kind not in "iu":
            raise TypeError(f"actions must be integers in [0, {self._n_actions}); got dtype {array.dtype}")
        bad = np.flatnonzero((array < 0) | (array >= self._n_actions))
        if len(bad):
            i = int(bad[0])
            raise ValueError(f"sub-env {i}: action={array[i].item()!r} is out of range: expected an integer in "
                             f"[0, {self._n_actions}){self.single.episode_env._action_help()}")
        return array.astype(np.int64, copy=False)

    # ------------------------------------------------------------------ observations and infos
    def _current_instructions(self, envs: np.ndarray | None) -> np.ndarray:
        """Instruction id of each env's current episode (0 = none)."""
        k = self.num_exploit_episodes + 1
        if envs is None:
            return self._instructions.ravel().take(self._row_starts + self._episode)
        return self._instructions.ravel().take(envs * k + self._episode[envs])

    def _observations(self, envs: np.ndarray | None = None) -> dict[str, np.ndarray]:
        """The observations of ``envs`` (default: every sub-env), batched."""
        pick = (lambda a: a.copy()) if envs is None else (lambda a: a[envs])
        if self._observation_array is None:
            self._observation_array = np.stack(self._instruction_observations)
        if self.setting == "imrl":
            instruction = self._observation_array.take(self._current_instructions(envs), axis=0)
        else:  # never observed in the standard setting
            instruction = self._observation_array.take(np.zeros(self.num_envs if envs is None else len(envs),
                                                                np.int64), axis=0)
        return {
            "observation": self.tables.views()[4].take(pick(self._state), axis=0),
            "instruction": instruction,
            "episode": pick(self._episode),
            "prev_action": pick(self._prev_action),
            "prev_reward": (pick(self._prev_reward) / REWARD_SCALE).astype(np.float32)[:, None],
        }

    def _texts(self, envs: np.ndarray | None) -> np.ndarray:
        if self._text_array is None:
            self._text_array = np.array(self._instruction_texts, dtype=object)
        return self._text_array.take(self._current_instructions(envs))

    def _reset_infos(self, envs: np.ndarray | None) -> dict[str, Any]:
        """The infos a reset of ``envs`` (default: every sub-env) returns."""
        n = self.num_envs
        if envs is None:
            mask = np.ones(n, bool)
            infos: dict[str, Any] = {"instruction_text": self._texts(None), "episode_done": np.zeros(n, bool)}
            if self._privileged:
                infos["problem_id"] = self._problem.copy()
        else:
            mask = np.zeros(n, bool)
            mask[envs] = True
            texts = np.full(n, None, dtype=object)
            texts[envs] = self._texts(envs)
            infos = {"instruction_text": texts, "episode_done": np.zeros(n, bool)}
            if self._privileged:
                problem = np.zeros(n, np.int64)
                problem[envs] = self._problem[envs]
                infos["problem_id"] = problem
        for key in list(infos):
            infos[f"_{key}"] = mask.copy()
        return infos

    def render(self) -> tuple[np.ndarray, ...] | None:
        """The frames (H, W, 3) uint8 of the first ``render_envs`` sub-envs (``render_mode="rgb_array"``)."""
        if self.render_mode is None:
            gym.logger.warn("render() called without a render_mode; pass render_mode='rgb_array' to make_vec")
            return None
        return tuple(mirror.render() for mirror in self._mirrors)

    def close_extras(self, **kwargs: Any) -> None:
        self.single.close()
        for mirror in self._mirrors:
            mirror.close()




__all__ = ["TrialVectorEnv"]
