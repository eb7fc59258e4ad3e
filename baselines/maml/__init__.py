"""MAML (Finn et al., 2017) with a policy-gradient inner step, on the gradient-based machinery
(:mod:`baselines.common.gradient`).

* ``python -m baselines.maml.train --env MetaPointCorner-v0``: meta-train (see :mod:`.train`).
* ``load_agent(env_id, checkpoint)``: the harness agent of a run's ``final.pt``; it adapts at
  the boundary to the first exploitation episode (:class:`~baselines.common.gradient.agent.GradientAgent`).
"""

from __future__ import annotations

from typing import Any

from baselines.common.gradient.agent import GradientAgent, load_gradient_agent, training
from baselines.common.gradient.config import GRADIENT_ENV_IDS
from baselines.maml.config import MAMLConfig

#: The envs it plays (no checkpoint is shipped yet).
ENV_IDS: tuple[str, ...] = GRADIENT_ENV_IDS

#: How ``python -m evaluation.sweep --agents maml`` trains it (see ``evaluation.protocol``).
TRAINING = training("maml", "MAML")


def load_agent(env_id: str, checkpoint: str | None = None, *, seed: int = 0, deterministic: bool = False,
               **kwargs: Any) -> GradientAgent:
    """The MAML agent of ``checkpoint`` (a run's ``final.pt``); actions sampled unless
    ``deterministic`` (see :mod:`baselines.common.gradient.agent`)."""
    return load_gradient_agent("maml", env_id, checkpoint, seed=seed, deterministic=deterministic)


__all__ = ["ENV_IDS", "MAMLConfig", "TRAINING", "load_agent"]
