"""The IMPORT training configuration: one documented dataclass, parsed by ``tyro``.

Every field is a flag of ``python -m baselines.import_.train``. IMPORT shares E-RL²'s
settings (:class:`~baselines.erl2.config.ERL2Config`: the DREAM paper's baseline settings,
the same on every env) and adds the weight of its auxiliary loss.
"""

from __future__ import annotations

from dataclasses import dataclass

from baselines.erl2.config import ERL2Config


@dataclass
class ImportConfig(ERL2Config):
    """IMPORT (Kamienny et al., 2020; the DREAM paper's baseline) on a ``Meta*-v0`` trial env, IMRL setting."""

    out: str = "runs/import"
    """Output folder: config.json, progress.csv, TensorBoard events, checkpoint.pt, final.pt."""

    aux_weight: float = 1.0
    """beta: weight of the auxiliary loss beta * ||g(tau_{:t}) - stop_grad(f(mu))||^2 (mean over
    every step of every trial) that pulls the recurrent embedding towards the informed one."""
