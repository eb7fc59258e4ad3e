"""The outer step of MAML and ProMP (and E-MAML): PPO-clip on the post-update rollouts, through
the inner policy-gradient step (second order), with the hooks ProMP's objective adds.

Each of ``ppo_epochs`` steps recomputes every task's adapted weights from the current
parameters (``adapt(create_graph=True)``), so the outer gradient flows through the inner step:
``loss = PPO-clip(pi_theta'(a|s) / pi_old'(a|s), GAE) + extra_loss``, where ``extra_loss``
is a method's addition (ProMP: the KL penalty; E-MAML: the credit to the pre-update sampling).
"""

from __future__ import annotations

import torch

from baselines.common.gradient.config import PolicyGradientConfig
from baselines.common.gradient.estimators import ppo_clip_loss
from baselines.common.gradient.loop import GradientTrainer
from baselines.common.gradient.meta_policy import PolicyGradientMetaPolicy
from baselines.common.gradient.networks import gaussian_log_prob
from baselines.common.gradient.rollout import TrialRollout


class PolicyGradientTrainer(GradientTrainer):
    """MAML-family trainer; the config has ``inner_lr``, ``inner_steps`` (and the shared fields).
    ``estimator`` is the inner surrogate (:func:`~.meta_policy.inner_surrogate`)."""

    estimator = "reinforce"
    metric_columns = ("loss", "ppo_loss", "extra_loss", "ratio_clipped", "grad_norm")
    cfg: PolicyGradientConfig
    policy: PolicyGradientMetaPolicy

    def make_policy(self) -> PolicyGradientMetaPolicy:
        cfg = self.cfg
        return PolicyGradientMetaPolicy(self.obs_dim, self.act_dim, cfg.hidden, cfg.init_std, cfg.inner_lr,
                                        cfg.inner_steps, self.estimator, cfg.gamma, cfg.gae_lambda)

    def begin_update(self, rollout: TrialRollout) -> None:
        """Compute what :meth:`extra_loss` needs from the batch, before the first outer step."""

    def extra_loss(self, rollout: TrialRollout) -> torch.Tensor:
        """A method's term added to the PPO-clip loss (default 0)."""
        return torch.zeros(())

    def update(self, rollout: TrialRollout) -> dict[str, float]:
        advantages = self.outer_advantages(rollout.exploit)
        obs = torch.as_tensor(rollout.exploit.obs, dtype=torch.float32)
        actions = torch.as_tensor(rollout.exploit.actions, dtype=torch.float32)
        logp_old = torch.as_tensor(rollout.exploit.logp, dtype=torch.float32)
        self.begin_update(rollout)
        sums: dict[str, float] = {}
        for _ in range(self.cfg.ppo_epochs):
            state = rollout.adapt(self.policy, create_graph=True)
            mean, log_std = self.policy.exploit_dist(state, obs)
            logp = gaussian_log_prob(mean, log_std, actions)
            ppo = ppo_clip_loss(logp, logp_old, advantages, self.cfg.clip)
            extra = self.extra_loss(rollout)
            loss = ppo + extra
            grad_norm = self.step_optimizer(loss)
            ratio = torch.exp(logp.detach() - logp_old)
            clipped = float(((ratio - 1).abs() > self.cfg.clip).float().mean())
            for key, value in (("loss", loss.item()), ("ppo_loss", ppo.item()), ("extra_loss", extra.item()),
                               ("ratio_clipped", clipped), ("grad_norm", grad_norm)):
                sums[key] = sums.get(key, 0.0) + value / self.cfg.ppo_epochs
        return sums


__all__ = ["PolicyGradientTrainer"]
