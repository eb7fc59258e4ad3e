"""The one table of problem families: every registered id, the trial env, the harness, the
bounds and the baselines derive from it.

A :class:`Family` names a family's :class:`~meta_explore_envs.core.EpisodeEnv` class (as a
``"module:Class"`` string, imported on first use, so that the 3D family's MiniWorld/OpenGL
stack only loads when asked for), its registered trial env ids with their default
``gymnasium.make`` kwargs, and the optional-dependency extra it needs.

Adding a family is one env file and one :func:`register_family` call (see
``docs/adding-a-family.md``). Functions keyed by family that live in higher layers (the
bounds of :mod:`evaluation.bounds`, the baseline hooks of :mod:`baselines.common.hooks`)
register themselves there, keyed by :attr:`Family.name`; grid-like families whose rules are
deterministic and finite (:attr:`~meta_explore_envs.core.EpisodeEnv.tabular`) get exact
bounds and baselines without registering anything.
"""

from __future__ import annotations

import dataclasses
import importlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import TYPE_CHECKING, Any

import gymnasium as gym

from meta_explore_envs.core import check_choice

if TYPE_CHECKING:  # pragma: no cover - annotations only
    from meta_explore_envs.core import EpisodeEnv


@dataclass(frozen=True)
class Family:
    """One problem family and the Gymnasium ids it is registered under."""

    name: str
    """Short name (``"cooking"``); equals the ``family`` class attribute of its EpisodeEnv."""
    episode_env: str
    """``"module:Class"`` of its :class:`~meta_explore_envs.core.EpisodeEnv` subclass."""
    env_ids: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    """Registered trial env id -> its default ``gymnasium.make`` kwargs (``split``,
    ``num_exploit_episodes``, ``setting``, ``exploration_rewards``); the first id is the
    family's main one (shown in rendered frames)."""
    extra: str | None = None
    """The ``pip install meta-explore-envs[EXTRA]`` its env needs beyond the core install."""
    vector_entry_point: str | None = None
    """``"module:callable"`` making ``num_envs`` trials of its ids at once for
    ``gymnasium.make_vec`` (the grid families: :class:`~meta_explore_envs.vector.TrialVectorEnv`);
    ``None``: Gymnasium's ``SyncVectorEnv``/``AsyncVectorEnv`` of single envs."""

    @property
    def main_env_id(self) -> str:
        return next(iter(self.env_ids), self.name)


#: Family name -> :class:`Family`. Change it through :func:`register_family` only, which also
#: registers the ids with Gymnasium.
FAMILIES: dict[str, Family] = {}
#: Registered trial env id -> family name (kept by :func:`register_family`).
_ENV_FAMILIES: dict[str, str] = {}


def register_family(family: Family) -> None:
    """Add ``family`` to :data:`FAMILIES` and register its ids with Gymnasium (each one a
    :class:`~meta_explore_envs.trial.TrialEnv` of the family).

    Registering the same entry again does nothing; a different entry under a taken family
    name or env id raises ``ValueError``.
    """
    if not isinstance(family, Family):
        raise TypeError(f"family must be a meta_explore_envs.registry.Family, got {type(family).__name__}")
    if ":" not in family.episode_env:
        raise ValueError(f"episode_env={family.episode_env!r} is not valid: expected 'module:Class'")
    if not family.env_ids:
        raise ValueError(f"family {family.name!r} has no env ids: give at least one, "
                         f"e.g. {{'Meta{family.name}-v0': {{}}}}")
    known = FAMILIES.get(family.name)
    if known == family:
        return
    if known is not None:
        raise ValueError(f"family {family.name!r} is already registered as {known}")
    for env_id in family.env_ids:
        if env_id in _ENV_FAMILIES or env_id in gym.registry:
            raise ValueError(f"env id {env_id!r} is already registered")
    frozen = dataclasses.replace(
        family, env_ids=MappingProxyType({k: MappingProxyType(dict(v)) for k, v in family.env_ids.items()}))
    FAMILIES[family.name] = frozen
    for env_id, kwargs in frozen.env_ids.items():
        _ENV_FAMILIES[env_id] = family.name
        gym.register(
            id=env_id,
            entry_point="meta_explore_envs.trial:TrialEnv",
            kwargs={"episode_env": family.name, **kwargs},
            vector_entry_point=family.vector_entry_point,
            # A trial bounds itself ((num_exploit_episodes + 1) * max_episode_steps steps), so no
            # TimeLimit: a fixed one would cut trials short for num_exploit_episodes > 1.
            max_episode_steps=None,
        )


