"""The harness agent of every gradient-based method, and its policy checkpoints.

:class:`GradientAgent` follows the agent protocol (``reset``/``act``/``act_batch``) with any
:class:`~baselines.common.gradient.meta_policy.MetaPolicy`. In a trial it acts with the
exploration (pre-update) policy and records what it observes (its observations, its own
sampled actions, the rewards as ``prev_reward`` reports them: the last step's is never
seen). When the ``episode`` key leaves 0 (the first exploitation episode) it adapts, in that
very ``act`` call, from its own exploration episode (``policy.adapt``: the inner gradient
step(s)), then acts with the adapted policy for the rest of the trial. ``reset()`` (and
``new_trial`` in ``act_batch``) forgets the adaptation.

**Actions** are sampled from the Gaussian policy by default, as in meta-training (the inner
step's gradient is a score-function estimate on sampled actions; ProMP also evaluates with
sampled actions), from a torch generator seeded by the harness's ``seed``;
``deterministic=True`` plays the means (the adaptation still uses the actions played).
"""

from __future__ import annotations

import importlib
from pathlib import Path
from typing import Any

import numpy as np
import torch

from baselines.common.gradient.meta_policy import ExplorationEpisode, MetaPolicy
from baselines.common.gradient.networks import Params, sample
from evaluation.protocol import shipped_checkpoint, shipped_env_ids
from meta_explore_envs.registry import env_family, family_class

POLICY_FORMAT = "gradient-meta-policy-v1"


class GradientAgent:
    """Acts with a meta-policy and adapts at the exploration/exploitation boundary (see the
    module docstring). ``slot_state(i)``: the adapted state slot ``i`` acts with (None while
    it still explores)."""

    def __init__(self, policy: MetaPolicy, *, seed: int = 0, deterministic: bool = False, name: str = "gradient",
                 episode_length: int = 100):
        self.policy = policy.eval()
        self.seed = int(seed)
        self.deterministic = bool(deterministic)
        self.name = name
        self.episode_length = episode_length
        self.generator = torch.Generator().manual_seed(self.seed)
        self._size = 0
        self._new_single = True

    # ------------------------------------------------------------------ protocol
    def reset(self) -> None:
        self._size = 0  # every slot forgets
        self._new_single = True

    def act(self, observation: dict[str, Any]) -> np.ndarray:
        batch = {key: np.asarray(value)[None] for key, value in observation.items()}
        new = np.array([self._new_single])
        self._new_single = False
        return self.act_batch(batch, new)[0]

    def act_batch(self, observations: dict[str, np.ndarray], new_trial: np.ndarray) -> np.ndarray:
        obs = np.asarray(observations["observation"], dtype=np.float32)
        size = len(obs)
        if size != self._size:
            self._allocate(size, obs.shape[1])
        new = np.flatnonzero(np.asarray(new_trial, bool))
        self._steps[new] = 0
        self._adapted[new] = False
        self._rewards[new] = 0.0
        episode = np.asarray(observations["episode"])
        exploring = episode == 0
        seen = np.flatnonzero(exploring & (self._steps > 0))
        self._rewards[seen, self._steps[seen] - 1] = np.asarray(observations["prev_reward"])[seen, 0]
        boundary = np.flatnonzero(~exploring & ~self._adapted)
        if len(boundary):
            self._adapt(boundary)
        x = torch.as_tensor(obs)
        actions = np.zeros((size, self._act_dim), np.float32)
        with torch.no_grad():
            rows = np.flatnonzero(exploring)
            if len(rows):
                actions[rows] = self._draw(*self.policy.explore_dist(x[rows]))
            rows = np.flatnonzero(~exploring)
            if len(rows):
                state = {name: value[rows] for name, value in self._state.items()}
                actions[rows] = self._draw(*self.policy.exploit_dist(state, x[rows]))
        rows = np.flatnonzero(exploring)
        too_long = rows[self._steps[rows] >= self.episode_length]
        if len(too_long):  # the adaptation would silently see only part of the episode
            raise ValueError(f"slot {int(too_long[0])}: the exploration episode is longer than episode_length="
                             f"{self.episode_length}; make the agent with the env's episode length "
                             "(load_agent does)")
        self._obs[rows, self._steps[rows]] = obs[rows]
        self._actions[rows, self._steps[rows]] = actions[rows]
        self._steps[rows] += 1
        return actions

    # ------------------------------------------------------------------ inside
    def slot_state(self, slot: int) -> Params | None:
        if slot >= self._size or not self._adapted[slot]:
            return None
        return {name: value[slot] for name, value in self._state.items()}

    def _allocate(self, size: int, obs_dim: int) -> None:
        with torch.no_grad():
            self._act_dim = int(self.policy.explore_dist(torch.zeros(1, obs_dim))[0].shape[-1])
        self._size = size
        length = self.episode_length
        self._obs = np.zeros((size, length, obs_dim), np.float32)
        self._actions = np.zeros((size, length, self._act_dim), np.float32)
        self._rewards = np.zeros((size, length))
        self._steps = np.zeros(size, np.int64)
        self._adapted = np.zeros(size, bool)
        self._state: Params = {}

    def _adapt(self, rows: np.ndarray) -> None:
        episode = ExplorationEpisode(self._obs[rows], self._actions[rows], self._rewards[rows])
        state = self.policy.adapt(episode, create_graph=False)
        if not self._state:
            self._state = {name: torch.zeros((self._size, *v.shape[1:]), dtype=v.dtype) for name, v in state.items()}
        for name, value in state.items():
            self._state[name][torch.as_tensor(rows)] = value
        self._adapted[rows] = True

    def _draw(self, mean: torch.Tensor, log_std: torch.Tensor) -> np.ndarray:
        return (mean if self.deterministic else sample(mean, log_std, self.generator)).numpy()


