"""Recurrent Q-networks over the trial observations of the grid families.

* :class:`ObsSpec`: how a trial env's observation dict becomes network input: the integer
  components of ``observation``, ``instruction`` and ``prev_action`` (each one-hot,
  implemented as one summed embedding table, :class:`ObsEmbedding`) plus the float
  ``prev_reward``.
* :class:`MaxMemory`, :class:`GRUMemory`: the recurrent cells (``MEMORIES``).
* :class:`RecurrentQ`: embedding -> recurrent memory -> (dueling) Q head, optionally
  conditioned on a vector z; whole sequences (training) or one step (acting).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from gymnasium import spaces
from torch import nn


# ---------------------------------------------------------------------------- observations
@dataclass(frozen=True)
class ObsSpec:
    """How a trial env's observation dict becomes network input.

    ``ints``: ``observation`` components, then ``instruction`` components, then
    ``prev_action``, each an integer in ``[0, nvec[i])``; ``prev_reward`` is a float.
    """

    obs_nvec: tuple[int, ...]
    instr_nvec: tuple[int, ...]
    n_actions: int
    num_problems: int
    max_episode_steps: int

    @property
    def nvec(self) -> tuple[int, ...]:
        return (*self.obs_nvec, *self.instr_nvec, self.n_actions + 1)

    @property
    def num_ints(self) -> int:
        return len(self.nvec)

    @classmethod
    def from_env(cls, env: Any) -> ObsSpec:
        """The spec of a ``TrialEnv`` (or a ``gymnasium.make`` of one)."""
        trial = env.unwrapped
        space = trial.observation_space
        obs = space["observation"]
        if not isinstance(obs, spaces.MultiDiscrete) or obs.nvec.ndim != 1:
            raise ValueError(
                f"the recurrent Q-networks read MultiDiscrete grid observations; {trial.window_title()} has {obs}"
            )
        instr = space["instruction"]
        instr_nvec = (int(instr.n),) if isinstance(instr, spaces.Discrete) else tuple(int(n) for n in instr.nvec)
        return cls(
            obs_nvec=tuple(int(n) for n in obs.nvec),
            instr_nvec=instr_nvec,
            n_actions=int(trial.action_space.n),
            num_problems=int(trial.episode_env.num_problems),
            max_episode_steps=int(trial.episode_env.max_episode_steps),
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "obs_nvec": list(self.obs_nvec), "instr_nvec": list(self.instr_nvec), "n_actions": self.n_actions,
            "num_problems": self.num_problems, "max_episode_steps": self.max_episode_steps,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ObsSpec:
        return cls(tuple(data["obs_nvec"]), tuple(data["instr_nvec"]), int(data["n_actions"]),
                   int(data["num_problems"]), int(data["max_episode_steps"]))

    def encode_batch(self, observations: dict[str, np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
        """Stacked observation dict (leading batch dim) -> ``ints (B, F) int64, rewards (B,) float32``."""
        obs = np.asarray(observations["observation"])
        batch = obs.shape[0]
        instr = np.asarray(observations["instruction"]).reshape(batch, -1)
        prev_action = np.asarray(observations["prev_action"]).reshape(batch, 1)
        ints = np.concatenate((obs.reshape(batch, -1), instr, prev_action), axis=1).astype(np.int64)
        if ints.shape[1] != self.num_ints:
            raise ValueError(f"observation encodes to {ints.shape[1]} integers; this agent expects {self.num_ints}")
        rewards = np.asarray(observations["prev_reward"], dtype=np.float32).reshape(batch)
        return ints, rewards


class ObsEmbedding(nn.Module):
    """Linear layer on the concatenated one-hots of the integer inputs (as a summed
    embedding lookup) plus the float reward, then ReLU."""

    def __init__(self, nvec: tuple[int, ...], out: int):
        super().__init__()
        offsets = np.concatenate(([0], np.cumsum(nvec)[:-1]))
        self.register_buffer("offsets", torch.as_tensor(offsets, dtype=torch.long), persistent=False)
        self.table = nn.Embedding(int(sum(nvec)), out)
        bound = 1 / np.sqrt(len(nvec) + 1)  # nn.Linear's init for a (len(nvec) + 1)-hot input
        nn.init.uniform_(self.table.weight, -bound, bound)
        self.reward = nn.Linear(1, out)

    def forward(self, ints: torch.Tensor, rewards: torch.Tensor) -> torch.Tensor:
        return torch.relu(self.table(ints + self.offsets).sum(-2) + self.reward(rewards.unsqueeze(-1)))

class MaxMemory(nn.Module):
    """A max-pooling recurrent cell over transitions: ``h_t = max(h_{t-1}, phi(x_{t-1}, x_t))``.

    ``phi`` embeds each step with the previous one (where the agent was, what it did, what it
    saw); the running elementwise maximum remembers every kind of transition met so far, in
    any order, once. Whole sequences cost one batched pass (``cummax``), not a time loop:
    several times cheaper than a GRU on a CPU, and the memory these benchmarks need (which
    buses were ridden, which fridges were opened) is such a set.
    """

    def __init__(self, width: int):
        super().__init__()
        self.width = width
        self.phi = nn.Sequential(nn.Linear(2 * width, width), nn.ReLU(), nn.Linear(width, width), nn.ReLU())

    def forward(self, x: torch.Tensor, state: torch.Tensor | None = None) -> tuple[torch.Tensor, torch.Tensor]:
        """``x (B, T, W)`` -> memory after every step ``(B, T, W)`` and the final state ``(B, 2W)``."""
        if state is None:
            state = torch.zeros(x.shape[0], 2 * self.width)
        h0, prev0 = state[:, : self.width], state[:, self.width:]
        prev = torch.cat((prev0.unsqueeze(1), x[:, :-1]), 1)
        h = torch.maximum(torch.cummax(self.phi(torch.cat((prev, x), -1)), dim=1).values, h0.unsqueeze(1))
        return h, torch.cat((h[:, -1], x[:, -1]), -1)

    def initial_state(self, batch: int) -> torch.Tensor:
        return torch.zeros(batch, 2 * self.width)


class GRUMemory(nn.Module):
    """A GRU as the recurrent cell (the paper's choice; slower on a CPU)."""

    def __init__(self, width: int):
        super().__init__()
        self.width = width
        self.gru = nn.GRU(width, width, batch_first=True)

    def forward(self, x: torch.Tensor, state: torch.Tensor | None = None) -> tuple[torch.Tensor, torch.Tensor]:
        out, h = self.gru(x, None if state is None else state.unsqueeze(0))
        return out, h.squeeze(0)

    def initial_state(self, batch: int) -> torch.Tensor:
        return torch.zeros(batch, self.width)


MEMORIES = {"max": MaxMemory, "gru": GRUMemory}


class RecurrentQ(nn.Module):
    """Q(a | history of observations[, z]): embedding -> recurrent memory -> MLP head.

    The head also sees the current step's embedding (a skip connection), so the memory only
    has to carry what the current observation does not show.

    ``dueling`` (Wang et al., 2016): a second head estimates the state value V and the first
    the advantages A, combined as ``Q = V + A - mean_a A``. Where the state value varies much
    more than the action gaps (cooking: a wasted step costs 0.1, while V spans ~2 between
    kitchens the policy does and does not solve yet) the advantages no longer have to be
    learned as small differences of large, noisy Q-values.

    ``extra_nvec``: integer inputs appended after the spec's (``ints (..., F + len(extra_nvec))``),
    e.g. the whole-trial flags of :data:`~.whole_trial.TRIAL_FLAGS_NVEC` for a policy that spans
    the exploration and exploitation episodes.
    """

    def __init__(self, spec: ObsSpec, hidden: int, z_dim: int = 0, memory: str = "max", dueling: bool = False,
                 extra_nvec: tuple[int, ...] = ()):
        super().__init__()
        if memory not in MEMORIES:
            raise ValueError(f"memory={memory!r} is not valid: expected one of {sorted(MEMORIES)}")
        self.z_dim = z_dim
        self.embed = ObsEmbedding((*spec.nvec, *extra_nvec), hidden)
        self.mix = nn.Sequential(nn.Linear(hidden + z_dim, hidden), nn.ReLU()) if z_dim else nn.Identity()
        self.memory = MEMORIES[memory](hidden)
        self.head = nn.Sequential(nn.Linear(2 * hidden, hidden), nn.ReLU(), nn.Linear(hidden, spec.n_actions))
        self.dueling = dueling
        if dueling:
            self.value = nn.Sequential(nn.Linear(2 * hidden, hidden), nn.ReLU(), nn.Linear(hidden, 1))

    def _q(self, features: torch.Tensor) -> torch.Tensor:
        """Q-values from the head's input (``cat(memory, embedding)``)."""
        a = self.head(features)
        if not self.dueling:
            return a
        return self.value(features) + a - a.mean(-1, keepdim=True)

    def _inputs(self, ints, rewards, z):
        x = self.embed(ints, rewards)
        if self.z_dim:
            x = self.mix(torch.cat((x, z.unsqueeze(-2).expand(*x.shape[:-1], self.z_dim)), -1))
        return x

    def initial_state(self, batch: int) -> torch.Tensor:
        return self.memory.initial_state(batch)

    def trunk(self, ints: torch.Tensor, rewards: torch.Tensor, z: torch.Tensor | None = None,
              state: torch.Tensor | None = None) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """The head's two inputs and the final state: memory outputs ``(B, T, hidden)``, step
        embeddings ``(B, T, hidden)``, recurrent state (for methods that read or replace the
        memory before the head, e.g. IMPORT)."""
        x = self._inputs(ints, rewards, z)
        out, state = self.memory(x, state)
        return out, x, state

    def head_q(self, memory: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
        """Q-values from a memory output (or anything of its width standing in for it) and
        the step embedding."""
        return self._q(torch.cat((memory, x), -1))

    def forward(self, ints: torch.Tensor, rewards: torch.Tensor, z: torch.Tensor | None = None,
                state: torch.Tensor | None = None) -> tuple[torch.Tensor, torch.Tensor]:
        """Whole sequences: ``ints (B, T, F)``, ``rewards (B, T)``, ``z (B, z_dim)`` ->
        Q-values ``(B, T, n_actions)`` and the final recurrent state."""
        out, x, state = self.trunk(ints, rewards, z, state)
        return self.head_q(out, x), state

    def step(self, ints: torch.Tensor, rewards: torch.Tensor, state: torch.Tensor,
             z: torch.Tensor | None = None) -> tuple[torch.Tensor, torch.Tensor]:
        """One step: ``ints (B, F)``, ``rewards (B,)``, a recurrent state -> ``(B, A)`` and the next state."""
        q, state = self.forward(ints.unsqueeze(1), rewards.unsqueeze(1), z, state)
        return q.squeeze(1), state
