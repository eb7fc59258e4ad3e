"""E-RL² (``baselines.erl2``): whole-trial sequences, the loss with zero exploration rewards,
acting equals the whole-sequence network, exact resume, the harness and the sweep."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch

from baselines.common.recurrent_q.collect import Actor
from baselines.common.recurrent_q.loop import RecurrentQTrainer
from baselines.common.recurrent_q.whole_trial import WholeTrialActor, whole_trials
from baselines.erl2 import TRAINING, ERL2Config, load_agent
from baselines.erl2.train import Trainer, erl2_loss, train

REPO = Path(__file__).resolve().parents[1]
#: A tiny run: 16 trials a wave, updates from 500 env steps, checkpoints every 1000.
TINY = dict(env="MetaMap-v0", seed=3, threads=1, num_envs=16, batch_size=8, hidden=16, buffer_trials=400,
            learning_starts=500, env_steps_per_update=40.0, log_every=1000, eval_every=0, eval_trials=4,
            checkpoint_every=1000, progress=False)


def hand_batch() -> dict[str, torch.Tensor]:
    """Two trials (one int per observation): exploration lengths 3 and 1, two exploitation
    episodes each; the exploration rewards (``exp_rew``) are deliberately non-zero."""
    return {
        "problem_id": torch.tensor([3, 5]),
        "exp_ints": torch.arange(6).view(2, 3, 1) + 100,
        "exp_rew": torch.full((2, 3), 9.0),
        "exp_act": torch.tensor([[1, 2, 3], [4, 0, 0]]),
        "exp_len": torch.tensor([3, 1]),
        "task_ints": torch.arange(8).view(2, 2, 2, 1) + 200,
        "task_rew_in": torch.tensor([[[0.0, 0.5], [0.0, 0.6]], [[0.0, 0.7], [0.0, 0.0]]]),
        "task_act": torch.tensor([[[5, 6], [7, 8]], [[9, 10], [11, 0]]]),
        "task_rew": torch.tensor([[[0.1, 0.2], [0.3, 0.4]], [[0.5, 0.6], [0.7, 0.0]]]),
        "task_len": torch.tensor([[2, 2], [2, 1]]),
    }


def test_whole_trials_pack_episodes_back_to_back_with_flags_and_zero_exploration_rewards():
    seq = whole_trials(hand_batch())
    assert seq["lengths"].tolist() == [7, 4]
    assert seq["ints"][0].tolist() == [[100, 0, 1], [101, 0, 0], [102, 0, 0], [200, 1, 1], [201, 1, 0],
                                       [202, 1, 1], [203, 1, 0]]
    assert seq["ints"][1].tolist() == [[103, 0, 1], [204, 1, 1], [205, 1, 0], [206, 1, 1]] + [[0, 0, 0]] * 3
    assert seq["actions"].tolist() == [[1, 2, 3, 5, 6, 7, 8], [4, 9, 10, 11, 0, 0, 0]]
    # E-RL²'s "E": exploration steps earn 0 in the Q-targets and are observed as 0.
    assert torch.equal(seq["rewards"], torch.tensor([[0, 0, 0, 0.1, 0.2, 0.3, 0.4], [0, 0.5, 0.6, 0.7, 0, 0, 0]]))
    assert torch.equal(seq["rewards_in"], torch.tensor([[0, 0, 0, 0, 0.5, 0, 0.6], [0, 0, 0.7, 0, 0, 0, 0]]))


def test_loss_targets_bootstrap_across_the_boundary_with_zero_exploration_reward():
    """One-step targets (lambda 0) by hand: an exploration step's target is 0 + gamma * V(next),
    also at the last exploration step (the boundary is not terminal); the trial's last step
    is terminal."""
    seq = whole_trials(hand_batch())
    gamma, n_actions = 0.9, 12
    values = torch.arange(14, dtype=torch.float32).view(2, 7) / 10  # Q(t, a) = values[t] for every a
    q = values.unsqueeze(-1).expand(2, 7, n_actions).clone().requires_grad_(True)
    loss = erl2_loss(q, q.detach(), seq, gamma, td_lambda=0.0)
    target = torch.zeros(2, 7)
    for i, length in enumerate(seq["lengths"].tolist()):
        for t in range(length):
            future = gamma * values[i, t + 1] if t + 1 < length else 0.0
            target[i, t] = seq["rewards"][i, t] + future
    assert target[0, 2] == pytest.approx(gamma * values[0, 3].item())  # last exploration step
    mask = torch.arange(7).unsqueeze(0) < seq["lengths"].unsqueeze(1)
    expected = (((values - target) ** 2) * mask).sum() / mask.sum()
    assert loss.item() == pytest.approx(expected.item(), rel=1e-6)
    # Non-zero env rewards of the exploration episode change nothing.
    other = hand_batch()
    other["exp_rew"] = torch.full((2, 3), -5.0)
    assert erl2_loss(q, q.detach(), whole_trials(other), gamma, 0.0).item() == loss.item()


def assert_actor_steps_equal_sequences(trainer: RecurrentQTrainer, actor: Actor,
                                       sequence_q: Callable[[dict[str, torch.Tensor]], torch.Tensor]) -> None:
    """``actor``'s stepwise Q-values (4 slots: one memory over the trial, flags from
    ``episode``) on a wave collected by ``trainer`` equal ``sequence_q(seq)``, the
    whole-sequence network's on the replayed, packed trials ``seq``."""
    trainer.collect()
    seq = whole_trials(trainer.buffer.sample(4, np.random.default_rng(0)))
    with torch.no_grad():
        q_seq = sequence_q(seq)
    actor.reset()
    f = trainer.spec.num_ints
    for t in range(int(seq["lengths"].max())):
        live = np.flatnonzero(seq["lengths"].numpy() > t)
        ints = seq["ints"][live, t]
        episode = ints[:, f].numpy()  # the exploitation flag: episode 0 or 1 (one exploitation episode)
        q = actor.q_values(live, ints[:, :f].numpy(), seq["rewards_in"][live, t].numpy(), episode)
        torch.testing.assert_close(q, q_seq[live, t], rtol=1e-5, atol=1e-5)


