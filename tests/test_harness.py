"""The scoring harness: fixed trials per seed, batched and sequential paths, privileged path,
recording, errors, the score CLI and its files."""

from __future__ import annotations

import hashlib
import json
import os
import re
import subprocess
import sys
import types
from pathlib import Path

import imageio.v3 as iio
import numpy as np
import pytest
from PIL import Image

import baselines.random
from evaluation.bounds import Bounds
from evaluation.harness import TrialResults, run_trials, trial_specs
from evaluation.protocol import AgentError, load_agent_module
from evaluation.report import BOOTSTRAP_RESAMPLES, RESULTS_SCHEMA, bootstrap_means, percentile_ci, score
from evaluation.score import ScoreConfig, run
from evaluation.score import main as score_main

END_EPISODE = 6  # grid action


class EndAtOnce:
    """Always ``end episode``: IMRL exploration pays 0; an exploitation episode ended on its
    first step pays -0.1 - 0.1 x 19 = -2.0."""

    name = "end_at_once"

    def __init__(self):
        self.resets = 0
        self.seen_keys: set[str] = set()

    def reset(self) -> None:
        self.resets += 1

    def act(self, observation):
        self.seen_keys |= set(observation)
        return END_EPISODE


class BatchedEndAtOnce(EndAtOnce):
    def __init__(self):
        super().__init__()
        self.new_trials = 0

    def act_batch(self, observations, new_trial):
        self.seen_keys |= set(observations)
        self.new_trials += int(new_trial.sum())
        return np.full(len(new_trial), END_EPISODE)


class WalkUp:
    """Deterministic, history-dependent: ``up`` on even steps of a trial, ``noop`` otherwise."""

    name = "walk_up"

    def __init__(self):
        self.t = 0

    def reset(self):
        self.t = 0

    def act(self, observation):
        self.t += 1
        return 1 if self.t % 2 else 4


class BatchedWalkUp(WalkUp):
    def act_batch(self, observations, new_trial):
        if not hasattr(self, "slots"):
            self.slots = np.zeros(len(new_trial), int)
        self.slots[new_trial] = 0
        self.slots += 1
        return np.where(self.slots % 2 == 1, 1, 4)


def test_same_seed_same_trials_for_every_agent():
    a = run_trials(EndAtOnce(), "MetaDistractingBus-v0", num_trials=30, seed=3)
    b = run_trials(WalkUp(), "MetaDistractingBus-v0", num_trials=30, seed=3)
    c = run_trials(EndAtOnce(), "MetaDistractingBus-v0", num_trials=30, seed=4)
    assert a.problem_ids.tolist() == b.problem_ids.tolist() and a.instructions == b.instructions
    assert a.problem_ids.tolist() != c.problem_ids.tolist()
    assert set(a.problem_ids.tolist()) <= {p for p in range(576) if p % 11}  # the test split
    assert trial_specs("MetaCooking-v0", "test", 5, seed=0) == trial_specs("MetaCooking-v0", "test", 5, seed=0)
    assert {s.problem_id for s in trial_specs("MetaCooking-v0", "test", 20, seed=1)} == {10}


def test_returns_are_exact_and_agents_see_observations_only():
    agent = EndAtOnce()
    results = run_trials(agent, "MetaMap-v0", num_trials=7, seed=0, num_exploit_episodes=2)
    assert results.episode_returns.shape == (7, 3)
    assert results.episode_returns[:, 0].tolist() == [0.0] * 7  # reward-free exploration
    assert results.episode_returns[:, 1:].tolist() == [[-2.0, -2.0]] * 7
    assert results.exploit_returns.tolist() == [-2.0] * 7 and results.exploit_returns.shape == (7,)
    assert results.episode_lengths.tolist() == [[1, 1, 1]] * 7 and results.steps == 21
    assert agent.resets == 7
    assert agent.seen_keys == {"observation", "instruction", "episode", "prev_action", "prev_reward"}
    assert not results.privileged


