"""MAML's settings: the shared ones (:class:`~baselines.common.gradient.config.GradientConfig`)
and the inner step's (:class:`~baselines.common.gradient.config.PolicyGradientConfig`)."""

from __future__ import annotations

from dataclasses import dataclass

from baselines.common.gradient.config import PolicyGradientConfig


@dataclass
class MAMLConfig(PolicyGradientConfig):
    """MAML (Finn et al., 2017) with one policy-gradient inner step and a PPO-clip outer step."""

    out: str = "runs/maml"


__all__ = ["MAMLConfig"]
