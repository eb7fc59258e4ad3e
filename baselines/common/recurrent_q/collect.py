"""Stepping many trials in lockstep.

:class:`TrialBatch` holds ``n`` trial envs and plays one *wave*: ``n`` whole trials, reset
together with seeds from the trainer's generator, stepped together with one batched network
call per policy per time step until every trial has ended. Because a wave starts and ends
on trial boundaries and every reset is seeded, the envs carry no state between waves: a
checkpoint only needs the trainer's random generator to resume exactly.

The trials run on the family's native vector env (:class:`meta_explore_envs.vector.TrialVectorEnv`):
each sub-env plays exactly the trial of a single env reset with its seed, so a run is the
same as with single envs, only faster; sub-envs whose trial has ended step on unread until
the wave is over.
"""

from __future__ import annotations

from typing import Protocol

import gymnasium as gym
import numpy as np
import torch

import meta_explore_envs  # noqa: F401  (registers the ids)
from baselines.common.recurrent_q.networks import ObsSpec
from baselines.common.recurrent_q.qlearning import ActionChooser


class Actor(Protocol):
    """What :meth:`TrialBatch.run_wave` acts with: a batched recurrent policy over trial slots."""

    def reset(self, slots: np.ndarray | None = None) -> None:
        """Forget the memory of ``slots`` (all when None): a new trial starts there."""

    def q_values(self, slots: np.ndarray, ints: np.ndarray, rewards: np.ndarray, episode: np.ndarray) -> torch.Tensor:
        """Q-values ``(len(slots), n_actions)`` for one step of ``slots`` (encoded observations,
        see ``ObsSpec``; ``episode``: 0 = exploration); advances those slots' memory."""
        ...


class TrialBatch:
    """``num_envs`` trials of ``env_id`` played a wave of whole trials at a time, on the env's
    native vector env (``gymnasium.make_vec``: one array step for every trial)."""

    def __init__(self, env_id: str, num_envs: int, *, split: str = "train", num_exploit_episodes: int = 1):
        self.env_id = env_id
        self.num_envs = num_envs
        self.num_exploit = num_exploit_episodes
        self.envs = gym.make_vec(env_id, num_envs=num_envs, vectorization_mode="vector_entry_point", split=split,
                                 num_exploit_episodes=num_exploit_episodes)
        self.spec = ObsSpec.from_env(gym.make(env_id, split=split, num_exploit_episodes=num_exploit_episodes))
        self.max_steps = self.spec.max_episode_steps
        self.max_trial_steps = (num_exploit_episodes + 1) * self.max_steps
        self._k = len(self.spec.obs_nvec)
        self._m = len(self.spec.instr_nvec)

    def _encode(self, rows: np.ndarray, obs: dict, ints: np.ndarray, rew: np.ndarray, episode: np.ndarray) -> None:
        """Write the batched observations of sub-envs ``rows`` into the networks' inputs."""
        k, m = self._k, self._m
        ints[rows, :k] = obs["observation"][rows]
        ints[rows, k:k + m] = obs["instruction"][rows].reshape(len(rows), m)
        ints[rows, k + m] = obs["prev_action"][rows]
        episode[rows] = obs["episode"][rows]
        rew[rows] = np.where(episode[rows] == 0, np.float32(0.0), obs["prev_reward"][rows, 0])

    def run_wave(self, actor: Actor, seeds: np.ndarray,
                 choose: ActionChooser) -> tuple[dict[str, np.ndarray], dict]:
        """Play one trial per env, reset with ``seeds``; return the trials (in
        :class:`~baselines.common.recurrent_q.replay.TrialBuffer` fields) and per-trial statistics."""
        n, steps, num_ints, kk = self.num_envs, self.max_steps, self.spec.num_ints, self.num_exploit
        trials = {
            "problem_id": np.full(n, -1, dtype=np.int64),
            "exp_ints": np.zeros((n, steps, num_ints), dtype=np.int16),
            "exp_rew": np.zeros((n, steps), dtype=np.float32),
            "exp_act": np.zeros((n, steps), dtype=np.int64),
            "exp_len": np.zeros(n, dtype=np.int64),
            "task_ints": np.zeros((n, kk, steps, num_ints), dtype=np.int16),
            "task_rew_in": np.zeros((n, kk, steps), dtype=np.float32),
            "task_act": np.zeros((n, kk, steps), dtype=np.int64),
            "task_rew": np.zeros((n, kk, steps), dtype=np.float32),
            "task_len": np.zeros((n, kk), dtype=np.int64),
        }
        exploit_return = np.zeros(n)
        ints = np.zeros((n, num_ints), dtype=np.int64)
        rew = np.zeros(n, dtype=np.float32)
        episode = np.zeros(n, dtype=np.int64)
        t_in_ep = np.zeros(n, dtype=np.int64)
        everyone = np.arange(n)
        obs, info = self.envs.reset(seed=[int(s) for s in seeds])
        if "problem_id" in info:
            trials["problem_id"] = np.where(info["_problem_id"], info["problem_id"], -1)
        self._encode(everyone, obs, ints, rew, episode)
        actor.reset()
        active = np.ones(n, dtype=bool)
        all_actions = np.zeros(n, dtype=np.int64)  # sub-envs whose trial ended step on, unread
        total_steps = 0
        while active.any():
            slots = np.flatnonzero(active)
            q = actor.q_values(slots, ints[slots], rew[slots], episode[slots])
            actions = np.asarray(choose(q, episode[slots], slots), dtype=np.int64)
            e, t = episode[slots], t_in_ep[slots]
            explore, task = e == 0, e > 0
            rows, times = slots[explore], t[explore]
            trials["exp_ints"][rows, times] = ints[rows]
            trials["exp_act"][rows, times] = actions[explore]
            rows, episodes, times = slots[task], e[task] - 1, t[task]
            trials["task_ints"][rows, episodes, times] = ints[rows]
            trials["task_rew_in"][rows, episodes, times] = rew[rows]
            trials["task_act"][rows, episodes, times] = actions[task]
            all_actions[slots] = actions
            obs, reward, terminated, _, info = self.envs.step(all_actions)
            trials["task_rew"][rows, episodes, times] = reward[rows]
            t_in_ep[slots] = t + 1
            done = info["episode_done"][slots]
            ended = slots[done & explore]
            trials["exp_len"][ended] = t[done & explore] + 1
            ended = slots[done & task]
            trials["task_len"][ended, e[done & task] - 1] = t[done & task] + 1
            if len(ended):  # (the key is only there on steps where an episode ended)
                exploit_return[ended] += info["episode_return"][ended]
            t_in_ep[slots[done]] = 0
            finished = terminated[slots]
            active[slots[finished]] = False
            self._encode(slots[~finished], obs, ints, rew, episode)
            total_steps += len(slots)
        stats = {
            "steps": total_steps,
            "exploit_return": exploit_return / kk,
            "exp_len": trials["exp_len"].copy(),
        }
        return trials, stats

    def close(self) -> None:
        self.envs.close()


__all__ = ["Actor", "TrialBatch"]
