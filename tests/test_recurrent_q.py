"""The shared learner (``baselines.common.recurrent_q``): DREAM on it trains bit for bit as
DREAM did before the learner was shared, and its small pieces do what they say."""

from __future__ import annotations

import csv
import hashlib
import json
from pathlib import Path

import numpy as np
import pytest
import torch
from torch import nn

from baselines.common.recurrent_q.loop import RecurrentQTrainer
from baselines.common.recurrent_q.qlearning import epsilon_greedy, linear_epsilon, soft_update
from baselines.dream import DreamConfig

TIMING_COLUMNS = {"wall_s", "steps_per_s", "updates_per_s"}
#: Columns added after the references were recorded, blank on the grids (checked so).
BLANK_ON_GRIDS = {"exploration_sign_seen", "frame_channels_alive"}

#: A tiny ``baselines.dream.train`` run per env (its preset, one torch thread, updates, two
#: checkpoints, a periodic and the final evaluation): env steps, updates, final test return and
#: the SHA-256 of its outputs (:func:`_fingerprint`). Recorded with the code of commit 107618a,
#: before DREAM's training loop, replay, collection and Q-learning moved into the shared
#: learner; the refactored code gives the same bits. Float rounding differs between CPUs
#: (the same torch build gives other bits on an AMD EPYC with AVX2 than on the machine these
#: were recorded on): where the hash differs, the run must match ``PROGRESS_REFERENCE``, the
#: same runs' ``progress.csv`` recorded on such a CPU, to float rounding.
RECORDED = {
    "MetaMap-v0": (1256, 24, -2.0, "a41ff4bfe0e0eaa20e1513c0520ede5ed8f498a192cb76f94f38bd8fe4e6afc5"),
    "MetaDistractingBus-v0": (1256, 24, -2.0, "edd2b4d882039f2fe790f8eb94e966aea43b1f59a2bb5c0034c6b20aea799219"),
    "MetaCooking-v0": (888, 15, -2.0, "e6634280f948e23e0dc9ff7c189c9b5135399bca6557cdab08f586da5b57ca08"),
}


#: ``progress.csv`` (without timing columns) and fingerprint of each tiny run on a second CPU.
PROGRESS_REFERENCE = Path(__file__).parent / "data" / "recurrent_q_progress.json"


def _assert_same_progress_to_rounding(csv_path: Path, reference: list[dict]) -> None:
    """Every logged number equals the reference's to float rounding (relative 1e-3): a change
    of logic moves losses by far more; integers and empty cells exactly."""
    with open(csv_path, newline="") as f:
        rows = list(csv.DictReader(f))
    assert all(row[k] == "" for row in rows for k in BLANK_ON_GRIDS)
    rows = [{k: v for k, v in row.items() if k not in TIMING_COLUMNS | BLANK_ON_GRIDS} for row in rows]
    assert len(rows) == len(reference)
    for row, expected in zip(rows, reference, strict=True):
        assert set(row) == set(expected)
        for key, value in expected.items():
            if value is None or isinstance(value, int):
                assert row[key] == ("" if value is None else str(value)), key
            else:
                assert float(row[key]) == pytest.approx(value, rel=1e-3, abs=1e-6), key


def _fingerprint(out: Path) -> str:
    """SHA-256 of ``final.pt``'s policy weights, ``checkpoint.pt``'s networks, targets and
    replay, and ``progress.csv`` without its timing columns (and the columns blank on grids)."""
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
            assert all(row[k] == "" for k in BLANK_ON_GRIDS)
            digest.update(json.dumps({k: v for k, v in row.items() if k not in TIMING_COLUMNS | BLANK_ON_GRIDS},
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
    fingerprint = _fingerprint(tmp_path)
    if fingerprint != sha:  # another CPU's float rounding: the second reference, or the same run to rounding
        reference = json.loads(PROGRESS_REFERENCE.read_text())["runs"][env_id]
        if fingerprint != reference["sha256"]:
            _assert_same_progress_to_rounding(tmp_path / "progress.csv", reference["progress"])


def test_linear_epsilon_decays_then_stays():
    assert linear_epsilon(0, 1.0, 0.1, 100) == 1.0
    assert linear_epsilon(50, 1.0, 0.1, 100) == pytest.approx(0.55)
    assert linear_epsilon(100, 1.0, 0.1, 100) == linear_epsilon(10**6, 1.0, 0.1, 100) == pytest.approx(0.1)


def test_random_end_false_draws_random_actions_from_the_other_actions():
    """``random_end=False``: epsilon's uniform actions never end the episode (either episode
    type) and cover every other action; a greedy ``end`` is kept; the default draws all."""
    end = 3
    q = torch.zeros(4, 4)
    q[2:, end] = 1.0  # rows 2 and 3: greedy action is end
    episode = np.array([0, 1, 0, 1])
    no_end = epsilon_greedy(1.0, np.random.default_rng(0), end_action=end, random_end=False)
    greedy_end = epsilon_greedy(0.0, np.random.default_rng(0), end_action=end, random_end=False)
    default = epsilon_greedy(1.0, np.random.default_rng(0))
    drawn, drawn_default = np.concatenate([no_end(q, episode) for _ in range(300)]), set()
    for _ in range(300):
        drawn_default.update(default(q, episode).tolist())
        assert (greedy_end(q, episode)[2:] == end).all()
    assert set(drawn.tolist()) == {0, 1, 2}
    assert np.bincount(drawn, minlength=4)[:3].min() > 300  # uniform: ~400 each of 1,200
    assert drawn_default == {0, 1, 2, 3}
    with pytest.raises(ValueError, match="end_action"):
        epsilon_greedy(1.0, np.random.default_rng(0), random_end=False)


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
