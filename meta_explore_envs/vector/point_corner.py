"""``PointCornerVectorEnv``: N trials of MetaPointCorner stepped with a few array operations.

``gymnasium.make_vec("MetaPointCorner-v0", num_envs=N)`` returns it (the family's
``vector_entry_point``). Sub-env ``i`` after ``reset(seed=s)`` plays exactly the trials of
``gymnasium.make("MetaPointCorner-v0")`` reset with seed ``s + i`` (observations, rewards,
terminations and infos, bit for bit, across autoresets): positions are stepped by the
family's own :func:`~meta_explore_envs.envs.point_corner.move` and
:func:`~meta_explore_envs.envs.point_corner.corner_reward` on ``(N, 2)`` arrays, and each
sub-env keeps its own generator, seeded as the single env seeds its ``np_random``, which draws
what the single env draws in the same order (the problem, then each episode's start). The
draws happen only at trial and episode starts (every episode lasts exactly 100 steps), so
they cost ``N`` small NumPy calls per 100 steps.

* **Autoreset:** ``NEXT_STEP`` (Gymnasium's default, ``metadata["autoreset_mode"]``), as the
  grid families' :class:`~meta_explore_envs.vector.trials.TrialVectorEnv`: the step after a
  trial terminated resets that sub-env, ignores its action and returns its first
  observation with reward 0 and the reset's info.
* **Actions:** an array of shape ``(N, 2)`` of finite real numbers, each coordinate clipped
  to [-0.2, 0.2] by the dynamics (as the single env); another shape, dtype or a non-finite
  value raises naming the sub-env, before any state changes.
* **Infos and reset options:** as ``TrialVectorEnv`` (``{"problem_id": [N ids],
  "instructions": [N lists]}``, ``None`` entries drawn).
* **Rendering:** none (``render_mode=None`` only); render single envs to look at trials.
"""

from __future__ import annotations

from typing import Any

import gymnasium as gym
import numpy as np
from gymnasium.utils import seeding
from gymnasium.vector import AutoresetMode, VectorEnv

from meta_explore_envs.core import check_choice, check_int
from meta_explore_envs.envs.point_corner import CORNERS, MAX_STEP, START_HALF_WIDTH, corner_reward, move
from meta_explore_envs.trial import TrialEnv
from meta_explore_envs.vector.base import TrialVectorBase


