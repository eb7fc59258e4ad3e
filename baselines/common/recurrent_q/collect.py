"""Stepping many trials in lockstep.

:class:`TrialBatch` holds ``n`` trial envs and plays one *wave*: ``n`` whole trials, reset
together with seeds from the trainer's generator, stepped together with one batched network
call per policy per time step until every trial has ended. Because a wave starts and ends
on trial boundaries and every reset is seeded, the envs carry no state between waves: a
checkpoint only needs the trainer's random generator to resume exactly.

The trials run on the family's native vector env (:class:`meta_explore_envs.vector.TrialVectorEnv`):
each sub-env plays exactly the trial of a single env reset with its seed, so a run is the
same as with single envs, only faster; sub-envs whose trial has ended step on unread until
the wave is over. A family without one (MetaSign3D) runs on single envs in this process
(:class:`EnvList`; they share one GL context), and only the trials still running are stepped.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Protocol

import gymnasium as gym
import numpy as np
import torch

import meta_explore_envs  # noqa: F401  (registers the ids)
from baselines.common.recurrent_q.networks import ObsSpec
from baselines.common.recurrent_q.qlearning import ActionChooser
from baselines.common.recurrent_q.replay import allocate_trials
from meta_explore_envs.registry import env_family


class Actor(Protocol):
    """What :meth:`TrialBatch.run_wave` acts with: a batched recurrent policy over trial slots."""

    def reset(self, slots: np.ndarray | None = None) -> None:
        """Forget the memory of ``slots`` (all when None): a new trial starts there."""

    def q_values(self, slots: np.ndarray, ints: np.ndarray, rewards: np.ndarray, episode: np.ndarray,
                 frames: np.ndarray | None = None) -> torch.Tensor:
        """Q-values ``(len(slots), n_actions)`` for one step of ``slots`` (encoded observations,
        see ``ObsSpec``; ``episode``: 0 = exploration; ``frames``: uint8 ``(len(slots), H, W, C)``
        for pixel observations, else None); advances those slots' memory."""
        ...


class EnvList:
    """``num_envs`` single trial envs stepped like a vector env, but only in the given slots.

    For families without a native vector env (MetaSign3D). Gymnasium's ``SyncVectorEnv``
    steps every sub-env and resets the finished ones, which on MetaSign3D costs a render per
    finished trial per step (2-3x the renders of a wave); here a finished trial is left alone.
    :meth:`step` returns arrays over all ``num_envs`` slots in which only ``slots`` are fresh.
    """

    def __init__(self, env_id: str, num_envs: int, **kwargs):
        self.envs = [gym.make(env_id, **kwargs) for _ in range(num_envs)]
        self.problem_id = np.full(num_envs, -1, dtype=np.int64)
        self._obs: dict[str, np.ndarray] | None = None
        #: Per slot, the episode env's ``state`` at the start of the exploration episode and
        #: after each of its steps that did not end it (what the harness records for its
        #: diagnosis; MetaSign3D: poses, for :func:`~meta_explore_envs.planning.sign3d.sign_seen`).
        self.exploration_states: list[list] = [[] for _ in range(num_envs)]

    def _store(self, i: int, obs: dict) -> None:
        if self._obs is None:
            n = len(self.envs)
            self._obs = {key: np.zeros((n, *np.shape(value)), dtype=np.asarray(value).dtype)
                         for key, value in obs.items()}
        for key, value in obs.items():
            self._obs[key][i] = value

    def reset(self, seed: list[int], options: dict[str, list] | None = None
              ) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray]]:
        """Reset every env with its seed (and ``options``, a list per key as for vector envs)."""
        for i, (env, s) in enumerate(zip(self.envs, seed, strict=True)):
            obs, info = env.reset(seed=s, options=None if options is None else {k: v[i] for k, v in options.items()})
            self._store(i, obs)
            self.problem_id[i] = info["problem_id"]
            self.exploration_states[i] = [env.unwrapped.episode_env.state]
        return self._obs, {"problem_id": self.problem_id.copy(), "_problem_id": np.ones(len(self.envs), bool)}

    def step(self, actions: np.ndarray, slots: np.ndarray):
        n = len(self.envs)
        reward, terminated = np.zeros(n), np.zeros(n, dtype=bool)
        info = {"episode_done": np.zeros(n, dtype=bool), "episode_return": np.zeros(n)}
        for i in slots:
            trial = self.envs[i].unwrapped
            exploring = trial.episode == 0
            obs, reward[i], terminated[i], _, step_info = self.envs[i].step(int(actions[i]))
            if exploring and not step_info["episode_done"]:
                self.exploration_states[i].append(trial.episode_env.state)
            self._store(i, obs)
            info["episode_done"][i] = step_info["episode_done"]
            info["episode_return"][i] = step_info.get("episode_return", 0.0)
        return self._obs, reward, terminated, np.zeros(n, dtype=bool), info

    def close(self) -> None:
        for env in self.envs:
            env.close()


