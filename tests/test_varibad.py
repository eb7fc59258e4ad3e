"""VariBAD (``baselines.varibad``): the ELBO's pieces by hand (Gaussian KL, KL to the previous
posterior, reward reconstruction, padding), which loss trains which network, acting equals
the whole-sequence network, exact resume, the harness and the sweep."""

from __future__ import annotations

import math

import pytest
import torch
from torch.distributions import Normal, kl_divergence

from baselines.varibad import TRAINING, VariBADConfig, load_agent
from baselines.varibad.agent import VariBADActor
from baselines.varibad.train import (
    Trainer,
    exploitation_steps,
    gaussian_kl,
    kl_to_previous,
    reconstruction_error,
    sum_over_posteriors,
    train,
    varibad_losses,
)
from tests.test_erl2 import (
    TINY,
    assert_actor_steps_equal_sequences,
    assert_resume_is_exact,
    hand_batch,
    train_and_score,
)


# ---------------------------------------------------------------------------- the ELBO's pieces
def test_gaussian_kl_is_the_closed_form_summed_over_dimensions():
    mean_q, logvar_q = torch.tensor([1.0, 0.0]), torch.tensor([0.0, math.log(4.0)])
    mean_p, logvar_p = torch.tensor([0.0, 2.0]), torch.tensor([0.0, 0.0])
    # N(1, 1) || N(0, 1): 0.5 * (1 + 1 - 1) = 0.5; N(0, 4) || N(2, 1): 0.5 * (-ln 4 + 4 + 4 - 1) = 3.5 - ln 2.
    assert gaussian_kl(mean_q, logvar_q, mean_p, logvar_p).item() == pytest.approx(4.0 - math.log(2.0))
    assert gaussian_kl(mean_q, logvar_q, mean_q, logvar_q).item() == 0.0
    gen = torch.Generator().manual_seed(0)
    mq, lq, mp, lp = (torch.randn(3, 4, 5, generator=gen) for _ in range(4))
    expected = kl_divergence(Normal(mq, (0.5 * lq).exp()), Normal(mp, (0.5 * lp).exp())).sum(-1)
    torch.testing.assert_close(gaussian_kl(mq, lq, mp, lp), expected)


def test_kl_of_each_posterior_is_to_the_previous_one_and_the_first_to_the_standard_normal():
    means = torch.tensor([[[1.0], [1.0], [3.0]]])  # (B=1, K=3, d=1)
    logvars = torch.tensor([[[0.0], [math.log(2.0)], [math.log(2.0)]]])
    kl = kl_to_previous(means, logvars)
    # k=0: N(1, 1) || N(0, 1) = 0.5; k=1: N(1, 2) || N(1, 1) = 0.5 * (-ln 2 + 2 - 1);
    # k=2: N(3, 2) || N(1, 2) = 0.5 * (0 + (2 + 4) / 2 - 1) = 1.
    torch.testing.assert_close(kl, torch.tensor([[0.5, 0.5 * (1 - math.log(2.0)), 1.0]]))


def test_reconstruction_error_sums_the_squared_errors_of_every_decoded_step_but_padding():
    predicted = torch.tensor([[[0.0, 1.0, 5.0], [-0.1, 0.5, -7.0]]])  # (B=1, K=2 posteriors, J=3 steps)
    rewards = torch.tensor([[-0.1, 1.0, 0.0]])
    mask = torch.tensor([[True, True, False]])  # the third step is padding
    error = reconstruction_error(predicted, rewards, mask)
    torch.testing.assert_close(error, torch.tensor([[0.01, 0.25]]))


def test_posterior_terms_sum_over_the_prior_and_one_per_step_and_average_over_trials():
    values = torch.tensor([[1.0, 2.0, 3.0, 4.0], [10.0, 20.0, 30.0, 40.0]])  # (B=2, K=4)
    lengths = torch.tensor([3, 1])  # posteriors 0..3 of the first trial, 0..1 of the second
    assert sum_over_posteriors(values, lengths).item() == pytest.approx((10.0 + 30.0) / 2)


def test_the_decoded_steps_are_the_exploitation_steps_with_the_env_rewards():
    steps = exploitation_steps(hand_batch())
    assert steps["ints"][..., 0].tolist() == [[200, 201, 202, 203], [204, 205, 206, 207]]
    assert steps["actions"].tolist() == [[5, 6, 7, 8], [9, 10, 11, 0]]
    torch.testing.assert_close(steps["rewards"], torch.tensor([[0.1, 0.2, 0.3, 0.4], [0.5, 0.6, 0.7, 0.0]]))
    assert steps["mask"].tolist() == [[True] * 4, [True, True, True, False]]


# ---------------------------------------------------------------------------- losses and gradients
def small_batch(trainer: Trainer) -> dict[str, torch.Tensor]:
    """:func:`hand_batch` with observations and actions in range of the trainer's env (MetaMap)."""
    b = hand_batch()
    f = trainer.spec.num_ints
    b["exp_ints"] = (b["exp_ints"] % 2).expand(2, 3, f).clone()
    b["task_ints"] = (b["task_ints"] % 2).expand(2, 2, 2, f).clone()
    b["exp_act"], b["task_act"] = b["exp_act"] % 8, b["task_act"] % 8
    return b


def losses_of(trainer: Trainer, b: dict[str, torch.Tensor], seed: int = 0) -> dict[str, torch.Tensor]:
    torch.manual_seed(seed)  # the same sample of m from every posterior
    return varibad_losses(trainer.nets, trainer.targets["target"], b, 0.9, 0.8, kl_weight=0.5, vae_weight=2.0)


