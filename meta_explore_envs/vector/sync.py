"""A vector env of single trial envs for families without a batched one (the MuJoCo tasks):
Gymnasium's ``SyncVectorEnv`` plus what the suite's vector envs share.

Gymnasium's ``SyncVectorEnv`` passes one ``reset(options=...)`` dict to every sub-env, so
"sub-env ``i`` plays problem ``p_i``" cannot be said through it. :class:`SyncTrialVectorEnv`
takes the suite's per-sub-env options (``{"problem_id": [p_0, ..., p_{n-1}]}``, ``None``
entries drawn; ``"instructions"`` likewise), validates all of them before anything is reset
(errors name the sub-env), and hands each sub-env its own entry. It also exposes the
attributes learners read from the native vector envs (``single``, ``problem_ids``,
``num_exploit_episodes``, ``setting``, ``exploration_rewards``).

Semantics are Gymnasium's ``SyncVectorEnv`` with ``NEXT_STEP`` autoreset (like the native vector
envs): a sub-env's trial ends with ``terminated``; its next ``step`` ignores the action,
starts a new trial and returns its first observation with reward 0. Sub-env ``i`` reset with
``seed + i`` plays the same trials as a single env reset with that seed.
"""

from __future__ import annotations

from typing import Any

import gymnasium as gym
import numpy as np
from gymnasium.vector import AutoresetMode, SyncVectorEnv

from meta_explore_envs.core import check_int
from meta_explore_envs.trial import TrialEnv
from meta_explore_envs.vector.base import TrialVectorBase

#: The reset options that hold one entry per sub-env.
PER_ENV_OPTIONS = ("problem_id", "instructions")


class _OwnOptions(gym.Wrapper):
    """Sub-env ``index`` of a :class:`SyncTrialVectorEnv`: takes its own entry of each
    per-sub-env reset option (the vector env has validated them)."""

    def __init__(self, env: TrialEnv, index: int):
        super().__init__(env)
        self.index = index

    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None):
        own = None
        if options:
            own = {key: values[self.index] for key, values in options.items() if values[self.index] is not None}
        return self.env.reset(seed=seed, options=own or None)


class SyncTrialVectorEnv(TrialVectorBase, SyncVectorEnv):
    """``num_envs`` trials of one family, each a :class:`~meta_explore_envs.trial.TrialEnv`
    stepped in turn (see the module docstring).

    Arguments: ``num_envs`` and the single env's ``episode_env`` (a family name), ``split``,
    ``num_exploit_episodes``, ``setting``, ``exploration_rewards`` and ``render_mode``.
    """

    def __init__(self, num_envs: int = 1, *, episode_env: str, **trial_kwargs: Any):
        check_int("num_envs", num_envs, 1)
        SyncVectorEnv.__init__(self, [lambda i=i: _OwnOptions(TrialEnv(episode_env, **trial_kwargs), i)
                                      for i in range(num_envs)], autoreset_mode=AutoresetMode.NEXT_STEP)
        spaces = (self.observation_space, self.action_space)
        self._adopt_single(self.envs[0].unwrapped, num_envs)
        self.observation_space, self.action_space = spaces  # SyncVectorEnv's own (the same batched spaces)

    @property
    def problem_id(self) -> np.ndarray:
        """(num_envs,) the problem of each sub-env's current trial (privileged: for meta-training)."""
        return np.array([env.unwrapped.problem_id for env in self.envs], np.int64)

    def reset(self, *, seed: int | list[int | None] | None = None, options: dict[str, Any] | None = None):
        checked, _ = self._check_reset_options(options)  # every sub-env's, before any reset
        per_env = {key: [entry[k] for entry in checked] for k, key in enumerate(PER_ENV_OPTIONS)
                   if options and key in options}
        return SyncVectorEnv.reset(self, seed=self._seeds(seed), options=per_env or None)


__all__ = ["SyncTrialVectorEnv"]