class TrialBatch:
    """``num_envs`` trials of ``env_id`` played a wave of whole trials at a time.

    On the env's native vector env where its family has one (``gymnasium.make_vec``: one
    array step for every trial), else on an :class:`EnvList` of single envs in this process:
    MetaSign3D renders every frame with the one GL context all its envs share, between the
    batched network calls (a step costs ~0.75 ms of rendering). After a wave,
    :attr:`problem_ids` holds each slot's problem (from the reset's ``info``).
    """

    def __init__(self, env_id: str, num_envs: int, *, split: str = "train", num_exploit_episodes: int = 1):
        self.env_id = env_id
        self.split = split
        self.num_envs = num_envs
        self.num_exploit = num_exploit_episodes
        self.native = gym.spec(env_id).vector_entry_point is not None
        if self.native:
            self.envs = gym.make_vec(env_id, num_envs=num_envs, vectorization_mode="vector_entry_point", split=split,
                                     num_exploit_episodes=num_exploit_episodes)
        else:
            self.envs = EnvList(env_id, num_envs, split=split, num_exploit_episodes=num_exploit_episodes)
        single = gym.make(env_id, split=split, num_exploit_episodes=num_exploit_episodes)
        self.spec = ObsSpec.from_env(single)
        #: The problem IDs of the split (what ``run_wave``'s ``problem_ids`` may hold).
        self.split_problem_ids = tuple(single.unwrapped.episode_env.problem_ids)
        #: The family's "end episode" action (epsilon-greedy may keep exploration from taking it).
        self.end_action = int(single.unwrapped.episode_env.end_episode_action)
        single.close()
        self.max_steps = self.spec.max_episode_steps
        self.max_trial_steps = (num_exploit_episodes + 1) * self.max_steps
        self.problem_ids = np.full(num_envs, -1, dtype=np.int64)
        # MetaSign3D: whether each exploration episode saw the sign (a privileged diagnostic
        # for progress.csv, never a training signal).
        self.diagnose_sign = env_family(env_id) == "sign3d"
        self._k = len(self.spec.obs_nvec)
        self._m = len(self.spec.instr_nvec)

    def _encode(self, rows: np.ndarray, obs: dict, ints: np.ndarray, rew: np.ndarray, episode: np.ndarray,
                frames: np.ndarray | None) -> None:
        """Write the batched observations of sub-envs ``rows`` into the networks' inputs."""
        k, m = self._k, self._m
        if frames is None:
            ints[rows, :k] = obs["observation"][rows]
        else:
            frames[rows] = obs["observation"][rows]
        ints[rows, k:k + m] = obs["instruction"][rows].reshape(len(rows), m)
        ints[rows, k + m] = obs["prev_action"][rows]
        episode[rows] = obs["episode"][rows]
        rew[rows] = np.where(episode[rows] == 0, np.float32(0.0), obs["prev_reward"][rows, 0])

    def run_wave(self, actor: Actor, seeds: np.ndarray, choose: ActionChooser,
                 problem_ids: np.ndarray | None = None) -> tuple[dict[str, np.ndarray], dict]:
        """Play one trial per env, reset with ``seeds`` (and ``problem_ids``, else each seed
        draws its problem); return the trials (in
        :class:`~baselines.common.recurrent_q.replay.TrialBuffer` fields) and per-trial statistics."""
        n, num_ints, frame_shape = self.num_envs, self.spec.num_ints, self.spec.frame_shape
        trials = allocate_trials(n, self.num_exploit, self.max_steps, num_ints, frame_shape)
        trials["problem_id"][:] = -1
        exploit_return = np.zeros(n)
        ints = np.zeros((n, num_ints), dtype=np.int64)
        rew = np.zeros(n, dtype=np.float32)
        frames = np.zeros((n, *frame_shape), dtype=np.uint8) if frame_shape else None
        episode = np.zeros(n, dtype=np.int64)
        t_in_ep = np.zeros(n, dtype=np.int64)
        everyone = np.arange(n)
        options = None if problem_ids is None else {"problem_id": [int(p) for p in problem_ids]}
        if frame_shape:  # (the frames can then be rendered again: replay.TrialBuffer.state_dict)
            trials["seed"][:] = seeds
            trials["problem_given"][:] = problem_ids is not None
        obs, info = self.envs.reset(seed=[int(s) for s in seeds], options=options)
        if "problem_id" in info:
            trials["problem_id"] = np.where(info["_problem_id"], info["problem_id"], -1)
        self.problem_ids = trials["problem_id"].copy()
        self._encode(everyone, obs, ints, rew, episode, frames)
        actor.reset()
        active = np.ones(n, dtype=bool)
        all_actions = np.zeros(n, dtype=np.int64)  # sub-envs whose trial ended step on, unread
        total_steps = 0
        while active.any():
            slots = np.flatnonzero(active)
            q = actor.q_values(slots, ints[slots], rew[slots], episode[slots],
                               frames=None if frames is None else frames[slots])
            actions = np.asarray(choose(q, episode[slots], slots), dtype=np.int64)
            e, t = episode[slots], t_in_ep[slots]
            explore, task = e == 0, e > 0
            rows, times = slots[explore], t[explore]
            trials["exp_ints"][rows, times] = ints[rows]
            trials["exp_act"][rows, times] = actions[explore]
            if frames is not None:
                trials["exp_frames"][rows, times] = frames[rows]
            rows, episodes, times = slots[task], e[task] - 1, t[task]
            trials["task_ints"][rows, episodes, times] = ints[rows]
            trials["task_rew_in"][rows, episodes, times] = rew[rows]
            trials["task_act"][rows, episodes, times] = actions[task]
            if frames is not None:
                trials["task_frames"][rows, episodes, times] = frames[rows]
            all_actions[slots] = actions
            if self.native:
                obs, reward, terminated, _, info = self.envs.step(all_actions)
            else:
                obs, reward, terminated, _, info = self.envs.step(all_actions, slots)
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
            self._encode(slots[~finished], obs, ints, rew, episode, frames)
            total_steps += len(slots)
        stats = {
            "steps": total_steps,
            "exploit_return": exploit_return / self.num_exploit,
            "exp_len": trials["exp_len"].copy(),
        }
        if not self.native:  # (MetaSign3D: poses, for novelty by position and the diagnosis below;
            # each reset gives a slot a new list, so the wave's lists are not changed after it)
            stats["exploration_states"] = list(self.envs.exploration_states)
        if self.diagnose_sign:
            # Imported here: the planner's world is only built for MetaSign3D.
            from meta_explore_envs.planning.sign3d import sign_seen

            stats["sign_seen"] = np.array([sign_seen(states) for states in stats["exploration_states"]], bool)
        return trials, stats

    def render_frames(self, trials: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        """The ``exp_frames`` and ``task_frames`` of stored ``trials`` (pixel observations), by
        playing each again on a fresh env: reset with its ``seed`` (and its problem, where the
        wave gave it), then its stored actions. A trial is determined by those, so these are
        the frames it was collected with (on the same renderer; :meth:`TrialBuffer.load_state_dict`
        checks them). They are written into ``trials``' own ``exp_frames`` and ``task_frames``
        arrays (no second copy of a replay's frames: a resumed MetaSign3D replay holds
        several GB of them), which are returned."""
        frames = {name: trials[name] for name in ("exp_frames", "task_frames")}
        with self._replay_env() as play:
            for i in range(len(trials["seed"])):
                episodes = [(frames["exp_frames"][i], trials["exp_act"][i], int(trials["exp_len"][i]))]
                episodes += [(frames["task_frames"][i, k], trials["task_act"][i, k], int(trials["task_len"][i, k]))
                             for k in range(self.num_exploit)]
                play(int(trials["seed"][i]), int(trials["problem_id"][i]) if trials["problem_given"][i] else None,
                     episodes)
        return frames

    def render_explorations(self, seeds: np.ndarray, problem_ids: np.ndarray, actions: np.ndarray,
                            lengths: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
        """uint8 ``(n, T, H, W, C)``: the frames of exploration episodes played on a fresh env
        reset with ``seeds[i]`` and problem ``problem_ids[i]``, taking ``actions[i, :lengths[i]]``
        (e.g. a collected episode's actions in another problem: DREAM's counterfactuals);
        written into ``out`` (zeros past each length) when it is given."""
        shape = (len(seeds), self.max_steps, *self.spec.frame_shape)
        if out is not None and (out.shape != shape or out.dtype != np.uint8):
            raise ValueError(f"out must be uint8 of shape {shape}; got {out.dtype} {out.shape}")
        frames = np.zeros(shape, dtype=np.uint8) if out is None else out
        frames[:] = 0
        with self._replay_env() as play:
            for i in range(len(seeds)):
                play(int(seeds[i]), int(problem_ids[i]), [(frames[i], actions[i], int(lengths[i]))])
        return frames

    @contextmanager
    def _replay_env(self) -> Iterator[Callable[[int, int | None, list], None]]:
        """A fresh env and ``play(seed, problem_id or None, episodes)``: reset, then for each
        ``(out, actions, length)`` write the frame before each of its actions into ``out``."""
        env = gym.make(self.env_id, split=self.split, num_exploit_episodes=self.num_exploit)

        def play(seed: int, problem_id: int | None, episodes: list) -> None:
            obs, _ = env.reset(seed=seed, options=None if problem_id is None else {"problem_id": problem_id})
            for out, actions, length in episodes:
                for t in range(length):
                    out[t] = obs["observation"]
                    obs, *_ = env.step(int(actions[t]))

        try:
            yield play
        finally:
            env.close()

    def close(self) -> None:
        self.envs.close()


__all__ = ["Actor", "EnvList", "TrialBatch"]
