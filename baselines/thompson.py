"""Thompson sampling (PEARL-UB): explore by following the optimal policy of a sampled
problem and instruction, then exploit Bayes-optimally given what that revealed.

Its expected return is the ``thompson`` bound (the exact definition, including tie-breaking,
is in :mod:`meta_explore_envs.planning.grid_values`). Implemented per family
(:mod:`baselines.common.hooks`); for the grid families by exact search
(:class:`baselines.common.exact_agents.ThompsonAgent`).
"""

from __future__ import annotations

from typing import Any

from baselines.common.hooks import env_ids_getattr, family_hook
from meta_explore_envs.registry import env_family


def load_agent(env_id: str, checkpoint: str | None = None, **kwargs: Any):
    """The Thompson-sampling agent of ``env_id``'s family (kwargs: ``split``, ``setting``, ``seed``)."""
    if checkpoint is not None:
        raise ValueError(f"baselines.thompson takes no checkpoint, got {checkpoint!r}")
    return family_hook(env_family(env_id), "thompson")(env_id, **kwargs)


# ENV_IDS: the envs whose family has this baseline (what evaluation.score plays without --env).
__getattr__ = env_ids_getattr("thompson", __name__)