def test_batched_and_sequential_agents_get_the_same_results():
    sequential = run_trials(WalkUp(), "MetaCooking-v0", num_trials=9, seed=2)
    batched = run_trials(BatchedWalkUp(), "MetaCooking-v0", num_trials=9, seed=2, num_envs=4)
    np.testing.assert_array_equal(sequential.episode_returns, batched.episode_returns)
    np.testing.assert_array_equal(sequential.episode_lengths, batched.episode_lengths)
    agent = BatchedEndAtOnce()
    results = run_trials(agent, "MetaMap-v0", num_trials=10, seed=0, num_envs=4)
    assert agent.new_trials == 10 and results.exploit_returns.tolist() == [-2.0] * 10


class PeekingOracle:
    """Privileged: reads the problem from the live env; counts what it was given."""

    privileged = True
    name = "peeking"

    def __init__(self):
        self.problems = []

    def reset(self):
        pass

    def act_privileged(self, observation, env):
        self.problems.append(env.problem_id)
        return END_EPISODE


def test_privileged_agents_get_the_env_and_are_marked():
    agent = PeekingOracle()
    results = run_trials(agent, "MetaMap-v0", num_trials=5, seed=1)
    assert results.privileged
    assert agent.problems[::2] == results.problem_ids.tolist()  # two steps per trial


def test_recording_keeps_each_episodes_last_frame():
    results = run_trials(load_agent_module("baselines.oracle", "MetaDistractingBus-v0"), "MetaDistractingBus-v0",
                         num_trials=3, seed=0, record=2)
    assert len(results.frames) == 2
    exploration, exploitation = results.frames[0]
    assert len(exploration) == 2  # start, then the state after "end episode"
    assert len(exploitation) == 4  # start + 3 steps: move, ride, step onto the goal
    assert exploitation[0].shape == exploitation[-1].shape and exploitation[0].dtype == np.uint8
    assert not np.array_equal(exploitation[-1], exploitation[-2])  # the goal step is drawn


def test_bad_input_is_named():
    with pytest.raises(AgentError, match="'baselines.nope' cannot be imported: no module named 'baselines.nope'"):
        load_agent_module("baselines.nope", "MetaMap-v0")
    with pytest.raises(AgentError, match="'agents/my_agent.py': no such file .*put its folder on PYTHONPATH and "
                                         "pass the module name"):
        load_agent_module("agents/my_agent.py", "MetaMap-v0")
    assert load_agent_module(str(Path(baselines.random.__file__)), "MetaMap-v0").name == "random"  # a file path
    sys.modules["fake_agent_module"] = types.ModuleType("fake_agent_module")
    with pytest.raises(AgentError, match="'fake_agent_module' has no load_agent"):
        load_agent_module("fake_agent_module", "MetaMap-v0")
    with pytest.raises(TypeError, match="no reset"):  # AgentError is a TypeError and a ValueError
        run_trials(object(), "MetaMap-v0")
    with pytest.raises(ValueError, match="num_trials=0"):
        run_trials(EndAtOnce(), "MetaMap-v0", num_trials=0)
    with pytest.raises(ValueError, match="MetaNope-v0"):
        run_trials(EndAtOnce(), "MetaNope-v0")
    with pytest.raises(ValueError, match="split='dev'"):
        run_trials(EndAtOnce(), "MetaMap-v0", split="dev")
    with pytest.raises(ValueError, match=r"env_kwargs may not set \['split'\]"):
        run_trials(EndAtOnce(), "MetaMap-v0", env_kwargs={"split": "train"})
    with pytest.raises(AgentError, match=r"agent module 'baselines.random': load_agent\('MetaMap-v0', "
                                         r"checkpoint='model.pt'\) raised ValueError: .*takes no checkpoint"):
        load_agent_module("baselines.random", "MetaMap-v0", "model.pt")


