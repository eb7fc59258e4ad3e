"""DREAM's own components as small PyTorch modules, and its special losses.

* :class:`ProblemEncoder`: the stochastic encoder F(z | mu) = N(f(mu), rho^2 I); ``f`` is an
  embedding over problem IDs (train split only: the ID comes from ``info`` in meta-training).
* :class:`Decoder`: g(tau_exp), a max-pooling recurrent network over the exploration
  episode's observations that outputs an estimate of f(mu) after every prefix.
* :class:`DreamNetworks`: the encoder, the decoder and two recurrent Q-networks of the shared
  learner (:class:`~baselines.common.recurrent_q.networks.RecurrentQ`): the exploration
  policy uses one on its own, the exploitation policy one conditioned on z (``z_dim > 0``).
* :func:`decoder_loss`, :func:`information_gain_rewards` and :func:`bottleneck_penalty`:
  the decoder's regression of f(mu), the exploration reward
  r_t = ||f(mu) - g(tau_{:t-1})||^2 - ||f(mu) - g(tau_{:t})||^2 - c and the information
  bottleneck ||f(mu)||^2 (Sections 4.2-4.3 of the paper).

Every network reads observations in the shared learner's encoding
(:class:`~baselines.common.recurrent_q.networks.ObsSpec`). The shared pieces are importable
from here too (``ObsSpec``, ``RecurrentQ``, ``double_dqn_loss``, ...), as before they moved.
"""

from __future__ import annotations

import torch
from torch import nn

from baselines.common.recurrent_q.networks import MEMORIES, GRUMemory, MaxMemory, ObsEmbedding, ObsSpec, RecurrentQ
from baselines.common.recurrent_q.qlearning import double_dqn_loss, sequence_mask
from baselines.dream.config import DECODER_PREFIXES

__all__ = [
    "DECODER_PREFIXES", "MEMORIES", "Decoder", "DreamNetworks", "GRUMemory", "MaxMemory", "ObsEmbedding", "ObsSpec",
    "ProblemEncoder", "RecurrentQ", "bottleneck_penalty",
    "decoder_loss", "double_dqn_loss", "information_gain_rewards", "sequence_mask", "spread_over_versions",
]


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
        self.embed = ObsEmbedding(spec.nvec, hidden, spec.frame_shape)
        self.phi = nn.Sequential(nn.Linear(2 * hidden, hidden), nn.ReLU(), nn.Linear(hidden, hidden), nn.ReLU())
        self.head = nn.Sequential(nn.Linear(hidden, hidden), nn.ReLU(), nn.Linear(hidden, z_dim))

    def forward(self, ints: torch.Tensor, rewards: torch.Tensor, h0: torch.Tensor | None = None,
                frames: torch.Tensor | None = None) -> torch.Tensor:
        """``ints (B, T, F)``, ``rewards (B, T)`` [, ``frames (B, T, H, W, C)``] -> ``g (B, T, z_dim)``,
        one per prefix.

        ``h0 (B, hidden)``: facts already known (the running max of another episode of the
        same problem, see :meth:`facts`); None for a fresh exploration episode.
        """
        h = self.facts(ints, rewards, frames)
        if h0 is not None:
            h = torch.maximum(h, h0.unsqueeze(1))
        return self.head(h)

    def facts(self, ints: torch.Tensor, rewards: torch.Tensor, frames: torch.Tensor | None = None) -> torch.Tensor:
        """The running max ``h_t`` after every prefix, ``(B, T, hidden)``."""
        e = self.embed(ints, rewards, frames)
        prev = torch.cat((torch.zeros_like(e[:, :1]), e[:, :-1]), 1)
        return torch.cummax(self.phi(torch.cat((prev, e), -1)), dim=1).values

    def initial_state(self, batch: int) -> torch.Tensor:
        """State ``(B, 2 * hidden)``: running max, then the previous observation's embedding."""
        return torch.zeros(batch, 2 * self.hidden)

    def step(self, ints: torch.Tensor, rewards: torch.Tensor, state: torch.Tensor,
             frames: torch.Tensor | None = None) -> torch.Tensor:
        """Advance the state by one observation."""
        e = self.embed(ints, rewards, frames)
        h, prev = state[:, : self.hidden], state[:, self.hidden:]
        h = torch.maximum(h, self.phi(torch.cat((prev, e), -1)))
        return torch.cat((h, e), -1)

    def readout(self, state: torch.Tensor) -> torch.Tensor:
        """z = g(tau) from a state."""
        return self.head(state[:, : self.hidden])


