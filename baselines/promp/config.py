"""ProMP's (and E-MAML's) settings."""

from __future__ import annotations

from dataclasses import dataclass

from baselines.common.gradient.config import PolicyGradientConfig


@dataclass
class ProMPConfig(PolicyGradientConfig):
    """ProMP (Rothfuss et al., ICLR 2019); ``--e-maml`` trains E-MAML instead."""

    out: str = "runs/promp"
    kl_coeff: float = 5e-4
    """eta of the KL penalty ``eta KL(pi_theta_old || pi_theta)`` on the pre-update policy over
    the exploration episodes (ProMP's ``init_inner_kl_penalty``, not adapted)."""
    e_maml: bool = False
    """E-MAML (Stadie et al., 2018) instead: MAML's REINFORCE inner surrogate, no KL penalty,
    and the credit to the pre-update sampling distribution in the outer objective."""
    e_maml_coeff: float = 1.0
    """Weight of E-MAML's exploration credit term."""


__all__ = ["ProMPConfig"]