def unregister_family(name: str) -> None:
    """Remove a family and its Gymnasium ids (for tests and experiments with toy families)."""
    family = FAMILIES.pop(check_choice("family", name, sorted(FAMILIES)))
    for env_id in family.env_ids:
        _ENV_FAMILIES.pop(env_id, None)
        gym.registry.pop(env_id, None)


def env_ids() -> list[str]:
    """Every registered trial env id, sorted."""
    return sorted(_ENV_FAMILIES)


def env_family(env_id: str) -> str:
    """The family name of a registered env id (``ValueError`` naming the valid ids otherwise)."""
    return _ENV_FAMILIES[check_choice("env_id", env_id, env_ids())]


def family_class(name: str) -> type[EpisodeEnv]:
    """The EpisodeEnv class of a family (imported on first use)."""
    family = FAMILIES[check_choice("family", name, sorted(FAMILIES))]
    module, attribute = family.episode_env.split(":")
    try:
        env_module = importlib.import_module(module)
    except ImportError as error:
        if family.extra is None:
            raise
        raise gym.error.DependencyNotInstalled(
            f"family {name!r} needs optional dependencies ({error}): pip install \"meta-explore-envs[{family.extra}]\""
        ) from error
    cls = getattr(env_module, attribute)
    if cls.family != name:
        raise ValueError(f"{family.episode_env}.family is {cls.family!r}, but it is registered as family {name!r}")
    return cls


#: The batched vector env of the tabular (grid) families.
TRIAL_VECTOR_ENV = "meta_explore_envs.vector.trials:TrialVectorEnv"

#: Where the MuJoCo meta-RL tasks live (one engine, one short class per task).
_MUJOCO = "meta_explore_envs.envs.mujoco_tasks"
#: Single trial envs stepped in turn, with per-sub-env reset options (the MuJoCo tasks).
SYNC_TRIAL_VECTOR_ENV = "meta_explore_envs.vector.sync:SyncTrialVectorEnv"

#: The families shipped with the suite (the DREAM paper's benchmarks, ProMP's point env, then the
#: MuJoCo tasks of MAML, ProMP and MAME).
BUILTIN_FAMILIES = (
    Family("distracting_bus", "meta_explore_envs.envs.distracting_bus:DistractingBusEnv",
           {"MetaDistractingBus-v0": {}}, vector_entry_point=TRIAL_VECTOR_ENV),
    Family("map", "meta_explore_envs.envs.map:MapEnv", {"MetaMap-v0": {}}, vector_entry_point=TRIAL_VECTOR_ENV),
    Family("cooking", "meta_explore_envs.envs.cooking:CookingEnv", {"MetaCooking-v0": {}},
           vector_entry_point=TRIAL_VECTOR_ENV),
    Family("sign3d", "meta_explore_envs.envs.sign3d:Sign3DEnv", {"MetaSign3D-v0": {}}, extra="3d"),
    Family("point_corner", "meta_explore_envs.envs.point_corner:PointCornerEnv", {"MetaPointCorner-v0": {}},
           vector_entry_point="meta_explore_envs.vector.point_corner:PointCornerVectorEnv"),
    *(Family(name, f"{_MUJOCO}:{episode_env}", {env_id: {}}, extra="mujoco", vector_entry_point=SYNC_TRIAL_VECTOR_ENV)
      for name, episode_env, env_id in (
          ("half_cheetah_vel", "HalfCheetahVelEnv", "MetaHalfCheetahVel-v0"),
          ("half_cheetah_fwd_bwd", "HalfCheetahFwdBwdEnv", "MetaHalfCheetahFwdBwd-v0"),
          ("ant_fwd_bwd", "AntFwdBwdEnv", "MetaAntFwdBwd-v0"),
          ("walker2d_fwd_bwd", "Walker2DFwdBwdEnv", "MetaWalker2DFwdBwd-v0"),
          ("walker2d_rand_params", "Walker2DRandParamsEnv", "MetaWalker2DRandParams-v0"),
          ("hopper_rand_params", "HopperRandParamsEnv", "MetaHopperRandParams-v0"))),
)

for _family in BUILTIN_FAMILIES:
    register_family(_family)

__all__ = ["BUILTIN_FAMILIES", "FAMILIES", "Family", "env_family", "env_ids", "family_class", "register_family",
           "unregister_family"]
