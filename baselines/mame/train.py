"""Meta-train MAME on MetaPointCorner-v0.

    python -m baselines.mame.train --env MetaPointCorner-v0 --seed 0 --total-steps 12000000 --out runs/mame-0
    python -m baselines.mame.train --out runs/mame-0 --resume

MAME (Gurumurthy, Kumar, Sycara, CoRL 2019, arXiv 1911.04024): a separate exploration
policy mu_phi plays the exploration episode; the exploitation policy pi_theta(a|s, z) plays the
exploitation episode(s) with a latent z adapted from the exploration episode by gradient steps
(alpha 0.1) on a self-supervised inner loss (:class:`~baselines.mame.policy.MAMEPolicy`): the
squared error of a network M(s, a, z) predicting the N-step return (N = horizon), each
term weighted by the DiCE weights of mu_phi. Per batch, ``ppo_epochs`` Adam steps (7e-4,
gradient-norm clip 0.5) on

* the **outer loss**: PPO-clip (0.2) on the post-update rollouts with GAE (ProMP's linear
  baseline), differentiated through the inner step, so theta, M and (through the DiCE weights)
  phi all learn from the exploitation return;
* the **exploration loss** (weight ``explore_coeff``): PPO-clip of mu_phi on a per-step reward,
  the alignment of the outer and inner gradients: ``r_t = <grad_z L_out(z'), grad_z l_t(z_0)>``
  with ``l_t`` step t's squared error (by a first-order expansion, the inner step's term of
  step t lowers the outer loss by ``alpha / T`` times this), standardised over the batch, with
  GAE on a linear baseline. The alignment is computed once per batch, at the first outer step.

Deviations (besides those every method here shares: one exploration episode per task for
the inner loss and one trial per task for the outer loss where the paper samples 20
trajectories per task; the exploration episode's last reward unseen; see
:mod:`baselines.maml.train`): the latent starts at 0 for every task (not learned), its size
(8) and the model's target scale (``return_scale`` 0.1) are our choices, and the
exploration-reward normalisation is a batch standardisation.
"""

from __future__ import annotations

import torch

from baselines.common.gradient.estimators import ppo_clip_loss
from baselines.common.gradient.loop import GradientTrainer, train
from baselines.common.gradient.networks import gaussian_log_prob
from baselines.common.gradient.rollout import Episodes, TrialRollout
from baselines.common.runs import parse_cli
from baselines.mame.config import MAMEConfig
from baselines.mame.policy import MAMEPolicy


def alignment_rewards(policy: MAMEPolicy, episode, outer_grad: torch.Tensor) -> torch.Tensor:
    """``(N, T)`` per-step exploration rewards ``<outer_grad_i, grad_z l_t(z_0)>`` with ``l_t``
    step t's squared error of task i's model at the initial latent (0)."""
    obs, actions = episode.tensors()
    targets = policy.targets(episode)
    z = torch.zeros(*obs.shape[:2], outer_grad.shape[-1], requires_grad=True)
    with torch.enable_grad():
        step_grads, = torch.autograd.grad(policy.step_losses(obs, actions, z, targets).sum(), z)
    return (step_grads * outer_grad[:, None, :]).sum(-1)


class Trainer(GradientTrainer):
    """MAME: outer PPO-clip through the latent's inner step, plus the explorer's PPO on the
    alignment reward."""

    method = "mame"
    train_format = "mame-train-v1"
    metric_columns = ("loss", "outer_loss", "explore_loss", "alignment", "grad_norm")
    cfg: MAMEConfig
    policy: MAMEPolicy

    def make_policy(self) -> MAMEPolicy:
        cfg = self.cfg
        return MAMEPolicy(self.obs_dim, self.act_dim, cfg.hidden, cfg.init_std, cfg.latent_dim, cfg.inner_lr,
                          cfg.inner_steps, cfg.return_scale)

    def outer_loss(self, rollout, obs, actions, logp_old, advantages) -> tuple[torch.Tensor, torch.Tensor]:
        """PPO-clip of the exploitation policy with the adapted latents; returns it and each task's latent."""
        observed = rollout.observed()
        z = self.policy.adapt(observed, create_graph=True)["z"]
        state = {"z": z.repeat_interleave(observed.episodes, dim=0)}
        logp = gaussian_log_prob(*self.policy.exploit_dist(state, obs), actions)
        return ppo_clip_loss(logp, logp_old, advantages, self.cfg.clip), z

    def update(self, rollout: TrialRollout) -> dict[str, float]:
        cfg = self.cfg
        observed = rollout.observed()
        tensor = lambda x: torch.as_tensor(x, dtype=torch.float32)  # noqa: E731
        post_obs, post_actions, post_logp_old = map(tensor, (rollout.exploit.obs, rollout.exploit.actions,
                                                             rollout.exploit.logp))
        post_adv = self.outer_advantages(rollout.exploit)
        # The exploration reward: alignment of the outer gradient (at the adapted latent) and each step's inner one.
        loss, z = self.outer_loss(rollout, post_obs, post_actions, post_logp_old, post_adv)
        outer_grad, = torch.autograd.grad(loss, z)
        rewards = observed.split(alignment_rewards(self.policy, observed, outer_grad).numpy())
        scale = rewards.std() + 1e-8
        pseudo = Episodes(rollout.explore.obs, rollout.explore.actions, (rewards - rewards.mean()) / scale,
                          rollout.explore.logp)
        pre_adv = self.outer_advantages(pseudo)
        pre_obs, pre_actions, pre_logp_old = map(tensor, (pseudo.obs, pseudo.actions, pseudo.logp))
        sums: dict[str, float] = {"alignment": float(rewards.mean())}
        for _ in range(cfg.ppo_epochs):
            outer, _ = self.outer_loss(rollout, post_obs, post_actions, post_logp_old, post_adv)
            logp = gaussian_log_prob(*self.policy.explore_dist(pre_obs), pre_actions)
            explore = ppo_clip_loss(logp, pre_logp_old, pre_adv, cfg.clip)
            loss = outer + cfg.explore_coeff * explore
            grad_norm = self.step_optimizer(loss)
            for key, value in (("loss", loss.item()), ("outer_loss", outer.item()), ("explore_loss", explore.item()),
                               ("grad_norm", grad_norm)):
                sums[key] = sums.get(key, 0.0) + value / cfg.ppo_epochs
        return sums


def main(argv: list[str] | None = None) -> dict:
    cfg = parse_cli(MAMEConfig, argv, description=__doc__.split("\n\n")[0])
    return train(cfg, Trainer)


if __name__ == "__main__":
    main()
