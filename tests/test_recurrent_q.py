"""The shared learner (``baselines.common.recurrent_q``): DREAM on it trains bit for bit as
DREAM did before the learner was shared, and its small pieces do what they say."""

from __future__ import annotations

import csv
import hashlib
import json
from pathlib import Path

import pytest
import torch
from torch import nn

from baselines.common.recurrent_q.loop import RecurrentQTrainer
from baselines.common.recurrent_q.qlearning import linear_epsilon, soft_update
from baselines.dream import DreamConfig

TIMING_COLUMNS = {"wall_s", "steps_per_s", "updates_per_s"}

#: A tiny ``baselines.dream.train`` run per env (its preset, one torch thread, updates, two
#: checkpoints, a periodic and the final evaluation): env steps, updates, final test return and
#: the SHA-256 of its outputs (:func:`_fingerprint`). Recorded with the code of commit 107618a,
#: before DREAM's training loop, replay, collection and Q-learning moved into the shared
#: learner; the refactored code gives the same bits. Float rounding can differ between
#: machines and torch builds (see ``test_dream.LEARNING_STEPS``): on another machine, run
#: this test at commit 107618a first; if that fails too, the numbers are the machine's.
RECORDED = {
    "MetaMap-v0": (1256, 24, -2.0, "a41ff4bfe0e0eaa20e1513c0520ede5ed8f498a192cb76f94f38bd8fe4e6afc5"),
    "MetaDistractingBus-v0": (1256, 24, -2.0, "edd2b4d882039f2fe790f8eb94e966aea43b1f59a2bb5c0034c6b20aea799219"),
    "MetaCooking-v0": (888, 15, -2.0, "e6634280f948e23e0dc9ff7c189c9b5135399bca6557cdab08f586da5b57ca08"),
}


def _fingerprint(out: Path) -> str:
    """SHA-256 of ``final.pt``'s policy weights, ``checkpoint.pt``'s networks, targets and
    replay, and ``progress.csv`` without its timing columns."""
    digest = hashlib.sha256()
    for name in ("final.pt", "checkpoint.pt"):
        data = torch.load(out / name, weights_only=True)
        parts = ([data["policy"]] if name == "final.pt"
                 else [data["nets"], data["explore_target"], data["task_target"], data["buffer"]["arrays"]])
        for part in parts:
            for key in sorted(part):
                digest.update(key.encode())
                digest.update(part[key].numpy().tobytes())
    with open(out / "progress.csv", newline="") as f:
        for row in csv.DictReader(f):
            digest.update(json.dumps({k: v for k, v in row.items() if k not in TIMING_COLUMNS},
                                     sort_keys=True).encode())
    return digest.hexdigest()


def _tiny_run(env_id: str, out: Path) -> dict:
    from baselines.dream.train import train

    cfg = DreamConfig.for_env(env_id, seed=3, threads=1, num_envs=8, batch_size=8, hidden=16, z_dim=4,
                              buffer_trials=200, learning_starts=300, env_steps_per_update=40.0, log_every=400,
                              eval_every=1000, eval_trials=4, checkpoint_every=500, total_steps=1500,
                              progress=False, out=str(out))
    return train(cfg)


@pytest.mark.usefixtures("one_torch_thread")
@pytest.mark.parametrize("env_id", sorted(RECORDED))
def test_dream_trains_bit_identically_to_before_the_shared_learner(env_id, tmp_path):
    summary = _tiny_run(env_id, tmp_path)
    steps, updates, test_return, sha = RECORDED[env_id]
    assert (summary["env_steps"], summary["updates"], summary["test_return"]) == (steps, updates, test_return)
    assert _fingerprint(tmp_path) == sha


def test_linear_epsilon_decays_then_stays():
    assert linear_epsilon(0, 1.0, 0.1, 100) == 1.0
    assert linear_epsilon(50, 1.0, 0.1, 100) == pytest.approx(0.55)
    assert linear_epsilon(100, 1.0, 0.1, 100) == linear_epsilon(10**6, 1.0, 0.1, 100) == pytest.approx(0.1)


def test_soft_update_moves_targets_tau_of_the_way():
    online, target = nn.Linear(2, 2), nn.Linear(2, 2)
    before = [p.detach().clone() for p in target.parameters()]
    soft_update([(target, online)], 0.25)
    for old, new, goal in zip(before, target.parameters(), online.parameters()):
        assert torch.allclose(new, old + 0.25 * (goal - old))


def test_trainer_columns_and_hooks():
    """A method's ``progress.csv`` is the shared head, its recent-value and metric columns,
    then the test columns; a hook a method must fill in says so."""
    from baselines.dream.train import CSV_FIELDS, Trainer

    assert CSV_FIELDS[:8] == ("env_steps", "updates", "trials", "wall_s", "steps_per_s", "updates_per_s",
                              "epsilon", "explore_epsilon")
    assert CSV_FIELDS[-4:] == ("test_return", "test_ci95", "test_normalised", "test_normalised_ci95")
    assert set(Trainer.metric_columns) <= set(CSV_FIELDS)
    with pytest.raises(NotImplementedError):
        RecurrentQTrainer.make_networks(object.__new__(RecurrentQTrainer))
