"""Meta-policies: what acts in the exploration episode, how it adapts at the episode boundary,
and what acts after; shared by the trainers and the harness agent.

A :class:`MetaPolicy` is an ``nn.Module`` with three methods, each on a leading task axis:

* ``explore_dist(obs)``: ``(mean, log_std)`` of the exploration (pre-update) policy;
* ``adapt(episode)``: the adapted state of each task (a dict of tensors with a leading task
  axis: adapted weights for MAML/ProMP, an adapted latent for MAME) from that task's
  exploration episode, as the agent observed it (:class:`ExplorationEpisode`);
  differentiable with respect to the module's parameters when ``create_graph=True``;
* ``exploit_dist(state, obs)``: ``(mean, log_std)`` of the exploitation (post-update)
  policy of each task.

:class:`PolicyGradientMetaPolicy` is MAML's and ProMP's: one Gaussian MLP whose weights take
``inner_steps`` policy-gradient steps on the exploration episode.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from torch import nn

from baselines.common.gradient.estimators import LinearFeatureBaseline, discounted_returns, gae, magic_box, normalise
from baselines.common.gradient.networks import (
    GaussianMLP,
    Params,
    batched_call,
    gaussian_log_prob,
    params_of,
    repeat_params,
)


@dataclass
class ExplorationEpisode:
    """What an agent observed in its exploration episodes, ``N`` tasks at once: observations
    ``(N, T, d)``, its own (unclipped, sampled) actions ``(N, T, a)`` and the rewards it saw
    ``(N, T)``. The reward of an episode's last step is never observed (the next observation
    starts the next episode with ``prev_reward`` 0; agents get no ``info``), so it is 0 here in
    training as at test time (:func:`observed_rewards`).

    ``episodes`` > 1 (meta-training with ``episodes_per_task``): each task's row holds that
    many exploration episodes of equal length one after another (``T = episodes x length``);
    returns, advantages and DiCE weights are computed per episode (:meth:`split`)."""

    obs: np.ndarray
    actions: np.ndarray
    rewards: np.ndarray
    episodes: int = 1

    def tensors(self) -> tuple[torch.Tensor, torch.Tensor]:
        return torch.as_tensor(self.obs, dtype=torch.float32), torch.as_tensor(self.actions, dtype=torch.float32)

    def split(self, x):
        """``x`` of shape (N, episodes x length, ...) as (N x episodes, length, ...): one row an episode."""
        return x.reshape(x.shape[0] * self.episodes, x.shape[1] // self.episodes, *x.shape[2:])

    def join(self, x):
        """The inverse of :meth:`split`: (N x episodes, length, ...) -> (N, episodes x length, ...)."""
        return x.reshape(x.shape[0] // self.episodes, x.shape[1] * self.episodes, *x.shape[2:])


def observed_rewards(rewards: np.ndarray) -> np.ndarray:
    """The rewards ``(N, T)`` of episodes as an agent observes them: the last one is 0."""
    seen = np.array(rewards, dtype=np.float64)
    seen[..., -1] = 0.0
    return seen


class MetaPolicy(nn.Module):
    """The interface of the module docstring. ``config()`` returns the constructor's keyword
    arguments (saved in checkpoints, so that ``type(policy)(**config)`` rebuilds it)."""

    def config(self) -> dict[str, Any]:
        raise NotImplementedError

    def explore_dist(self, obs: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        raise NotImplementedError

    def adapt(self, episode: ExplorationEpisode, create_graph: bool = False) -> Params:
        raise NotImplementedError

    def exploit_dist(self, state: Params, obs: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        raise NotImplementedError

    def fit_inner_baseline(self, episode: ExplorationEpisode) -> None:
        """Refit whatever baseline the inner step uses on a training batch (default: none)."""


def inner_surrogate(logp: torch.Tensor, advantages: torch.Tensor, estimator: str) -> torch.Tensor:
    """The inner objective's surrogate per task, ``(N,)``, to be maximised.

    * ``"reinforce"`` (MAML): ``mean_t log pi(a_t|s_t) A_t``; its gradient is the REINFORCE
      estimator with a baseline, its Hessian ``mean_t A_t grad^2 log pi`` (no credit to the
      sampling distribution: MAML's formulation as ProMP analyses it).
    * ``"lvc"`` (ProMP's low variance curvature): ``mean_t magic_box(log pi(a_t|s_t)) A_t``,
      the same value's gradient, with ``mean_t A_t (grad^2 log pi + grad log pi grad log pi^T)``
      as its Hessian (the per-step DiCE term; cross terms between steps dropped).
    """
    if estimator == "reinforce":
        return (logp * advantages).mean(-1)
    if estimator == "lvc":
        return (magic_box(logp) * advantages).mean(-1)
    raise ValueError(f"estimator={estimator!r} is not valid: expected 'reinforce' or 'lvc'")


class PolicyGradientMetaPolicy(MetaPolicy):
    """MAML's and ProMP's meta-policy: one Gaussian MLP on the position; ``adapt`` takes
    ``inner_steps`` gradient steps of size ``inner_lr`` on :func:`inner_surrogate` of the
    exploration episode, with advantages from GAE (``gamma``, ``gae_lambda``) on ProMP's
    linear feature baseline (fitted on the last training batch's exploration episodes),
    normalised over each task's exploration episode(s) when ``normalise_advantages``."""

    def __init__(self, obs_dim: int = 2, act_dim: int = 2, hidden: Sequence[int] = (64, 64), init_std: float = 1.0,
                 inner_lr: float = 0.1, inner_steps: int = 1, estimator: str = "reinforce", gamma: float = 0.99,
                 gae_lambda: float = 1.0, normalise_advantages: bool = True):
        super().__init__()
        self._config = {"obs_dim": obs_dim, "act_dim": act_dim, "hidden": list(hidden), "init_std": init_std,
                        "inner_lr": inner_lr, "inner_steps": inner_steps, "estimator": estimator, "gamma": gamma,
                        "gae_lambda": gae_lambda, "normalise_advantages": normalise_advantages}
        inner_surrogate(torch.zeros(1), torch.zeros(1), estimator)  # validates the estimator
        self.policy = GaussianMLP(obs_dim, act_dim, hidden, init_std)
        self.baseline = LinearFeatureBaseline(obs_dim)
        self.register_buffer("baseline_coefficients", torch.zeros(len(self.baseline.coefficients), dtype=torch.float64))

    def config(self) -> dict[str, Any]:
        return dict(self._config)

    def explore_dist(self, obs: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        return self.policy(obs)

    def fit_inner_baseline(self, episode: ExplorationEpisode) -> None:
        gamma = self._config["gamma"]
        self.baseline.fit(episode.split(episode.obs), discounted_returns(episode.split(episode.rewards), gamma))
        self.baseline_coefficients.copy_(torch.as_tensor(self.baseline.coefficients))

    def inner_advantages(self, episode: ExplorationEpisode) -> torch.Tensor:
        """``(N, T)`` advantages of the inner step (no gradient flows through them)."""
        self.baseline.coefficients = self.baseline_coefficients.numpy()
        c = self._config
        values = self.baseline.predict(episode.split(episode.obs))
        advantages = episode.join(gae(episode.split(episode.rewards), values, c["gamma"], c["gae_lambda"]))
        if c["normalise_advantages"]:  # over each task's episodes
            advantages = normalise(advantages, axis=-1)
        return torch.as_tensor(advantages, dtype=torch.float32)

    def adapt(self, episode: ExplorationEpisode, create_graph: bool = False) -> Params:
        obs, actions = episode.tensors()
        advantages = self.inner_advantages(episode)
        c = self._config
        with torch.enable_grad():
            params = repeat_params(params_of(self.policy), len(obs))
            for _ in range(c["inner_steps"]):
                mean, log_std = batched_call(self.policy, params, obs)
                objective = inner_surrogate(gaussian_log_prob(mean, log_std, actions), advantages, c["estimator"])
                grads = torch.autograd.grad(objective.sum(), list(params.values()), create_graph=create_graph)
                params = {name: p + c["inner_lr"] * g for (name, p), g in zip(params.items(), grads)}
        return params if create_graph else {name: p.detach() for name, p in params.items()}

    def exploit_dist(self, state: Params, obs: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        return batched_call(self.policy, state, obs)


__all__ = ["ExplorationEpisode", "MetaPolicy", "PolicyGradientMetaPolicy", "inner_surrogate", "observed_rewards"]
