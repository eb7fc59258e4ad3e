"""Any saved Stable-Baselines3 / sb3-contrib model as a harness agent.

    python -m evaluation.score --agent baselines.sb3 --checkpoint model.zip --env MetaMap-v0
    python -m evaluation.score --agent baselines.sb3 --checkpoint model.zip   # the envs the model fits

* **Which model.** The ``.zip`` written by ``model.save(...)`` of any SB3 or sb3-contrib
  algorithm (PPO, A2C, DQN, RecurrentPPO, QRDQN, MaskablePPO, ...). The algorithm is read
  from the policy class stored in the file (:func:`algorithm_of`); only the policy is used.
* **Recurrent models** (RecurrentPPO's LSTM policies) keep their LSTM state across the
  whole trial (exploration and exploitation episodes: the trial is one RL² episode) and
  start from zeros at ``reset()``; in ``act_batch`` each slot's state is reset where
  ``new_trial[i]``, exactly what SB3's own ``model.predict(obs, state, episode_start)``
  does with ``episode_start = new_trial``.
* **Actions** are deterministic by default (``load_agent(..., deterministic=False)``
  samples from the policy, seeded by the harness's ``seed``).
* **Spaces.** The model's observation and action spaces must equal the env's
  (``gymnasium.make(env_id, split=..., num_exploit_episodes=...)``); otherwise
  :class:`SB3ModelError` names both. Without ``--env``, ``evaluation.score`` asks
  :func:`checkpoint_env_ids` which registered envs the model fits and scores those only
  (envs with the same spaces, if a family ever shares another's, cannot be told apart).
* **Bad files.** A missing file, one that is not a zip, a zip without SB3's ``data`` entry
  (a torch ``.pt``, another program's archive) or whose policy class no installed algorithm
  knows raise :class:`SB3ModelError` saying so.
* **torch >= 2.13.** A MultiInput model whose features extractor is SB3's
  ``CombinedExtractor`` is loaded with :class:`meta_explore_envs.sb3_compat.IntCombinedExtractor`
  (same parameters), so recurrent models saved without the compat kwargs load too.
"""

from __future__ import annotations

import functools
import inspect
import warnings
from pathlib import Path
from typing import Any

import gymnasium as gym
import numpy as np

import meta_explore_envs  # noqa: F401  (registers the env ids)
from meta_explore_envs import registry
from meta_explore_envs.optional import require

require("stable_baselines3", "agents")


class SB3ModelError(ValueError):
    """A file that cannot be played as an SB3 model on an env: the message says why."""


def algorithm_classes() -> list[type]:
    """Every algorithm class of Stable-Baselines3 and (when installed) sb3-contrib."""
    import stable_baselines3
    from stable_baselines3.common.base_class import BaseAlgorithm

    modules = [stable_baselines3]
    try:
        import sb3_contrib

        modules.append(sb3_contrib)
    except ImportError:  # pragma: no cover  (sb3-contrib is optional)
        pass
    found = []
    for module in modules:
        for name in sorted(getattr(module, "__all__", dir(module))):
            value = getattr(module, name, None)
            if isinstance(value, type) and issubclass(value, BaseAlgorithm) and value not in found:
                found.append(value)
    return found


def read_model_data(path: str | Path) -> dict[str, Any]:
    """The ``data`` entry of an SB3 ``.zip`` (policy class, kwargs, spaces); :class:`SB3ModelError` if none."""
    from stable_baselines3.common.save_util import load_from_zip_file

    path = Path(path)
    if not path.is_file():
        raise SB3ModelError(f"{path}: no such file")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # SB3 warns about objects it cannot unpickle (lr schedules)
            data, _, _ = load_from_zip_file(path, load_data=True, device="cpu")
    except ValueError as error:  # SB3's "wasn't a zip-file"
        raise SB3ModelError(f"{path} is not a Stable-Baselines3 model: not a valid zip file (damaged, or not "
                            f"written by model.save()): {error}") from error
    except Exception as error:  # noqa: BLE001  (a damaged archive can fail in many ways)
        raise SB3ModelError(f"{path} is not a readable Stable-Baselines3 model (a damaged zip?): "
                            f"{type(error).__name__}: {error}") from error
    if not data or not {"policy_class", "observation_space", "action_space"} <= set(data):
        raise SB3ModelError(f"{path} is a zip file but not a Stable-Baselines3 model (no 'data' entry with the "
                            "policy class and the spaces; a torch .pt checkpoint is not an SB3 model)")
    if not isinstance(data["policy_class"], type):
        raise SB3ModelError(f"{path}: the policy class stored in the model cannot be loaded here "
                            f"({data['policy_class']!r}); was it defined in a module that is not installed?")
    return data


