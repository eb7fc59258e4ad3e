"""evaluation.sweep: plans, resumes, failures, locks and the Ray backend against the local one.

The trainable agent of most tests is ``tests/families/open_loop.py`` (seconds, no torch); the
Ray-vs-local test also trains DREAM for a few thousand steps.
"""

from __future__ import annotations

import dataclasses
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from evaluation.sweep import SweepConfig, SweepError, parse_seeds, plan_runs, read_run, run_sweep

TESTS = Path(__file__).resolve().parent
ENV = "MetaMap-v0"


@pytest.fixture(autouse=True)
def _families_on_the_path(monkeypatch):
    """The runs' subprocesses (and Ray's workers) import ``families.open_loop`` from tests/."""
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join([str(TESTS), os.environ.get("PYTHONPATH", "")]))
    for name in ("OPEN_LOOP_FAIL_SEEDS", "OPEN_LOOP_STOP_AFTER"):
        monkeypatch.delenv(name, raising=False)


def sweep(out: Path, agents=("families.open_loop",), seeds=("0-1",), **kwargs) -> SweepConfig:
    return SweepConfig(agents=list(agents), envs=[ENV], out=out, seeds=list(seeds), trials=20, score_seeds=[0],
                       progress=False, **kwargs)


def scores(records) -> dict[str, tuple]:
    """What a run's result is: both splits' summaries, the curve and the number of env steps."""
    return {f"{r['agent']}/{r['env_id']}/seed{r['seed']}": (r["test"], r["train"], r["curve"], r["env_steps"])
            for r in records}


def test_seeds_parse_ranges_and_refuse_bad_ones():
    assert parse_seeds(["0-2", "5", "2"]) == [0, 1, 2, 5]
    assert parse_seeds([7]) == [7]
    for bad in (["x"], ["3-1"], ["-1"], ["1-"], []):
        with pytest.raises(SweepError, match="seed"):
            parse_seeds(bad)


def test_bad_options_name_the_value_and_the_range(tmp_path):
    with pytest.raises(SweepError, match=r"--workers must be >= 1, got 0"):
        plan_runs(sweep(tmp_path, workers=0))
    with pytest.raises(SweepError, match=r"unknown env id\(s\) \['MetaNope-v0'\]"):
        plan_runs(SweepConfig(agents=["families.open_loop"], envs=["MetaNope-v0"], out=tmp_path))
    with pytest.raises(SweepError, match="baselines.random' has no TRAINING"):
        plan_runs(sweep(tmp_path, agents=["random"]))
    with pytest.raises(SweepError, match="cannot be imported"):
        plan_runs(sweep(tmp_path, agents=["nope_agent"]))
    for seeds in ([1000], [-1], []):  # (a train-split score plays s + 1000: never a test seed)
        with pytest.raises(SweepError, match=r"--score-seeds must be one or more seeds in \[0, 1000\), got"):
            plan_runs(dataclasses.replace(sweep(tmp_path), score_seeds=seeds))


def test_runs_are_planned_seed_major_with_short_agent_names(tmp_path):
    specs = plan_runs(SweepConfig(agents=["dream", "families.open_loop"], envs=["MetaMap-v0", "MetaCooking-v0"],
                                  out=tmp_path, seeds=["0-1"]))
    assert [(s.seed, s.env_id, s.agent) for s in specs[:4]] == [
        (0, "MetaMap-v0", "dream"), (0, "MetaMap-v0", "open_loop"), (0, "MetaCooking-v0", "dream"),
        (0, "MetaCooking-v0", "open_loop")]
    assert specs[0].agent_module == "baselines.dream"
    assert specs[0].directory == str(tmp_path.resolve() / "runs" / "dream" / "MetaMap-v0" / "seed0")


