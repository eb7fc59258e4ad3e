"""Meta-train ProMP (or E-MAML with ``--e-maml``) on MetaPointCorner-v0.

    python -m baselines.promp.train --env MetaPointCorner-v0 --seed 0 --total-steps 12000000 --out runs/promp-0
    python -m baselines.promp.train --e-maml --out runs/emaml-0
    python -m baselines.promp.train --out runs/promp-0 --resume

**ProMP** (Rothfuss et al., ICLR 2019): MAML (:mod:`baselines.maml`) with ProMP's objective:

* the inner step ascends the **low variance curvature (LVC) surrogate**
  ``mean_t magic_box(log pi(a_t|s_t)) A_t`` (:func:`~baselines.common.gradient.meta_policy.inner_surrogate`):
  its gradient is REINFORCE's, its Hessian adds ``A_t grad log pi grad log pi^T`` per step, so
  the outer gradient credits the pre-update sampling distribution, with the cross terms between
  steps dropped (lower variance than full DiCE);
* the outer objective is PPO-clip on the post-update likelihood ratio with a KL penalty
  ``kl_coeff * KL(pi_theta_old(.|s) || pi_theta(.|s))`` of the pre-update policy over the
  exploration episodes' states, ``ppo_epochs`` steps per batch.

**E-MAML** (Stadie et al., 2018) with ``--e-maml``: MAML's REINFORCE inner surrogate, no KL
penalty, and its explicit exploration credit added to the outer loss:
``- e_maml_coeff * mean_i [mean_t log pi_theta(a_t|s_t) over task i's exploration episode] * R_i``
with ``R_i`` task ``i``'s post-update return, standardised over the batch (so the batch mean
is the baseline). The per-step mean (rather than the sum over 100 steps) keeps the term on
the PPO loss's scale; that choice is ours.

Deviations from the papers, as for MAML (:mod:`baselines.maml.train`): one exploration episode
per task for the inner step and one trial per task for the outer step (the papers: 20
trajectories each), the exploration episode's last reward unseen, pre- and post-update episodes
consecutive in one trial; the KL coefficient is fixed (ProMP's point-env setting).

Outputs under ``--out`` as for MAML; ``final.pt`` records ``method`` ``promp`` either way (the
config in its metadata says whether it is E-MAML).
"""

from __future__ import annotations

import torch

from baselines.common.gradient.estimators import normalise
from baselines.common.gradient.loop import train
from baselines.common.gradient.networks import gaussian_kl, gaussian_log_prob
from baselines.common.gradient.pg_trainer import PolicyGradientTrainer
from baselines.common.gradient.rollout import TrialRollout
from baselines.common.runs import parse_cli
from baselines.promp.config import ProMPConfig


def kl_penalty(policy, obs: torch.Tensor, old_mean: torch.Tensor, old_log_std: torch.Tensor) -> torch.Tensor:
    """Mean ``KL(pi_old(.|s) || pi_theta(.|s))`` of the pre-update policy over states ``obs``."""
    mean, log_std = policy.explore_dist(obs)
    return gaussian_kl(old_mean, old_log_std, mean, log_std).mean()


def e_maml_credit(logp_pre: torch.Tensor, post_returns: torch.Tensor) -> torch.Tensor:
    """E-MAML's exploration credit as a loss: ``-mean_i mean_t logp_pre[i, t] * R_i`` with
    ``post_returns`` ``R`` (N,) already standardised (no gradient flows through them)."""
    return -(logp_pre.mean(-1) * post_returns).mean()


class Trainer(PolicyGradientTrainer):
    """ProMP: the LVC inner surrogate and the KL penalty; E-MAML with ``cfg.e_maml``."""

    method = "promp"
    train_format = "promp-train-v1"
    cfg: ProMPConfig

    def __init__(self, cfg: ProMPConfig):
        self.estimator = "reinforce" if cfg.e_maml else "lvc"
        super().__init__(cfg)

    def begin_update(self, rollout: TrialRollout) -> None:
        self._pre_obs = torch.as_tensor(rollout.explore.obs, dtype=torch.float32)
        self._pre_actions = torch.as_tensor(rollout.explore.actions, dtype=torch.float32)
        with torch.no_grad():
            self._old = tuple(t.clone() for t in self.policy.explore_dist(self._pre_obs))
        k = self.cfg.num_exploit_episodes
        self._post_returns = torch.as_tensor(normalise(rollout.exploit.rewards.sum(1) / k), dtype=torch.float32)

    def extra_loss(self, rollout: TrialRollout) -> torch.Tensor:
        if self.cfg.e_maml:
            logp_pre = gaussian_log_prob(*self.policy.explore_dist(self._pre_obs), self._pre_actions)
            return self.cfg.e_maml_coeff * e_maml_credit(logp_pre, self._post_returns)
        return self.cfg.kl_coeff * kl_penalty(self.policy, self._pre_obs, *self._old)


def main(argv: list[str] | None = None) -> dict:
    cfg = parse_cli(ProMPConfig, argv, description=__doc__.split("\n\n")[0])
    return train(cfg, Trainer)


if __name__ == "__main__":
    main()
