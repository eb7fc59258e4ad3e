"""MAME's inner loss and latent update on a hand-made batch, and the DiCE credit they give the
exploration policy."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from baselines.common.gradient.meta_policy import ExplorationEpisode
from baselines.mame.policy import MAMEPolicy
from baselines.mame.train import alignment_rewards


def hand_policy() -> MAMEPolicy:
    """Linear return model M(s, a, z) = w . [s, a, z] + c with hand-set weights, latent size 2."""
    policy = MAMEPolicy(hidden=(), latent_dim=2, inner_lr=0.1, return_scale=0.5)
    with torch.no_grad():
        policy.model[0].weight.copy_(torch.tensor([[0.2, -0.1, 0.3, 0.4, 1.0, -2.0]]))
        policy.model[0].bias.fill_(0.1)
    return policy


def hand_episode() -> ExplorationEpisode:
    obs = np.array([[[0.1, 0.2], [0.3, -0.1]]], np.float32)
    actions = np.array([[[0.2, -0.2], [0.1, 0.1]]], np.float32)
    rewards = np.array([[2.0, 0.0]])  # as observed (the last reward is unseen, 0)
    return ExplorationEpisode(obs, actions, rewards)


def hand_errors() -> np.ndarray:
    """M(s_t, a_t, 0) - target_t: targets 0.5 x returns-to-go (2, 0)."""
    w = np.array([0.2, -0.1, 0.3, 0.4])
    x = np.concatenate([hand_episode().obs[0], hand_episode().actions[0]], axis=-1).astype(np.float64)
    return x @ w + 0.1 - np.array([1.0, 0.0])


def test_inner_loss_is_the_mean_squared_error_of_the_return_model():
    policy, episode = hand_policy(), hand_episode()
    obs, actions = episode.tensors()
    loss = policy.inner_loss(obs, actions, torch.zeros(1, 2), policy.targets(episode))
    assert loss.item() == pytest.approx(np.mean(hand_errors() ** 2), rel=1e-5)  # DiCE weights are 1


def test_the_latent_takes_a_gradient_step_on_the_inner_loss():
    policy, episode = hand_policy(), hand_episode()
    z = policy.adapt(episode)["z"][0].numpy()
    # d/dz mean_t (M_t - target_t)^2 = mean_t 2 (M_t - target_t) w_z, w_z = (1, -2)
    gradient = np.mean(2 * hand_errors()) * np.array([1.0, -2.0])
    np.testing.assert_allclose(z, -0.1 * gradient, rtol=1e-5)


def test_the_adapted_latent_credits_the_exploration_policy_through_dice():
    policy, episode = hand_policy(), hand_episode()
    z = policy.adapt(episode, create_graph=True)["z"]
    grads = torch.autograd.grad(z.sum(), list(policy.explorer.parameters()), allow_unused=True)
    assert any(g is not None and g.abs().sum() > 0 for g in grads)
    assert policy.adapt(episode)["z"].requires_grad is False


def test_alignment_rewards_are_the_outer_gradient_dotted_with_each_steps_inner_gradient():
    policy, episode = hand_policy(), hand_episode()
    outer = torch.tensor([[0.5, 0.25]])
    rewards = alignment_rewards(policy, episode, outer).numpy()[0]
    # grad_z (M_t - target_t)^2 = 2 (M_t - target_t) (1, -2): dotted with (0.5, 0.25) -> 2 e_t * 0
    np.testing.assert_allclose(rewards, 2 * hand_errors() * (0.5 * 1.0 + 0.25 * -2.0), atol=1e-6)
    outer = torch.tensor([[1.0, 0.0]])
    np.testing.assert_allclose(alignment_rewards(policy, episode, outer).numpy()[0], 2 * hand_errors(), rtol=1e-5)
