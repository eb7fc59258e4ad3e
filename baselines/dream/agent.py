"""Acting with DREAM: the batched recurrent actor, the harness agent and ``load_agent``.

:class:`DreamActor` keeps, per trial slot, the hidden states of the exploration Q-network,
the decoder and the exploitation Q-network, and the encoding z of the current trial. In the
exploration episode (``episode == 0``) it acts with the exploration policy and feeds the
decoder; when the first exploitation episode begins it reads z = g(tau_exp) off the
decoder (or, in meta-training, takes the encoder's z); in every exploitation episode it acts
with the exploitation policy conditioned on z. Training and scoring share this code.
"""

from __future__ import annotations

import importlib.resources
import os
from pathlib import Path
from typing import Any

import numpy as np
import torch

from baselines.common.recurrent_q.agent import RecurrentAgent, read_policy_checkpoint
from baselines.dream.config import without_removed
from baselines.dream.networks import DreamNetworks, ObsSpec

#: Shipped checkpoints, ``<env id>.pt`` with ``<env id>.json`` beside it: package data
#: (found through importlib.resources, so that a non-editable install has them too).
CHECKPOINTS = Path(str(importlib.resources.files("baselines.dream") / "checkpoints"))
POLICY_FORMAT = "dream-policy-v1"


class DreamActor:
    """Batched action selection over ``num_slots`` trials; one network call per policy per step."""

    def __init__(self, nets: DreamNetworks, num_slots: int):
        self.nets = nets
        self.num_slots = num_slots
        self.h_exp = nets.explore_q.initial_state(num_slots)
        self.h_dec = nets.decoder.initial_state(num_slots)
        self.h_task = nets.task_q.initial_state(num_slots)
        self.z = torch.zeros(num_slots, nets.z_dim)
        self.phase = np.zeros(num_slots, dtype=np.int64)
        #: Training only: per slot, an encoder z to use instead of the decoder's.
        self.z_override: torch.Tensor | None = None
        self.use_override = np.zeros(num_slots, dtype=bool)

    def reset(self, slots: np.ndarray | None = None) -> None:
        """Forget the memory of ``slots`` (all when None): a new trial starts there."""
        if slots is None:
            slots = np.arange(self.num_slots)
        slots = torch.as_tensor(np.asarray(slots, dtype=np.int64))
        for h in (self.h_exp, self.h_dec, self.h_task, self.z):
            h[slots] = 0.0
        self.phase[slots.numpy()] = 0

    @torch.no_grad()
    def q_values(self, slots: np.ndarray, ints: np.ndarray, rewards: np.ndarray, episode: np.ndarray,
                 frames: np.ndarray | None = None) -> torch.Tensor:
        """Q-values ``(len(slots), n_actions)`` for one step of the given slots.

        ``ints``/``rewards`` (and ``frames`` for pixel observations): encoded observations (see
        ``ObsSpec``) of those slots; ``episode``: their ``episode`` key (0 = exploration).
        Advances the slots' memory.
        """
        nets = self.nets
        slots = np.asarray(slots, dtype=np.int64)
        ints_t = torch.from_numpy(np.ascontiguousarray(ints, dtype=np.int64))
        rew_t = torch.from_numpy(np.ascontiguousarray(rewards, dtype=np.float32))
        frames_t = None if frames is None else torch.from_numpy(np.ascontiguousarray(frames))
        q = torch.empty(len(slots), nets.spec.n_actions)
        explore = episode == 0
        if explore.any():
            sel = torch.from_numpy(np.flatnonzero(explore))
            s = torch.from_numpy(slots[explore])
            x, r = ints_t[sel], torch.zeros(len(sel))  # exploration is reward-free: prev_reward read as 0
            f = None if frames_t is None else frames_t[sel]
            q_exp, self.h_exp[s] = nets.explore_q.step(x, r, self.h_exp[s], frames=f)
            self.h_dec[s] = nets.decoder.step(x, r, self.h_dec[s], frames=f)
            q[sel] = nets.explore_mask(q_exp)
        if not explore.all():
            task = ~explore
            sel_np = np.flatnonzero(task)
            s_np = slots[task]
            new = episode[task] != self.phase[s_np]
            if new.any():
                s_new = s_np[new]
                first = s_new[self.phase[s_new] == 0]
                if len(first):
                    first_t = torch.from_numpy(first)
                    z = nets.decoder.readout(self.h_dec[first_t])
                    if self.z_override is not None:
                        over = torch.from_numpy(self.use_override[first])
                        z = torch.where(over.unsqueeze(1), self.z_override[first_t], z)
                    self.z[first_t] = z
                self.h_task[torch.from_numpy(s_new)] = 0.0
                self.phase[s_new] = episode[task][new]
            s = torch.from_numpy(s_np)
            sel = torch.from_numpy(sel_np)
            q_task, self.h_task[s] = nets.task_q.step(ints_t[sel], rew_t[sel], self.h_task[s], self.z[s],
                                                      frames=None if frames_t is None else frames_t[sel])
            q[sel] = q_task
        return q


