"""Meta-train E-RL² on a grid trial env.

    python -m baselines.erl2.train --env MetaMap-v0 --seed 0 --total-steps 1000000 --out runs/erl2-map-0
    python -m baselines.erl2.train --out runs/erl2-map-0 --resume      # continue a killed run

E-RL² (Stadie et al., 2018) as the DREAM paper ran it: RL² (one recurrent policy over the
whole trial) whose exploration episode earns nothing, so that the return it optimises is
the exploitation return. On the shared learner (:mod:`baselines.common.recurrent_q`): waves
of whole trials collected with epsilon-greedy actions (one epsilon schedule for the whole
trial), replay of whole trials, then per update a batch of ``batch_size`` trials, each
packed into one sequence (:func:`~baselines.common.recurrent_q.whole_trial.whole_trials`),
and the double-DQN loss with Watkins Q(lambda) returns over it (:func:`erl2_loss`):

* reward 0 at every exploration step (whatever the env paid), the env reward at every
  exploitation step;
* the end of the exploration episode is not terminal: its last step bootstraps from the
  first exploitation step (gamma across the boundary), so exploration is learned from the
  exploitation return; only the trial's last step is terminal.

Outputs under ``--out`` are the shared learner's: ``config.json``, ``progress.csv`` (and
TensorBoard events), ``checkpoint.pt`` (everything, for ``--resume``), ``final.pt`` (the small
policy checkpoint ``load_agent`` reads), ``result.json``.
"""

from __future__ import annotations

from typing import Any

import torch

from baselines.common.recurrent_q import loop
from baselines.common.recurrent_q.agent import RecurrentAgent
from baselines.common.recurrent_q.loop import RecurrentQTrainer
from baselines.common.recurrent_q.qlearning import double_dqn_loss
from baselines.common.recurrent_q.whole_trial import WholeTrialActor, whole_trials
from baselines.common.runs import parse_cli
from baselines.erl2.agent import TRAIN_FORMAT, ERL2Networks, make_agent, policy_checkpoint
from baselines.erl2.config import ERL2Config


# ---------------------------------------------------------------------------- loss
def erl2_loss(q: torch.Tensor, q_target: torch.Tensor, seq: dict[str, torch.Tensor], gamma: float,
              td_lambda: float) -> torch.Tensor:
    """Double DQN with Watkins Q(lambda) returns over whole trials (``seq`` from
    :func:`whole_trials`: its rewards are 0 at exploration steps; the trial's last step is
    its only terminal one)."""
    return double_dqn_loss(q, q_target, seq["actions"], seq["rewards"], seq["lengths"], gamma, td_lambda)


# ---------------------------------------------------------------------------- trainer
class Trainer(RecurrentQTrainer):
    """E-RL² on the shared learner: one Q-network, its whole-trial actor and loss."""

    method = "E-RL²"
    train_format = TRAIN_FORMAT
    cli = "baselines.erl2.train"
    metric_columns = ("loss_q", "q_mean")
    cfg: ERL2Config
    nets: ERL2Networks

    def make_networks(self) -> ERL2Networks:
        return ERL2Networks(self.spec, self.cfg.hidden, self.cfg.memory, self.cfg.dueling)

    def q_networks(self) -> dict[str, torch.nn.Module]:
        return {"q_target": self.nets.q}

    def make_actor(self) -> WholeTrialActor:
        return WholeTrialActor(self.nets.q, self.cfg.num_envs)

    def make_agent(self) -> RecurrentAgent:
        return make_agent(self.nets)

    def compute_losses(self, b: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        seq = whole_trials(b)
        frames = seq.get("frames")  # pixel observations only
        q, _ = self.nets.q(seq["ints"], seq["rewards_in"], frames=frames)
        with torch.no_grad():
            q_target, _ = self.targets["q_target"](seq["ints"], seq["rewards_in"], frames=frames)
        loss = erl2_loss(q, q_target, seq, self.cfg.gamma, self.cfg.td_lambda)
        return {"total": loss, "loss_q": loss, "q_mean": q.detach().max(-1).values[:, 0].mean()}

    def make_policy_checkpoint(self, meta: dict[str, Any]) -> dict[str, Any]:
        return policy_checkpoint(self.nets, self.cfg.env, self.cfg.to_dict(), meta)


def train(cfg: ERL2Config) -> dict[str, Any]:
    """Run (or resume) a training run; returns the final evaluation summary."""
    return loop.train(cfg, Trainer)


def main(argv: list[str] | None = None) -> None:
    import json

    cfg = parse_cli(ERL2Config, argv, description="Train E-RL² on a Meta*-v0 trial env (defaults: config.ERL2Config).")
    print(json.dumps(train(cfg), indent=2))


__all__ = ["Trainer", "erl2_loss", "main", "train"]


if __name__ == "__main__":
    main()
