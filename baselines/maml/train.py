"""Meta-train MAML on MetaPointCorner-v0.

    python -m baselines.maml.train --env MetaPointCorner-v0 --seed 0 --total-steps 12000000 --out runs/maml-0
    python -m baselines.maml.train --out runs/maml-0 --resume      # continue a stopped run

MAML (Finn et al., ICML 2017) for RL as ProMP's paper analyses it: one Gaussian MLP policy
acts in the exploration episode; one policy-gradient step per task (REINFORCE with ProMP's
linear feature baseline, advantages normalised per episode, step ``inner_lr``) on that
episode gives the task's adapted weights, which play the exploitation episode(s); the outer
step is PPO-clip (0.2) on those post-update rollouts with GAE, ``ppo_epochs`` Adam steps per
batch, differentiating through the inner step (second order; the inner surrogate is
``log pi * A``, so the sampling distribution of the exploration episode gets no credit:
that is what E-MAML and ProMP add, :mod:`baselines.promp`).

Deviations from the papers (ProMP's point-env runs; MAME's ablations):

* **One exploration episode per task** for the inner step and one trial (its exploitation
  episodes) per task for the outer step, where the papers sample 20 trajectories per task
  for each: at test time the agent adapts from the one exploration episode of its trial, so
  it is meta-trained the same way; ``meta_batch`` (40) trials per iteration, one per task.
  ``--episodes-per-task K`` trains as the papers do: K trials per task, one adaptation from
  their K exploration episodes (``--meta-batch 800 --episodes-per-task 20``: 40 x 20).
* **The exploration episode's last reward is unseen** (agents get no ``info``; the next
  observation starts a new episode), so it is 0 in the inner step in training as at test.
* **Trials, not separate samplers:** pre- and post-update episodes are consecutive episodes of
  one trial of the native vector env (each from its own random start).
* **PPO outer step** (the papers' MAML baselines use TRPO or VPG outer steps; the issue asks
  for PPO or TRPO).

Outputs under ``--out``: ``config.json``, ``progress.csv`` (and TensorBoard events in
``tb/``), ``checkpoint.pt`` (everything, for ``--resume``), ``final.pt`` (the policy
checkpoint ``load_agent`` reads), ``result.json``.
"""

from __future__ import annotations

from baselines.common.gradient.loop import train
from baselines.common.gradient.pg_trainer import PolicyGradientTrainer
from baselines.common.runs import parse_cli
from baselines.maml.config import MAMLConfig


class Trainer(PolicyGradientTrainer):
    """MAML: the REINFORCE inner surrogate and nothing added to PPO-clip."""

    method = "maml"
    train_format = "maml-train-v1"
    estimator = "reinforce"


def main(argv: list[str] | None = None) -> dict:
    cfg = parse_cli(MAMLConfig, argv, description=__doc__.split("\n\n")[0])
    return train(cfg, Trainer)


if __name__ == "__main__":
    main()
