"""The E-RL² training configuration: one documented dataclass, parsed by ``tyro``.

Every field is a flag of ``python -m baselines.erl2.train``. The shared learner's settings
(:class:`~baselines.common.recurrent_q.config.RecurrentQConfig`) come first; the fields
redeclared here give the baseline settings of the DREAM paper (as issue 16 sums up its appendix B.3 and code:
every method on the same recurrent double-DQN learner with dueling heads, Adam, batches of
32 trials, gamma 0.99, epsilon-greedy from 1.0 to 0.01 over 500k env steps). DREAM's own
defaults stay DREAM's. The same defaults on every grid env: no per-env presets; on MetaSign3D
the shared learner's pixel sizes and budget (``recurrent_q.config.PIXEL_PRESETS``), as DREAM's.
"""

from __future__ import annotations

from dataclasses import dataclass

from baselines.common.recurrent_q.config import RecurrentQConfig


@dataclass
class ERL2Config(RecurrentQConfig):
    """E-RL² (Stadie et al., 2018; the DREAM paper's baseline) on a ``Meta*-v0`` trial env, IMRL setting."""

    out: str = "runs/erl2"
    """Output folder: config.json, progress.csv, TensorBoard events, checkpoint.pt, final.pt."""

    # ------------------------------------------------------------------ the paper's baseline settings
    memory: str = "gru"
    """Recurrent cell of the trial policy: "gru" (a recurrent network over the whole trial, as
    in the paper) or "max" (the shared learner's running max over transitions; faster)."""
    dueling: bool = True
    """Dueling Q-heads (the paper's baselines use them)."""
    batch_size: int = 32
    """Trials per gradient update (whole trials: exploration and exploitation episodes as one sequence)."""
    gamma: float = 0.99
    """Discount over the whole trial: exploitation rewards reach the exploration steps through it."""
    epsilon_decay_steps: int = 500_000
    """Env steps over which epsilon decays linearly from ``epsilon_start`` (1.0) to ``epsilon_end`` (0.01)."""
    explore_epsilon_end: float = 0.01
    """Epsilon at the end of its decay in exploration episodes: one policy, one schedule, so
    the same as ``epsilon_end``."""
    explore_epsilon_decay_steps: int = 500_000
    """The same as ``epsilon_decay_steps`` (one policy, one schedule)."""
