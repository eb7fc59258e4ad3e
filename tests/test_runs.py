"""The run machinery every training CLI shares (baselines.common.runs): logs and final outputs."""

from __future__ import annotations

import csv
import json

import pytest
import torch

from baselines.common.runs import RunLog, finish_run, mean_ci95


def read_rows(path):
    with open(path, newline="") as f:
        return list(csv.reader(f))


def test_a_resumed_run_appends_under_its_files_own_header(tmp_path):
    with RunLog(tmp_path, ["env_steps", "a", "b"], total_steps=10, initial_steps=0, desc="t", progress=False) as log:
        log.write({"env_steps": 1, "a": 0.5, "b": 2}, 1)
    # The resumed run's columns changed (an older run): its rows follow the saved header.
    with RunLog(tmp_path, ["env_steps", "b", "c"], total_steps=10, initial_steps=1, desc="t", progress=False) as log:
        log.write({"env_steps": 2, "a": 1.5, "b": 3, "c": 9}, 2)
    assert read_rows(tmp_path / "progress.csv") == [["env_steps", "a", "b"], ["1", "0.5", "2"], ["2", "1.5", "3"]]


def test_finite_numbers_reach_tensorboard_at_the_env_step(tmp_path):
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    with RunLog(tmp_path, ["env_steps", "loss", "test_return"], total_steps=10, initial_steps=0, desc="t",
                progress=False) as log:
        log.write({"env_steps": 7, "loss": 0.25, "test_return": float("nan")}, 7)
    events = EventAccumulator(str(tmp_path / "tb"))
    events.Reload()
    assert events.Tags()["scalars"] == ["loss"]
    assert [(e.step, e.value) for e in events.Scalars("loss")] == [(7, 0.25)]


def test_the_log_is_closed_when_training_fails(tmp_path):
    with pytest.raises(RuntimeError, match="boom"):
        with RunLog(tmp_path, ["env_steps"], total_steps=10, initial_steps=0, desc="t", progress=False) as log:
            log.write({"env_steps": 1}, 1)
            raise RuntimeError("boom")
    assert log.csv_file.closed
    assert read_rows(tmp_path / "progress.csv") == [["env_steps"], ["1"]]


def test_finish_run_writes_a_weights_only_checkpoint_and_the_summary(tmp_path):
    summary = finish_run(tmp_path, {"weights": torch.arange(3.0), "final_eval": {"test_return": 0.5}},
                         {"env": "MetaMap-v0", "test_return": 0.5})
    saved = torch.load(tmp_path / "final.pt", weights_only=True)
    assert torch.equal(saved["weights"], torch.arange(3.0)) and saved["final_eval"] == {"test_return": 0.5}
    assert json.loads((tmp_path / "result.json").read_text()) == summary == {"env": "MetaMap-v0", "test_return": 0.5}
    assert not [p for p in tmp_path.iterdir() if p.name not in ("final.pt", "result.json")]  # no temporary files


def test_mean_ci95_against_hand_computed_values():
    mean, half_width = mean_ci95([1.0, 2.0, 3.0, 4.0])
    # std (ddof=1) of 1..4 = sqrt(5/3); 1.96 * sqrt(5/3) / 2 = 1.26522...
    assert mean == 2.5 and half_width == pytest.approx(1.96 * (5 / 3) ** 0.5 / 2)
    single_mean, single_half_width = mean_ci95([3.0])
    assert single_mean == 3.0 and single_half_width != single_half_width  # nan: no spread from one value
