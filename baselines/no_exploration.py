"""No exploration: skip the exploration episode, then exploit Bayes-optimally.

Its expected return is the ``no_exploration`` bound: the agent knows the prior of the split
(uniform over its problems; over the whole family for a single-problem split) and
conditions on the instruction and on everything it sees in the episode. Implemented per
family (:mod:`baselines.common.hooks`); for the grid families by exact search
(:class:`baselines.common.exact_agents.NoExplorationAgent`).
"""

from __future__ import annotations

from typing import Any

from baselines.common.hooks import env_ids_getattr, family_hook
from meta_explore_envs.registry import env_family


def load_agent(env_id: str, checkpoint: str | None = None, **kwargs: Any):
    """The no-exploration agent of ``env_id``'s family (kwargs: ``split``, ``setting``, ``seed``)."""
    if checkpoint is not None:
        raise ValueError(f"baselines.no_exploration takes no checkpoint, got {checkpoint!r}")
    return family_hook(env_family(env_id), "no_exploration")(env_id, **kwargs)


# ENV_IDS: the envs whose family has this baseline (what evaluation.score plays without --env).
__getattr__ = env_ids_getattr("no_exploration", __name__)