class Invalid(EndAtOnce):
    """Ends the exploration episode, then returns 9 (MetaMap has 9 actions: 0-8) on the 3rd step of trial 2."""

    def __init__(self):
        super().__init__()
        self.t = 0

    def reset(self):
        super().reset()
        self.t = 0

    def act(self, observation):
        self.t += 1
        return 9 if self.resets == 3 and self.t == 4 else (END_EPISODE if self.t == 1 else 4)


def test_invalid_actions_and_agent_exceptions_are_named():
    with pytest.raises(AgentError, match=r"^agent module 'my.agent' returned an invalid action \(MetaMap-v0, seed 5, "
                                         r"trial 2, episode 1 \(exploitation\), step 2\): action=9 is out of range: "
                                         r"expected an integer in \[0, 9\) \(0 left"):
        run_trials(Invalid(), "MetaMap-v0", num_trials=4, seed=5, agent_module="my.agent")
    with pytest.raises(AgentError, match=r"^agent 'end_at_once' \(test_harness.Invalid\) returned an invalid action"):
        run_trials(Invalid(), "MetaMap-v0", num_trials=4)  # without a module: the agent's name and class

    class FloatAction(EndAtOnce):
        def act(self, observation):
            return 1.0

    with pytest.raises(AgentError, match=r"trial 0, episode 0 \(exploration\), step 0\): action must be an integer "
                                         r"in \[0, 9\).*got 1.0 of type float"):
        run_trials(FloatAction(), "MetaMap-v0", num_trials=1, agent_module="m")

    class BadBatch(BatchedEndAtOnce):
        def act_batch(self, observations, new_trial):
            return np.where(new_trial, END_EPISODE, -1)

    with pytest.raises(AgentError, match=r"'m' returned an invalid action \(MetaMap-v0, seed 0, trial 0, episode 1 "
                                         r"\(exploitation\), step 0\): action=-1 is out of range"):
        run_trials(BadBatch(), "MetaMap-v0", num_trials=4, agent_module="m")

    class WrongShape(BatchedEndAtOnce):
        def act_batch(self, observations, new_trial):
            return np.zeros(3, int)

    with pytest.raises(AgentError, match=r"'m': act_batch returned actions of shape \(3,\); expected \(4,\)"):
        run_trials(WrongShape(), "MetaMap-v0", num_trials=4, agent_module="m")

    class Raises(EndAtOnce):
        def act(self, observation):
            raise KeyError("hidden_state")

    with pytest.raises(AgentError, match=r"^agent module 'm': act\(\) raised KeyError: 'hidden_state' \(MetaMap-v0, "
                                         r"seed 0, trial 0, episode 0 \(exploration\), step 0\)") as caught:
        run_trials(Raises(), "MetaMap-v0", num_trials=2, agent_module="m")
    assert isinstance(caught.value.__cause__, KeyError)  # the agent's own traceback stays reachable

    class RaisesBatched(BatchedEndAtOnce):
        def act_batch(self, observations, new_trial):
            raise RuntimeError("out of memory")

    with pytest.raises(AgentError, match=r"'m': act_batch\(\) raised RuntimeError: out of memory \(MetaMap-v0, seed 0, "
                                         r"trials 0-3\)"):
        run_trials(RaisesBatched(), "MetaMap-v0", num_trials=4, agent_module="m")

    class RaisesPrivileged(PeekingOracle):
        def act_privileged(self, observation, env):
            raise ValueError("lost")

    with pytest.raises(AgentError, match=r"'m': act_privileged\(\) raised ValueError: lost"):
        run_trials(RaisesPrivileged(), "MetaMap-v0", num_trials=1, agent_module="m")

    class ResetRaises(EndAtOnce):
        def reset(self):
            raise OSError("disk")

    with pytest.raises(AgentError, match=r"'m': reset\(\) raised OSError: disk \(MetaMap-v0, seed 0, before trial 0\)"):
        run_trials(ResetRaises(), "MetaMap-v0", num_trials=1, agent_module="m")


