"""Meta-train VariBAD on a grid trial env.

    python -m baselines.varibad.train --env MetaMap-v0 --seed 0 --total-steps 1000000 --out runs/varibad-map-0
    python -m baselines.varibad.train --out runs/varibad-map-0 --resume      # continue a killed run

VariBAD (Zintgraf et al., ICLR 2020) as the DREAM paper ran its baselines: on the shared
recurrent double-DQN learner (:mod:`baselines.common.recurrent_q`) and E-RL²'s whole-trial
machinery. A recurrent encoder reads the whole trial and gives after every step a diagonal
Gaussian posterior q(m | tau_{:t}) over a latent task variable m; a decoder p(r | s, a, m)
reconstructs the trial's rewards from a sample of every posterior; the Q-network acts on
the step and the posterior's mean and log-variance (:mod:`.agent`). Each update takes one
batch of replayed whole trials (:func:`~baselines.common.recurrent_q.whole_trial.whole_trials`)
and back-propagates (:func:`varibad_losses`)

* the Q-loss: E-RL²'s (:func:`~baselines.erl2.train.erl2_loss`: double DQN with Watkins
  Q(lambda) returns over the whole trial, exploration rewards 0 in the targets), with the
  posterior as an input, detached: it trains the Q-network only;
* plus ``vae_weight`` times the VAE loss -sum_t ELBO_t, averaged over the trials, with

      ELBO_t = E_{m ~ q(m | tau_{:t})} [log p(r | m)] - kl_weight * KL(q(m | tau_{:t}) || q(m | tau_{:t-1}))

  for t = 0 (the prior, before any step: the encoder's output on the empty history, as in
  VariBAD's code) to the trial's length, the first KL to N(0, I) (:func:`kl_to_previous`);
  log p(r | m) is minus the squared error of the decoded rewards summed over every
  exploitation step of the trial, past and future (a unit-variance Gaussian up to a factor
  1/2 and a constant, as VariBAD's code; :func:`reconstruction_error`), with one
  reparameterised sample of m per posterior. It trains the encoder and the decoder only, at
  their own learning rate ``vae_lr``.

Deviations from VariBAD's paper and code (also in docs/agents.md):

* the learner: recurrent double DQN on replayed whole trials (epsilon-greedy; the DREAM
  paper ran every baseline on it) instead of on-policy A2C/PPO, so the VAE trains on the
  same replay batches as the Q-network rather than on a VAE buffer of its own; one Adam with
  two learning rates (``lr`` for the Q-network, ``vae_lr`` for the VAE) rather than two
  optimisers, and the shared learner's gradient clipping (``max_grad_norm``) applies to the
  norm of both gradients together;
* the trial: the encoder reads E-RL²'s step embedding (observation, instruction, previous
  action and reward, trial flags) through the shared learner's GRU (width ``hidden``) over
  the whole trial, exploration and exploitation episodes; the reward of an episode's last
  step is never observed (the trial API's ``prev_reward`` is 0 at an episode's first step),
  so no posterior reads it, though the decoder reconstructs it;
* the decoded rewards are those of the exploitation steps, the env's (un-zeroed) rewards,
  which depend on the problem; the exploration episode pays 0 in the IMRL setting and is not
  decoded. The decoder reads the step (observation, instruction, previous action) and the
  action, r(s, a, m), where VariBAD's gridworld decoder reads the next state, r(s', m): the
  replay does not store an episode's last next observation, and in these deterministic envs
  s' is a function of (s, a, m). Rewards that depend on the steps left (``end episode``'s
  penalty) are not quite predictable from these inputs. No state decoder (VariBAD's gridworld
  default);
* the policy is a Q-network, whose target copy reads the online encoder's posterior (the
  belief is part of the state it is a function of); the state it reads with the belief is
  the step as E-RL²'s network embeds it (with the previous action and reward and the trial
  flags), where VariBAD's policy reads the env state.
"""

from __future__ import annotations

from typing import Any

import torch
from torch.nn import functional

