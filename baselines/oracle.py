"""The oracle: it cheats, it knows the problem. Its expected return is the ``optimal`` bound.

A *privileged* agent (see :mod:`evaluation.protocol`): the harness hands it the live trial
env, and reports mark it. It ends the exploration episode at once (it has nothing to
learn), unless its family has an ``explore_action`` hook (MetaSign3D: it walks to the sign
and reads it, so that recorded trials show the exploration the benchmark asks for; the
IMRL return is the same; MetaPointCorner, which has no ``end episode``: it plays the
expert), and, in every exploitation episode, takes the family's expert action for the
true problem (:mod:`baselines.common.hooks`; exact dynamic programming for
the grid families, ties broken uniformly at random).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from baselines.common.hooks import env_ids_getattr, family_baselines, family_hook
from meta_explore_envs.registry import env_family, family_class
from meta_explore_envs.trial import TrialEnv


class OracleAgent:
    """Plays the true problem's optimal policy in every exploitation episode."""

    name = "oracle"
    privileged = True

    def __init__(self, env_id: str, seed: int | None = 0):
        family = env_family(env_id)
        self.expert_action = family_hook(family, "expert_action")
        hooks = family_baselines(family)
        self.explore_action = None if hooks is None or hooks.explore_action is None \
            else family_hook(family, "explore_action")
        self.end_action = getattr(family_class(family), "end_episode_action", None)  # none: explore_action
        self.rng = np.random.default_rng(seed)

    def reset(self) -> None:
        pass

    def act_privileged(self, observation: dict[str, Any], env: TrialEnv) -> Any:
        trial = env.unwrapped
        if trial.episode == 0:
            if self.explore_action is None:
                return self.end_action
            return self.explore_action(trial.episode_env, trial.problem_id, self.rng)
        return self.expert_action(trial.episode_env, trial.problem_id, self.rng)


def load_agent(env_id: str, checkpoint: str | None = None, *, seed: int | None = 0, **kwargs: Any) -> OracleAgent:
    """An :class:`OracleAgent` for ``env_id`` (no checkpoint)."""
    if checkpoint is not None:
        raise ValueError(f"baselines.oracle takes no checkpoint, got {checkpoint!r}")
    return OracleAgent(env_id, seed)


# ENV_IDS: the envs whose family has this baseline (what evaluation.score plays without --env).
__getattr__ = env_ids_getattr("expert_action", __name__)
