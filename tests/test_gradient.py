"""The gradient-based meta-RL machinery (baselines/common/gradient) and MAML/ProMP: the inner
policy-gradient step against a hand-computed gradient, DiCE's magic box, PPO-clip, ProMP's LVC
surrogate, the agent's adaptation at the episode boundary, exact resume, and the harness
scoring a freshly trained checkpoint."""

from __future__ import annotations

import random
import subprocess
import sys
from pathlib import Path

import gymnasium as gym
import numpy as np
import pytest
import torch

import meta_explore_envs  # noqa: F401  (registers the ids)
from baselines.common.gradient.agent import GradientAgent
from baselines.common.gradient.estimators import discounted_returns, gae, magic_box, ppo_clip_loss
from baselines.common.gradient.meta_policy import ExplorationEpisode, PolicyGradientMetaPolicy, inner_surrogate
from baselines.mame.policy import MAMEPolicy

REPO = Path(__file__).resolve().parents[1]
ENV_ID = "MetaPointCorner-v0"
TINY = ["--meta-batch", "4", "--hidden", "8", "--eval-trials", "2", "--threads", "1", "--no-progress"]


def tiny_linear_policy(estimator: str = "reinforce", gamma: float = 0.9) -> PolicyGradientMetaPolicy:
    """A linear Gaussian policy (no hidden layer) with hand-set weights, no baseline, raw advantages."""
    policy = PolicyGradientMetaPolicy(hidden=(), init_std=0.5, inner_lr=0.1, estimator=estimator, gamma=gamma,
                                      gae_lambda=1.0, normalise_advantages=False)
    with torch.no_grad():
        linear = policy.policy.mean[0]
        linear.weight.copy_(torch.tensor([[0.3, -0.2], [0.1, 0.4]]))
        linear.bias.copy_(torch.tensor([0.05, -0.1]))
    return policy


def hand_episode() -> ExplorationEpisode:
    obs = np.array([[[0.1, -0.1], [0.3, 0.0], [0.5, 0.2]]], np.float32)
    actions = np.array([[[0.2, 0.1], [-0.1, 0.3], [0.15, -0.2]]], np.float32)
    rewards = np.array([[1.0, -0.5, 0.0]])
    return ExplorationEpisode(obs, actions, rewards)


# ---------------------------------------------------------------------------- estimators
def test_returns_and_gae_by_hand():
    rewards = np.array([[1.0, 2.0, 3.0]])
    np.testing.assert_allclose(discounted_returns(rewards, 0.5), [[1 + 1 + 0.75, 2 + 1.5, 3]])
    values = np.array([[0.5, 1.0, 2.0]])
    deltas = np.array([1 + 0.5 * 1.0 - 0.5, 2 + 0.5 * 2.0 - 1.0, 3 - 2.0])
    np.testing.assert_allclose(gae(rewards, values, 0.5, 0.8), [[deltas[0] + 0.4 * deltas[1] + 0.16 * deltas[2],
                                                                  deltas[1] + 0.4 * deltas[2], deltas[2]]])
    np.testing.assert_allclose(gae(rewards, values, 0.5, 1.0), discounted_returns(rewards, 0.5) - values)