BAD_AGENTS = {
    "no_load": "x = 1\n",
    "load_raises": ("def load_agent(env_id, checkpoint=None, **kwargs):\n"
                    "    raise FileNotFoundError(f'no checkpoint for {env_id}')\n"),
    "not_an_agent": "def load_agent(env_id, checkpoint=None, **kwargs):\n    return 42\n",
    "invalid_action": ("class A:\n    def reset(self):\n        pass\n"
                       "    def act(self, observation):\n        return 99\n"
                       "def load_agent(env_id, checkpoint=None, **kwargs):\n    return A()\n"),
    "act_raises": ("class A:\n    def reset(self):\n        pass\n    def act(self, observation):\n"
                   "        raise ZeroDivisionError('division by zero')\n"
                   "def load_agent(env_id, checkpoint=None, **kwargs):\n    return A()\n"),
    "import_fails": "import torch_but_not_installed\n",
}


@pytest.fixture
def bad_agents(tmp_path, monkeypatch):
    folder = tmp_path / "agents"
    folder.mkdir()
    for name, code in BAD_AGENTS.items():
        (folder / f"bad_{name}.py").write_text(code)
    monkeypatch.syspath_prepend(str(folder))
    return folder


@pytest.mark.parametrize("name, message", [
    ("no_load", "agent module 'bad_no_load' has no load_agent(env_id, checkpoint=None, **kwargs) function"),
    ("load_raises", "agent module 'bad_load_raises': load_agent('MetaMap-v0', checkpoint=None) raised "
                    "FileNotFoundError: no checkpoint for MetaMap-v0"),
    ("not_an_agent", "the agent of 'bad_not_an_agent' (int) has no reset() method"),
    ("invalid_action", "agent module 'bad_invalid_action' returned an invalid action (MetaMap-v0, seed 0, trial 0, "
                       "episode 0 (exploration), step 0): action=99 is out of range: expected an integer in [0, 9)"),
    ("act_raises", "agent module 'bad_act_raises': act() raised ZeroDivisionError: division by zero (MetaMap-v0, "
                   "seed 0, trial 0, episode 0 (exploration), step 0)"),
    ("import_fails", "agent module 'bad_import_fails' cannot be imported: it needs the missing module "
                     "'torch_but_not_installed'"),
    ("nope", "agent module 'bad_nope' cannot be imported: no module named 'bad_nope'"),
])
def test_cli_names_the_agent_module_and_the_problem(bad_agents, tmp_path, capsys, name, message):
    with pytest.raises(SystemExit) as exit_:
        score_main(["--agent", f"bad_{name}", "--env", "MetaMap-v0", "--trials", "2", "--seeds", "0",
                    "--out", str(tmp_path / "out"), "--no-progress"])
    assert exit_.value.code == 2
    err = " ".join(capsys.readouterr().err.split())  # rich may wrap long lines
    assert err.startswith("error: ") and message in err and "Traceback" not in err
    assert not (tmp_path / "out" / "results.json").exists()


def test_cli_error_in_a_fresh_process(bad_agents, tmp_path):
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(bad_agents), os.getcwd()])}
    completed = subprocess.run([sys.executable, "-m", "evaluation.score", "--agent", "bad_invalid_action", "--env",
                                "MetaMap-v0", "--trials", "2", "--out", str(tmp_path / "out")],
                               capture_output=True, text=True, env=env)
    assert completed.returncode == 2, completed.stderr
    assert "Traceback" not in completed.stderr
    assert "'bad_invalid_action' returned an invalid action" in " ".join(completed.stderr.split())
    completed = subprocess.run([sys.executable, "-m", "evaluation.score", "--agent", "baselines.random", "--env",
                                "MetaNope-v0"], capture_output=True, text=True)
    assert completed.returncode == 2 and "MetaNope-v0" in completed.stderr and "Traceback" not in completed.stderr


def test_harness_and_baselines_import_without_torch():
    code = ("import sys; import evaluation.harness, evaluation.bounds, evaluation.score, baselines.random, "
            "baselines.oracle, baselines.no_exploration, baselines.thompson; import evaluation.report as r; "
            "v = r.versions(); assert 'torch' not in sys.modules; print(v)")
    completed = subprocess.run([sys.executable, "-c", code], check=True, capture_output=True, text=True)
    assert "'numpy': '" in completed.stdout


