"""Per-family hooks of the reference baselines (oracle, no exploration, Thompson sampling).

``baselines.oracle``, ``baselines.no_exploration`` and ``baselines.thompson`` work for any
family of :mod:`meta_explore_envs.registry` that has hooks: every
:attr:`~meta_explore_envs.core.EpisodeEnv.tabular` family (the grids) gets the exact
implementations of :mod:`baselines.common.exact_agents` (the same dynamic programming as the
bounds) without registering anything; another family is listed in :data:`FAMILY_BASELINES`
(MetaSign3D) or calls :func:`register_family_baselines`. Each entry names the family's
implementations as ``"module:attribute"`` strings, imported on first use.
``baselines.random`` needs no hook (uniform over the family's actions). The three modules'
``ENV_IDS`` are the envs whose family has their hook (:func:`env_ids_getattr`), so that
``evaluation.score`` without ``--env`` skips the families without one (the MuJoCo tasks).

Hook contracts:

* ``expert_action(episode_env: EpisodeEnv, problem_id: int, rng: np.random.Generator) -> int``
  (an array for ``Box`` actions):
  an optimal action at ``episode_env``'s current state and instruction *if the problem were
  ``problem_id``* (the oracle passes the true problem; Thompson sampling a sampled one).
  It must not change ``episode_env`` (copy it, or use ``state`` get/set and restore), and
  it breaks ties with ``rng``. ``episode_env.instruction`` is the current instruction.
* ``no_exploration(env_id: str, **kwargs) -> Agent``: an agent (see
  :mod:`evaluation.protocol`) that skips the exploration episode and exploits
  Bayes-optimally under the prior of ``kwargs["split"]`` (optional: ``None`` if the family
  has none).
* ``thompson(env_id: str, **kwargs) -> Agent``: the Thompson-sampling (PEARL-UB) agent
  (optional).
* ``explore_action(episode_env, problem_id, rng) -> int``: the oracle's action in the
  exploration episode (optional; without it the oracle ends that episode at once). Same
  rules as ``expert_action``; it cannot change the oracle's IMRL return, only what recorded
  trials show (MetaSign3D: walk to the sign and read it).

``kwargs`` are those of ``load_agent`` (``split``, ``setting``, ``num_exploit_episodes``,
``seed``, ...).
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from meta_explore_envs.core import check_choice
from meta_explore_envs.registry import FAMILIES, env_family, env_ids, family_class


@dataclass(frozen=True)
class FamilyBaselines:
    """Where a family's baseline implementations live (``"module:attribute"``)."""

    expert_action: str
    no_exploration: str | None = None
    thompson: str | None = None
    explore_action: str | None = None


_EXACT = FamilyBaselines(
    expert_action="baselines.common.exact_agents:expert_action",
    no_exploration="baselines.common.exact_agents:NoExplorationAgent",
    thompson="baselines.common.exact_agents:ThompsonAgent",
)

#: Family name -> its baseline hooks, for families that are not tabular (those get ``_EXACT``).
FAMILY_BASELINES: dict[str, FamilyBaselines] = {
    "sign3d": FamilyBaselines(
        expert_action="baselines.sign3d:expert_action",
        no_exploration="baselines.sign3d:NoExplorationAgent",
        thompson="baselines.sign3d:ThompsonAgent",
        explore_action="baselines.sign3d:explore_action",
    ),
    "point_corner": FamilyBaselines(
        expert_action="baselines.point_corner:expert_action",
        no_exploration="baselines.point_corner:NoExplorationAgent",
        thompson="baselines.point_corner:ThompsonAgent",
        explore_action="baselines.point_corner:expert_action",
    ),
}


def register_family_baselines(family: str, hooks: FamilyBaselines) -> None:
    """Add or replace the baseline hooks of ``family``."""
    check_choice("family", family, sorted(FAMILIES))
    if not isinstance(hooks, FamilyBaselines):
        raise TypeError(f"hooks must be a FamilyBaselines, got {type(hooks).__name__}")
    FAMILY_BASELINES[family] = hooks


def family_baselines(family: str) -> FamilyBaselines | None:
    """The hooks of ``family``: its :data:`FAMILY_BASELINES` entry, else the exact ones for a
    tabular family, else ``None``."""
    hooks = FAMILY_BASELINES.get(family)
    if hooks is None and family_class(family).tabular:
        return _EXACT
    return hooks


def env_ids_getattr(hook: str, module: str) -> Callable[[str], Any]:
    """A module ``__getattr__`` giving the module's ``ENV_IDS`` (what ``evaluation.score`` plays
    without ``--env``): the registered envs whose family has ``hook``, computed when asked,
    so that families registered later count and families without one (the MuJoCo tasks) are
    left out rather than failing in ``load_agent``."""

    def __getattr__(name: str) -> Any:
        if name == "ENV_IDS":
            return tuple(e for e in env_ids() if getattr(family_baselines(env_family(e)), hook, None) is not None)
        raise AttributeError(f"module {module!r} has no attribute {name!r}")

    return __getattr__


def family_hook(family: str, hook: str) -> Any:
    """The object a family's hook names (``hook`` is "expert_action", "no_exploration", "thompson"
    or "explore_action")."""
    check_choice("hook", hook, ["expert_action", "no_exploration", "thompson", "explore_action"])
    hooks = family_baselines(family)
    path = None if hooks is None else getattr(hooks, hook)
    if path is None:
        have = sorted(f for f in FAMILIES if getattr(family_baselines(f), hook, None) is not None)
        raise ValueError(
            f"family {family!r} has no {hook!r} baseline: families with one are {have} "
            "(see baselines.common.hooks.register_family_baselines)"
        )
    module, name = path.split(":")
    return getattr(importlib.import_module(module), name)


__all__ = ["FAMILY_BASELINES", "FamilyBaselines", "env_ids_getattr", "family_baselines", "family_hook",
           "register_family_baselines"]