def test_a_sweep_trains_scores_and_skips_finished_runs(tmp_path):
    records = run_sweep(sweep(tmp_path / "s"))
    assert [r["status"] for r in records] == ["done", "done"]
    first = records[0]
    assert first["test"]["num_trials"] == 20 and first["train"]["num_trials"] == 20
    assert first["test"]["bounds"]["optimal"] > first["test"]["bounds"]["no_exploration"]
    # The summary is the one of evaluation.score's results.json, recomputed from scratch here.
    run_dir = tmp_path / "s" / "runs" / "open_loop" / ENV / "seed0"
    result = json.loads((run_dir / "score" / "test" / "results.json").read_text())["results"][0]
    assert first["test"]["normalised"] == result["normalised"]
    assert records[1]["test"]["normalised"] != first["test"]["normalised"]  # each seed its own trials
    assert first["gif"] and (run_dir / first["gif"]).exists()
    # The train-split score plays other trials (MetaMap's splits hold the same problems: the
    # same seeds would play the test trials themselves).
    train = json.loads((run_dir / "score" / "train" / "results.json").read_text())
    assert train["settings"]["seeds"] == [1000] and result["seeds"] == [0]
    assert train["results"][0]["runs"][0]["problem_ids"] != result["runs"][0]["problem_ids"]
    # Re-running the same command: nothing trains again (the attempt list is unchanged).
    again = run_sweep(sweep(tmp_path / "s"))
    assert scores(again) == scores(records) and again[0]["attempts"] == first["attempts"]
    sweep_json = json.loads((tmp_path / "s" / "sweep.json").read_text())
    assert len(sweep_json["commands"]) == 2 and len(sweep_json["runs"]) == 2
    # A train-split score made on the test seeds (sweeps before SELECTION_SEED_OFFSET) is
    # scored again on its own trials, without training.
    old = run_dir / "score" / "train" / "results.json"
    stale = json.loads(old.read_text())
    stale["settings"]["seeds"] = [0]
    old.write_text(json.dumps(stale))
    rescored = run_sweep(sweep(tmp_path / "s"))
    assert json.loads(old.read_text())["settings"]["seeds"] == [1000]
    assert scores(rescored) == scores(records) and rescored[0]["attempts"] == first["attempts"]


def test_other_settings_in_the_same_folder_are_refused(tmp_path):
    run_sweep(sweep(tmp_path, seeds=["0"]))
    with pytest.raises(SweepError, match=r"other settings .*'trials': \(20, 30\)"):
        run_sweep(SweepConfig(agents=["families.open_loop"], envs=[ENV], out=tmp_path, seeds=["0"], trials=30,
                              score_seeds=[0], progress=False))


def test_a_new_report_label_does_not_orphan_saved_runs(tmp_path):
    """``Training.label`` only names the method in reports: a run saved before the label was
    added (or renamed) is the same run; a change to what trains it is not."""
    spec = plan_runs(sweep(tmp_path, seeds=["0"]))[0]
    relabelled = dataclasses.replace(spec, training={**spec.training, "label": "Open loop (renamed)"})
    assert relabelled.identity() == spec.identity()
    unlabelled = dataclasses.replace(spec, training={k: v for k, v in spec.training.items() if k != "label"})
    assert unlabelled.identity() == spec.identity()
    other_cli = dataclasses.replace(spec, training={**spec.training, "cli": "baselines.other.train"})
    assert other_cli.identity() != spec.identity()


def test_a_failed_run_is_reported_and_the_others_go_on_then_it_is_retried(tmp_path, monkeypatch):
    monkeypatch.setenv("OPEN_LOOP_FAIL_SEEDS", "1")
    records = run_sweep(sweep(tmp_path))
    assert [r["status"] for r in records] == ["done", "failed"]
    assert "training exited with status 3" in records[1]["error"]
    assert "seed 1 fails on purpose" in records[1]["error"]  # the end of the log comes with it
    monkeypatch.delenv("OPEN_LOOP_FAIL_SEEDS")
    retried = run_sweep(sweep(tmp_path))
    assert [r["status"] for r in retried] == ["done", "done"]
    assert [a["returncode"] for a in retried[1]["attempts"]] == [3, 0]


def test_an_interrupted_training_resumes_to_the_same_result(tmp_path, monkeypatch):
    straight = run_sweep(sweep(tmp_path / "straight", seeds=["0"]))
    monkeypatch.setenv("OPEN_LOOP_STOP_AFTER", "3")  # as if killed after 3 of 8 candidates
    stopped = run_sweep(sweep(tmp_path / "resumed", seeds=["0"]))
    assert stopped[0]["status"] == "failed"
    monkeypatch.delenv("OPEN_LOOP_STOP_AFTER")
    resumed = run_sweep(sweep(tmp_path / "resumed", seeds=["0"]))
    assert [a["resumed"] for a in resumed[0]["attempts"]] == [False, True]
    assert scores(resumed) == scores(straight)


