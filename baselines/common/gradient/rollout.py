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
    trial's, on the time axis) and the adapted state each task acted with."""

    explore: Episodes
    exploit: Episodes
    state: Params


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
            step_obs, reward, _, _, _ = envs.step(action.numpy().astype(np.float64))
            rewards.append(reward)
            obs = step_obs["observation"]
    stack = lambda xs: np.stack(xs, axis=1)  # noqa: E731
    assert stack(rewards).shape == (n, length)
    return Episodes(stack(observations), stack(actions), stack(rewards), stack(logps)), obs


def collect_trials(envs, policy: MetaPolicy, seed: int, fit_baseline: bool = True,
                   generator: torch.Generator | None = None) -> TrialRollout:
    """Play one trial in each sub-env of ``envs`` (reset with ``seed``): the exploration
    episode with ``policy.explore_dist``, the adaptation of every task from what it observed
    (the inner baseline refitted on this batch first when ``fit_baseline``), then the
    exploitation episodes with ``policy.exploit_dist`` of the adapted states."""
    observations, _ = envs.reset(seed=seed)
    explore, obs = play_episode(envs, observations["observation"], policy.explore_dist, generator)
    observed = explore.as_observed()
    if fit_baseline:
        policy.fit_inner_baseline(observed)
    with torch.no_grad():
        state = policy.adapt(observed, create_graph=False)
    parts = []
    for _ in range(envs.num_exploit_episodes):
        part, obs = play_episode(envs, obs, lambda x: policy.exploit_dist(state, x), generator)
        parts.append(part)
    return TrialRollout(explore, Episodes.concatenate(parts), state)


__all__ = ["Episodes", "TrialRollout", "collect_trials", "play_episode"]
