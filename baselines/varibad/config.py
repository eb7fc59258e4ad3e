"""The VariBAD training configuration: one documented dataclass, parsed by ``tyro``.

Every field is a flag of ``python -m baselines.varibad.train``. VariBAD shares E-RL²'s
settings (:class:`~baselines.erl2.config.ERL2Config`: the DREAM paper's baseline settings on
the shared learner, the same on every env) and adds its VAE's: the latent size, the reward
decoder's width, the KL weight, the VAE loss's weight and its learning rate (the values of
VariBAD's gridworld configuration where it has one).
"""

from __future__ import annotations

from dataclasses import dataclass

from baselines.erl2.config import ERL2Config


@dataclass
class VariBADConfig(ERL2Config):
    """VariBAD (Zintgraf et al., 2020; the DREAM paper's baseline) on a ``Meta*-v0`` trial env, IMRL setting."""

    out: str = "runs/varibad"
    """Output folder: config.json, progress.csv, TensorBoard events, checkpoint.pt, final.pt."""

    latent_dim: int = 5
    """Size of the latent task variable m: the posterior q(m | tau_{:t}) is a diagonal Gaussian
    of this many dimensions, and the policy reads its mean and log-variance (VariBAD's gridworld: 5)."""
    decoder_hidden: int = 32
    """Width of the reward decoder p(r | s, a, m): its embedding of the step and the action, then
    two layers of this width (VariBAD's gridworld reward decoder: two layers of 32)."""
    kl_weight: float = 1.0
    """Weight of the KL terms KL(q(m | tau_{:t}) || q(m | tau_{:t-1})) in the VAE loss (1: the ELBO)."""
    vae_weight: float = 1.0
    """Weight of the VAE loss (-sum_t ELBO_t) in the loss that is back-propagated. The VAE's and
    the Q-network's parameters are disjoint and Adam scales each parameter's steps, so it
    matters mostly through the shared gradient clipping (``max_grad_norm``)."""
    vae_lr: float = 1e-3
    """Adam learning rate of the encoder and the decoder (VariBAD trains its VAE with its own
    optimiser at 1e-3); the Q-network keeps ``lr``."""

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.latent_dim < 1 or self.decoder_hidden < 1:
            raise ValueError(f"latent_dim={self.latent_dim} and decoder_hidden={self.decoder_hidden} must be >= 1")