def test_a_run_locked_by_another_process_is_skipped(tmp_path):
    import fcntl

    spec = plan_runs(sweep(tmp_path, seeds=["0"]))[0]
    Path(spec.directory).mkdir(parents=True)
    with open(Path(spec.directory) / "run.lock", "w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        records = run_sweep(sweep(tmp_path, seeds=["0"]))
    assert records[0]["status"] == "busy"
    assert not (Path(spec.directory) / "train").exists()


def test_the_cli_exits_2_with_one_line_for_bad_options(tmp_path):
    done = subprocess.run([sys.executable, "-m", "evaluation.sweep", "--agents", "random", "--envs", ENV,
                           "--out", str(tmp_path)], capture_output=True, text=True)
    assert done.returncode == 2
    assert "has no TRAINING" in done.stderr and "Traceback" not in done.stderr


@pytest.mark.slow
def test_ray_backend_gives_the_local_backend_s_scores_bit_for_bit(tmp_path):
    """2 agents x 1 env x 1 seed x 3,000 steps, on the local backend and on a local Ray instance
    (seed 1: a seed that is not the configs' default)."""
    pytest.importorskip("ray")
    kwargs = dict(agents=["dream", "families.open_loop"], seeds=["1"], total_steps=3000)
    local = run_sweep(sweep(tmp_path / "local", **kwargs))
    ray = run_sweep(sweep(tmp_path / "ray", backend="ray", **kwargs))
    assert [r["status"] for r in local + ray] == ["done"] * 4
    assert scores(ray) == scores(local)
    assert read_run(tmp_path / "ray" / "runs" / "dream" / ENV / "seed1")["curve"]  # DREAM logs a curve


def _record(seed: int, train: float, test: float, status: str = "done", agent: str = "dream",
            checkpoint: str = "final.pt") -> dict:
    cli = f"baselines.{agent}.train"
    return {"schema_version": 1, "agent": agent, "agent_module": f"baselines.{agent}", "env_id": ENV, "seed": seed,
            "status": status, "train": {"normalised": train}, "test": {"normalised": test, "normalised_ci": [0, 1],
                                                                        "num_trials": 300},
            "env_steps": 1000 + seed, "train_wall_s": 1.0, "spec": {"training": {"cli": cli, "checkpoint": checkpoint}},
            "commands": {"train": ["py", "-m", cli, "--env", ENV, "--seed", str(seed), "--out",
                                   "x", "--no-progress", "--threads", "1"]}}


def test_the_run_to_ship_is_chosen_on_the_train_split_only():
    from evaluation.sweep import choose_run

    records = [_record(0, 0.9, 0.2), _record(1, 1.0, 0.1), _record(2, 1.0, 0.99), _record(3, 0.5, 1.0),
               _record(4, 2.0, 1.0, status="failed")]
    assert choose_run(records, "best-train")["seed"] == 1  # tie at 1.0 -> lowest seed; test scores ignored
    assert choose_run(records, "median-train")["seed"] == 0  # train 1.0, 1.0, 0.9, 0.5 -> index 2
    with pytest.raises(ValueError, match="rule must be one of"):
        choose_run(records, "best-test")
    with pytest.raises(ValueError, match="no finished run"):
        choose_run(records[4:])
    # An env without bounds (the MuJoCo tasks): the train-split mean return decides.
    raw = [{**_record(seed, 0.0, 0.0), "train": {"normalised": None, "mean_return": value, "bounds": None}}
           for seed, value in ((0, 9.5), (1, 280.0), (2, 100.0))]
    assert choose_run(raw, "best-train")["seed"] == 1 and choose_run(raw, "median-train")["seed"] == 2


@pytest.mark.parametrize(("agent", "checkpoint", "rule", "chosen"),
                         [("dream", "final.pt", "best-train", 1), ("rl2_ppo", "final.zip", "median-train", 0)])
def test_ship_copies_the_chosen_checkpoint_with_its_recipe(tmp_path, agent, checkpoint, rule, chosen):
    from evaluation.ship import ShipConfig, main, ship

    sweep_dir = tmp_path / "sweep"
    sweep_dir.mkdir()
    (sweep_dir / "sweep.json").write_text(json.dumps({"schema_version": 1, "command": "python -m evaluation.sweep"}))
    for seed, train in ((0, 0.8), (1, 0.95)):
        run_dir = sweep_dir / "runs" / agent / ENV / f"seed{seed}"
        (run_dir / "train").mkdir(parents=True)
        (run_dir / "run.json").write_text(json.dumps(_record(seed, train, 0.5, agent=agent, checkpoint=checkpoint)))
        (run_dir / "train" / checkpoint).write_bytes(f"weights of seed {seed}".encode())
        (run_dir / "train" / "result.json").write_text(json.dumps({"git_commit": "abc"}))
    main([str(sweep_dir), "--agent", agent, "--rule", rule, "--destination", str(tmp_path / "ckpt")])  # the CLI
    meta = json.loads((tmp_path / "ckpt" / f"{ENV}.json").read_text())
    assert meta == ship(ShipConfig(sweep=sweep_dir, agent=agent, rule=rule, destination=tmp_path / "ckpt"))[ENV]
    suffix = checkpoint[checkpoint.index("."):]
    assert (tmp_path / "ckpt" / f"{ENV}{suffix}").read_bytes() == f"weights of seed {chosen}".encode()
    assert meta["command"] == f"python -m baselines.{agent}.train --env {ENV} --seed {chosen} --threads 1"
    assert meta["selection"]["train_normalised_by_seed"] == {"0": 0.8, "1": 0.95}
    assert meta["selection"]["rule"] == rule and meta["git_commit"] == "abc"
    assert json.loads((tmp_path / "ckpt" / f"{ENV}.json").read_text()) == meta
    with pytest.raises(ValueError, match=r"no 'erl2' run on \['any env'\]; it has agents \['" + agent):
        ship(ShipConfig(sweep=sweep_dir, agent="erl2", destination=tmp_path / "ckpt"))
    with pytest.raises(ValueError, match=rf"no '{agent}' run on \['MetaCooking-v0'\]"):
        ship(ShipConfig(sweep=sweep_dir, agent=agent, envs=["MetaCooking-v0"], destination=tmp_path / "ckpt"))


def test_a_run_cut_by_stopping_the_sweep_is_pending_not_failed(tmp_path, monkeypatch):
    import evaluation.sweep as sweep_module

    monkeypatch.setenv("OPEN_LOOP_FAIL_SEEDS", "0")  # the training ends with an error status, as a killed one does
    monkeypatch.setattr(sweep_module, "_STOPPING", sweep_module.threading.Event())
    sweep_module._STOPPING.set()
    record = sweep_module.run_one(plan_runs(sweep(tmp_path, seeds=["0"]))[0])
    assert record["status"] == "pending" and record["error"].startswith("interrupted")
    assert read_run(plan_runs(sweep(tmp_path, seeds=["0"]))[0].directory)["status"] == "pending"


def test_a_run_on_an_env_without_bounds_is_summarised_by_its_return(tmp_path):
    """The MuJoCo tasks have no bounds: evaluation.score writes ``bounds: null`` and no
    normalised score; the sweep keeps the raw return and shows it in its tables."""
    from evaluation.sweep import _summary, score_text

    results = {"results": [{"normalised": None, "normalised_ci": None, "mean_return": -60.5,
                            "return_ci": [-77.25, -43.75], "num_trials": 6, "bounds": None}]}
    path = tmp_path / "results.json"
    path.write_text(json.dumps(results))
    summary = _summary(path)
    assert summary["bounds"] is None and summary["normalised"] is None and summary["mean_return"] == -60.5
    assert score_text(summary) == "return -60.500 [-77.250, -43.750]"
    assert score_text({"normalised": 0.25, "normalised_ci": [0.125, 0.5]}, ci=False) == "0.250"
    assert score_text(None) == "-"


def test_the_training_time_counts_parts_the_sweep_never_recorded(tmp_path):
    """A training killed with a session leaves no attempt record, but its time is in the
    trainer's own count (result.json ``wall_s``, kept across --resume)."""
    from evaluation.sweep import TRAIN_DIR, train_wall_s

    (tmp_path / TRAIN_DIR).mkdir()
    attempts = [{"wall_s": 10.0}, {"wall_s": 5.5}]
    assert train_wall_s(tmp_path, attempts) == 15.5  # no result.json (a trainer without one)
    (tmp_path / TRAIN_DIR / "result.json").write_text(json.dumps({"wall_s": 100.04}))
    assert train_wall_s(tmp_path, attempts) == 100.0  # a part killed before the recorded attempt
    (tmp_path / TRAIN_DIR / "result.json").write_text(json.dumps({"wall_s": 12.0}))
    assert train_wall_s(tmp_path, attempts) == 15.5  # the trainer's count leaves out start-up


def test_train_args_reach_the_training_cli_and_are_part_of_a_runs_identity(tmp_path):
    """``--train-args`` (a hyperparameter sweep) is appended to every run's training command,
    changes the runs' identity (a sweep saved without it keeps its own), and a bad value is
    refused: unbalanced quotes before anything runs, an unknown option by the CLI's own error."""
    from evaluation.sweep import train_command

    plain = plan_runs(sweep(tmp_path, seeds=["0"]))[0]
    tuned = plan_runs(sweep(tmp_path, seeds=["0"], train_args="--epsilon-decay-steps 100000 --lr '1e-3'"))[0]
    assert "train_args" not in plain.identity()
    assert tuned.identity()["train_args"] == ["--epsilon-decay-steps", "100000", "--lr", "1e-3"]
    assert train_command(tuned, resume=True)[-5:] == ["--epsilon-decay-steps", "100000", "--lr", "1e-3", "--resume"]
    with pytest.raises(SweepError, match=r"--train-args \"--lr '1e-3\": No closing quotation"):
        plan_runs(sweep(tmp_path, train_args="--lr '1e-3"))
    records = run_sweep(sweep(tmp_path / "bad", seeds=["0"], train_args="--nope 1"))
    assert records[0]["status"] == "failed" and "unrecognized arguments: --nope 1" in records[0]["error"]
