"""IMPORT (``baselines.import_``): the auxiliary loss and its stop-gradient on f, both paths'
losses, the harness agent reads no problem ID, the harness and the sweep."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from baselines.common.recurrent_q.whole_trial import whole_trials
from baselines.erl2.train import erl2_loss
from baselines.import_ import TRAINING, ImportConfig, load_agent
from baselines.import_.agent import ImportActor
from baselines.import_.train import Trainer, auxiliary_loss, import_losses
from tests.test_erl2 import hand_batch, train_and_score

TINY = dict(env="MetaMap-v0", seed=3, threads=1, num_envs=16, batch_size=8, hidden=16, buffer_trials=400,
            learning_starts=500, env_steps_per_update=40.0, log_every=1000, eval_every=0, eval_trials=4,
            checkpoint_every=1000, progress=False)


def test_auxiliary_loss_is_the_mean_squared_distance_on_valid_steps_and_never_reaches_f():
    g = torch.tensor([[[1.0, 2.0], [3.0, 4.0], [9.0, 9.0]], [[0.0, 0.0], [5.0, 5.0], [5.0, 5.0]]],
                     requires_grad=True)
    f = torch.tensor([[1.0, 0.0], [1.0, 1.0]], requires_grad=True)
    lengths = torch.tensor([2, 1])
    loss = auxiliary_loss(g, f, lengths)
    # Valid steps: (1, 2) and (3, 4) against (1, 0); (0, 0) against (1, 1): per-coordinate means 2, 10, 1.
    assert loss.item() == pytest.approx((2.0 + 10.0 + 1.0) / 3)
    loss.backward()
    assert f.grad is None  # stop-gradient: the auxiliary loss only moves g
    assert g.grad[0, 2].abs().sum() == 0 and g.grad[1, 1:].abs().sum() == 0  # padding gets nothing
    torch.testing.assert_close(g.grad[0, 0], 2 * (g[0, 0] - f[0]).detach() / 2 / 3)


@pytest.mark.usefixtures("one_torch_thread")
def test_losses_on_a_hand_made_batch():
    """Both paths' Q-losses are E-RL²'s over the packed trials (exploration rewards 0); the
    auxiliary loss's gradient reaches the recurrent embedding (readout, memory) but not f,
    which only the informed Q-loss trains."""
    trainer = Trainer(ImportConfig(**{**TINY, "num_envs": 2}))
    nets, target = trainer.nets, trainer.targets["target"]
    b = hand_batch()
    f = trainer.spec.num_ints  # the hand-made observations (one integer) as MetaMap's, in range
    b["exp_ints"] = (b["exp_ints"] % 2).expand(2, 3, f).clone()
    b["task_ints"] = (b["task_ints"] % 2).expand(2, 2, 2, f).clone()
    b["exp_act"], b["task_act"] = b["exp_act"] % 8, b["task_act"] % 8
    b["problem_id"] = torch.tensor([0, 1])
    seq = whole_trials(b)
    losses = import_losses(nets, target, seq, 0.9, 0.8, aux_weight=0.5)
    q_rec, g, x, _ = nets.recurrent(seq["ints"], seq["rewards_in"])
    q_rec_t, _, x_t, _ = target.recurrent(seq["ints"], seq["rewards_in"])
    assert losses["loss_q_recurrent"].item() == pytest.approx(erl2_loss(q_rec, q_rec_t, seq, 0.9, 0.8).item())
    q_inf = nets.informed(x, seq["problem_id"])
    assert losses["loss_q_informed"].item() == pytest.approx(
        erl2_loss(q_inf, target.informed(x_t, seq["problem_id"]), seq, 0.9, 0.8).item())
    assert losses["total"].item() == pytest.approx(
        (losses["loss_q_recurrent"] + losses["loss_q_informed"] + 0.5 * losses["loss_aux"]).item())
    nets.zero_grad()
    losses["loss_aux"].backward(retain_graph=True)
    assert nets.f.weight.grad is None or nets.f.weight.grad.abs().sum() == 0
    assert nets.readout.weight.grad.abs().sum() > 0
    nets.zero_grad()
    losses["loss_q_informed"].backward()
    assert nets.f.weight.grad[:2].abs().sum() > 0  # the informed path trains f (problems 0 and 1)
    assert nets.readout.weight.grad is None or nets.readout.weight.grad.abs().sum() == 0


@pytest.mark.usefixtures("one_torch_thread")
def test_paths_alternate_by_trial_and_the_harness_agent_never_reads_the_problem():
    trainer = Trainer(ImportConfig(**TINY))
    seen = []
    for _ in range(2):
        informed = trainer.begin_wave(trainer.cfg.num_envs)
        seen.append(informed.copy())
        trainer.end_wave(informed, {}, {"exploit_return": np.zeros(trainer.cfg.num_envs)})
        trainer.trials += trainer.cfg.num_envs
    assert seen[0].sum() == seen[1].sum() == trainer.cfg.num_envs // 2
    assert np.array_equal(seen[0], ~seen[1])  # each slot switches path at the next wave
    agent = trainer.make_agent()
    agent.reset()
    actor = agent._actor
    assert isinstance(actor, ImportActor) and not actor.informed.any() and actor.problem_ids is None
    assert not any(k.startswith("f.") for k in trainer.make_policy_checkpoint({})["policy"])


def test_the_harness_scores_a_freshly_trained_checkpoint(tmp_path):
    assert "import" in train_and_score("import_", tmp_path)
    with pytest.raises(FileNotFoundError, match=r"no shipped IMPORT checkpoint for .*baselines.import_.train"):
        load_agent("MetaSign3D-v0")  # (none shipped for the 3D env)
    with pytest.raises(ValueError, match="not an IMPORT checkpoint"):
        load_agent("MetaMap-v0", _erl2_checkpoint(tmp_path))


def _erl2_checkpoint(tmp_path: Path) -> Path:
    from baselines.erl2 import ERL2Config
    from baselines.erl2.train import Trainer as ERL2Trainer

    path = tmp_path / "erl2.pt"
    torch.save(ERL2Trainer(ERL2Config(**TINY)).make_policy_checkpoint({}), path)
    return path


def test_sweep_plans_import_runs(tmp_path):
    from evaluation.sweep import SweepConfig, plan_runs

    runs = plan_runs(SweepConfig(agents=["import_"], envs=["MetaMap-v0"], out=tmp_path, seeds=["0"],
                                 total_steps=2000, progress=False))
    assert [(r.agent_module, r.seed) for r in runs] == [("baselines.import_", 0)]
    assert runs[0].training["cli"] == TRAINING.cli == "baselines.import_.train"
