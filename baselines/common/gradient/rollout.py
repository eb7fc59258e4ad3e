"""Batched trial rollouts on a trial vector env: every sub-env plays one trial (one task), the
exploration episode with the pre-update policy, then, after each task's adaptation, the
exploitation episodes with its adapted policy."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from baselines.common.gradient.meta_policy import ExplorationEpisode, MetaPolicy, observed_rewards
from baselines.common.gradient.networks import Params, gaussian_log_prob, sample


@dataclass
class Episodes:
    """``N`` episodes of ``T`` steps: observations ``(N, T, d)``, sampled actions ``(N, T, a)``,
    rewards ``(N, T)`` (as the env paid them) and the sampling log-probabilities ``(N, T)``."""

    obs: np.ndarray
    actions: np.ndarray
    rewards: np.ndarray
    logp: np.ndarray

    def as_observed(self) -> ExplorationEpisode:
        """What an agent saw of these (exploration) episodes (:func:`observed_rewards`)."""
        return ExplorationEpisode(self.obs, self.actions, observed_rewards(self.rewards))

    @staticmethod
    def concatenate(parts: list[Episodes]) -> Episodes:
        """Episodes of the same tasks one after another, on the time axis."""
        return Episodes(*(np.concatenate([getattr(p, k) for p in parts], axis=1)
                          for k in ("obs", "actions", "rewards", "logp")))


@dataclass
class TrialRollout:
    """One batch of trials: the exploration episodes, the exploitation episodes (all of a
    trial's, on the time axis) and the adapted state each trial acted with; ``episodes_per_task``
    consecutive sub-envs share a task (and its adaptation, from all their exploration episodes)."""

    explore: Episodes
    exploit: Episodes
    state: Params
    episodes_per_task: int = 1

    def observed(self) -> ExplorationEpisode:
        """What the adaptation reads: each task's exploration episodes as the agent saw them."""
        return group_by_task(self.explore.as_observed(), self.episodes_per_task)

    def adapt(self, policy: MetaPolicy, create_graph: bool = False) -> Params:
        """Each trial's adapted state (its task's), recomputed with the policy's current parameters."""
        return adapted_states(policy, self.observed(), create_graph)


def group_by_task(episode: ExplorationEpisode, k: int) -> ExplorationEpisode:
    """Rows ``i k ... i k + k - 1`` (one episode each) as task ``i``'s row of ``k`` episodes."""
    n, length = episode.rewards.shape
    return ExplorationEpisode(episode.obs.reshape(n // k, k * length, -1),
                              episode.actions.reshape(n // k, k * length, -1),
                              episode.rewards.reshape(n // k, k * length), episodes=k)


def adapted_states(policy: MetaPolicy, observed: ExplorationEpisode, create_graph: bool = False) -> Params:
    """``policy.adapt`` per task, repeated for each of the task's trials."""
    state = policy.adapt(observed, create_graph=create_graph)
    k = observed.episodes
    return state if k == 1 else {name: value.repeat_interleave(k, dim=0) for name, value in state.items()}


def play_episode(envs, obs: np.ndarray, dist, generator: torch.Generator | None = None
                 ) -> tuple[Episodes, np.ndarray]:
    """Play one episode in every sub-env from observations ``obs`` (N, d) with actions sampled
    from ``dist(obs_tensor) -> (mean, log_std)``; returns the episodes and the next observations."""
    length = envs.single.episode_env.max_episode_steps
    n = envs.num_envs
    observations, actions, rewards, logps = [], [], [], []
    with torch.no_grad():
        for _ in range(length):
            x = torch.as_tensor(obs, dtype=torch.float32)
            mean, log_std = dist(x)
            action = sample(mean, log_std, generator)
            logps.append(gaussian_log_prob(mean, log_std, action).numpy())
            observations.append(obs)
            actions.append(action.numpy())
            step_obs, reward, _, _, infos = envs.step(action.numpy().astype(np.float64))
            rewards.append(reward)
            obs = step_obs["observation"]
            # The losses index every episode as T consecutive steps: an episode that ends early
            # (a fallen Walker2D) would silently mix two episodes in one row.
            wrong = np.flatnonzero(np.asarray(infos["episode_done"]) != (len(rewards) == length))
            if len(wrong):
                raise ValueError(f"the episode of sub-env {int(wrong[0])} did not end after exactly {length} steps "
                                 f"(step {len(rewards)}): the gradient-based methods need episodes of a fixed length "
                                 "(MetaPointCorner and the HalfCheetah tasks have them; Ant, Walker2D and Hopper "
                                 "end an episode when the robot falls)")
    stack = lambda xs: np.stack(xs, axis=1)  # noqa: E731
    assert stack(rewards).shape == (n, length)
    return Episodes(stack(observations), stack(actions), stack(rewards), stack(logps)), obs


def collect_trials(envs, policy: MetaPolicy, seed: int, fit_baseline: bool = True,
                   generator: torch.Generator | None = None, episodes_per_task: int = 1) -> TrialRollout:
    """Play one trial in each sub-env of ``envs`` (reset with ``seed``): the exploration
    episode with ``policy.explore_dist``, the adaptation of every task from what it observed
    (the inner baseline refitted on this batch first when ``fit_baseline``), then the
    exploitation episodes with ``policy.exploit_dist`` of the adapted states.

    With ``episodes_per_task`` k > 1, each run of k consecutive sub-envs plays one task (a
    problem drawn from ``seed``) and adapts once from all k exploration episodes."""
    k = episodes_per_task
    options = None
    if k > 1:
        if envs.num_envs % k:
            raise ValueError(f"num_envs={envs.num_envs} is not a multiple of episodes_per_task={k}")
        problems = np.random.default_rng(seed).choice(envs.unwrapped.problem_ids, size=envs.num_envs // k)
        options = {"problem_id": np.repeat(problems, k).tolist()}
    observations, _ = envs.reset(seed=seed, options=options)
    explore, obs = play_episode(envs, observations["observation"], policy.explore_dist, generator)
    observed = group_by_task(explore.as_observed(), k)
    if fit_baseline:
        policy.fit_inner_baseline(observed)
    with torch.no_grad():
        state = adapted_states(policy, observed)
    parts = []
    for _ in range(envs.num_exploit_episodes):
        part, obs = play_episode(envs, obs, lambda x: policy.exploit_dist(state, x), generator)
        parts.append(part)
    return TrialRollout(explore, Episodes.concatenate(parts), state, k)


__all__ = ["Episodes", "TrialRollout", "adapted_states", "collect_trials", "group_by_task", "play_episode"]
