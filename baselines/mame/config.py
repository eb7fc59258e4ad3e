"""MAME's settings."""

from __future__ import annotations

from dataclasses import dataclass

from baselines.common.gradient.config import GradientConfig


@dataclass
class MAMEConfig(GradientConfig):
    """MAME (Gurumurthy, Kumar, Sycara, CoRL 2019): a separate exploration policy and a latent
    adapted by a self-supervised, DiCE-weighted inner loss."""

    out: str = "runs/mame"
    lr: float = 7e-4
    """Adam learning rate (MAME: 7e-4)."""
    grad_clip: float = 0.5
    """Global gradient-norm clip (MAME: 0.5)."""
    latent_dim: int = 8
    """Size of the latent z that the inner step adapts (our choice)."""
    inner_lr: float = 0.1
    """Step size alpha of the latent's inner gradient steps (MAME: 0.1)."""
    inner_steps: int = 1
    """Inner gradient steps on the latent."""
    return_scale: float = 0.1
    """The return model M predicts ``return_scale`` x the N-step return (our choice: keeps the
    squared error, hence the inner step of size 0.1, small on returns of up to ~14)."""
    explore_coeff: float = 1.0
    """Weight of the exploration policy's PPO loss on the alignment reward."""


__all__ = ["MAMEConfig"]