def test_inner_policy_gradient_step_matches_a_hand_computed_gradient():
    policy = tiny_linear_policy()
    episode = hand_episode()
    adapted = policy.adapt(episode)
    w = policy.policy.mean[0].weight.detach().numpy().astype(np.float64)
    b = policy.policy.mean[0].bias.detach().numpy().astype(np.float64)
    s, a = episode.obs[0].astype(np.float64), episode.actions[0].astype(np.float64)
    advantages = discounted_returns(episode.rewards, 0.9)[0]  # no baseline (coefficients 0), not normalised
    var = 0.5**2
    residual = (a - (s @ w.T + b)) / var  # d log pi / d mean
    grad_w = np.mean([advantages[t] * np.outer(residual[t], s[t]) for t in range(3)], axis=0)
    grad_b = np.mean([advantages[t] * residual[t] for t in range(3)], axis=0)
    grad_log_std = np.mean([advantages[t] * ((a[t] - (s[t] @ w.T + b)) ** 2 / var - 1) for t in range(3)], axis=0)
    np.testing.assert_allclose(adapted["mean.0.weight"][0].numpy(), w + 0.1 * grad_w, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(adapted["mean.0.bias"][0].numpy(), b + 0.1 * grad_b, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(adapted["log_std"][0].numpy(), np.log(0.5) + 0.1 * grad_log_std, rtol=1e-5, atol=1e-6)


def test_magic_box_is_one_and_differentiates_to_the_score_function_to_second_order():
    theta = torch.tensor([0.3, -0.7], requires_grad=True)
    x = (theta**2).sum() + theta[0] * theta[1]  # a "sum of log-probabilities"
    value = magic_box(x)
    assert value.item() == 1.0
    grad, = torch.autograd.grad(value * 2.5, theta, create_graph=True)
    dx = torch.stack([2 * theta[0] + theta[1], 2 * theta[1] + theta[0]]).detach()
    torch.testing.assert_close(grad.detach(), 2.5 * dx)  # R grad x: the score-function estimator
    hessian = torch.stack([torch.autograd.grad(grad[i], theta, retain_graph=True)[0] for i in range(2)])
    d2x = torch.tensor([[2.0, 1.0], [1.0, 2.0]])
    torch.testing.assert_close(hessian, 2.5 * (d2x + torch.outer(dx, dx)))


def test_ppo_clip_loss_on_a_hand_made_batch():
    logp_old = torch.zeros(4)
    logp = torch.log(torch.tensor([1.5, 0.5, 1.1, 0.7]))
    advantages = torch.tensor([1.0, 1.0, -2.0, -1.0])
    # min(r A, clip(r) A): 1.2 (clipped), 0.5, -2.2, -0.8 (clipped)
    expected = -np.mean([1.2, 0.5, -2.2, -0.8])
    assert ppo_clip_loss(logp, logp_old, advantages, 0.2).item() == pytest.approx(expected, rel=1e-6)


def test_lvc_surrogate_adds_the_outer_product_term_to_the_hessian():
    """One step, pi = N(theta, 1), action a, advantage A: the LVC surrogate has gradient
    A (a - theta) and Hessian A ((a - theta)^2 - 1); MAML's log pi * A has Hessian -A."""
    a, advantage = 0.8, torch.tensor([[1.5]])
    for estimator, expected_hessian in (("lvc", 1.5 * ((0.8 - 0.2) ** 2 - 1)), ("reinforce", -1.5)):
        theta = torch.tensor(0.2, requires_grad=True)
        logp = (-0.5 * (a - theta) ** 2 - 0.5 * np.log(2 * np.pi)).reshape(1, 1)
        surrogate = inner_surrogate(logp, advantage, estimator).sum()
        grad, = torch.autograd.grad(surrogate, theta, create_graph=True)
        assert grad.item() == pytest.approx(1.5 * (a - 0.2))
        hessian, = torch.autograd.grad(grad, theta)
        assert hessian.item() == pytest.approx(expected_hessian)
    assert inner_surrogate(logp.detach(), advantage, "lvc").item() == pytest.approx(1.5)


def test_several_episodes_per_task_get_advantages_and_returns_per_episode():
    from baselines.common.gradient.rollout import group_by_task

    policy = tiny_linear_policy()
    rng = np.random.default_rng(0)
    flat = ExplorationEpisode(rng.normal(size=(4, 5, 2)).astype(np.float32),
                              rng.normal(size=(4, 5, 2)).astype(np.float32), rng.normal(size=(4, 5)))
    grouped = group_by_task(flat, 2)
    assert grouped.rewards.shape == (2, 10) and grouped.episodes == 2
    np.testing.assert_array_equal(policy.inner_advantages(grouped).numpy().reshape(4, 5),
                                  policy.inner_advantages(flat).numpy())
    mame = MAMEPolicy(hidden=(4,))
    np.testing.assert_array_equal(mame.targets(grouped).numpy().reshape(4, 5), mame.targets(flat).numpy())
    obs, actions = grouped.tensors()
    weights = mame.dice_weights(obs, actions, episodes=2).reshape(4, 5)
    torch.testing.assert_close(weights, mame.dice_weights(*flat.tensors()))


# ---------------------------------------------------------------------------- the agent
def play_trial(agent: GradientAgent, seed: int = 3):
    """Play one trial; returns what the agent saw in its exploration episode (with the rewards
    as observed: the last one unseen) and its slot state before and after the boundary."""
    env = gym.make(ENV_ID)
    obs, _ = env.reset(seed=seed)
    agent.reset()
    observations, actions, rewards, before = [], [], [], None
    while obs["episode"] == 0:
        action = agent.act(obs)
        before = agent.slot_state(0)
        observations.append(obs["observation"])
        actions.append(action)
        obs, reward, *_ = env.step(action)
        rewards.append(reward)
    agent.act(obs)
    rewards[-1] = 0.0  # unseen by the agent
    episode = ExplorationEpisode(np.array([observations]), np.array([actions]), np.array([rewards]))
    return episode, before, agent.slot_state(0)


@pytest.mark.usefixtures("one_torch_thread")
@pytest.mark.parametrize("make_policy", [lambda: PolicyGradientMetaPolicy(hidden=(8,)),
                                         lambda: MAMEPolicy(hidden=(8,))])
def test_the_agent_adapts_at_the_episode_boundary_from_what_it_saw_and_forgets_at_reset(make_policy):
    torch.manual_seed(0)
    policy = make_policy()
    if isinstance(policy, PolicyGradientMetaPolicy):
        policy.baseline_coefficients.normal_()
    agent = GradientAgent(policy, seed=1)
    episode, before, after = play_trial(agent)
    assert before is None and after is not None  # pre-update policy until the boundary
    expected = policy.adapt(episode)
    for name, value in expected.items():
        torch.testing.assert_close(after[name], value[0])
    if isinstance(policy, PolicyGradientMetaPolicy):
        assert not torch.equal(after["mean.0.weight"], policy.policy.mean[0].weight)  # the weights moved
    else:
        assert after["z"].abs().sum() > 0  # the latent moved from 0
    agent.reset()
    assert agent.slot_state(0) is None


# ---------------------------------------------------------------------------- training
def run_train(package: str, out: Path, *extra: str, check: bool = True) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", f"baselines.{package}.train", "--env", ENV_ID, "--seed", "0",
                           "--out", str(out), *TINY, *extra], check=check, cwd=REPO, capture_output=True, text=True)


