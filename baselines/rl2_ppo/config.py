"""RL²-PPO's settings: one documented dataclass, parsed by ``tyro`` (every field is a flag of
``python -m baselines.rl2_ppo.train``).

The PPO defaults are sb3-contrib's RecurrentPPO defaults where they make sense for short
trials, not tuned on these envs (the issue's rule: a small sweep on the train split, the same
for every env, before any reported comparison).
"""

from __future__ import annotations

from dataclasses import dataclass

from baselines.common.recurrent_q.config import RecurrentQConfig


@dataclass
class Rl2PPOConfig:
    """sb3-contrib RecurrentPPO on whole trials of a ``Meta*-v0`` trial env (RL²)."""

    # ------------------------------------------------------------------ run
    env: str = "MetaDistractingBus-v0"
    """Registered trial env id to meta-train on (train split; scored on the test split)."""
    total_steps: int = 1_000_000
    """Budget in env steps, counting every step of exploration and exploitation episodes
    (SB3 stops at the first rollout that reaches it: up to ``num_envs * n_steps - 1`` more)."""
    seed: int = 0
    """Seed of the networks, PPO's sampling and the training envs (sub-env i: seed + i)."""
    out: str = "runs/rl2_ppo"
    """Output folder: config.json, progress.csv, tb/ (TensorBoard), checkpoint.zip, final.zip, result.json."""
    resume: bool = False
    """Continue the run saved in ``out/checkpoint.zip`` (weights, optimiser, step count; not
    bit-exact: see ``docs/agents.md``)."""
    threads: int = 1
    """torch intra-op threads."""
    progress: bool = True
    """Show SB3's progress bar."""

    # ------------------------------------------------------------------ trials
    num_envs: int = 16
    """Trial envs stepped together (SB3 ``DummyVecEnv``)."""
    exploration_rewards: bool = False
    """False (the IMRL setting's default): the exploration episode pays no reward, so PPO
    optimises the exploitation return only (E-RL²'s "E"); True: the env pays the exploration
    episode's step costs too and PPO optimises the whole trial's return (plain RL²)."""

    # ------------------------------------------------------------------ PPO
    n_steps: int = 128
    """Steps per env per rollout (a rollout: ``num_envs * n_steps`` env steps)."""
    batch_size: int = 512
    """Minibatch size in steps (RecurrentPPO cuts minibatches into whole sequences)."""
    n_epochs: int = 4
    """Passes over each rollout."""
    lr: float = 3e-4
    """Adam learning rate."""
    gamma: float = 0.99
    gae_lambda: float = 0.95
    clip_range: float = 0.2
    ent_coef: float = 0.01
    """Entropy bonus (keeps the exploration episode exploring early on)."""
    vf_coef: float = 0.5
    max_grad_norm: float = 0.5

    # ------------------------------------------------------------------ networks
    lstm_hidden_size: int = 128
    """LSTM width (one LSTM shared by actor and critic inputs; SB3's ``shared_lstm=False``
    gives the critic its own)."""
    hidden: int = 64
    """Width of the two MLP layers after the LSTM (policy and value heads)."""

    # ------------------------------------------------------------------ logging and evaluation
    eval_every: int = 50_000
    """Env steps between test-split evaluations through the harness (0: only at the end);
    each one writes a progress.csv row."""
    eval_trials: int = 100
    """Trials per test-split evaluation."""
    normalise: bool = True
    """Report normalised scores (the final evaluation computes the exact bounds if not cached)."""
    checkpoint_every: int = 50_000
    """Env steps between ``out/checkpoint.zip`` saves (the run resumes from it; 0: only at the end)."""

    # The shared learner's config plumbing (``parse_cli`` and ``resumed_config`` use it), reused
    # rather than written again: every env gets the same settings (no presets).
    to_dict = RecurrentQConfig.to_dict
    env_presets = classmethod(RecurrentQConfig.env_presets.__func__)
    without_removed = classmethod(RecurrentQConfig.without_removed.__func__)
    for_env = classmethod(RecurrentQConfig.for_env.__func__)
    from_dict = classmethod(RecurrentQConfig.from_dict.__func__)
