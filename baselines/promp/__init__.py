"""ProMP (Rothfuss et al., 2019), and E-MAML (Stadie et al., 2018) as its ``--e-maml`` flag, on
the gradient-based machinery (:mod:`baselines.common.gradient`).

* ``python -m baselines.promp.train --env MetaPointCorner-v0 [--e-maml]``: meta-train (:mod:`.train`).
* ``load_agent(env_id, checkpoint)``: the harness agent of a run's ``final.pt`` (adapts at the
  boundary to the first exploitation episode with the inner surrogate it was trained with).
"""

from __future__ import annotations

from typing import Any

from baselines.common.gradient.agent import GradientAgent, checkpoint_env_ids, load_gradient_agent, training
from baselines.promp.config import ProMPConfig
from evaluation.protocol import shipped_env_ids

#: The envs with a shipped checkpoint (``baselines/<method>/checkpoints/``, put there by
#: ``python -m evaluation.ship``): what ``python -m evaluation.score --agent`` scores without
#: ``--env``; it trains on every env of ``GRADIENT_ENV_IDS``.
ENV_IDS: tuple[str, ...] = shipped_env_ids(__file__)

#: How ``python -m evaluation.sweep --agents promp`` trains it (see ``evaluation.protocol``).
TRAINING = training("promp", "ProMP")


def load_agent(env_id: str, checkpoint: str | None = None, *, seed: int = 0, deterministic: bool = False,
               **kwargs: Any) -> GradientAgent:
    """The ProMP (or E-MAML) agent of ``checkpoint`` (a run's ``final.pt``)."""
    return load_gradient_agent("promp", env_id, checkpoint, seed=seed, deterministic=deterministic)


__all__ = ["ENV_IDS", "checkpoint_env_ids", "ProMPConfig", "TRAINING", "load_agent"]