def algorithm_of(data: dict[str, Any]) -> type:
    """The algorithm that saved the model: among those whose policies the model's policy class
    is (or subclasses), the one whose constructor arguments name most of the saved attributes
    (PPO and A2C share a policy class; PPO saves ``clip_range`` and ``n_epochs``)."""
    policy_class = data["policy_class"]
    candidates = [a for a in algorithm_classes() if policy_class in getattr(a, "policy_aliases", {}).values()]
    if not candidates:  # a custom policy class: a subclass of one the algorithm uses
        candidates = [a for a in algorithm_classes()
                      if any(issubclass(policy_class, known) for known in getattr(a, "policy_aliases", {}).values())]
    if not candidates:
        raise SB3ModelError(f"no installed Stable-Baselines3 / sb3-contrib algorithm uses the policy class "
                            f"{policy_class.__module__}.{policy_class.__qualname__}")

    def named(algorithm: type) -> int:
        return len(set(inspect.signature(algorithm.__init__).parameters) & set(data))

    return max(candidates, key=named)  # ties: the first (SB3's own before sb3-contrib's)


@functools.cache
def env_spaces(env_id: str, split: str = "test", num_exploit_episodes: int = 1,
               setting: str | None = None) -> tuple[gym.Space, gym.Space]:
    """(observation space, action space) of ``gymnasium.make(env_id, ...)`` (``setting=None``:
    the family's default, IMRL but for MetaPointCorner)."""
    env = gym.make(env_id, split=split, num_exploit_episodes=num_exploit_episodes, setting=setting)
    try:
        return env.observation_space, env.action_space
    finally:
        env.close()


def space_mismatch(data: dict[str, Any], env_id: str, **env_kwargs: Any) -> str | None:
    """Why the model's spaces do not fit ``env_id`` (naming both spaces), or None when they do."""
    obs_space, action_space = env_spaces(env_id, **env_kwargs)
    problems = []
    model_space = data["observation_space"]
    if model_space != obs_space:
        differ = ""
        if isinstance(model_space, gym.spaces.Dict) and isinstance(obs_space, gym.spaces.Dict):
            keys = sorted(k for k in set(model_space.spaces) | set(obs_space.spaces)
                          if model_space.spaces.get(k) != obs_space.spaces.get(k))
            differ = f" (keys that differ: {', '.join(keys)})"
        problems.append(f"observation space {model_space} (model) vs {obs_space} ({env_id}){differ}")
    if data["action_space"] != action_space:
        problems.append(f"action space {data['action_space']} (model) vs {action_space} ({env_id})")
    return "; ".join(problems) or None


def fitting_env_ids(data: dict[str, Any], **env_kwargs: Any) -> list[str]:
    """The registered env ids whose spaces equal the model's."""
    fits = []
    for env_id in registry.env_ids():
        try:
            if env_kwargs.get("setting") in registry.family_class(registry.env_family(env_id)).unsupported_settings:
                continue  # MetaPointCorner refuses IMRL
            if space_mismatch(data, env_id, **env_kwargs) is None:
                fits.append(env_id)
        except gym.error.DependencyNotInstalled:  # an env needing an extra that is missing cannot be played
            continue
    return fits


def checkpoint_env_ids(checkpoint: str | None) -> list[str] | None:
    """The registered envs a saved model fits (its ``ENV_IDS`` for ``evaluation.score`` without
    ``--env``; see ``evaluation.protocol``). ``None`` without a checkpoint;
    :class:`SB3ModelError` for a file that is not an SB3 model or fits no env."""
    if checkpoint is None:
        return None
    data = read_model_data(checkpoint)
    fits = fitting_env_ids(data)
    if not fits:
        raise SB3ModelError(f"{checkpoint}: the model's spaces fit no registered env (observation space "
                            f"{data['observation_space']}, action space {data['action_space']})")
    return fits