def train_in_process(package: str, out: Path, *extra: str) -> None:
    """The training CLI's ``main`` in this process (the torch thread count it sets is restored)."""
    import importlib

    threads = torch.get_num_threads()
    try:
        importlib.import_module(f"baselines.{package}.train").main(
            ["--env", ENV_ID, "--seed", "0", "--out", str(out), *TINY, *extra])
    finally:
        torch.set_num_threads(threads)


@pytest.mark.parametrize("package, extra", [("maml", ()), ("promp", ()), ("promp", ("--e-maml",)), ("mame", ()),
                                            ("mame", ("--episodes-per-task", "2"))])
def test_resume_trains_the_same_weights_as_a_straight_run(tmp_path, package, extra):
    """In one process (the sweep's tests resume a training in a new process): a run cut after
    two iterations and resumed ends with the weights of a run that was never cut."""
    steps = 4 * 200  # one iteration of 4 trials
    train_in_process(package, tmp_path / "straight", "--total-steps", str(4 * steps), "--checkpoint-every", "2",
                     "--eval-every", "100", "--ppo-epochs", "2", *extra)
    train_in_process(package, tmp_path / "split", "--total-steps", str(2 * steps), "--checkpoint-every", "2",
                     "--eval-every", "100", "--ppo-epochs", "2", *extra)
    # A new process would start from other global RNG states: so does the resumed run here
    # (what the run needs must come from its checkpoint, not from where the first half left them).
    torch.manual_seed(12345), np.random.seed(12345), random.seed(12345)
    train_in_process(package, tmp_path / "split", "--total-steps", str(4 * steps), "--resume")
    a = torch.load(tmp_path / "straight" / "final.pt", weights_only=True)["policy"]
    b = torch.load(tmp_path / "split" / "final.pt", weights_only=True)["policy"]
    assert a.keys() == b.keys()
    for key in a:
        assert torch.equal(a[key], b[key]), key