from baselines.common.recurrent_q import loop
from baselines.common.recurrent_q.agent import RecurrentAgent
from baselines.common.recurrent_q.loop import RecurrentQTrainer
from baselines.common.recurrent_q.qlearning import sequence_mask
from baselines.common.recurrent_q.whole_trial import whole_trials
from baselines.common.runs import parse_cli
from baselines.erl2.agent import policy_checkpoint
from baselines.erl2.train import erl2_loss
from baselines.varibad.agent import POLICY_FORMAT, TRAIN_FORMAT, VariBADActor, VariBADNetworks, make_agent
from baselines.varibad.config import VariBADConfig


# ---------------------------------------------------------------------------- the ELBO's pieces
def gaussian_kl(mean_q: torch.Tensor, logvar_q: torch.Tensor, mean_p: torch.Tensor, logvar_p: torch.Tensor
                ) -> torch.Tensor:
    """KL(q || p) of diagonal Gaussians given by means and log-variances ``(..., d)``, summed
    over the last dimension: ``0.5 * sum_i (logvar_p - logvar_q + (var_q + (mean_q - mean_p)^2) / var_p - 1)``."""
    return 0.5 * (logvar_p - logvar_q + (logvar_q.exp() + (mean_q - mean_p) ** 2) / logvar_p.exp() - 1).sum(-1)


def kl_to_previous(means: torch.Tensor, logvars: torch.Tensor) -> torch.Tensor:
    """``(B, K)``: KL(q_k || q_{k-1}) of the posteriors ``means``, ``logvars (B, K, d)`` (q_0 the
    prior), with q_{-1} = N(0, I)."""
    # Shifted one posterior later with N(0, I) (mean 0, log-variance 0) in front.
    return gaussian_kl(means, logvars, functional.pad(means[:, :-1], (0, 0, 1, 0)),
                       functional.pad(logvars[:, :-1], (0, 0, 1, 0)))


