"""IMPORT's networks, acting and checkpoints.

One Q-head is shared by two ways of computing z, and reads ``[z ⊕ state]``
(:meth:`~baselines.common.recurrent_q.networks.RecurrentQ.head_q`, the step embedding as
the state):

* **informed path**: z = f(mu), an embedding of the problem ID (meta-training only: the
  trainer reads the ID off the envs, as DREAM's trainer does for its encoder);
* **recurrent path**: z = g(tau_{:t}) = a linear readout of E-RL²'s recurrent memory over the
  whole trial (the same embedding of state, instruction, previous action and reward, and
  trial flags; :class:`~baselines.erl2.agent.ERL2Networks`).

The harness plays the recurrent path only: :class:`ImportActor` takes f(mu) only for the
slots the trainer marks ``informed`` (none in the harness agent), and the policy checkpoint
leaves f out.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any

import numpy as np
import torch
from torch import nn

from baselines.common.recurrent_q.agent import RecurrentAgent
from baselines.common.recurrent_q.networks import ObsSpec
from baselines.common.recurrent_q.whole_trial import WholeTrialActor, frames_tensor
from baselines.erl2.agent import ERL2Networks, load_checkpoint_agent
from baselines.erl2.agent import policy_checkpoint as erl2_policy_checkpoint

POLICY_FORMAT = "import-policy-v1"
TRAIN_FORMAT = "import-train-v1"


class ImportNetworks(ERL2Networks):
    """E-RL²'s recurrent Q-network (``q``: embedding, memory, head), the readout g of its
    memory and the problem embedding f; z has the memory's width, so the head reads
    ``[z ⊕ state]`` where E-RL²'s reads ``[memory ⊕ state]``."""

    def __init__(self, spec: ObsSpec, hidden: int, memory: str = "gru", dueling: bool = True):
        super().__init__(spec, hidden, memory, dueling)
        self.readout = nn.Linear(hidden, hidden)
        self.f = nn.Embedding(spec.num_problems, hidden)

    def recurrent(self, ints: torch.Tensor, rewards: torch.Tensor, state: torch.Tensor | None = None,
                  frames: torch.Tensor | None = None) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
        """The recurrent path over sequences ``(B, T, ...)`` (``frames`` for pixel observations):
        Q-values, g ``(B, T, hidden)``, the step embeddings and the final memory state."""
        out, x, state = self.q.trunk(ints, rewards, state=state, frames=frames)
        g = self.readout(out)
        return self.q.head_q(g, x), g, x, state

    def informed(self, x: torch.Tensor, problem_id: torch.Tensor) -> torch.Tensor:
        """The informed path's Q-values from the step embeddings ``x (B, T, hidden)`` and the
        problem IDs ``(B,)``."""
        return self.q.head_q(self.f(problem_id).unsqueeze(1).expand_as(x), x)

    def policy_state_dict(self) -> dict[str, Any]:
        """What the harness agent needs: everything but f (the test-time policy never reads the ID)."""
        return {k: v for k, v in self.state_dict().items() if not k.startswith("f.")}


class ImportActor(WholeTrialActor):
    """E-RL²'s whole-trial actor acting on z = g(tau_{:t}), or on z = f(mu) in the slots marked
    ``informed`` (meta-training: ``problem_ids(slots)`` gives their problem IDs)."""

    def __init__(self, nets: ImportNetworks, num_slots: int):
        super().__init__(nets.q, num_slots)
        self.nets = nets
        self.informed = np.zeros(num_slots, dtype=bool)
        self.problem_ids: Callable[[np.ndarray], np.ndarray] | None = None

    @torch.no_grad()
    def q_values(self, slots: np.ndarray, ints: np.ndarray, rewards: np.ndarray, episode: np.ndarray,
                 frames: np.ndarray | None = None) -> torch.Tensor:
        slots = np.asarray(slots, dtype=np.int64)
        x, r = self.step_inputs(slots, ints, rewards, episode)
        s = torch.from_numpy(slots)
        f = frames_tensor(frames)
        q, _, x_emb, self.state[s] = self.nets.recurrent(x.unsqueeze(1), r.unsqueeze(1), self.state[s],
                                                         None if f is None else f.unsqueeze(1))
        informed = self.informed[slots]
        if informed.any():
            rows = torch.from_numpy(np.flatnonzero(informed))
            pid = torch.as_tensor(self.problem_ids(slots[informed]), dtype=torch.long)
            q[rows] = self.nets.informed(x_emb[rows], pid)
        return q.squeeze(1)


def make_agent(nets: ImportNetworks) -> RecurrentAgent:
    """The greedy harness agent (recurrent path only)."""
    agent = RecurrentAgent(lambda n: ImportActor(nets, n), nets.spec)
    agent.name = "import"
    nets.eval()
    return agent


def policy_checkpoint(nets: ImportNetworks, env_id: str, config: dict[str, Any], meta: dict[str, Any]
                      ) -> dict[str, Any]:
    """The small policy checkpoint (no problem embedding f)."""
    return erl2_policy_checkpoint(nets, env_id, config, meta, POLICY_FORMAT)


def load_agent(env_id: str, checkpoint: str | os.PathLike | None = None, **kwargs: Any) -> RecurrentAgent:
    """The harness entry point: a greedy IMPORT agent (recurrent path) for ``env_id`` from
    ``checkpoint`` (a run's ``final.pt``; default: the shipped one,
    ``baselines/import_/checkpoints/<env_id>.pt``)."""
    return load_checkpoint_agent(env_id, checkpoint, kwargs, method="IMPORT", package="import_",
                                 policy_format=POLICY_FORMAT, train_format=TRAIN_FORMAT, nets_class=ImportNetworks,
                                 agent_of=make_agent)