SCHEMA_KEYWORDS = {"$schema", "title", "type", "properties", "required", "additionalProperties", "items", "minItems",
                   "maxItems", "enum", "const", "minimum", "maximum", "pattern"}
JSON_TYPES = {"object": dict, "array": list, "string": str, "boolean": bool, "null": type(None),
              "integer": int, "number": (int, float)}


def schema_errors(value, schema, where="$"):
    """The JSON Schema keywords of ``SCHEMA_KEYWORDS`` (all that RESULTS_SCHEMA uses), checked."""
    assert set(schema) <= SCHEMA_KEYWORDS, f"validator does not know {set(schema) - SCHEMA_KEYWORDS} at {where}"
    if "type" in schema:
        types_ = [schema["type"]] if isinstance(schema["type"], str) else schema["type"]
        if not any(isinstance(value, JSON_TYPES[t]) and not (isinstance(value, bool) and t in ("integer", "number"))
                   for t in types_):
            return [f"{where}: {value!r:.60} is not of type {types_}"]
    errors = []
    if "const" in schema and value != schema["const"]:
        errors.append(f"{where}: {value!r} != {schema['const']!r}")
    if "enum" in schema and value not in schema["enum"]:
        errors.append(f"{where}: {value!r} not in {schema['enum']}")
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        if "minimum" in schema and value < schema["minimum"] or "maximum" in schema and value > schema["maximum"]:
            errors.append(f"{where}: {value} out of [{schema.get('minimum')}, {schema.get('maximum')}]")
    if isinstance(value, str) and "pattern" in schema and not re.search(schema["pattern"], value):
        errors.append(f"{where}: {value!r} does not match {schema['pattern']}")
    if isinstance(value, dict):
        errors += [f"{where}: missing {key!r}" for key in schema.get("required", ()) if key not in value]
        properties = schema.get("properties", {})
        extra = schema.get("additionalProperties", True)
        if extra is False:
            errors += [f"{where}: undocumented {key!r}" for key in value if key not in properties]
        elif isinstance(extra, dict):
            for key in value:
                if key not in properties:
                    errors += schema_errors(value[key], extra, f"{where}.{key}")
        for key, sub in properties.items():
            if key in value:
                errors += schema_errors(value[key], sub, f"{where}.{key}")
    if isinstance(value, list):
        if len(value) < schema.get("minItems", 0) or len(value) > schema.get("maxItems", len(value)):
            errors.append(f"{where}: {len(value)} items")
        if "items" in schema:
            for i, item in enumerate(value):
                errors += schema_errors(item, schema["items"], f"{where}[{i}]")
    return errors


