"""MAME (Gurumurthy, Kumar, Sycara, CoRL 2019): a separate exploration policy and a latent adapted
by a self-supervised, DiCE-weighted inner loss, on the gradient-based machinery
(:mod:`baselines.common.gradient`).

* ``python -m baselines.mame.train --env MetaPointCorner-v0``: meta-train (:mod:`.train`).
* ``load_agent(env_id, checkpoint)``: the harness agent of a run's ``final.pt``: it explores with
  mu_phi, adapts the latent at the boundary to the first exploitation episode, then exploits
  with pi_theta(a|s, z').
"""

from __future__ import annotations

from typing import Any

from baselines.common.gradient.agent import GradientAgent, checkpoint_env_ids, load_gradient_agent, training
from baselines.mame.config import MAMEConfig
from evaluation.protocol import shipped_env_ids

#: The envs with a shipped checkpoint (``baselines/<method>/checkpoints/``, put there by
#: ``python -m evaluation.ship``): what ``python -m evaluation.score --agent`` scores without
#: ``--env``; it trains on every env of ``GRADIENT_ENV_IDS``.
ENV_IDS: tuple[str, ...] = shipped_env_ids(__file__)

#: How ``python -m evaluation.sweep --agents mame`` trains it (see ``evaluation.protocol``).
TRAINING = training("mame", "MAME")


def load_agent(env_id: str, checkpoint: str | None = None, *, seed: int = 0, deterministic: bool = False,
               **kwargs: Any) -> GradientAgent:
    """The MAME agent of ``checkpoint`` (a run's ``final.pt``)."""
    return load_gradient_agent("mame", env_id, checkpoint, seed=seed, deterministic=deterministic)


__all__ = ["ENV_IDS", "checkpoint_env_ids", "MAMEConfig", "TRAINING", "load_agent"]
