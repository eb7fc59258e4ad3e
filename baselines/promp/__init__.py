"""ProMP (Rothfuss et al., 2019), and E-MAML (Stadie et al., 2018) as its ``--e-maml`` flag, on
the gradient-based machinery (:mod:`baselines.common.gradient`).

* ``python -m baselines.promp.train --env MetaPointCorner-v0 [--e-maml]``: meta-train (:mod:`.train`).
* ``load_agent(env_id, checkpoint)``: the harness agent of a run's ``final.pt`` (adapts at the
  boundary to the first exploitation episode with the inner surrogate it was trained with).
"""

from __future__ import annotations

from typing import Any

from baselines.common.gradient.agent import GradientAgent, load_gradient_agent, training
from baselines.common.gradient.config import GRADIENT_ENV_IDS
from baselines.promp.config import ProMPConfig

#: The envs it plays (no checkpoint is shipped yet).
ENV_IDS: tuple[str, ...] = GRADIENT_ENV_IDS

#: How ``python -m evaluation.sweep --agents promp`` trains it (see ``evaluation.protocol``).
TRAINING = training("promp", "ProMP")


def load_agent(env_id: str, checkpoint: str | None = None, *, seed: int = 0, deterministic: bool = False,
               **kwargs: Any) -> GradientAgent:
    """The ProMP (or E-MAML) agent of ``checkpoint`` (a run's ``final.pt``)."""
    return load_gradient_agent("promp", env_id, checkpoint, seed=seed, deterministic=deterministic)


__all__ = ["ENV_IDS", "ProMPConfig", "TRAINING", "load_agent"]
