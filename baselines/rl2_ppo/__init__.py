"""RL²-PPO: RL² (one recurrent policy over the whole trial) with sb3-contrib's RecurrentPPO.

* ``python -m baselines.rl2_ppo.train --env MetaMap-v0 --out runs/rl2``: meta-train (see :mod:`.train`).
* ``load_agent(env_id, checkpoint=None)``: the harness entry point, playing the saved model
  through :mod:`baselines.sb3` (LSTM state kept across the trial, deterministic actions);
  without a checkpoint it loads the shipped one, ``baselines/rl2_ppo/checkpoints/<env_id>.zip``.
"""

from __future__ import annotations

from typing import Any

from evaluation.protocol import Training, shipped_checkpoint, shipped_env_ids, shipped_folder

#: Shipped checkpoints, one per env: ``<env_id>.zip`` (put there by ``python -m evaluation.ship``).
CHECKPOINTS = shipped_folder(__file__)

#: The envs with a shipped checkpoint: what ``python -m evaluation.score --agent baselines.rl2_ppo``
#: scores without ``--env`` and ``--checkpoint``.
ENV_IDS: tuple[str, ...] = shipped_env_ids(__file__, ".zip")

#: How ``python -m evaluation.sweep --agents rl2_ppo`` trains it (see ``evaluation.protocol``).
TRAINING = Training(cli="baselines.rl2_ppo.train", checkpoint="final.zip", resume_from="checkpoint.zip",
                    curve="progress.csv", curve_columns=("env_steps", "test_normalised"), label="RL²-PPO")


def checkpoint_env_ids(checkpoint: str | None) -> list[str] | None:
    """The envs a saved model fits (``evaluation.score`` without ``--env``; see ``baselines.sb3``)."""
    from baselines.sb3.agent import checkpoint_env_ids as fits

    return fits(checkpoint)


def load_agent(env_id: str, checkpoint: str | None = None, **kwargs: Any):
    """An :class:`baselines.sb3.SB3Agent` named ``rl2_ppo`` for the model at ``checkpoint``
    (default: the shipped one for ``env_id``)."""
    from baselines.sb3.agent import load_agent as load_sb3

    if checkpoint is None:
        shipped = shipped_checkpoint(__file__, env_id, ".zip")
        if shipped is None:
            raise FileNotFoundError(f"baselines.rl2_ppo has no shipped checkpoint for {env_id} (shipped: "
                                    f"{', '.join(ENV_IDS) or 'none yet'}): pass --checkpoint final.zip of a "
                                    "python -m baselines.rl2_ppo.train run")
        checkpoint = str(shipped)
    kwargs.setdefault("name", "rl2_ppo")
    return load_sb3(env_id, checkpoint, **kwargs)


__all__ = ["CHECKPOINTS", "ENV_IDS", "TRAINING", "checkpoint_env_ids", "load_agent"]
