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

from baselines.common.gradient.agent import GradientAgent, load_gradient_agent, training
from baselines.common.gradient.config import GRADIENT_ENV_IDS
from baselines.mame.config import MAMEConfig

#: The envs it plays (no checkpoint is shipped yet).
ENV_IDS: tuple[str, ...] = GRADIENT_ENV_IDS

#: How ``python -m evaluation.sweep --agents mame`` trains it (see ``evaluation.protocol``).
TRAINING = training("mame", "MAME")


def load_agent(env_id: str, checkpoint: str | None = None, *, seed: int = 0, deterministic: bool = False,
               **kwargs: Any) -> GradientAgent:
    """The MAME agent of ``checkpoint`` (a run's ``final.pt``)."""
    return load_gradient_agent("mame", env_id, checkpoint, seed=seed, deterministic=deterministic)


__all__ = ["ENV_IDS", "MAMEConfig", "TRAINING", "load_agent"]
