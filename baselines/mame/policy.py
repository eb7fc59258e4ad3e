"""MAME's meta-policy: a separate exploration policy, an exploitation policy conditioned on a
latent, and the return model whose DiCE-weighted squared error adapts the latent."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import torch

from baselines.common.gradient.estimators import discounted_returns, magic_box
from baselines.common.gradient.meta_policy import ExplorationEpisode, MetaPolicy
from baselines.common.gradient.networks import GaussianMLP, Params, gaussian_log_prob, mlp


def with_latent(x: torch.Tensor, z: torch.Tensor) -> torch.Tensor:
    """``x`` (N, ..., d) with each task's latent ``z`` (N, k) appended on the last axis."""
    z = z.reshape(z.shape[0], *([1] * (x.dim() - 2)), z.shape[-1]).expand(*x.shape[:-1], z.shape[-1])
    return torch.cat([x, z], dim=-1)


class MAMEPolicy(MetaPolicy):
    """``explorer`` mu_phi(a|s); ``exploiter`` pi_theta(a|s, z); ``model`` M_psi(s, a, z).

    ``adapt`` starts every task's latent at 0 and takes ``inner_steps`` steps of size
    ``inner_lr`` on the inner loss (:meth:`inner_loss`), the squared error of M predicting the
    N-step return (N = the horizon: the rest of the exploration episode, undiscounted,
    scaled by ``return_scale``), each step's term weighted by the DiCE weight of the explorer's
    actions up to that step: the weights are 1, but through them the outer loss's gradient
    reaches mu_phi (credit for trajectories that make the adaptation work)."""

    def __init__(self, obs_dim: int = 2, act_dim: int = 2, hidden: Sequence[int] = (64, 64), init_std: float = 1.0,
                 latent_dim: int = 8, inner_lr: float = 0.1, inner_steps: int = 1, return_scale: float = 0.1):
        super().__init__()
        self._config = {"obs_dim": obs_dim, "act_dim": act_dim, "hidden": list(hidden), "init_std": init_std,
                        "latent_dim": latent_dim, "inner_lr": inner_lr, "inner_steps": inner_steps,
                        "return_scale": return_scale}
        self.explorer = GaussianMLP(obs_dim, act_dim, hidden, init_std)
        self.exploiter = GaussianMLP(obs_dim + latent_dim, act_dim, hidden, init_std)
        self.model = mlp(obs_dim + act_dim + latent_dim, 1, hidden)

    def config(self) -> dict[str, Any]:
        return dict(self._config)

    def explore_dist(self, obs: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        return self.explorer(obs)

    def exploit_dist(self, state: Params, obs: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        return self.exploiter(with_latent(obs, state["z"]))

    def targets(self, episode: ExplorationEpisode) -> torch.Tensor:
        """``(N, T)`` the model's targets: ``return_scale`` x the observed return-to-go."""
        returns = episode.join(discounted_returns(episode.split(np.asarray(episode.rewards, dtype=np.float64)), 1.0))
        return torch.as_tensor(returns * self._config["return_scale"], dtype=torch.float32)

    def step_losses(self, obs: torch.Tensor, actions: torch.Tensor, z: torch.Tensor,
                    targets: torch.Tensor) -> torch.Tensor:
        """``(N, T)`` squared errors ``(M(s_t, a_t, z) - target_t)^2``; ``z`` is (N, k) or (N, T, k)."""
        x = torch.cat([obs, actions], dim=-1)
        x = torch.cat([x, z], dim=-1) if z.dim() == 3 else with_latent(x, z)
        return (self.model(x).squeeze(-1) - targets).pow(2)

    def dice_weights(self, obs: torch.Tensor, actions: torch.Tensor, episodes: int = 1) -> torch.Tensor:
        """``(N, T)`` DiCE weights ``magic_box(sum_{t' <= t} log mu_phi(a_t'|s_t'))`` (value 1), the
        sum within each of the row's ``episodes`` episodes."""
        logp = gaussian_log_prob(*self.explorer(obs), actions)
        n, length = logp.shape
        return magic_box(torch.cumsum(logp.reshape(n, episodes, length // episodes), dim=-1).reshape(n, length))

    def inner_loss(self, obs: torch.Tensor, actions: torch.Tensor, z: torch.Tensor, targets: torch.Tensor,
                   episodes: int = 1) -> torch.Tensor:
        """``(N,)`` per task: ``mean_t w_t (M(s_t, a_t, z) - target_t)^2`` (:meth:`dice_weights`)."""
        weights = self.dice_weights(obs, actions, episodes)
        return (weights * self.step_losses(obs, actions, z, targets)).mean(-1)

    def adapt(self, episode: ExplorationEpisode, create_graph: bool = False) -> Params:
        obs, actions = episode.tensors()
        targets = self.targets(episode)
        c = self._config
        with torch.enable_grad():
            z = torch.zeros(len(obs), c["latent_dim"], requires_grad=True)
            for _ in range(c["inner_steps"]):
                grad, = torch.autograd.grad(self.inner_loss(obs, actions, z, targets, episode.episodes).sum(), z,
                                            create_graph=create_graph)
                z = z - c["inner_lr"] * grad
                if not create_graph:
                    z = z.detach().requires_grad_()
        return {"z": z if create_graph else z.detach()}


__all__ = ["MAMEPolicy", "with_latent"]