def test_score_cli_writes_the_report(tmp_path, monkeypatch):
    checkpoint = tmp_path / "model.bin"
    checkpoint.write_bytes(b"weights")
    (tmp_path / "ckpt_agent.py").write_text(
        "from baselines.random import RandomAgent\n"
        "def load_agent(env_id, checkpoint=None, seed=0, **kwargs):\n"
        "    assert kwargs == {'split': 'test', 'setting': 'imrl', 'num_exploit_episodes': 1}, kwargs\n"
        "    agent = RandomAgent(9, seed)\n"
        "    agent.checkpoint_path = checkpoint or f'{__file__}'  # a default of its own when none is given\n"
        "    return agent\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    out = tmp_path / "out"
    scores = run(ScoreConfig(agent=("baselines.random", "baselines.oracle"), env=("MetaMap-v0",), trials=4,
                             seeds=(0, 1), record=1, out_dir=out, progress=False))
    assert [s.agent for s in scores] == ["random", "oracle"]
    oracle = scores[1]
    assert oracle.privileged and oracle.mean_return == 0.8 and oracle.normalised == 1.0
    assert oracle.return_ci == (0.8, 0.8) and oracle.normalised_ci == (1.0, 1.0)  # constant returns: exact
    assert oracle.num_trials == 8 and oracle.bounds.no_exploration == pytest.approx(0.3)
    data = json.loads((out / "results.json").read_text())
    assert schema_errors(data, RESULTS_SCHEMA) == []
    assert sorted(p.name for p in out.iterdir()) == ["gifs", "results.json", "results.md", "results.png"]  # no temps
    assert data["command"] == ("python -m evaluation.score --agent baselines.random baselines.oracle --env MetaMap-v0 "
                               f"--split test --trials 4 --seeds 0 1 --num-exploit-episodes 1 --out {out} --record 1")
    assert data["versions"]["numpy"] == np.__version__ and data["settings"]["seeds"] == [0, 1]
    random_, oracle_ = data["results"]
    assert random_["env_kwargs"] == {"episode_env": "map", "split": "test", "num_exploit_episodes": 1,
                                     "setting": "imrl"}
    assert random_["agent"] == {"module": "baselines.random", "name": "random", "privileged": False, "checkpoints": []}
    assert oracle_["agent"]["privileged"] and oracle_["bounds"]["optimal"] == 0.8
    assert oracle_["return_ci"] == [0.8, 0.8] and oracle_["normalised_ci"] == [1.0, 1.0]
    assert [r["seed"] for r in random_["runs"]] == [0, 1] and len(random_["runs"][1]["exploit_returns"]) == 4
    assert random_["mean_return"] == pytest.approx(np.mean([r["exploit_returns"] for r in random_["runs"]]))
    assert random_["return_ci"][0] <= random_["mean_return"] <= random_["return_ci"][1]
    markdown = (out / "results.md").read_text()
    assert "oracle (privileged)" in markdown and "| MetaMap-v0 | random | " in markdown
    assert "| +0.800 [+0.800, +0.800] |" in markdown and "percentile bootstrap" in markdown
    png = iio.imread(out / "results.png")
    assert png.ndim == 3 and png.shape[1] > png.shape[0] > 300
    assert sorted(p.name for p in (out / "gifs").iterdir()) == ["baselines.oracle-MetaMap-v0-seed0-trial0.gif",
                                                                "baselines.random-MetaMap-v0-seed0-trial0.gif"]
    gif_path = out / "gifs" / "baselines.oracle-MetaMap-v0-seed0-trial0.gif"
    gif = iio.imread(gif_path)
    # Exploration (ended at once: 2 frames) and exploitation (start + 3 steps) side by side; the
    # last frame is held (the GIF writer merges the repeated frames into one longer frame).
    assert gif.ndim == 4 and gif.shape[0] == 4 and gif.shape[2] > 1.5 * gif.shape[1]
    with Image.open(gif_path) as image:
        durations = [image.seek(i) or image.info["duration"] for i in range(image.n_frames)]
    assert durations[-1] > 4 * durations[0]
    half = gif.shape[2] // 2
    changed = (gif[1].astype(int) != gif[3]).any(axis=-1).mean(axis=0)  # share of changed pixels per column
    assert changed[:half].mean() < 0.001 < 0.005 < changed[half:].mean()  # exploration held, exploitation moves

    # Checkpoints: --checkpoint is hashed; an agent's own checkpoint_path is recorded otherwise.
    run(ScoreConfig(agent=("ckpt_agent",), env=("MetaMap-v0",), trials=2, seeds=(0, 1), out_dir=out,
                    checkpoint=str(checkpoint), progress=False))
    data = json.loads((out / "results.json").read_text())
    assert schema_errors(data, RESULTS_SCHEMA) == [] and data["settings"]["checkpoint"] == str(checkpoint)
    assert data["results"][0]["agent"]["checkpoints"] == [
        {"path": str(checkpoint), "sha256": hashlib.sha256(b"weights").hexdigest(), "seeds": [0, 1]}]
    assert [r["checkpoint"] for r in data["results"][0]["runs"]] == [str(checkpoint)] * 2
    score_main(["--agent", "ckpt_agent", "--env", "MetaMap-v0", "--trials", "2", "--seeds", "3", "--out-dir", str(out),
                "--no-progress"])
    data = json.loads((out / "results.json").read_text())
    (entry,) = data["results"][0]["agent"]["checkpoints"]
    assert entry["path"] == str(tmp_path / "ckpt_agent.py") and entry["seeds"] == [3]
    assert entry["sha256"] == hashlib.sha256((tmp_path / "ckpt_agent.py").read_bytes()).hexdigest()
    assert data["command"] == ("python -m evaluation.score --agent ckpt_agent --env MetaMap-v0 --trials 2 --seeds 3 "
                               f"--out-dir {out} --no-progress")

    # The validator sees breakage; a failed write leaves the previous file whole.
    broken = json.loads((out / "results.json").read_text())
    broken["results"][0]["return_ci"] = [0.0, 1.0, 2.0]
    del broken["versions"]["numpy"]
    broken["results"][0]["agent"]["extra"] = 1
    assert len(schema_errors(broken, RESULTS_SCHEMA)) == 3
    before = (out / "results.json").read_text()
    monkeypatch.setattr("evaluation.score.results_document", lambda *args, **kwargs: {"bad": object()})
    with pytest.raises(TypeError, match="not JSON serializable"):
        run(ScoreConfig(agent=("baselines.random",), env=("MetaMap-v0",), trials=2, out_dir=out, progress=False))
    assert (out / "results.json").read_text() == before
    assert sorted(p.name for p in out.iterdir()) == ["gifs", "results.json", "results.md", "results.png"]

    with pytest.raises(ValueError, match="--trials=0"):
        run(ScoreConfig(agent=("baselines.random",), trials=0))
    with pytest.raises(ValueError, match="--agent needs"):
        run(ScoreConfig(agent=()))
    with pytest.raises(AgentError, match="'baselines.nope' cannot be imported"):
        run(ScoreConfig(agent=("baselines.nope",)))


def test_bootstrap_ci_is_a_deterministic_stratified_percentile_bootstrap():
    rng = np.random.default_rng(1)
    groups = [rng.normal(0.3, 1.0, 100) for _ in range(3)]
    means = bootstrap_means(groups)
    assert means.shape == (BOOTSTRAP_RESAMPLES,) and np.array_equal(means, bootstrap_means(groups))
    low, high = percentile_ci(means)
    assert (low, high) == tuple(np.quantile(means, [0.025, 0.975]))
    values = np.concatenate(groups)
    half = 1.959964 * values.std() / np.sqrt(len(values))  # the normal approximation, for comparison
    assert low < values.mean() < high and (high - low) / 2 == pytest.approx(half, rel=0.06)
    # Seeds are strata: two constant seeds give a zero-width CI (pooled resampling would not).
    assert percentile_ci(bootstrap_means([np.zeros(50), np.ones(50)])) == (0.5, 0.5)
    assert percentile_ci(bootstrap_means([np.full(100, 0.8)] * 3)) == (0.8, 0.8)  # exact, not 0.7999999999999999
    with pytest.raises(ValueError, match="non-empty"):
        bootstrap_means([np.zeros(3), np.zeros(0)])

    def results(seed, returns):
        returns = np.asarray(returns, float)
        n = len(returns)
        return TrialResults("MetaMap-v0", "test", "imrl", 1, seed, "a", False, {}, np.zeros(n, int), [[]] * n,
                            np.stack([np.zeros(n), returns], 1), np.ones((n, 2), int), np.zeros((n, 2), bool),
                            returns, 0.0, n)

    bounds = Bounds("MetaMap-v0", "test", 1, optimal=0.8, no_exploration=0.3, thompson=0.5, random=-2.0, method="")
    s = score([results(0, groups[0]), results(1, groups[1]), results(2, groups[2])], bounds)
    assert s.return_ci == (low, high) and s.mean_return == pytest.approx(values.mean())
    assert s.normalised_ci == pytest.approx(((low - 0.3) / 0.5, (high - 0.3) / 0.5))
    one = score([results(0, [0.8]), results(1, [0.3, 0.4])], bounds)  # a seed with one trial: no CI
    assert one.return_ci is None and one.normalised_ci is None and one.normalised == pytest.approx(0.5 / 0.5 * 0.4)


def test_standard_setting_keeps_one_instruction_per_trial():
    results = run_trials(EndAtOnce(), "MetaMap-v0", num_trials=6, seed=0, num_exploit_episodes=3,
                         env_kwargs={"setting": "standard"})
    assert results.setting == "standard"
    assert all(len(set(texts)) == 1 for texts in results.instructions)
    # Standard: exploration is rewarded (ends at once: -2.0 like the exploitation episodes).
    assert results.episode_returns.tolist() == [[-2.0] * 4] * 6


def test_env_trials_give_some_envs_their_own_number_of_trials(tmp_path):
    """``--env-trials ENV N``: N trials per seed on ENV, ``--trials`` on the others; recorded
    in results.json's settings and command; a bad count or an env not scored is named."""
    out = tmp_path / "out"
    score_main(["--agent", "baselines.random", "--env", "MetaMap-v0", "MetaDistractingBus-v0", "--trials", "4",
                "--env-trials", "MetaMap-v0", "2", "--seeds", "0", "1", "--out", str(out), "--no-progress"])
    document = json.loads((out / "results.json").read_text())
    assert schema_errors(document, RESULTS_SCHEMA) == []
    assert {r["env_id"]: r["trials_per_seed"] for r in document["results"]} == {
        "MetaMap-v0": [2, 2], "MetaDistractingBus-v0": [4, 4]}
    assert document["settings"]["env_trials"] == {"MetaMap-v0": 2}
    document["settings"]["env_trials"]["MetaMap-v0"] = 0
    assert schema_errors(document, RESULTS_SCHEMA) == ["$.settings.env_trials.MetaMap-v0: 0 out of [1, None]"]
    assert "--env-trials MetaMap-v0 2" in document["command"]
    assert "4 trials (MetaMap-v0: 2) x seeds [0, 1]" in (out / "results.md").read_text()
    with pytest.raises(ValueError, match="--env-trials MetaMap-v0=0 is not valid: expected an int >= 1"):
        run(ScoreConfig(agent=("baselines.random",), env=("MetaMap-v0",), env_trials={"MetaMap-v0": 0}))
    with pytest.raises(ValueError, match="--env-trials MetaCooking-v0: not among the envs scored .MetaMap-v0."):
        run(ScoreConfig(agent=("baselines.random",), env=("MetaMap-v0",), env_trials={"MetaCooking-v0": 2}))


def test_env_ids_of_a_module_choose_the_default_envs(tmp_path, monkeypatch):
    """An agent module's optional ``ENV_IDS`` is what the score CLI plays without ``--env``;
    an explicit ``--env`` is always tried; an agent with no ``ENV_IDS`` plays every env."""
    import meta_explore_envs
    from evaluation.score import check_config

    folder = tmp_path / "agents"
    folder.mkdir()
    (folder / "map_only_agent.py").write_text("ENV_IDS = ('MetaMap-v0',)\nfrom baselines.random import load_agent\n")
    monkeypatch.syspath_prepend(str(folder))
    assert check_config(ScoreConfig(agent=("map_only_agent",))) == ["MetaMap-v0"]
    assert check_config(ScoreConfig(agent=("map_only_agent",), env=("MetaCooking-v0",))) == ["MetaCooking-v0"]
    both = check_config(ScoreConfig(agent=("map_only_agent", "baselines.random")))
    assert both == meta_explore_envs.env_ids()
    scores = run(ScoreConfig(agent=("map_only_agent",), trials=2, seeds=(0,), out_dir=tmp_path / "out",
                             progress=False))
    assert [s.env_id for s in scores] == ["MetaMap-v0"]