class DreamNetworks(nn.Module):
    """Everything a DREAM agent learns: encoder, decoder, exploration and exploitation Q."""

    def __init__(self, spec: ObsSpec, hidden: int, z_dim: int, encoder_init_std: float = 0.01,
                 memory: str = "max", dueling: bool = False, id_encoding: str = "embedding",
                 explore_masked_action: int | None = None):
        super().__init__()
        self.spec = spec
        #: An action the exploration policy never takes (``DreamConfig.explore_can_end``):
        #: :meth:`explore_mask` gives its Q-value -inf, in acting and in the targets' argmax.
        self.explore_masked_action = explore_masked_action
        self.hidden = hidden
        self.z_dim = z_dim
        self.memory = memory
        self.dueling = dueling
        self.encoder = ProblemEncoder(spec.num_problems, z_dim, encoder_init_std, id_encoding, hidden)
        self.decoder = Decoder(spec, hidden, z_dim)
        self.explore_q = RecurrentQ(spec, hidden, memory=memory, dueling=dueling)
        self.task_q = RecurrentQ(spec, hidden, z_dim, memory=memory, dueling=dueling)

    def explore_mask(self, q: torch.Tensor) -> torch.Tensor:
        """The exploration Q-values ``(..., A)`` with :attr:`explore_masked_action`'s at -inf
        (unchanged when there is none)."""
        if self.explore_masked_action is None:
            return q
        masked = torch.zeros(q.shape[-1], dtype=torch.bool, device=q.device)
        masked[self.explore_masked_action] = True
        return q.masked_fill(masked, float("-inf"))

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
    return with_step_cost(gain, lengths, step_cost)


def with_step_cost(gain: torch.Tensor, lengths: torch.Tensor, step_cost: float) -> torch.Tensor:
    """``(B, T)``: ``gain - step_cost`` for each action of the episodes, 0 past their ``lengths``."""
    steps = torch.arange(gain.shape[1], device=gain.device).unsqueeze(0)
    return torch.where(steps < lengths.unsqueeze(1), gain - step_cost, torch.zeros_like(gain))


def encoding_spread(f: torch.Tensor) -> torch.Tensor:
    """Mean ``||f - mean f||^2`` over the rows of ``f (N, z)``: the squared error of guessing
    the mean encoding, i.e. how much there is to know about the problem."""
    return ((f - f.mean(0)) ** 2).sum(-1).mean()


def spread_over_versions(f_versions: torch.Tensor) -> torch.Tensor:
    """Mean over the rows of ``f_versions (B, V, z)`` (each row: f of one episode's V versions,
    the real problem and its counterfactual ones, i.e. every problem of the split) of the mean
    ``||f_v - mean_v f||^2``: :func:`encoding_spread` of the problems, whatever problems the
    batch drew."""
    return ((f_versions - f_versions.mean(1, keepdim=True)) ** 2).sum(-1).mean()


def decoder_loss(decoder: Decoder, f: torch.Tensor, b: dict[str, torch.Tensor],
                 partner: dict[str, torch.Tensor] | None = None, union_weight: float = 0.0,
                 prefixes: str = "all") -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """The decoder's loss: the mean of ``||g(tau_{:t}) - f(mu)||^2`` over every prefix of the
    exploration episodes (``prefixes="all"``), over the whole episodes only (``"final"``:
    t = the episode's last step; the paper's Equation 4), or the sum of those two means
    (``"both"``), with f a fixed target (no gradient reaches the encoder).

    ``f (B, z)``; ``b``: the replay batch's ``exp_ints (B, Te, F)``, ``exp_rew (B, Te)``,
    ``exp_len (B,)`` [and ``exp_frames (B, Te, H, W, C)``]. ``partner``: for each trial,
    another trial of the same problem; with ``union_weight > 0`` the decoder also learns to
    estimate f from the facts of both exploration episodes together. Returns the loss, the
    decoder's outputs ``g (B, Te, z)`` (every prefix, whatever ``prefixes``) and the squared
    distances ``(B, Te)``.
    """
    if prefixes not in DECODER_PREFIXES:
        raise ValueError(f"prefixes={prefixes!r}: expected one of {DECODER_PREFIXES}")
    exp_frames = b.get("exp_frames")  # pixel observations only
    g = decoder(b["exp_ints"], b["exp_rew"], frames=exp_frames)
    every = sequence_mask(b["exp_len"], g.shape[1])
    final = torch.zeros_like(every)  # one term per episode: its last prefix
    final[torch.arange(len(final)), b["exp_len"] - 1] = 1.0
    masks = {"all": [every], "final": [final], "both": [every, final]}[prefixes]

    def mean_over_masks(distances: torch.Tensor) -> torch.Tensor:
        return sum((distances * mask).sum() / mask.sum() for mask in masks)

    dist = ((g - f.detach().unsqueeze(1)) ** 2).sum(-1)
    loss = mean_over_masks(dist)
    if partner is not None and union_weight > 0:
        facts = decoder.facts(partner["exp_ints"], partner["exp_rew"], partner.get("exp_frames"))
        known = facts[torch.arange(len(facts)), partner["exp_len"] - 1]
        g_union = decoder(b["exp_ints"], b["exp_rew"], h0=known, frames=exp_frames)
        dist_union = ((g_union - f.detach().unsqueeze(1)) ** 2).sum(-1)
        loss = loss + union_weight * mean_over_masks(dist_union)
    return loss, g, dist


def bottleneck_penalty(f: torch.Tensor) -> torch.Tensor:
    """Information bottleneck: mean ||f(mu)||^2 over the batch. With F(z | mu) =
    N(f(mu), rho^2 I) and prior N(0, rho^2 I) the KL is ||f(mu)||^2 / (2 rho^2)."""
    return (f**2).sum(-1).mean()
