"""MAML (Finn et al., 2017) with a policy-gradient inner step, on the gradient-based machinery
(:mod:`baselines.common.gradient`).

* ``python -m baselines.maml.train --env MetaPointCorner-v0``: meta-train (see :mod:`.train`).
* ``load_agent(env_id, checkpoint)``: the harness agent of a run's ``final.pt``; it adapts at
  the boundary to the first exploitation episode (:class:`~baselines.common.gradient.agent.GradientAgent`).
"""

from __future__ import annotations

from typing import Any

from baselines.common.gradient.agent import GradientAgent, checkpoint_env_ids, load_gradient_agent, training
from baselines.maml.config import MAMLConfig
from evaluation.protocol import shipped_env_ids

#: The envs with a shipped checkpoint (``baselines/<method>/checkpoints/``, put there by
#: ``python -m evaluation.ship``): what ``python -m evaluation.score --agent`` scores without
#: ``--env``; it trains on every env of ``GRADIENT_ENV_IDS``.
ENV_IDS: tuple[str, ...] = shipped_env_ids(__file__)

#: How ``python -m evaluation.sweep --agents maml`` trains it (see ``evaluation.protocol``).
TRAINING = training("maml", "MAML")


def load_agent(env_id: str, checkpoint: str | None = None, *, seed: int = 0, deterministic: bool = False,
               **kwargs: Any) -> GradientAgent:
    """The MAML agent of ``checkpoint`` (a run's ``final.pt``); actions sampled unless
    ``deterministic`` (see :mod:`baselines.common.gradient.agent`)."""
    return load_gradient_agent("maml", env_id, checkpoint, seed=seed, deterministic=deterministic)


__all__ = ["ENV_IDS", "checkpoint_env_ids", "MAMLConfig", "TRAINING", "load_agent"]