def test_the_harness_scores_a_freshly_trained_checkpoint(tmp_path):
    run_train("maml", tmp_path / "run", "--total-steps", "1600", "--ppo-epochs", "1")
    out = subprocess.run([sys.executable, "-m", "evaluation.score", "--agent", "baselines.maml", "--checkpoint",
                          str(tmp_path / "run" / "final.pt"), "--env", ENV_ID, "--trials", "5", "--seeds", "0",
                          "--out", str(tmp_path / "score"), "--no-progress"], cwd=REPO, capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    assert (tmp_path / "score" / "results.json").is_file()
    assert "maml" in out.stdout


def test_load_agent_needs_a_checkpoint_of_its_own_method(tmp_path):
    from baselines import maml, promp

    with pytest.raises(FileNotFoundError, match=r"no shipped maml checkpoint for MetaHalfCheetahVel-v0 \(shipped: "
                                                r"\['MetaHalfCheetahFwdBwd-v0', 'MetaPointCorner-v0'\]\): "
                                                r".*python -m baselines.maml.train"):
        maml.load_agent("MetaHalfCheetahVel-v0")
    run_train("maml", tmp_path / "run", "--total-steps", "800", "--ppo-epochs", "1")
    with pytest.raises(ValueError, match="holds a maml policy, not promp"):
        promp.load_agent(ENV_ID, str(tmp_path / "run" / "final.pt"))


def test_the_half_cheetah_tasks_get_their_preset_and_the_command_line_wins():
    from baselines.maml.config import MAMLConfig

    cfg = MAMLConfig.for_env("MetaHalfCheetahVel-v0")
    assert (cfg.total_steps, cfg.eval_every, cfg.eval_trials, cfg.normalise) == (16_000_000, 25, 20, False)
    assert MAMLConfig.for_env("MetaHalfCheetahVel-v0", total_steps=32_000).total_steps == 32_000
    assert MAMLConfig.for_env(ENV_ID).total_steps == 12_000_000  # the point env keeps the defaults


def test_a_mujoco_task_trains_and_reports_raw_returns(tmp_path):
    pytest.importorskip("mujoco")
    import json

    out = run_train("mame", tmp_path / "run", "--env", "MetaHalfCheetahFwdBwd-v0", "--total-steps", "1600",
                    "--meta-batch", "4", "--ppo-epochs", "1", check=False)
    assert out.returncode == 0, out.stderr
    result = json.loads((tmp_path / "run" / "result.json").read_text())
    assert result["env"] == "MetaHalfCheetahFwdBwd-v0" and result["env_steps"] == 1600  # 4 trials x 2 x 200
    assert np.isfinite(result["test_return"]) and "test_normalised" not in result


def test_episodes_that_end_early_are_refused_not_mixed():
    """A Walker2D that falls ends its episode early: the rollout must stop with a clear error
    rather than index two episodes as one."""
    pytest.importorskip("mujoco")
    from baselines.common.gradient.rollout import play_episode

    envs = gym.make_vec("MetaWalker2DFwdBwd-v0", num_envs=2, split="train")
    obs, _ = envs.reset(seed=0)
    falls = lambda x: (torch.zeros(len(x), 6), torch.full((len(x), 6), 1.0))  # noqa: E731  (std e: it falls)
    with pytest.raises(ValueError, match=r"did not end after exactly 200 steps .*fixed length"):
        play_episode(envs, obs["observation"], falls, torch.Generator().manual_seed(0))


@pytest.mark.parametrize("package", ["maml", "promp", "mame"])
def test_the_shipped_point_corner_checkpoints_load_and_name_their_env(package):
    """Each method ships its median-train run of sweeps/gradient (python -m evaluation.ship)."""
    import importlib

    from baselines.common.gradient.agent import checkpoint_env_ids

    module = importlib.import_module(f"baselines.{package}")
    assert ENV_ID in module.ENV_IDS  # MAML and MAME also ship MetaHalfCheetahFwdBwd-v0
    agent = module.load_agent(ENV_ID)
    assert agent.checkpoint_path.endswith(f"baselines/{package}/checkpoints/{ENV_ID}.pt")
    assert checkpoint_env_ids(agent.checkpoint_path) == [ENV_ID] and checkpoint_env_ids(None) is None


def test_the_agent_adapts_from_the_whole_exploration_episode_of_a_200_step_task(tmp_path):
    """load_agent takes the episode length from the env (HalfCheetah: 200 steps); an agent made
    for shorter episodes refuses a longer one instead of adapting from a part of it."""
    pytest.importorskip("mujoco")
    from baselines import mame
    from baselines.mame.policy import MAMEPolicy as Policy
    from evaluation.harness import run_trials

    run_train("mame", tmp_path / "run", "--env", "MetaHalfCheetahFwdBwd-v0", "--total-steps", "1600",
              "--ppo-epochs", "1")
    agent = mame.load_agent("MetaHalfCheetahFwdBwd-v0", str(tmp_path / "run" / "final.pt"))
    assert agent.episode_length == 200
    run_trials(agent, "MetaHalfCheetahFwdBwd-v0", num_trials=1, seed=0)
    assert agent._steps[0] == 200  # every exploration step was recorded for the adaptation
    short = GradientAgent(Policy(obs_dim=17, act_dim=6, hidden=(8,)), episode_length=100)
    with pytest.raises(ValueError, match="longer than episode_length=100"):
        run_trials(short, "MetaHalfCheetahFwdBwd-v0", num_trials=1, seed=0)