@pytest.mark.usefixtures("one_torch_thread")
def test_vae_loss_is_the_negative_elbo_of_the_exploitation_rewards_only():
    trainer = Trainer(VariBADConfig(**{**TINY, "num_envs": 2}))
    b = small_batch(trainer)
    losses = losses_of(trainer, b)
    assert losses["loss_vae"].item() == pytest.approx((losses["loss_rec"] + 0.5 * losses["loss_kl"]).item())
    assert losses["total"].item() == pytest.approx((losses["loss_q"] + 2.0 * losses["loss_vae"]).item())
    assert losses["loss_rec"].item() > 0 and losses["loss_kl"].item() > 0
    # Exploration rewards (0 in the IMRL setting) and padded exploitation steps are not decoded.
    other = {k: v.clone() for k, v in b.items()}
    other["exp_rew"][:] = -5.0
    other["task_rew"][1, 1, 1] = 100.0  # trial 1's second exploitation episode has 1 step
    assert losses_of(trainer, other)["loss_vae"].item() == losses["loss_vae"].item()
    other["task_rew"][1, 1, 0] = 100.0
    assert losses_of(trainer, other)["loss_rec"].item() > losses["loss_rec"].item() + 1000


@pytest.mark.usefixtures("one_torch_thread")
def test_the_q_loss_never_reaches_the_encoder_and_the_vae_loss_trains_only_encoder_and_decoder():
    trainer = Trainer(VariBADConfig(**{**TINY, "num_envs": 2}))
    nets = trainer.nets
    encoder = [*nets.q.embed.parameters(), *nets.q.memory.parameters(), *nets.posterior.parameters()]
    decoder = list(nets.decoder.parameters())
    policy = nets.policy_parameters()
    assert {id(p) for p in encoder + decoder} == {id(p) for p in nets.vae_parameters()}
    assert len(policy) + len(encoder) + len(decoder) == len(list(nets.parameters()))

    def reached(params) -> bool:
        return any(p.grad is not None and p.grad.abs().sum() > 0 for p in params)

    losses = losses_of(trainer, small_batch(trainer))
    nets.zero_grad()
    losses["loss_q"].backward(retain_graph=True)
    assert reached(policy) and not reached(encoder) and not reached(decoder)
    nets.zero_grad()
    losses["loss_vae"].backward()
    assert all(reached([p]) for p in (nets.q.embed.table.weight, nets.posterior.weight, nets.decoder.latent_in.weight))
    assert reached(encoder) and reached(decoder) and not reached(policy)
    groups = trainer.optimizer.param_groups
    assert [g["lr"] for g in groups] == [trainer.cfg.lr, trainer.cfg.vae_lr]
    assert [len(g["params"]) for g in groups] == [len(policy), len(encoder) + len(decoder)]


@pytest.mark.usefixtures("one_torch_thread")
def test_actor_steps_equal_the_whole_sequence_network_on_collected_trials():
    trainer = Trainer(VariBADConfig(**TINY))
    assert_actor_steps_equal_sequences(trainer, VariBADActor(trainer.nets, 4),
                                       lambda seq: trainer.nets(seq["ints"], seq["rewards_in"])[0])


# ---------------------------------------------------------------------------- runs, the harness, the sweep
@pytest.mark.usefixtures("one_torch_thread")
def test_resume_trains_the_same_weights_as_a_straight_run(tmp_path):
    assert_resume_is_exact(train, VariBADConfig, TINY, tmp_path, target="target")


def test_the_harness_scores_a_freshly_trained_checkpoint_without_the_problem_id(tmp_path):
    assert "varibad" in train_and_score("varibad", tmp_path)
    agent = load_agent("MetaMap-v0", tmp_path / "run" / "final.pt")
    assert isinstance(agent._actor, VariBADActor)
    policy = torch.load(tmp_path / "run" / "final.pt", weights_only=True)["policy"]
    assert policy and not any(k.startswith("decoder.") for k in policy)  # acting needs no decoder
    # Observations are all it reads: the harness's keys, no problem ID.
    import gymnasium as gym

    env = gym.make("MetaMap-v0", split="test")
    obs, _ = env.reset(seed=0)
    assert "problem_id" not in obs
    agent.reset()
    assert 0 <= agent.act(obs) < env.action_space.n


def test_load_agent_without_a_checkpoint_gives_the_training_command(tmp_path):
    with pytest.raises(FileNotFoundError, match=r"no shipped VariBAD checkpoint for .*python -m baselines.varibad"):
        load_agent("MetaSign3D-v0")  # (none shipped for the 3D env)
    other = tmp_path / "erl2.pt"
    torch.save({"format": "erl2-policy-v1"}, other)
    with pytest.raises(ValueError, match="not a VariBAD checkpoint"):
        load_agent("MetaMap-v0", other)


def test_defaults_are_varibads_gridworld_settings_on_the_papers_baseline_learner():
    cfg = VariBADConfig()
    assert (cfg.latent_dim, cfg.decoder_hidden, cfg.kl_weight, cfg.vae_lr) == (5, 32, 1.0, 1e-3)
    assert (cfg.dueling, cfg.batch_size, cfg.gamma, cfg.epsilon_decay_steps, cfg.memory) == (
        True, 32, 0.99, 500_000, "gru")
    with pytest.raises(ValueError, match="latent_dim"):
        VariBADConfig(latent_dim=0)


def test_sweep_plans_varibad_runs(tmp_path):
    from evaluation.sweep import SweepConfig, plan_runs

    runs = plan_runs(SweepConfig(agents=["varibad"], envs=["MetaMap-v0"], out=tmp_path, seeds=["0"],
                                 total_steps=2000, progress=False))
    assert [(r.agent_module, r.seed) for r in runs] == [("baselines.varibad", 0)]
    assert runs[0].training["cli"] == TRAINING.cli == "baselines.varibad.train"
