"""Stepping many trials in lockstep.

:class:`TrialBatch` holds ``n`` trial envs and plays one *wave*: ``n`` whole trials, reset
together with seeds from the trainer's generator, stepped together with one batched network
call per policy per time step until every trial has ended. Because a wave starts and ends
on trial boundaries and every reset is seeded, the envs carry no state between waves: a
checkpoint only needs the trainer's random generator to resume exactly.

It is a minimal vector env specialised to this loop (Gymnasium's ``SyncVectorEnv`` would
stack every ``info`` key on every step, several times slower at these env speeds).
"""

from __future__ import annotations

from collections.abc import Callable

import gymnasium as gym
import numpy as np
import torch

import meta_explore_envs  # noqa: F401  (registers the ids)
from baselines.dream.agent import DreamActor
from baselines.dream.buffer import TrialBuffer
from baselines.dream.networks import ObsSpec

#: (q_values (b, A), episode (b,), slots (b,)) -> actions (b,); ``slots`` are the trial
#: slots (0..num_envs-1) the rows belong to (optional: rows 0..b-1 when omitted).
ActionChooser = Callable[[torch.Tensor, np.ndarray, np.ndarray], np.ndarray]


class TrialBatch:
    """``num_envs`` trial envs of ``env_id`` played a wave of whole trials at a time."""

    def __init__(self, env_id: str, num_envs: int, *, split: str = "train", num_exploit_episodes: int = 1):
        self.env_id = env_id
        self.num_envs = num_envs
        self.num_exploit = num_exploit_episodes
        self.envs = [
            gym.make(env_id, split=split, num_exploit_episodes=num_exploit_episodes).unwrapped
            for _ in range(num_envs)
        ]
        self.spec = ObsSpec.from_env(self.envs[0])
        self.max_steps = self.spec.max_episode_steps
        self._k = len(self.spec.obs_nvec)
        self._m = len(self.spec.instr_nvec)

    def _encode(self, i: int, obs: dict, ints: np.ndarray, rew: np.ndarray, episode: np.ndarray) -> None:
        row = ints[i]
        k, m = self._k, self._m
        row[:k] = obs["observation"]
        row[k:k + m] = obs["instruction"]
        row[k + m] = obs["prev_action"]
        episode[i] = obs["episode"]
        rew[i] = 0.0 if episode[i] == 0 else obs["prev_reward"][0]

    def run_wave(self, actor: DreamActor, seeds: np.ndarray,
                 choose: ActionChooser) -> tuple[dict[str, np.ndarray], dict]:
        """Play one trial per env, reset with ``seeds``; return the trials (in
        :class:`~baselines.dream.buffer.TrialBuffer` fields) and per-trial statistics."""
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
        for i, env in enumerate(self.envs):
            obs, info = env.reset(seed=int(seeds[i]))
            trials["problem_id"][i] = info.get("problem_id", -1)
            self._encode(i, obs, ints, rew, episode)
        actor.reset()
        active = np.ones(n, dtype=bool)
        total_steps = 0
        while active.any():
            slots = np.flatnonzero(active)
            q = actor.q_values(slots, ints[slots], rew[slots], episode[slots])
            actions = choose(q, episode[slots], slots)
            for j, i in enumerate(slots):
                action = int(actions[j])
                e, t = episode[i], t_in_ep[i]
                if e == 0:
                    trials["exp_ints"][i, t] = ints[i]
                    trials["exp_act"][i, t] = action
                else:
                    trials["task_ints"][i, e - 1, t] = ints[i]
                    trials["task_rew_in"][i, e - 1, t] = rew[i]
                    trials["task_act"][i, e - 1, t] = action
                obs, reward, terminated, _, info = self.envs[i].step(action)
                if e > 0:
                    trials["task_rew"][i, e - 1, t] = reward
                t_in_ep[i] = t + 1
                if info["episode_done"]:
                    if e == 0:
                        trials["exp_len"][i] = t + 1
                    else:
                        trials["task_len"][i, e - 1] = t + 1
                        exploit_return[i] += info["episode_return"]
                    t_in_ep[i] = 0
                if terminated:
                    active[i] = False
                else:
                    self._encode(i, obs, ints, rew, episode)
            total_steps += len(slots)
        stats = {
            "steps": total_steps,
            "exploit_return": exploit_return / kk,
            "exp_len": trials["exp_len"].copy(),
        }
        return trials, stats

    def close(self) -> None:
        for env in self.envs:
            env.close()


def epsilon_greedy(epsilon: float, rng: np.random.Generator, explore_epsilon: float | None = None,
                   no_end_slots: np.ndarray | None = None, end_action: int | None = None) -> ActionChooser:
    """Greedy actions, each replaced by a uniform one with probability ``epsilon``
    (``explore_epsilon`` in exploration episodes, when given).

    ``no_end_slots`` (bool per trial slot) with ``end_action``: in those trials' exploration
    episodes ``end_action`` is never taken; where it would be, a uniformly random other
    action is taken instead, so the episode runs to its step limit past the point where the
    explorer would stop (see ``DreamConfig.explore_no_end_fraction``).
    """
    if no_end_slots is not None and end_action is None:
        raise ValueError("no_end_slots needs end_action")

    def choose(q: torch.Tensor, episode: np.ndarray, slots: np.ndarray | None = None) -> np.ndarray:
        actions = q.argmax(-1).numpy()
        b, n_actions = q.shape
        eps = epsilon if explore_epsilon is None else np.where(episode == 0, explore_epsilon, epsilon)
        explore = rng.random(b) < eps
        actions = np.where(explore, rng.integers(n_actions, size=b), actions)
        if no_end_slots is not None:
            slots = np.arange(b) if slots is None else slots
            blocked = no_end_slots[slots] & (episode == 0) & (actions == end_action)
            if blocked.any():
                other = rng.integers(n_actions - 1, size=int(blocked.sum()))
                actions[blocked] = other + (other >= end_action)  # every action but end_action
        return actions

    return choose


def greedy(q: torch.Tensor, episode: np.ndarray, slots: np.ndarray | None = None) -> np.ndarray:
    return q.argmax(-1).numpy()


__all__ = ["TrialBatch", "TrialBuffer", "epsilon_greedy", "greedy"]
