"""The harness side of a recurrent Q-learning method.

* :class:`RecurrentAgent`: greedy actions of the method's batched actor (the one collection
  acts with), one trial or many;
* :func:`read_policy_checkpoint`, :func:`check_policy_env`: reading a method's small policy
  checkpoint with clear errors.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import torch

from baselines.common.recurrent_q.collect import Actor
from baselines.common.recurrent_q.networks import ObsSpec


class RecurrentAgent:
    """A greedy harness agent around a method's batched actor (``make_actor(num_slots)``, an
    :class:`~.collect.Actor` with ``num_slots`` and ``phase``, the episode each slot is in).

    ``reset()``/``act(observation)`` play one trial at a time, ``act_batch(observations,
    new_trial)`` many (observations stacked like a Gymnasium vector env); only observations
    are read. A slot's trial also restarts where its episode index goes back (a caller that
    skipped ``reset()``).
    """

    name = "recurrent-q"

    def __init__(self, make_actor: Callable[[int], Actor], spec: ObsSpec):
        self.make_actor = make_actor
        self.spec = spec
        self.checkpoint_path: str | None = None  # the file load_agent read (recorded and hashed by the harness)
        self._actor = make_actor(1)

    def reset(self) -> None:
        if self._actor.num_slots != 1:
            self._actor = self.make_actor(1)
        self._actor.reset()

    def act(self, observation: dict[str, Any]) -> int:
        if self._actor.num_slots != 1:
            self.reset()
        batch = {key: np.asarray(value)[None] for key, value in observation.items()}
        return int(self._act(batch, np.zeros(1, dtype=bool))[0])

    def act_batch(self, observations: dict[str, np.ndarray], new_trial: np.ndarray) -> np.ndarray:
        new_trial = np.asarray(new_trial, dtype=bool).reshape(-1)
        if self._actor.num_slots != len(new_trial):
            self._actor = self.make_actor(len(new_trial))
            new_trial = np.ones(len(new_trial), dtype=bool)
        return self._act(observations, new_trial)

    def _act(self, observations: dict[str, np.ndarray], new_trial: np.ndarray) -> np.ndarray:
        ints, rewards = self.spec.encode_batch(observations)
        frames = self.spec.encode_frames(observations)
        episode = np.asarray(observations["episode"], dtype=np.int64).reshape(-1)
        restart = new_trial | (episode < self._actor.phase)  # also a caller that skipped reset()
        if restart.any():
            self._actor.reset(np.flatnonzero(restart))
        return self._actor.q_values(np.arange(len(episode)), ints, rewards, episode, frames=frames).argmax(-1).numpy()



# ---------------------------------------------------------------------------- checkpoints
def read_policy_checkpoint(path: str | os.PathLike, method: str, policy_format: str,
                           train_format: str) -> dict[str, Any]:
    """A method's policy checkpoint (a run's ``final.pt``, or its ``checkpoint.pt``, whose
    ``policy_checkpoint`` is read), with ``torch.load(weights_only=True)``; ``FileNotFoundError``
    or ``ValueError`` naming ``method`` and the file when it is missing, corrupt or another's."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{method} checkpoint {str(path)!r} does not exist")
    try:
        data = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as error:  # noqa: BLE001 -- any unpickling failure means a bad file
        raise ValueError(f"{method} checkpoint {str(path)!r} is corrupt or not a torch file: {error}") from error
    if isinstance(data, dict) and data.get("format") == train_format:
        data = data["policy_checkpoint"]
    if not isinstance(data, dict) or data.get("format") != policy_format:
        article = "an" if method[:1] in "AEIOU" else "a"
        raise ValueError(f"{str(path)!r} is not {article} {method} checkpoint (expected format {policy_format!r})")
    return data


def check_policy_env(data: dict[str, Any], env_id: str, path: str | os.PathLike, **kwargs: Any) -> ObsSpec:
    """The checkpoint's ``ObsSpec`` after checking that it was trained on ``env_id`` in the
    IMRL setting (``kwargs``: the harness's env settings) and that the env's observations
    still encode the same way."""
    import gymnasium as gym

    import meta_explore_envs  # noqa: F401  (registers the ids)

    setting = kwargs.get("setting", "imrl")
    if setting != "imrl":
        raise ValueError(f"setting={setting!r}: checkpoint {str(path)!r} was trained in the 'imrl' setting only")
    if data["env_id"] != env_id:
        raise ValueError(f"checkpoint {str(path)!r} was trained on {data['env_id']!r}, not {env_id!r}")
    spec = ObsSpec.from_dict(data["spec"])
    env = gym.make(env_id)
    actual = ObsSpec.from_env(env)
    env.close()
    if actual != spec:
        raise ValueError(f"checkpoint {str(path)!r} expects observations {spec}, {env_id} gives {actual}")
    return spec


__all__ = ["RecurrentAgent", "check_policy_env", "read_policy_checkpoint"]
