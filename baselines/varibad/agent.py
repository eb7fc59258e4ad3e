"""VariBAD's networks, acting and checkpoints.

E-RL²'s recurrent Q-network (:class:`~baselines.erl2.agent.ERL2Networks`) split at its head
(:class:`VariBADNetworks`):

* **encoder** q_phi(m | tau_{:t}): E-RL²'s step embedding (state, instruction, previous
  action, previous reward, trial flags) and recurrent memory over the whole trial
  (``q.trunk``), then ``posterior``, a linear layer from the memory's output after every step
  to the mean and log-variance of a diagonal Gaussian over the latent task variable m. The
  prior q(m | tau_{:0}) is that layer on the memory's output before any step (its initial
  state, 0): as in VariBAD's code, the encoder's output on the empty history, a learned
  Gaussian that the first KL term pulls towards N(0, I).
* **policy** Q(s, b, a): the policy's own step embedding ``state_embed`` (the same inputs as the
  encoder's) and ``belief``, a layer on the posterior's mean and log-variance b, both into
  E-RL²'s dueling head (``q.head_q``), which reads ``[belief ⊕ state]`` where E-RL²'s reads
  ``[memory ⊕ step embedding]``. b is detached: the Q-loss never reaches the encoder. As
  VariBAD's policy it has no memory of its own: the belief is what it knows of the trial.
* **decoder** p_theta(r | s, a, m) (:class:`RewardDecoder`): meta-training only; the policy
  checkpoint leaves it out.

Acting (training and the harness) is :class:`VariBADActor`: E-RL²'s whole-trial actor with
the encoder's memory as each trial slot's state. The agent never sees the problem ID.
"""

from __future__ import annotations

import os
from typing import Any

import numpy as np
import torch
from torch import nn

from baselines.common.recurrent_q.agent import RecurrentAgent
from baselines.common.recurrent_q.networks import ObsEmbedding, ObsSpec
from baselines.common.recurrent_q.whole_trial import TRIAL_FLAGS_NVEC, WholeTrialActor, frames_tensor
from baselines.erl2.agent import ERL2Networks, load_checkpoint_agent

POLICY_FORMAT = "varibad-policy-v1"
TRAIN_FORMAT = "varibad-train-v1"


class RewardDecoder(nn.Module):
    """p_theta(r | s, a, m): the mean of a unit-variance Gaussian over the reward of action ``a``
    in step ``s`` (its observation, instruction and previous action) of the problem whose latent
    is m, so that its log-likelihood is minus half the squared error, up to a constant.

    ``[embedding(s, a) ⊕ m]`` -> two ReLU layers of ``hidden`` -> r. The first layer is applied
    as its step part plus its latent part, so that K latents decode J steps at the cost of
    K + J first-layer products, not K * J.
    """

    def __init__(self, spec: ObsSpec, latent_dim: int, hidden: int):
        super().__init__()
        self.embed = ObsEmbedding((*spec.nvec, spec.n_actions), hidden, spec.frame_shape)
        self.step_in = nn.Linear(hidden, hidden)
        self.latent_in = nn.Linear(latent_dim, hidden, bias=False)
        self.out = nn.Sequential(nn.ReLU(), nn.Linear(hidden, hidden), nn.ReLU(), nn.Linear(hidden, 1))

    def forward(self, m: torch.Tensor, ints: torch.Tensor, actions: torch.Tensor,
                frames: torch.Tensor | None = None) -> torch.Tensor:
        """Predicted rewards ``(B, K, J)`` of the steps ``ints (B, J, F)`` (and ``frames (B, J, H, W,
        C)`` for pixel observations) with ``actions (B, J)`` under each of the latents ``m (B, K,
        latent_dim)``."""
        # The reward is what is predicted: the embedding's reward input is held at 0.
        step = self.embed(torch.cat((ints, actions.unsqueeze(-1)), -1), torch.zeros(actions.shape), frames)
        hidden = self.step_in(step).unsqueeze(1) + self.latent_in(m).unsqueeze(2)  # (B, K, J, hidden)
        return self.out(hidden).squeeze(-1)


