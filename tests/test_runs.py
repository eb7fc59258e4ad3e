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


def write_csv(path, header, rows):
    with open(path, "w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(header)
        writer.writerows(rows)


def test_drop_rows_after_keeps_the_rows_up_to_the_checkpoint_and_the_files_header(tmp_path):
    from baselines.common.runs import drop_rows_after

    path = tmp_path / "progress.csv"
    write_csv(path, ["env_steps", "old_column"], [[100, "a"], [200, "b"], [300, "c"]])
    drop_rows_after(path, 200)
    assert read_rows(path) == [["env_steps", "old_column"], ["100", "a"], ["200", "b"]]
    drop_rows_after(path, 500)  # nothing after: the file is left as it is
    assert read_rows(path) == [["env_steps", "old_column"], ["100", "a"], ["200", "b"]]
    drop_rows_after(tmp_path / "missing.csv", 0)  # no log yet: nothing to do


class _Config:
    """The smallest config start_run accepts."""

    def __init__(self, out, resume=False, threads=1, total_steps=10, progress=False):
        self.out, self.resume, self.threads = out, resume, threads
        self.total_steps, self.progress = total_steps, progress

    def to_dict(self):
        return {"out": str(self.out), "resume": self.resume, "threads": self.threads, "total_steps": self.total_steps,
                "progress": self.progress}

    @classmethod
    def from_dict(cls, data, source=""):
        return cls(**data)


class _Trainer:
    def __init__(self, cfg):
        self.env_steps = 0

    def state_dict(self):
        return {"env_steps": self.env_steps, "config": {"out": "x", "resume": False, "threads": 1, "total_steps": 10,
                                                         "progress": False}}

    def load_state_dict(self, state):
        self.env_steps = state["env_steps"]


def test_a_resumed_run_drops_the_rows_it_will_log_again_and_a_fresh_one_starts_a_new_log(tmp_path):
    from baselines.common.runs import save_torch_atomic, start_run

    threads = torch.get_num_threads()
    try:
        write_csv(tmp_path / "progress.csv", ["env_steps"], [[100], [200], [300]])
        trainer = _Trainer(None)
        trainer.env_steps = 200  # the checkpoint; the row of 300 was logged after it, before the stop
        save_torch_atomic(trainer.state_dict(), tmp_path / "checkpoint.pt")
        _, resumed, _ = start_run(_Config(tmp_path, resume=True), _Trainer)
        assert resumed.env_steps == 200
        assert read_rows(tmp_path / "progress.csv") == [["env_steps"], ["100"], ["200"]]
        # Stopped before its first checkpoint: no checkpoint, a partial log; a fresh start drops it.
        fresh = tmp_path / "fresh"
        fresh.mkdir()
        write_csv(fresh / "progress.csv", ["env_steps"], [[100]])
        start_run(_Config(fresh), _Trainer)
        assert not (fresh / "progress.csv").exists()
    finally:
        torch.set_num_threads(threads)