class DreamAgent(RecurrentAgent):
    """A trained DREAM policy behind the harness's agent protocol.

    ``reset()`` / ``act(observation)`` play one trial at a time; ``act_batch(observations,
    new_trial)`` plays many (observations stacked like a Gymnasium vector env). Actions are
    greedy (:class:`~baselines.common.recurrent_q.agent.RecurrentAgent` around a
    :class:`DreamActor`). Only observations are used: at test time z comes from the decoder.
    """

    name = "dream"

    def __init__(self, nets: DreamNetworks, env_id: str | None = None):
        self.nets = nets.eval()
        self.env_id = env_id
        super().__init__(lambda num_slots: DreamActor(self.nets, num_slots), nets.spec)


# ---------------------------------------------------------------------------- checkpoints
def policy_checkpoint(nets: DreamNetworks, env_id: str, config: dict[str, Any], meta: dict[str, Any]) -> dict[str, Any]:
    """The small shipped form: policy weights (no encoder, no replay), spec, config, metadata."""
    return {
        "format": POLICY_FORMAT,
        "env_id": env_id,
        "spec": nets.spec.to_dict(),
        "hidden": nets.hidden,
        "z_dim": nets.z_dim,
        "memory": nets.memory,
        "explore_masked_action": nets.explore_masked_action,
        "config": config,
        "meta": meta,
        "policy": {k: v.detach().clone() for k, v in nets.policy_state_dict().items()},
    }


def nets_from_policy_checkpoint(data: dict[str, Any]) -> DreamNetworks:
    spec = ObsSpec.from_dict(data["spec"])
    nets = DreamNetworks(spec, int(data["hidden"]), int(data["z_dim"]), memory=str(data.get("memory", "gru")),
                         dueling=bool(data.get("config", {}).get("dueling", False)),
                         explore_masked_action=data.get("explore_masked_action"))
    missing, unexpected = nets.load_state_dict(data["policy"], strict=False)
    missing = [k for k in missing if not k.startswith("encoder.")]
    if missing or unexpected:
        raise ValueError(f"policy weights do not match the networks: missing {missing}, unexpected {unexpected}")
    return nets


def default_checkpoint(env_id: str) -> Path:
    return CHECKPOINTS / f"{env_id}.pt"


def load_policy(checkpoint: str | os.PathLike) -> dict[str, Any]:
    """Read a DREAM checkpoint (shipped ``*.pt`` or a run's ``final.pt``/``checkpoint.pt``)
    with ``torch.load(weights_only=True)``; clear errors when missing or corrupt, or when its
    run used a setting that was removed (``config.without_removed``; at their "off" values
    such settings, recorded by older checkpoints, are dropped from ``config``)."""
    path = Path(checkpoint)
    data = read_policy_checkpoint(path, "DREAM", POLICY_FORMAT, "dream-train-v1")
    data["config"] = without_removed(data.get("config", {}), f"DREAM checkpoint {str(path)!r}")
    return data


def load_agent(env_id: str, checkpoint: str | os.PathLike | None = None, **kwargs: Any) -> DreamAgent:
    """The harness entry point: a greedy DREAM agent for ``env_id``.

    Without ``checkpoint`` it loads the shipped one, ``baselines/dream/checkpoints/<env_id>.pt``. Env kwargs
    the harness passes (``split``, ``num_exploit_episodes``, ``exploration_rewards``, ...) are
    accepted; ``setting="standard"`` is refused (the agent is trained in the IMRL setting).
    """
    setting = kwargs.get("setting", "imrl")
    if setting != "imrl":
        raise ValueError(f"setting={setting!r}: the DREAM checkpoints are trained in the 'imrl' setting only")
    if checkpoint is None:
        path = default_checkpoint(env_id)
        if not path.is_file():
            shipped = sorted(p.stem for p in CHECKPOINTS.glob("*.pt")) if CHECKPOINTS.is_dir() else []
            raise FileNotFoundError(
                f"no shipped DREAM checkpoint for {env_id!r} ({path} is missing; shipped: {shipped}). Train one with "
                f"`python -m baselines.dream.train --env {env_id}` and pass --checkpoint RUN/final.pt"
            )
        checkpoint = path
    data = load_policy(checkpoint)
    if data["env_id"] != env_id:
        raise ValueError(f"checkpoint {str(checkpoint)!r} was trained on {data['env_id']!r}, not {env_id!r}")
    nets = nets_from_policy_checkpoint(data)
    import gymnasium as gym

    import meta_explore_envs  # noqa: F401  (registers the ids)

    env = gym.make(env_id)
    spec = ObsSpec.from_env(env)
    env.close()
    if spec != nets.spec:
        raise ValueError(f"checkpoint {str(checkpoint)!r} expects observations {nets.spec}, {env_id} gives {spec}")
    agent = DreamAgent(nets, env_id)
    agent.checkpoint_path = str(checkpoint)
    return agent