@pytest.mark.usefixtures("one_torch_thread")
def test_actor_steps_equal_the_whole_sequence_network_on_collected_trials():
    trainer = Trainer(ERL2Config(**TINY))
    assert_actor_steps_equal_sequences(trainer, WholeTrialActor(trainer.nets.q, 4),
                                       lambda seq: trainer.nets.q(seq["ints"], seq["rewards_in"])[0])


def test_defaults_are_the_papers_baseline_settings_and_dreams_stay_dreams():
    from baselines.dream import DreamConfig

    cfg = ERL2Config()
    assert (cfg.dueling, cfg.batch_size, cfg.gamma, cfg.epsilon_start, cfg.epsilon_end, cfg.epsilon_decay_steps,
            cfg.explore_epsilon_end, cfg.explore_epsilon_decay_steps, cfg.total_steps) == (
        True, 32, 0.99, 1.0, 0.01, 500_000, 0.01, 500_000, 1_000_000)
    assert (DreamConfig().dueling, DreamConfig().epsilon_decay_steps) == (False, 40_000)


def _weights(out: Path, target: str) -> dict[str, torch.Tensor]:
    state = torch.load(out / "checkpoint.pt", weights_only=True)
    final = torch.load(out / "final.pt", weights_only=True)
    return {**{f"nets.{k}": v for k, v in state["nets"].items()},
            **{f"target.{k}": v for k, v in state[target].items()},
            **{f"policy.{k}": v for k, v in final["policy"].items()},
            **{f"buffer.{k}": v for k, v in state["buffer"]["arrays"].items()},
            "counters": torch.tensor([state["counters"][k] for k in ("env_steps", "updates", "trials")])}


def assert_resume_is_exact(train_run: Callable[[Any], dict[str, Any]], config_class: type, tiny: dict[str, Any],
                           tmp_path: Path, target: str = "q_target") -> None:
    """A tiny run of 3,000 env steps stopped at 1,500 and resumed ends with the same weights,
    target weights (the checkpoint's ``target`` entry), policy checkpoint, replay and counters
    as a straight run."""
    straight = train_run(config_class(**tiny, total_steps=3000, out=str(tmp_path / "straight")))
    train_run(config_class(**tiny, total_steps=1500, out=str(tmp_path / "split")))
    resumed = train_run(config_class(**tiny, total_steps=3000, out=str(tmp_path / "split"), resume=True))
    assert straight["updates"] > 20 and resumed["env_steps"] == straight["env_steps"]
    a, b = _weights(tmp_path / "straight", target), _weights(tmp_path / "split", target)
    assert a.keys() == b.keys()
    for key in a:
        assert torch.equal(a[key], b[key]), key


@pytest.mark.usefixtures("one_torch_thread")
def test_resume_trains_the_same_weights_as_a_straight_run(tmp_path):
    assert_resume_is_exact(train, ERL2Config, TINY, tmp_path)


def train_and_score(package: str, tmp_path: Path) -> str:
    """Train ``baselines.<package>`` for 1,500 env steps on MetaMap-v0, score its ``final.pt``
    through ``python -m evaluation.score``; returns the score CLI's output."""
    run = tmp_path / "run"
    subprocess.run([sys.executable, "-m", f"baselines.{package}.train", "--env", "MetaMap-v0", "--seed", "0",
                    "--total-steps", "1500", "--out", str(run), "--threads", "1", "--no-progress",
                    "--num-envs", "16", "--learning-starts", "500", "--hidden", "16", "--eval-trials", "4"],
                   check=True, cwd=REPO, capture_output=True)
    out = subprocess.run([sys.executable, "-m", "evaluation.score", "--agent", f"baselines.{package}", "--checkpoint",
                          str(run / "final.pt"), "--env", "MetaMap-v0", "--trials", "5", "--seeds", "0",
                          "--out", str(tmp_path / "score")], cwd=REPO, capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    assert (tmp_path / "score" / "results.json").is_file()
    return out.stdout


def test_the_harness_scores_a_freshly_trained_checkpoint(tmp_path):
    assert "erl2" in train_and_score("erl2", tmp_path)


def test_load_agent_without_a_checkpoint_gives_the_training_command(tmp_path):
    with pytest.raises(FileNotFoundError, match=r"no shipped E-RL² checkpoint for .*python -m baselines.erl2.train"):
        load_agent("MetaSign3D-v0")  # (none shipped for the 3D env)
    with pytest.raises(FileNotFoundError, match="does not exist"):
        load_agent("MetaMap-v0", tmp_path / "nope.pt")
    bad = tmp_path / "bad.pt"
    bad.write_bytes(b"not a checkpoint")
    with pytest.raises(ValueError, match="corrupt"):
        load_agent("MetaMap-v0", bad)


def test_sweep_plans_erl2_runs(tmp_path):
    from evaluation.sweep import SweepConfig, plan_runs

    runs = plan_runs(SweepConfig(agents=["erl2"], envs=["MetaMap-v0"], out=tmp_path, seeds=["0-1"],
                                 total_steps=2000, progress=False))
    assert [(r.agent_module, r.env_id, r.seed) for r in runs] == [("baselines.erl2", "MetaMap-v0", 0),
                                                                  ("baselines.erl2", "MetaMap-v0", 1)]
    assert runs[0].training["cli"] == TRAINING.cli == "baselines.erl2.train"