def load_model(path: str | Path, data: dict[str, Any] | None = None):
    """The SB3 model saved at ``path``, on the CPU, with the torch >= 2.13 features-extractor fix."""
    from stable_baselines3.common.torch_layers import CombinedExtractor

    from meta_explore_envs.sb3_compat import IntCombinedExtractor

    data = read_model_data(path) if data is None else data
    algorithm = algorithm_of(data)
    custom: dict[str, Any] = {}
    policy_kwargs = dict(data.get("policy_kwargs") or {})
    extractor = policy_kwargs.get("features_extractor_class")
    if isinstance(data["observation_space"], gym.spaces.Dict) and extractor in (None, CombinedExtractor):
        custom["policy_kwargs"] = {**policy_kwargs, "features_extractor_class": IntCombinedExtractor}
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return algorithm.load(path, device="cpu", custom_objects=custom)
    except Exception as error:  # noqa: BLE001
        raise SB3ModelError(f"{path}: {algorithm.__name__}.load failed: {type(error).__name__}: {error}") from error


class SB3Agent:
    """A harness agent playing an SB3 model's policy (see the module docstring)."""

    def __init__(self, model: Any, *, deterministic: bool = True, name: str | None = None,
                 checkpoint_path: str | Path | None = None):
        self.model = model
        self.deterministic = deterministic
        self.name = name or f"sb3-{type(model).__name__}"
        if checkpoint_path is not None:
            self.checkpoint_path = str(checkpoint_path)
        self._state: tuple[np.ndarray, ...] | None = None  # recurrent policies' (h, c); None otherwise
        self._batch: int | None = None

    @property
    def recurrent(self) -> bool:
        """Whether the policy keeps a recurrent state (sb3-contrib's LSTM policies)."""
        return hasattr(self.model.policy, "lstm_hidden_state_shape")

    def reset(self) -> None:
        """Forget everything: the next call starts every slot's trial from a zero LSTM state."""
        self._state = None
        self._batch = None

    def _predict(self, observations: dict[str, np.ndarray], episode_start: np.ndarray) -> np.ndarray:
        actions, state = self.model.predict(observations, state=self._state, episode_start=episode_start,
                                            deterministic=self.deterministic)
        self._state = state
        return np.asarray(actions)

    def act(self, observation: dict[str, Any]) -> int:
        start = self._batch != 1  # after reset() (or after batched play): a new trial
        if start:
            self._state, self._batch = None, 1
        batched = {k: np.asarray(v)[None] for k, v in observation.items()}
        return int(self._predict(batched, np.array([start], dtype=np.float32)).reshape(-1)[0])

    def act_batch(self, observations: dict[str, np.ndarray], new_trial: np.ndarray) -> np.ndarray:
        new_trial = np.asarray(new_trial, dtype=bool)
        if self._batch != len(new_trial):  # a new batch size: every slot starts afresh
            self._state, self._batch = None, len(new_trial)
            new_trial = np.ones_like(new_trial)
        return self._predict(dict(observations), new_trial.astype(np.float32)).reshape(-1).astype(np.int64)


def load_agent(env_id: str, checkpoint: str | None = None, *, split: str = "test", num_exploit_episodes: int = 1,
               setting: str = "imrl", seed: int | None = 0, deterministic: bool = True, name: str | None = None,
               **kwargs: Any) -> SB3Agent:
    """An :class:`SB3Agent` for the model saved at ``checkpoint`` (required), checked against
    ``env_id``'s spaces (:class:`SB3ModelError` naming them, and the envs the model fits)."""
    if checkpoint is None:
        raise SB3ModelError("baselines.sb3 needs the model file: --checkpoint model.zip (a model.save() zip of "
                            "Stable-Baselines3 or sb3-contrib)")
    data = read_model_data(checkpoint)
    mismatch = space_mismatch(data, env_id, split=split, num_exploit_episodes=num_exploit_episodes,
                              setting=setting)
    if mismatch is not None:
        fits = fitting_env_ids(data, split=split, num_exploit_episodes=num_exploit_episodes, setting=setting)
        where = f"It fits {', '.join(fits)}" if fits else "It fits no registered env"
        raise SB3ModelError(f"{checkpoint} does not fit {env_id}: {mismatch}. {where}")
    model = load_model(checkpoint, data)
    if not deterministic and seed is not None:
        model.set_random_seed(seed)
    return SB3Agent(model, deterministic=deterministic, name=name, checkpoint_path=checkpoint)


__all__ = ["SB3Agent", "SB3ModelError", "algorithm_of", "checkpoint_env_ids", "fitting_env_ids", "load_agent",
           "load_model", "read_model_data"]
