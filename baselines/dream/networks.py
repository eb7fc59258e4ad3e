"""DREAM's four components as small PyTorch modules, and its two special losses.

* :class:`ProblemEncoder`: the stochastic encoder F(z | mu) = N(f(mu), rho^2 I); ``f`` is an
  embedding over problem IDs (train split only: the ID comes from ``info`` in meta-training).
* :class:`Decoder`: g(tau_exp), a GRU over the exploration episode's observations that
  outputs an estimate of f(mu) after every prefix.
* :class:`RecurrentQ`: a recurrent Q-network; the exploration policy uses one on its own,
  the exploitation policy one conditioned on z (``z_dim > 0``).
* :func:`information_gain_rewards` and :func:`bottleneck_penalty`: the exploration reward
  r_t = ||f(mu) - g(tau_{:t-1})||^2 - ||f(mu) - g(tau_{:t})||^2 - c and the information
  bottleneck ||f(mu)||^2 (Sections 4.2-4.3 of the paper).

Every network reads observations in one encoding (:class:`ObsSpec`): the integer components
of ``observation``, ``instruction`` and ``prev_action`` (each one-hot, implemented as one
summed embedding table) plus the float ``prev_reward``.
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
                f"DREAM's networks read MultiDiscrete grid observations; {trial.window_title()} has {obs}"
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


# ---------------------------------------------------------------------------- components
class ProblemEncoder(nn.Module):
    """F(z | mu) = N(f(mu), rho^2 I).

    ``id_encoding="embedding"`` (the paper's one-hot problem ID): ``f`` is a free vector per
    problem ID, so nothing learned about one problem carries over to another.
    ``"binary"``: ``f`` is an MLP of the ID's binary digits, so problems whose IDs share
    digits share structure (MetaCooking: bits 2k, 2k+1 are fridge k's ingredient, and the
    held-out kitchen's code is composed of codes met in training).

    The bottleneck shrinks f through :meth:`bottleneck_parameters`: f is linear in them, so
    scaling them by ``1 - eta`` scales every f(mu) by ``1 - eta``.
    """

    def __init__(self, num_problems: int, z_dim: int, init_std: float, id_encoding: str = "embedding",
                 hidden: int = 64):
        super().__init__()
        self.id_encoding = id_encoding
        if id_encoding == "embedding":
            self.f = nn.Embedding(num_problems, z_dim)
            nn.init.normal_(self.f.weight, 0.0, init_std)
        elif id_encoding == "binary":
            self.num_bits = max(1, int(num_problems - 1).bit_length())
            self.register_buffer("bit_values", 2 ** torch.arange(self.num_bits), persistent=False)
            self.body = nn.Sequential(nn.Linear(self.num_bits, hidden), nn.ReLU())
            self.head = nn.Linear(hidden, z_dim)
            # Start with encodings of about init_std per coordinate, as the embedding does.
            nn.init.normal_(self.head.weight, 0.0, init_std / hidden**0.5 * 2.0)
            nn.init.zeros_(self.head.bias)
        else:
            raise ValueError(f"id_encoding={id_encoding!r}: expected 'embedding' or 'binary'")

    def forward(self, problem_ids: torch.Tensor) -> torch.Tensor:
        """The deterministic encodings f(mu), shape (B, z_dim)."""
        if self.id_encoding == "embedding":
            return self.f(problem_ids)
        bits = ((problem_ids.unsqueeze(-1) // self.bit_values) % 2).float()
        return self.head(self.body(bits))

    def bottleneck_parameters(self) -> list[nn.Parameter]:
        """The parameters f is linear in (decayed by the bottleneck)."""
        return [self.f.weight] if self.id_encoding == "embedding" else list(self.head.parameters())


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
    """

    def __init__(self, spec: ObsSpec, hidden: int, z_dim: int = 0, memory: str = "max", dueling: bool = False):
        super().__init__()
        if memory not in MEMORIES:
            raise ValueError(f"memory={memory!r} is not valid: expected one of {sorted(MEMORIES)}")
        self.z_dim = z_dim
        self.embed = ObsEmbedding(spec.nvec, hidden)
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

    def forward(self, ints: torch.Tensor, rewards: torch.Tensor, z: torch.Tensor | None = None,
                state: torch.Tensor | None = None) -> tuple[torch.Tensor, torch.Tensor]:
        """Whole sequences: ``ints (B, T, F)``, ``rewards (B, T)``, ``z (B, z_dim)`` ->
        Q-values ``(B, T, n_actions)`` and the final recurrent state."""
        x = self._inputs(ints, rewards, z)
        out, state = self.memory(x, state)
        return self._q(torch.cat((out, x), -1)), state

    def step(self, ints: torch.Tensor, rewards: torch.Tensor, state: torch.Tensor,
             z: torch.Tensor | None = None) -> tuple[torch.Tensor, torch.Tensor]:
        """One step: ``ints (B, F)``, ``rewards (B,)``, a recurrent state -> ``(B, A)`` and the next state."""
        q, state = self.forward(ints.unsqueeze(1), rewards.unsqueeze(1), z, state)
        return q.squeeze(1), state


class Decoder(nn.Module):
    """g(tau_exp): estimates f(mu) after every prefix of the exploration episode.

    A max-pooling recurrent network over transitions: each step's observation is embedded
    with the previous one (``phi(o_{t-1}, o_t)``: where the agent was, what it did, what it
    saw), and the state is the running elementwise maximum
    ``h_t = max(h_{t-1}, phi(o_{t-1}, o_t))``, read out by an MLP: ``g_t = head(h_t)``.
    What exploration reveals in these benchmarks is a set of facts (where a bus goes, what a
    fridge holds, what the map says); a max over fact features keeps each fact once, in any
    order, and combines facts the way unseen problems need (the held-out kitchen). Every
    prefix costs one batched pass (``cummax``), not a step-by-step loop.
    """

    def __init__(self, spec: ObsSpec, hidden: int, z_dim: int):
        super().__init__()
        self.hidden = hidden
        self.embed = ObsEmbedding(spec.nvec, hidden)
        self.phi = nn.Sequential(nn.Linear(2 * hidden, hidden), nn.ReLU(), nn.Linear(hidden, hidden), nn.ReLU())
        self.head = nn.Sequential(nn.Linear(hidden, hidden), nn.ReLU(), nn.Linear(hidden, z_dim))

    def forward(self, ints: torch.Tensor, rewards: torch.Tensor, h0: torch.Tensor | None = None) -> torch.Tensor:
        """``ints (B, T, F)``, ``rewards (B, T)`` -> ``g (B, T, z_dim)``, one per prefix.

        ``h0 (B, hidden)``: facts already known (the running max of another episode of the
        same problem, see :meth:`facts`); None for a fresh exploration episode.
        """
        h = self.facts(ints, rewards)
        if h0 is not None:
            h = torch.maximum(h, h0.unsqueeze(1))
        return self.head(h)

    def facts(self, ints: torch.Tensor, rewards: torch.Tensor) -> torch.Tensor:
        """The running max ``h_t`` after every prefix, ``(B, T, hidden)``."""
        e = self.embed(ints, rewards)
        prev = torch.cat((torch.zeros_like(e[:, :1]), e[:, :-1]), 1)
        return torch.cummax(self.phi(torch.cat((prev, e), -1)), dim=1).values

    def initial_state(self, batch: int) -> torch.Tensor:
        """State ``(B, 2 * hidden)``: running max, then the previous observation's embedding."""
        return torch.zeros(batch, 2 * self.hidden)

    def step(self, ints: torch.Tensor, rewards: torch.Tensor, state: torch.Tensor) -> torch.Tensor:
        """Advance the state by one observation."""
        e = self.embed(ints, rewards)
        h, prev = state[:, : self.hidden], state[:, self.hidden:]
        h = torch.maximum(h, self.phi(torch.cat((prev, e), -1)))
        return torch.cat((h, e), -1)

    def readout(self, state: torch.Tensor) -> torch.Tensor:
        """z = g(tau) from a state."""
        return self.head(state[:, : self.hidden])


class DreamNetworks(nn.Module):
    """Everything a DREAM agent learns: encoder, decoder, exploration and exploitation Q."""

    def __init__(self, spec: ObsSpec, hidden: int, z_dim: int, encoder_init_std: float = 0.01,
                 memory: str = "max", dueling: bool = False, id_encoding: str = "embedding"):
        super().__init__()
        self.spec = spec
        self.hidden = hidden
        self.z_dim = z_dim
        self.memory = memory
        self.dueling = dueling
        self.encoder = ProblemEncoder(spec.num_problems, z_dim, encoder_init_std, id_encoding, hidden)
        self.decoder = Decoder(spec, hidden, z_dim)
        self.explore_q = RecurrentQ(spec, hidden, memory=memory, dueling=dueling)
        self.task_q = RecurrentQ(spec, hidden, z_dim, memory=memory, dueling=dueling)

    def policy_state_dict(self) -> dict[str, torch.Tensor]:
        """What acting needs (no encoder: at test time only the decoder's z is used)."""
        return {k: v for k, v in self.state_dict().items() if not k.startswith("encoder.")}


# ---------------------------------------------------------------------------- losses
def information_gain_rewards(f: torch.Tensor, g: torch.Tensor, lengths: torch.Tensor, step_cost: float,
                             scale: float | torch.Tensor = 1.0) -> torch.Tensor:
    """Exploration rewards of every action of a batch of exploration episodes.

    ``f (B, z)``: f(mu); ``g (B, T, z)``: decoder outputs, ``g[:, t]`` after observations
    ``0..t``; ``lengths (B,)``: actions per episode. Action ``a_t`` is rewarded with the
    information its outcome (observation ``t + 1``) adds:
    ``d_t - d_{t+1} - c`` with ``d_t = ||f - g_t||^2``. The last action's outcome is never
    observed by the agent (the trial env returns the next episode's first observation), so
    it earns ``-c``. Padding positions are 0. Returns ``(B, T)``.

    ``scale`` divides the information terms: ``(d_t - d_{t+1}) / scale - c``, i.e. the paper's
    reward with step cost ``c * scale``, times ``1 / scale`` (which leaves the optimal policy
    unchanged). The trainer passes the spread of the encodings, so that ``c`` is a fraction
    of the problem's information whatever scale the bottleneck gives f.
    """
    d = ((g - f.unsqueeze(1)) ** 2).sum(-1) / scale  # (B, T)
    gain = torch.zeros_like(d)
    gain[:, :-1] = d[:, :-1] - d[:, 1:]
    steps = torch.arange(d.shape[1], device=d.device).unsqueeze(0)
    gain = torch.where(steps < (lengths - 1).unsqueeze(1), gain, torch.zeros_like(gain))
    return torch.where(steps < lengths.unsqueeze(1), gain - step_cost, torch.zeros_like(gain))


def bottleneck_penalty(f: torch.Tensor) -> torch.Tensor:
    """Information bottleneck: mean ||f(mu)||^2 over the batch. With F(z | mu) =
    N(f(mu), rho^2 I) and prior N(0, rho^2 I) the KL is ||f(mu)||^2 / (2 rho^2)."""
    return (f**2).sum(-1).mean()


def sequence_mask(lengths: torch.Tensor, steps: int) -> torch.Tensor:
    """``(B, steps)`` bool: position t is inside an episode of that length."""
    return torch.arange(steps, device=lengths.device).unsqueeze(0) < lengths.unsqueeze(1)


def double_dqn_loss(q: torch.Tensor, q_target: torch.Tensor, actions: torch.Tensor, rewards: torch.Tensor,
                    lengths: torch.Tensor, gamma: float, td_lambda: float = 0.0) -> torch.Tensor:
    """Double DQN (van Hasselt et al., 2016) on whole episodes, with Watkins's Q(lambda) returns.

    ``q`` (online, with grad) and ``q_target`` are ``(B, T, A)`` over the same padded
    sequences; ``rewards (B, T)``. With the double-DQN value
    ``V_{t+1} = Q_target(t+1, a*_{t+1})``, ``a*_{t+1} = argmax_a Q(t+1, a)``, step t's target
    is the lambda-return ``G_t = r_t + gamma * ((1 - l_{t+1}) V_{t+1} + l_{t+1} G_{t+1})`` where
    the trace ``l_{t+1} = lambda`` if the replayed action ``a_{t+1}`` is the greedy ``a*_{t+1}``
    and 0 otherwise (Watkins: the return only follows the greedy policy, so old or
    exploratory behaviour does not bias the targets). ``G_t = r_t`` at an episode's last step:
    every episode ends in a terminal state (the goal, ``end episode`` or the step limit), with
    no future inside the episode. ``td_lambda=0`` is one-step double DQN. Returns the mean
    squared TD error over the valid steps.
    """
    steps_t = q.shape[1]
    qa = q.gather(-1, actions.unsqueeze(-1)).squeeze(-1)
    with torch.no_grad():
        greedy = q.argmax(-1, keepdim=True)
        value = q_target.gather(-1, greedy).squeeze(-1)  # (B, T)
        trace = torch.full_like(value, td_lambda) * (greedy.squeeze(-1) == actions).to(q.dtype)  # (B, T)
        # G_t = r_t + c_t * ((1 - l_{t+1}) V_{t+1} + l_{t+1} G_{t+1}) with c_t = gamma inside the
        # episode and 0 at its last step. Everything but the recursion is computed for all
        # steps at once: the loop is the update's longest chain of small ops (the same
        # float operations in the same order as a step-by-step loop, so results are unchanged).
        cont = torch.where(sequence_mask(lengths - 1, steps_t), gamma, 0.0).to(q.dtype)  # (B, T)
        lam = trace[:, 1:]
        keep = (1 - lam) * value[:, 1:]  # (B, T - 1)
        g = rewards[:, -1]
        returns = [g]
        for t in range(steps_t - 2, -1, -1):
            g = rewards[:, t] + cont[:, t] * (keep[:, t] + lam[:, t] * g)
            returns.append(g)
        target = torch.stack(returns[::-1], 1)
    mask = sequence_mask(lengths, steps_t)
    return ((qa - target) ** 2 * mask).sum() / mask.sum().clamp(min=1)
