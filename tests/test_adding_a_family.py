"""The worked example of docs/adding-a-family.md, run: a toy family registered from a test
file (tests/families/treasure.py), made with gymnasium.make, with exact bounds it never
registered, scored by evaluation.score with baselines.random (and the oracle)."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import gymnasium as gym
import pytest

from evaluation.bounds import get_bounds
from meta_explore_envs import registry
from meta_explore_envs.registry import Family, register_family

TESTS = Path(__file__).resolve().parent


@pytest.fixture(autouse=True, scope="module")
def treasure():
    """MetaTreasure-v0 registered for this module's tests only (other modules are
    parametrised over the built-in families)."""
    import families.treasure

    register_family(families.treasure.FAMILY)  # again, after an earlier module's clean-up
    yield
    registry.unregister_family("treasure")
DOC = TESTS.parent / "docs" / "adding-a-family.md"


def test_the_doc_shows_the_file_the_test_runs():
    blocks = re.findall(r"```python\n(.*?)```", DOC.read_text(), flags=re.S)
    assert (TESTS / "families" / "treasure.py").read_text() in blocks


def test_one_registry_entry_makes_the_env():
    assert "MetaTreasure-v0" in registry.env_ids() and registry.env_family("MetaTreasure-v0") == "treasure"
    env = gym.make("MetaTreasure-v0")
    observation, info = env.reset(seed=0, options={"problem_id": 1})
    assert observation["observation"].tolist() == [2, 0] and info["problem_id"] == 1
    rewards = [env.step(action)[1] for action in (2, 2)]  # explore: right, right (no reward in IMRL)
    assert rewards == [0.0, 0.0]
    _, _, _, _, info = env.step(6)  # end the exploration episode
    assert info["episode_done"] and info["final_observation"]["observation"].tolist() == [4, 1]
    rewards = [env.step(2)[1], env.step(2)[1]]
    assert rewards == [-0.1, 1.0] and env.unwrapped.episode == 1


def test_a_tabular_family_gets_exact_bounds_without_registering_them(bounds_cache):
    bounds = get_bounds("MetaTreasure-v0", "test")
    # Known: 2 steps to the treasure (-0.1 + 1.0). Guessing: half the time 0.9, else 2 steps to
    # the wrong end and 4 back (-0.5 + 1.0). Thompson: the explorer walks to one end and sees.
    assert (bounds.optimal, bounds.no_exploration, bounds.thompson) == (0.9, 0.7, 0.9)
    assert bounds.random < bounds.no_exploration


def test_evaluation_score_scores_the_toy_family(tmp_path):
    out = tmp_path / "out"
    command = [sys.executable, "-m", "evaluation.score", "--register", "families.treasure", "--agent",
               "baselines.random", "baselines.oracle", "--env", "MetaTreasure-v0", "--trials", "20", "--seeds", "0",
               "--out", str(out), "--no-progress"]
    env = {**os.environ, "META_EXPLORE_ENVS_CACHE": str(tmp_path / "cache")}
    result = subprocess.run(command, cwd=TESTS, env=env, capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr
    scores = {r["agent"]["module"]: r for r in json.loads((out / "results.json").read_text())["results"]}
    assert scores["baselines.oracle"]["normalised"] == pytest.approx(1.0)
    assert scores["baselines.random"]["mean_return"] < 0.7
    assert scores["baselines.random"]["bounds"]["no_exploration"] == 0.7


def test_registering_a_taken_name_or_id_fails_and_changes_nothing():
    import families.treasure

    assert register_family(families.treasure.FAMILY) is None  # the same entry again: nothing
    before = registry.env_ids()
    with pytest.raises(ValueError, match="family 'treasure' is already registered"):
        register_family(Family("treasure", "x:Y", {"MetaOther-v0": {}}))
    with pytest.raises(ValueError, match="env id 'MetaMap-v0' is already registered"):
        register_family(Family("other", "x:Y", {"MetaMap-v0": {}}))
    with pytest.raises(ValueError, match="episode_env='nope' is not valid"):
        register_family(Family("other", "nope", {"MetaOther-v0": {}}))
    assert registry.env_ids() == before and "other" not in registry.FAMILIES
