"""Stable-Baselines3 models as harness agents, and helpers to train them on trial envs.

    python -m evaluation.score --agent baselines.sb3 --checkpoint model.zip --env MetaMap-v0

* :mod:`.agent`: ``load_agent`` (any saved SB3 / sb3-contrib ``.zip``; recurrent models keep
  their LSTM state across the trial), ``checkpoint_env_ids`` (the envs a model fits: what
  ``evaluation.score`` scores without ``--env``), ``SB3Agent``, ``SB3ModelError``.
* :mod:`.training`: ``make_trial_vec_env`` (SB3 rejects ``gymnasium.make_vec``) and
  ``ExploitationReturnCallback`` (logs the exploitation return per trial; SB3's
  ``ep_rew_mean`` is the whole trial's).

``baselines.rl2_ppo`` trains RecurrentPPO (RL²) with them. Docs: ``docs/agents.md``.
"""

from baselines.sb3.agent import SB3Agent, SB3ModelError, checkpoint_env_ids, load_agent, load_model

__all__ = ["SB3Agent", "SB3ModelError", "checkpoint_env_ids", "load_agent", "load_model"]
