"""Meta-train IMPORT on a grid trial env.

    python -m baselines.import_.train --env MetaCooking-v0 --seed 0 --total-steps 1000000 --out runs/import-cooking-0
    python -m baselines.import_.train --out runs/import-cooking-0 --resume      # continue a killed run

IMPORT (Kamienny et al., 2020) as the DREAM paper ran it, on the shared learner and E-RL²'s
whole-trial machinery: one Q-head over ``[z ⊕ state]`` with z = f(mu) (informed path) or
z = g(tau_{:t}) (recurrent path; :mod:`.agent`). The two paths alternate by trial in
meta-training: in every wave half of the trials act on f(mu), the other half on g, and each
trial slot switches from one to the other at the next wave. Each update trains both paths on
the same batch of replayed trials (Q-learning is off-policy; :func:`import_losses`):

* double DQN with Watkins Q(lambda) returns over whole trials for each path, exploration
  rewards 0 in the targets (as E-RL²: :func:`~baselines.erl2.train.erl2_loss`);
* the auxiliary loss beta * ||g(tau_{:t}) - stop_grad(f(mu))||^2 on every step
  (:func:`auxiliary_loss`): it trains g (and the memory under it), never f.

The problem ID comes from the envs during meta-training only; the harness agent plays the
recurrent path. Outputs under ``--out`` are the shared learner's.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

from baselines.common.recurrent_q import loop
from baselines.common.recurrent_q.agent import RecurrentAgent
from baselines.common.recurrent_q.loop import RecurrentQTrainer
from baselines.common.recurrent_q.qlearning import sequence_mask
from baselines.common.recurrent_q.whole_trial import whole_trials
from baselines.common.runs import parse_cli
from baselines.erl2.train import erl2_loss
from baselines.import_.agent import TRAIN_FORMAT, ImportActor, ImportNetworks, make_agent, policy_checkpoint
from baselines.import_.config import ImportConfig


# ---------------------------------------------------------------------------- losses
def auxiliary_loss(g: torch.Tensor, f: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
    """Mean squared difference per coordinate, ``mean_i (g_t - stop_grad(f))_i^2``, averaged over
    the valid steps: ``g (B, T, d)``, ``f (B, d)``."""
    mask = sequence_mask(lengths, g.shape[1])
    dist = ((g - f.detach().unsqueeze(1)) ** 2).mean(-1)
    return (dist * mask).sum() / mask.sum().clamp(min=1)


def import_losses(nets: ImportNetworks, target: ImportNetworks, seq: dict[str, torch.Tensor], gamma: float,
                  td_lambda: float, aux_weight: float) -> dict[str, torch.Tensor]:
    """IMPORT's losses on whole-trial sequences (``seq`` from :func:`whole_trials`)."""
    frames = seq.get("frames")  # pixel observations only
    q_rec, g, x, _ = nets.recurrent(seq["ints"], seq["rewards_in"], frames=frames)
    q_inf = nets.informed(x, seq["problem_id"])
    with torch.no_grad():
        q_rec_t, _, x_t, _ = target.recurrent(seq["ints"], seq["rewards_in"], frames=frames)
        q_inf_t = target.informed(x_t, seq["problem_id"])
    recurrent = erl2_loss(q_rec, q_rec_t, seq, gamma, td_lambda)
    informed = erl2_loss(q_inf, q_inf_t, seq, gamma, td_lambda)
    aux = auxiliary_loss(g, nets.f(seq["problem_id"]), seq["lengths"])
    return {"total": recurrent + informed + aux_weight * aux, "loss_q_recurrent": recurrent,
            "loss_q_informed": informed, "loss_aux": aux}


# ---------------------------------------------------------------------------- trainer
class Trainer(RecurrentQTrainer):
    """IMPORT on the shared learner: its networks, the alternation of the two paths by trial
    and its losses."""

    method = "IMPORT"
    train_format = TRAIN_FORMAT
    cli = "baselines.import_.train"
    recent_columns = {"train_return": "return", "train_return_informed": "return_informed",
                      "train_return_recurrent": "return_recurrent", "exploration_length": "exp_len",
                      "exploration_sign_seen": "sign_seen"}
    metric_columns = ("loss_q_recurrent", "loss_q_informed", "loss_aux")
    cfg: ImportConfig
    nets: ImportNetworks
    actor: ImportActor

    def make_networks(self) -> ImportNetworks:
        return ImportNetworks(self.spec, self.cfg.hidden, self.cfg.memory, self.cfg.dueling)

    def q_networks(self) -> dict[str, torch.nn.Module]:
        return {"target": self.nets}

    def make_actor(self) -> ImportActor:
        actor = ImportActor(self.nets, self.cfg.num_envs)
        actor.problem_ids = lambda slots: self.envs.problem_ids[slots]  # meta-training only
        return actor

    def make_agent(self) -> RecurrentAgent:
        return make_agent(self.nets)

    def begin_wave(self, n: int) -> np.ndarray:
        """Half the trials act on f(mu), alternating by slot and by wave."""
        informed = (np.arange(n) + self.trials // n) % 2 == 0
        self.actor.informed = informed
        return informed

    def end_wave(self, informed: np.ndarray, trials: dict[str, np.ndarray], stats: dict) -> None:
        self.actor.informed = np.zeros(self.cfg.num_envs, dtype=bool)
        self.recent["return_informed"].extend(stats["exploit_return"][informed].tolist())
        self.recent["return_recurrent"].extend(stats["exploit_return"][~informed].tolist())

    def compute_losses(self, b: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        cfg = self.cfg
        return import_losses(self.nets, self.targets["target"], whole_trials(b), cfg.gamma, cfg.td_lambda,
                             cfg.aux_weight)

    def make_policy_checkpoint(self, meta: dict[str, Any]) -> dict[str, Any]:
        return policy_checkpoint(self.nets, self.cfg.env, self.cfg.to_dict(), meta)

    def summary_fields(self) -> dict[str, Any]:
        return {"aux_weight": self.cfg.aux_weight}


def train(cfg: ImportConfig) -> dict[str, Any]:
    """Run (or resume) a training run; returns the final evaluation summary."""
    return loop.train(cfg, Trainer)


def main(argv: list[str] | None = None) -> None:
    import json

    cfg = parse_cli(ImportConfig, argv, description="Train IMPORT on a Meta*-v0 trial env "
                    "(defaults: config.ImportConfig).")
    print(json.dumps(train(cfg), indent=2))


__all__ = ["Trainer", "auxiliary_loss", "import_losses", "main", "train"]


if __name__ == "__main__":
    main()
