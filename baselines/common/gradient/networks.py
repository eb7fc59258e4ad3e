"""Networks with functional parameters: a Gaussian MLP policy whose weights can be replaced by
adapted ones (``torch.func.functional_call``), batched over tasks with ``torch.func.vmap``."""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch
from torch import nn
from torch.func import functional_call, vmap

Params = dict[str, torch.Tensor]


def mlp(in_dim: int, out_dim: int, hidden: Sequence[int]) -> nn.Sequential:
    """Tanh MLP (ProMP's policies use tanh hidden layers)."""
    layers: list[nn.Module] = []
    for width in hidden:
        layers += [nn.Linear(in_dim, width), nn.Tanh()]
        in_dim = width
    layers.append(nn.Linear(in_dim, out_dim))
    return nn.Sequential(*layers)


class GaussianMLP(nn.Module):
    """``N(mean(x), diag(exp(log_std)^2))``: a tanh MLP mean and a state-independent learned
    log standard deviation (ProMP's ``MetaGaussianMLPPolicy``). ``forward(x)`` returns
    ``(mean, log_std)`` broadcast to the mean's shape."""

    def __init__(self, in_dim: int, act_dim: int, hidden: Sequence[int] = (64, 64), init_std: float = 1.0):
        super().__init__()
        self.mean = mlp(in_dim, act_dim, hidden)
        self.log_std = nn.Parameter(torch.full((act_dim,), math.log(init_std)))

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        mean = self.mean(x)
        return mean, self.log_std.expand_as(mean)


def params_of(module: nn.Module) -> Params:
    """The module's parameters by name (the functional parameters an inner step adapts)."""
    return dict(module.named_parameters())


def call(module: nn.Module, params: Params, *inputs: torch.Tensor):
    """``module(*inputs)`` with ``params`` in place of its own parameters."""
    return functional_call(module, params, inputs)


def batched_call(module: nn.Module, params: Params, *inputs: torch.Tensor):
    """``module(*inputs[i])`` with ``params[...][i]`` for each task ``i`` (leading axis of both)."""
    return vmap(lambda p, *x: functional_call(module, p, x))(params, *inputs)


def repeat_params(params: Params, n: int) -> Params:
    """``n`` copies of ``params`` on a new leading axis, differentiable back to ``params`` (so
    that the gradient of a sum of per-task losses with respect to them is per task)."""
    return {name: p.unsqueeze(0).repeat(n, *([1] * p.dim())) for name, p in params.items()}


def gaussian_log_prob(mean: torch.Tensor, log_std: torch.Tensor, action: torch.Tensor) -> torch.Tensor:
    """Log density of ``action`` under a diagonal Gaussian, summed over the last axis."""
    z = (action - mean) * torch.exp(-log_std)
    return (-0.5 * z.pow(2) - log_std - 0.5 * math.log(2 * math.pi)).sum(-1)


def gaussian_kl(mean_p: torch.Tensor, log_std_p: torch.Tensor, mean_q: torch.Tensor,
                log_std_q: torch.Tensor) -> torch.Tensor:
    """``KL(p || q)`` of diagonal Gaussians, summed over the last axis."""
    var_p, var_q = torch.exp(2 * log_std_p), torch.exp(2 * log_std_q)
    return (log_std_q - log_std_p + (var_p + (mean_p - mean_q).pow(2)) / (2 * var_q) - 0.5).sum(-1)


def sample(mean: torch.Tensor, log_std: torch.Tensor, generator: torch.Generator | None = None) -> torch.Tensor:
    """A sample of the Gaussian (``generator``: a torch generator; None: the global one)."""
    noise = torch.randn(mean.shape, generator=generator, dtype=mean.dtype)
    return mean + torch.exp(log_std) * noise


__all__ = ["GaussianMLP", "Params", "batched_call", "call", "gaussian_kl", "gaussian_log_prob", "mlp", "params_of",
           "repeat_params", "sample"]