class VariBADNetworks(ERL2Networks):
    """Everything VariBAD learns: E-RL²'s network ``q`` (its embedding and memory: the
    encoder's; its head: the policy's), the ``posterior`` layer, the policy's ``state_embed``
    embedding and ``belief`` layer, and the reward ``decoder``."""

    def __init__(self, spec: ObsSpec, hidden: int, memory: str = "gru", dueling: bool = True, latent_dim: int = 5,
                 decoder_hidden: int = 32):
        super().__init__(spec, hidden, memory, dueling)
        self.latent_dim, self.decoder_hidden = latent_dim, decoder_hidden
        self.posterior = nn.Linear(hidden, 2 * latent_dim)
        self.state_embed = ObsEmbedding((*spec.nvec, *TRIAL_FLAGS_NVEC), hidden, spec.frame_shape)
        self.belief = nn.Sequential(nn.Linear(2 * latent_dim, hidden), nn.ReLU())
        self.decoder = RewardDecoder(spec, latent_dim, decoder_hidden)

    def settings(self) -> dict[str, Any]:
        return {**super().settings(), "latent_dim": self.latent_dim, "decoder_hidden": self.decoder_hidden}

    @classmethod
    def from_settings(cls, data: dict[str, Any]) -> VariBADNetworks:
        return cls(ObsSpec.from_dict(data["spec"]), int(data["hidden"]), str(data["memory"]), bool(data["dueling"]),
                   int(data["latent_dim"]), int(data["decoder_hidden"]))

    def posteriors(self, ints: torch.Tensor, rewards: torch.Tensor, state: torch.Tensor | None = None,
                   frames: torch.Tensor | None = None) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """The encoder over sequences ``ints (B, T, F + 2)``, ``rewards (B, T)`` (and ``frames``
        for pixel observations): the posterior's mean and log-variance after every step ``(B,
        T, latent_dim)`` each, and the memory's final state."""
        out, _, state = self.q.trunk(ints, rewards, state=state, frames=frames)
        mean, logvar = self.posterior(out).chunk(2, -1)
        return mean, logvar, state

    def prior(self) -> tuple[torch.Tensor, torch.Tensor]:
        """The posterior before any step, q(m | tau_{:0}): mean and log-variance ``(latent_dim,)``."""
        mean, logvar = self.posterior(torch.zeros(self.hidden)).chunk(2, -1)
        return mean, logvar

    def q_values(self, ints: torch.Tensor, rewards: torch.Tensor, mean: torch.Tensor, logvar: torch.Tensor,
                 frames: torch.Tensor | None = None) -> torch.Tensor:
        """Q(s, b, a) ``(B, T, n_actions)`` of the steps ``ints``, ``rewards`` (``frames``) and the
        posteriors after them (``mean``, ``logvar``; detached here, so no gradient reaches the
        encoder)."""
        belief = self.belief(torch.cat((mean, logvar), -1).detach())
        return self.q.head_q(belief, self.state_embed(ints, rewards, frames))

    def forward(self, ints: torch.Tensor, rewards: torch.Tensor, state: torch.Tensor | None = None,
                frames: torch.Tensor | None = None) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
        """Sequences ``(B, T, ...)`` -> Q-values ``(B, T, n_actions)``, the posteriors' means and
        log-variances ``(B, T, latent_dim)`` and the encoder's final memory state."""
        mean, logvar, state = self.posteriors(ints, rewards, state, frames)
        return self.q_values(ints, rewards, mean, logvar, frames), mean, logvar, state

    def vae_parameters(self) -> list[nn.Parameter]:
        """The encoder's and the decoder's parameters: the ones the VAE loss trains (and nothing else)."""
        return [*self.q.embed.parameters(), *self.q.memory.parameters(), *self.posterior.parameters(),
                *self.decoder.parameters()]

    def policy_parameters(self) -> list[nn.Parameter]:
        """The Q-network's parameters (state embedding, belief layer, head): the ones the Q-loss trains."""
        vae = {id(p) for p in self.vae_parameters()}
        return [p for p in self.parameters() if id(p) not in vae]

    def policy_state_dict(self) -> dict[str, Any]:
        """What the harness agent needs: everything but the decoder."""
        return {k: v for k, v in self.state_dict().items() if not k.startswith("decoder.")}


class VariBADActor(WholeTrialActor):
    """E-RL²'s whole-trial actor (trial flags, exploration rewards observed as 0) whose per-slot
    state is the encoder's memory; acts on Q(s, b) with b the posterior after the step."""

    def __init__(self, nets: VariBADNetworks, num_slots: int):
        super().__init__(nets.q, num_slots)
        self.nets = nets

    @torch.no_grad()
    def q_values(self, slots: np.ndarray, ints: np.ndarray, rewards: np.ndarray, episode: np.ndarray,
                 frames: np.ndarray | None = None) -> torch.Tensor:
        x, r = self.step_inputs(slots, ints, rewards, episode)
        s = torch.from_numpy(np.asarray(slots, dtype=np.int64))
        f = frames_tensor(frames)
        q, _, _, self.state[s] = self.nets(x.unsqueeze(1), r.unsqueeze(1), self.state[s],
                                           None if f is None else f.unsqueeze(1))
        return q.squeeze(1)


def make_agent(nets: VariBADNetworks) -> RecurrentAgent:
    """The greedy harness agent of ``nets``."""
    agent = RecurrentAgent(lambda n: VariBADActor(nets, n), nets.spec)
    agent.name = "varibad"
    nets.eval()
    return agent


def load_agent(env_id: str, checkpoint: str | os.PathLike | None = None, **kwargs: Any) -> RecurrentAgent:
    """The harness entry point: a greedy VariBAD agent for ``env_id`` from ``checkpoint`` (a
    run's ``final.pt``; default: the shipped one, ``baselines/varibad/checkpoints/<env_id>.pt``)."""
    return load_checkpoint_agent(env_id, checkpoint, kwargs, method="VariBAD", package="varibad",
                                 policy_format=POLICY_FORMAT, train_format=TRAIN_FORMAT, nets_class=VariBADNetworks,
                                 agent_of=make_agent)