def reconstruction_error(predicted: torch.Tensor, rewards: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """``(B, K)``: for each posterior k, the squared error of its decoded rewards ``predicted (B,
    K, J)`` against ``rewards (B, J)``, summed over the decoded steps where ``mask (B, J)``."""
    return ((predicted - rewards.unsqueeze(1)) ** 2 * mask.unsqueeze(1)).sum(-1)


def sum_over_posteriors(values: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
    """``values (B, K)`` of the posteriors k = 0 (the prior) .. ``lengths`` (one after each step)
    of each trial, summed over those posteriors (the rest are padding), averaged over trials."""
    return (values * sequence_mask(lengths + 1, values.shape[1])).sum() / len(lengths)


def exploitation_steps(b: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """The decoder's targets in a replay batch: every exploitation step of each trial, its
    episodes' padded steps back to back (J = exploitation episodes x steps): ``ints (B, J,
    F)``, ``actions (B, J)``, the env's ``rewards (B, J)`` and ``mask (B, J)`` (False on padding);
    for pixel observations also ``frames (B, J, H, W, C)``."""
    batch, episodes, steps = b["task_act"].shape
    mask = torch.arange(steps) < b["task_len"].unsqueeze(-1)  # (B, K, T)
    out = {"ints": b["task_ints"].reshape(batch, episodes * steps, -1),
           "actions": b["task_act"].reshape(batch, episodes * steps),
           "rewards": b["task_rew"].reshape(batch, episodes * steps),
           "mask": mask.reshape(batch, episodes * steps)}
    if "task_frames" in b:
        out["frames"] = b["task_frames"].flatten(1, 2)
    return out


def varibad_losses(nets: VariBADNetworks, target: VariBADNetworks, b: dict[str, torch.Tensor], gamma: float,
                   td_lambda: float, kl_weight: float, vae_weight: float) -> dict[str, torch.Tensor]:
    """VariBAD's losses on a replay batch ``b``: ``total`` = ``loss_q`` + vae_weight * (``loss_rec``
    + kl_weight * ``loss_kl``), the VAE's terms summed over each trial's posteriors and averaged
    over trials (``loss_vae`` = -sum_t ELBO_t); and ``q_mean``, the greedy Q-value at the first step."""
    seq = whole_trials(b)
    frames = seq.get("frames")  # pixel observations only
    q, mean, logvar, _ = nets(seq["ints"], seq["rewards_in"], frames=frames)
    with torch.no_grad():
        q_target = target.q_values(seq["ints"], seq["rewards_in"], mean, logvar, frames)
    loss_q = erl2_loss(q, q_target, seq, gamma, td_lambda)
    prior_mean, prior_logvar = nets.prior()
    batch = len(seq["lengths"])
    means = torch.cat((prior_mean.expand(batch, 1, -1), mean), 1)  # (B, L + 1, d): the prior, then after each step
    logvars = torch.cat((prior_logvar.expand(batch, 1, -1), logvar), 1)
    m = means + torch.randn_like(means) * (0.5 * logvars).exp()  # one reparameterised sample per posterior
    steps = exploitation_steps(b)
    predicted = nets.decoder(m, steps["ints"], steps["actions"], steps.get("frames"))
    loss_rec = sum_over_posteriors(reconstruction_error(predicted, steps["rewards"], steps["mask"]), seq["lengths"])
    loss_kl = sum_over_posteriors(kl_to_previous(means, logvars), seq["lengths"])
    loss_vae = loss_rec + kl_weight * loss_kl
    return {"total": loss_q + vae_weight * loss_vae, "loss_q": loss_q, "loss_vae": loss_vae, "loss_rec": loss_rec,
            "loss_kl": loss_kl, "q_mean": q.detach().max(-1).values[:, 0].mean()}


# ---------------------------------------------------------------------------- trainer
class Trainer(RecurrentQTrainer):
    """VariBAD on the shared learner: its networks, whole-trial actor, optimiser and losses."""

    method = "VariBAD"
    train_format = TRAIN_FORMAT
    cli = "baselines.varibad.train"
    metric_columns = ("loss_q", "q_mean", "loss_rec", "loss_kl")
    cfg: VariBADConfig
    nets: VariBADNetworks

    def make_networks(self) -> VariBADNetworks:
        cfg = self.cfg
        return VariBADNetworks(self.spec, cfg.hidden, cfg.memory, cfg.dueling, cfg.latent_dim, cfg.decoder_hidden)

    def q_networks(self) -> dict[str, torch.nn.Module]:
        return {"target": self.nets}

    def make_optimizer(self) -> torch.optim.Optimizer:
        """Adam: the Q-network at ``lr``, the encoder and decoder at ``vae_lr``."""
        return torch.optim.Adam([{"params": self.nets.policy_parameters(), "lr": self.cfg.lr},
                                 {"params": self.nets.vae_parameters(), "lr": self.cfg.vae_lr}])

    def make_actor(self) -> VariBADActor:
        return VariBADActor(self.nets, self.cfg.num_envs)

    def make_agent(self) -> RecurrentAgent:
        return make_agent(self.nets)

    def compute_losses(self, b: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        cfg = self.cfg
        return varibad_losses(self.nets, self.targets["target"], b, cfg.gamma, cfg.td_lambda, cfg.kl_weight,
                              cfg.vae_weight)

    def make_policy_checkpoint(self, meta: dict[str, Any]) -> dict[str, Any]:
        """E-RL²'s policy checkpoint of VariBAD's acting weights (no decoder)."""
        return policy_checkpoint(self.nets, self.cfg.env, self.cfg.to_dict(), meta, POLICY_FORMAT)

    def summary_fields(self) -> dict[str, Any]:
        cfg = self.cfg
        return {"latent_dim": cfg.latent_dim, "kl_weight": cfg.kl_weight, "vae_weight": cfg.vae_weight}


def train(cfg: VariBADConfig) -> dict[str, Any]:
    """Run (or resume) a training run; returns the final evaluation summary."""
    return loop.train(cfg, Trainer)


def main(argv: list[str] | None = None) -> None:
    import json

    cfg = parse_cli(VariBADConfig, argv, description="Train VariBAD on a Meta*-v0 trial env "
                    "(defaults: config.VariBADConfig).")
    print(json.dumps(train(cfg), indent=2))


__all__ = ["Trainer", "exploitation_steps", "gaussian_kl", "kl_to_previous", "main", "reconstruction_error",
           "sum_over_posteriors", "train", "varibad_losses"]


if __name__ == "__main__":
    main()