# ---------------------------------------------------------------------------- checkpoints
def policy_checkpoint(policy: MetaPolicy, method: str, env_id: str, meta: dict[str, Any]) -> dict[str, Any]:
    """The small checkpoint :func:`load_policy` reads: the meta-policy's class, constructor
    arguments and weights (incl. the inner baseline), the method, the env and run metadata."""
    cls = type(policy)
    return {"format": POLICY_FORMAT, "method": method, "env": env_id,
            "policy_class": f"{cls.__module__}:{cls.__qualname__}", "policy_config": policy.config(),
            "policy": policy.state_dict(), "meta": meta}


def load_policy(checkpoint: str | Path, method: str | None = None, env_id: str | None = None
                ) -> tuple[MetaPolicy, dict[str, Any]]:
    """The meta-policy of a checkpoint (``torch.load(weights_only=True)``), checked to be of
    ``method`` and for ``env_id`` when given; returns it and the checkpoint dict."""
    data = torch.load(checkpoint, map_location="cpu", weights_only=True)
    if "policy_checkpoint" in data:  # a training checkpoint holds its policy checkpoint
        data = data["policy_checkpoint"]
    if data.get("format") != POLICY_FORMAT:
        raise ValueError(f"{checkpoint} is not a gradient meta-policy checkpoint (format {data.get('format')!r})")
    if method is not None and data["method"] != method:
        raise ValueError(f"{checkpoint} holds a {data['method']} policy, not {method}")
    if env_id is not None and data["env"] != env_id:
        raise ValueError(f"{checkpoint} was trained on {data['env']}, not {env_id}: score it there")
    module, name = data["policy_class"].split(":")
    cls = getattr(importlib.import_module(module), name)
    policy = cls(**data["policy_config"])
    policy.load_state_dict(data["policy"])
    return policy, data


def checkpoint_env_ids(checkpoint: str | None) -> list[str] | None:
    """The env a gradient-based checkpoint was trained on (``evaluation.score`` without ``--env``
    scores it there); ``None`` without a checkpoint (the module's ``ENV_IDS`` then)."""
    return None if checkpoint is None else [load_policy(checkpoint)[1]["env"]]


def training(method: str, label: str):
    """How ``python -m evaluation.sweep`` trains ``baselines.<method>`` (its ``TRAINING``);
    ``label``: its name in reports."""
    from evaluation.protocol import Training

    return Training(cli=f"baselines.{method}.train", checkpoint="final.pt", resume_from="checkpoint.pt",
                    curve="progress.csv", curve_columns=("env_steps", "test_normalised"), label=label)


def load_gradient_agent(method: str, env_id: str, checkpoint: str | None, *, seed: int = 0,
                        deterministic: bool = False, **kwargs: Any) -> GradientAgent:
    """``load_agent`` of a gradient-based method's module: ``checkpoint`` (a run's ``final.pt``),
    else the method's shipped checkpoint for ``env_id`` (``baselines/<method>/checkpoints/``,
    put there by ``python -m evaluation.ship``)."""
    if checkpoint is None:
        package_file = Path(__file__).resolve().parents[2] / method / "__init__.py"
        checkpoint = shipped_checkpoint(package_file, env_id)
        if checkpoint is None:
            raise FileNotFoundError(
                f"no shipped {method} checkpoint for {env_id} (shipped: {list(shipped_env_ids(package_file))}): "
                f"pass --checkpoint DIR/final.pt of a run of python -m baselines.{method}.train --env {env_id} "
                "--out DIR")
    if not Path(checkpoint).is_file():
        raise FileNotFoundError(f"checkpoint {checkpoint} does not exist")
    policy, data = load_policy(checkpoint, method, env_id)
    # The adaptation reads the whole exploration episode: its length is the env's (200 steps on
    # the HalfCheetah tasks, not the point env's 100).
    episode_length = family_class(env_family(env_id)).max_episode_steps
    agent = GradientAgent(policy, seed=seed, deterministic=deterministic, name=method, episode_length=episode_length)
    agent.checkpoint_path = str(checkpoint)
    return agent


__all__ = ["GradientAgent", "POLICY_FORMAT", "checkpoint_env_ids", "load_gradient_agent", "load_policy",
           "policy_checkpoint", "training"]
