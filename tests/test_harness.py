"""The scoring harness: fixed trials per seed, batched and sequential paths, privileged path,
recording, errors, the score CLI and its files."""

from __future__ import annotations

import json
import subprocess
import sys
import types

import numpy as np
import pytest

from evaluation.harness import run_trials, trial_specs
from evaluation.protocol import load_agent_module
from evaluation.score import ScoreConfig, run

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
    with pytest.raises(ValueError, match="'baselines.nope' cannot be imported"):
        load_agent_module("baselines.nope", "MetaMap-v0")
    sys.modules["fake_agent_module"] = types.ModuleType("fake_agent_module")
    with pytest.raises(ValueError, match="has no load_agent"):
        load_agent_module("fake_agent_module", "MetaMap-v0")
    with pytest.raises(TypeError, match="no reset"):
        run_trials(object(), "MetaMap-v0")
    with pytest.raises(ValueError, match="num_trials=0"):
        run_trials(EndAtOnce(), "MetaMap-v0", num_trials=0)
    with pytest.raises(ValueError, match="MetaNope-v0"):
        run_trials(EndAtOnce(), "MetaNope-v0")
    with pytest.raises(ValueError, match="split='dev'"):
        run_trials(EndAtOnce(), "MetaMap-v0", split="dev")
    with pytest.raises(ValueError, match=r"env_kwargs may not set \['split'\]"):
        run_trials(EndAtOnce(), "MetaMap-v0", env_kwargs={"split": "train"})

    class BadBatch(BatchedEndAtOnce):
        def act_batch(self, observations, new_trial):
            return np.zeros(3, int)

    with pytest.raises(ValueError, match=r"act_batch returned actions of shape \(3,\); expected \(4,\)"):
        run_trials(BadBatch(), "MetaMap-v0", num_trials=4)

    class Invalid(EndAtOnce):
        def act(self, observation):
            return 9

    with pytest.raises(ValueError, match=r"action=9 is out of range"):
        run_trials(Invalid(), "MetaMap-v0", num_trials=1)
    with pytest.raises(ValueError, match="takes no checkpoint"):
        load_agent_module("baselines.random", "MetaMap-v0", "model.pt")


def test_harness_and_baselines_import_without_torch():
    code = ("import sys; import evaluation.harness, evaluation.bounds, evaluation.score, baselines.random, "
            "baselines.oracle, baselines.no_exploration, baselines.thompson; assert 'torch' not in sys.modules")
    subprocess.run([sys.executable, "-c", code], check=True)


def test_score_cli_writes_the_report(tmp_path):
    config = ScoreConfig(agent=("baselines.random", "baselines.oracle"), env=("MetaMap-v0",), trials=4, seeds=(0, 1),
                         record=1, out_dir=tmp_path, progress=False)
    scores = run(config)
    assert [s.agent for s in scores] == ["random", "oracle"]
    oracle = scores[1]
    assert oracle.privileged and oracle.mean_return == pytest.approx(0.8) and oracle.normalised == pytest.approx(1.0)
    assert oracle.num_trials == 8 and oracle.bounds.no_exploration == pytest.approx(0.3)
    data = json.loads((tmp_path / "scores.json").read_text())
    assert len(data["runs"]) == 4 and data["scores"][1]["bounds"]["optimal"] == pytest.approx(0.8)
    markdown = (tmp_path / "scores.md").read_text()
    assert "oracle (privileged)" in markdown and "| MetaMap-v0 | random |" in markdown
    assert (tmp_path / "scores.png").stat().st_size > 0
    assert sorted(p.name for p in (tmp_path / "gifs").iterdir()) == ["oracle-MetaMap-v0-trial0.gif",
                                                                      "random-MetaMap-v0-trial0.gif"]
    with pytest.raises(ValueError, match="--trials=0"):
        run(ScoreConfig(agent=("baselines.random",), trials=0))
    with pytest.raises(ValueError, match="--agent needs"):
        run(ScoreConfig(agent=()))
    with pytest.raises(ValueError, match="--agent 'baselines.nope' is not an importable module"):
        run(ScoreConfig(agent=("baselines.nope",)))
    completed = subprocess.run([sys.executable, "-m", "evaluation.score", "--agent", "baselines.random", "--env",
                                "MetaNope-v0"], capture_output=True, text=True)
    assert completed.returncode == 2 and "MetaNope-v0" in completed.stderr and "Traceback" not in completed.stderr


def test_standard_setting_keeps_one_instruction_per_trial():
    results = run_trials(EndAtOnce(), "MetaMap-v0", num_trials=6, seed=0, num_exploit_episodes=3,
                         env_kwargs={"setting": "standard"})
    assert results.setting == "standard"
    assert all(len(set(texts)) == 1 for texts in results.instructions)
    # Standard: exploration is rewarded (ends at once: -2.0 like the exploitation episodes).
    assert results.episode_returns.tolist() == [[-2.0] * 4] * 6