class PointCornerVectorEnv(TrialVectorBase, VectorEnv):
    """``num_envs`` MetaPointCorner trials (see the module docstring).

    Arguments: ``num_envs`` and the single env's ``episode_env`` (``"point_corner"``), ``split``,
    ``num_exploit_episodes``, ``setting``, ``exploration_rewards``; ``render_mode`` must be None.
    """

    metadata = {"autoreset_mode": AutoresetMode.NEXT_STEP, "render_modes": []}

    def __init__(self, num_envs: int = 1, *, episode_env: str = "point_corner", split: str | None = None,
                 num_exploit_episodes: int = 1, setting: str | None = None,
                 exploration_rewards: bool | None = None, render_mode: str | None = None):
        if render_mode is not None:
            raise ValueError(f"render_mode={render_mode!r} is not supported by the MetaPointCorner vector env: "
                             "use None (render single envs: gymnasium.make('MetaPointCorner-v0', render_mode=...))")
        check_int("num_envs", num_envs, 1)
        check_choice("episode_env", episode_env, ["point_corner"])
        self._adopt_single(TrialEnv(episode_env, split=split, num_exploit_episodes=num_exploit_episodes,
                                    setting=setting, exploration_rewards=exploration_rewards), num_envs)
        ep = self.single.episode_env
        self.render_mode = None
        self.max_trial_steps = self.single.max_trial_steps
        self._max_steps = ep.max_episode_steps
        self._text = ep.instruction_text(ep.instruction_from_draws(()))  # the one instruction's text
        self._sentinel = ep.instruction_sentinel
        n = num_envs
        self._generators: list[np.random.Generator] | None = None  # made by the first reset
        self._problem = np.zeros(n, np.int64)
        self._goal = np.zeros((n, 2))
        self._episode = np.zeros(n, np.int64)
        self._position = np.zeros((n, 2))
        self._steps = np.zeros(n, np.int64)
        self._return = np.zeros(n)  # this episode's
        self._prev_action = np.zeros((n, 2), np.float32)
        self._prev_reward = np.zeros(n)
        self._needs_reset = np.ones(n, bool)

    @property
    def problem_id(self) -> np.ndarray:
        """(num_envs,) the problem of each sub-env's current trial (privileged: for meta-training)."""
        return self._problem.copy()

    # ------------------------------------------------------------------ reset
    def reset(self, *, seed: int | list[int | None] | None = None, options: dict[str, Any] | None = None):
        seeds = self._seeds(seed)
        checked = [problem for problem, _ in self._check_reset_options(options)[0]]
        if self._generators is None:
            self._generators = [seeding.np_random(s)[0] for s in seeds]
        else:
            for i, s in enumerate(seeds):
                if s is not None:
                    self._generators[i] = seeding.np_random(s)[0]
        self._begin_trials(np.arange(self.num_envs), checked)
        return self._observations(), self._reset_infos(None)

    def _begin_trials(self, envs: np.ndarray, problems: list[int | None] | None = None) -> None:
        """Draw (or take from ``problems``) and start a new trial in each sub-env of ``envs``:
        the single env's ``choose_problem`` draw (its one instruction takes no draw)."""
        for row, i in enumerate(envs.tolist()):
            given = None if problems is None else problems[row]
            self._problem[i] = given if given is not None else self.problem_ids[
                int(self._generators[i].integers(len(self.problem_ids)))]
        self._goal[envs] = CORNERS[self._problem[envs]]
        self._episode[envs] = 0
        self._begin_episode(envs)
        self._needs_reset[envs] = False

    def _begin_episode(self, envs: np.ndarray) -> None:
        for i in envs.tolist():  # the single env's begin_episode draw
            self._position[i] = self._generators[i].uniform(-START_HALF_WIDTH, START_HALF_WIDTH, size=2)
        self._steps[envs] = 0
        self._return[envs] = 0.0
        self._prev_action[envs] = 0.0
        self._prev_reward[envs] = 0.0

    # ------------------------------------------------------------------ step
    def step(self, actions: Any):
        if self._generators is None:
            raise gym.error.ResetNeeded("call reset() before step()")
        actions = self._check_actions(actions)
        restart = np.flatnonzero(self._needs_reset)
        position = self._position
        self._position = move(position, actions)
        reward = corner_reward(position, self._position, self._goal)
        if not self.exploration_rewards:
            reward = reward * (self._episode != 0)
        self._steps += 1
        over = self._steps >= self._max_steps
        if len(restart):
            reward[restart] = 0.0
            over[restart] = False
        self._return += reward
        self._prev_action = np.clip(actions, -MAX_STEP, MAX_STEP).astype(np.float32)
        self._prev_reward = reward.copy()
        success = np.abs(self._position - self._goal).max(axis=1) <= MAX_STEP
        observations, terminated, infos = self._end_step(over, success, restart, 1)
        return observations, reward, terminated, np.zeros(self.num_envs, bool), infos

    def _check_actions(self, actions: Any) -> np.ndarray:
        valid = f"expected finite (dx, dy) pairs of shape ({self.num_envs}, 2), each clipped to [-0.2, 0.2]"
        array = np.asarray(actions)
        if array.dtype.kind not in "fiu":
            raise TypeError(f"actions have dtype {array.dtype}, not real numbers: {valid}")
        if array.shape != (self.num_envs, 2):
            raise ValueError(f"actions have shape {array.shape}: {valid}")
        bad = np.flatnonzero(~np.isfinite(array).all(axis=1))
        if len(bad):
            i = int(bad[0])
            raise ValueError(f"sub-env {i}: action={array[i].tolist()!r} is not finite: {valid}")
        return array.astype(np.float64)

    # ------------------------------------------------------------------ observations and infos
    def _observations(self, envs: np.ndarray | None = None) -> dict[str, np.ndarray]:
        """The observations of ``envs`` (default: every sub-env), batched."""
        envs = np.arange(self.num_envs) if envs is None else envs
        return {
            "observation": self._position[envs].astype(np.float32),
            "instruction": np.full(len(envs), self._sentinel, np.int64),  # never observed (standard)
            "episode": self._episode[envs].copy(),
            "prev_action": self._prev_action[envs].copy(),
            "prev_reward": self._prev_reward[envs].astype(np.float32)[:, None],
        }

    def _reset_infos(self, envs: np.ndarray | None) -> dict[str, Any]:
        """The infos a reset of ``envs`` (default: every sub-env) returns."""
        n = self.num_envs
        mask = np.ones(n, bool) if envs is None else np.isin(np.arange(n), envs)
        texts = np.full(n, None, dtype=object)
        texts[mask] = self._text
        infos: dict[str, Any] = {"instruction_text": texts, "episode_done": np.zeros(n, bool)}
        if self._privileged:
            infos["problem_id"] = np.where(mask, self._problem, 0)
        for key in list(infos):
            infos[f"_{key}"] = mask.copy()
        return infos

    def close_extras(self, **kwargs: Any) -> None:
        self.single.close()


__all__ = ["PointCornerVectorEnv"]
