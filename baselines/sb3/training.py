"""Training SB3 models on the trial envs: a vector env SB3 accepts and a callback that logs
what the benchmark scores.

* :func:`make_trial_vec_env`: SB3 rejects ``gymnasium.make_vec`` (a Gymnasium ``VectorEnv``
  is not an SB3 ``VecEnv``); the one-line SB3 way is
  ``stable_baselines3.common.env_util.make_vec_env("MetaMap-v0", n_envs=8, seed=0,
  env_kwargs={"split": "train"})``, which this helper wraps (sub-env ``i`` is seeded
  ``seed + i``, each in a ``Monitor``).
* :class:`ExploitationReturnCallback`: SB3's ``rollout/ep_rew_mean`` is the return of the
  whole Gymnasium episode, i.e. of the whole trial (exploration episode included: with
  ``exploration_rewards=True`` its -0.1 per step too), not the score. The callback records
  ``rollout/exploit_return_mean`` (mean exploitation-episode return per trial, what the
  harness scores), ``rollout/exploration_length_mean`` and ``rollout/trials`` in SB3's logger
  (so in TensorBoard and SB3's CSV/stdout output) at the end of every rollout, over the last
  ``window`` trials.

    from baselines.sb3.training import ExploitationReturnCallback, make_trial_vec_env
    from sb3_contrib import RecurrentPPO
    from meta_explore_envs.sb3_compat import recurrent_policy_kwargs

    envs = make_trial_vec_env("MetaMap-v0", n_envs=8, seed=0)
    model = RecurrentPPO("MultiInputLstmPolicy", envs, policy_kwargs=recurrent_policy_kwargs(),
                         tensorboard_log="runs/tb")
    model.learn(100_000, callback=ExploitationReturnCallback())
"""

from __future__ import annotations

from collections import deque
from typing import Any

import numpy as np

import meta_explore_envs  # noqa: F401  (registers the env ids)
from meta_explore_envs.optional import require

require("stable_baselines3", "agents")

from stable_baselines3.common.callbacks import BaseCallback  # noqa: E402
from stable_baselines3.common.env_util import make_vec_env  # noqa: E402


def make_trial_vec_env(env_id: str, n_envs: int = 8, seed: int = 0, *, split: str = "train",
                       subprocesses: bool = False, **env_kwargs: Any):
    """An SB3 ``VecEnv`` of ``n_envs`` trial envs (``DummyVecEnv``, or ``SubprocVecEnv`` with
    ``subprocesses``), sub-env ``i`` seeded ``seed + i`` and wrapped in SB3's ``Monitor``."""
    from stable_baselines3.common.vec_env import DummyVecEnv, SubprocVecEnv

    return make_vec_env(env_id, n_envs=n_envs, seed=seed, env_kwargs={"split": split, **env_kwargs},
                        vec_env_cls=SubprocVecEnv if subprocesses else DummyVecEnv)


class ExploitationReturnCallback(BaseCallback):
    """Logs the exploitation return per trial to SB3's logger (see the module docstring).

    ``returns`` (a deque of the last ``window`` trials' mean exploitation returns) and
    ``exploration_lengths`` can also be read directly; ``trials`` counts finished trials.
    """

    def __init__(self, window: int = 100, verbose: int = 0):
        super().__init__(verbose)
        self.returns: deque[float] = deque(maxlen=window)
        self.exploration_lengths: deque[int] = deque(maxlen=window)
        self.trials = 0
        self._sums: np.ndarray | None = None
        self._counts: np.ndarray | None = None

    def _on_step(self) -> bool:
        infos, dones = self.locals["infos"], self.locals["dones"]
        if self._sums is None or len(self._sums) != len(infos):
            self._sums, self._counts = np.zeros(len(infos)), np.zeros(len(infos), np.int64)
        for i, info in enumerate(infos):
            if info.get("episode_done"):
                if info["episode_index"] == 0:
                    self.exploration_lengths.append(int(info["episode_length"]))
                else:
                    self._sums[i] += info["episode_return"]
                    self._counts[i] += 1
            if dones[i]:
                if self._counts[i]:
                    self.returns.append(float(self._sums[i] / self._counts[i]))
                    self.trials += 1
                self._sums[i], self._counts[i] = 0.0, 0
        return True

    def _on_rollout_end(self) -> None:
        if self.returns:
            self.logger.record("rollout/exploit_return_mean", float(np.mean(self.returns)))
        if self.exploration_lengths:
            self.logger.record("rollout/exploration_length_mean", float(np.mean(self.exploration_lengths)))
        self.logger.record("rollout/trials", self.trials)


__all__ = ["ExploitationReturnCallback", "make_trial_vec_env"]
