"""The reference baselines play the bounds: Monte Carlo returns agree with the exact values."""

from __future__ import annotations

import math

import numpy as np
import pytest

from baselines.common import hooks
from baselines.common.hooks import FamilyBaselines, register_family_baselines
from evaluation.bounds import get_bounds
from evaluation.harness import run_trials
from evaluation.protocol import load_agent_module
from meta_explore_envs.registry import family_class


def monte_carlo(module: str, env_id: str, trials: int, seed: int = 0):
    agent = load_agent_module(module, env_id, split="test", setting="imrl", num_exploit_episodes=1, seed=seed)
    returns = run_trials(agent, env_id, num_trials=trials, seed=seed).exploit_returns
    return returns.mean(), returns.std(ddof=1) / math.sqrt(trials)


def test_oracle_plays_the_optimal_bound():
    agent = load_agent_module("baselines.oracle", "MetaMap-v0", seed=0)
    results = run_trials(agent, "MetaMap-v0", num_trials=40, seed=0)
    assert results.privileged
    assert results.exploit_returns.tolist() == [pytest.approx(0.8)] * 40  # every trial: 3 steps
    assert results.episode_lengths[:, 0].tolist() == [1] * 40  # ends exploration at once
    mean, se = monte_carlo("baselines.oracle", "MetaCooking-v0", 400)
    assert abs(mean - get_bounds("MetaCooking-v0").optimal) < 4 * se


@pytest.mark.parametrize("module, bound", [("baselines.random", "random"),
                                           ("baselines.no_exploration", "no_exploration"),
                                           ("baselines.thompson", "thompson")])
def test_baselines_agree_with_their_bound_on_map(module, bound):
    mean, se = monte_carlo(module, "MetaMap-v0", 600)
    assert abs(mean - getattr(get_bounds("MetaMap-v0"), bound)) < 4 * se


def test_no_exploration_and_thompson_agree_with_their_bounds_on_the_held_out_kitchen():
    # One test problem, a prior over all 64 kitchens, ties broken uniformly at random; the
    # Thompson explorer meets states its sampled kitchen cannot reach (unknown ingredients).
    mean, se = monte_carlo("baselines.no_exploration", "MetaCooking-v0", 600, seed=1)
    assert abs(mean - get_bounds("MetaCooking-v0").no_exploration) < 4 * se
    mean, se = monte_carlo("baselines.thompson", "MetaCooking-v0", 300, seed=2)
    assert abs(mean - get_bounds("MetaCooking-v0").thompson) < 4 * se


def test_random_agent_is_seeded():
    a = load_agent_module("baselines.random", "MetaMap-v0", seed=5)
    b = load_agent_module("baselines.random", "MetaMap-v0", seed=5)
    assert [a.act({}) for _ in range(20)] == [b.act({}) for _ in range(20)]
    assert a.act_batch({}, np.ones(7, bool)).shape == (7,)


def test_exact_baselines_reject_the_standard_setting():
    with pytest.raises(ValueError, match="setting='standard' is not supported"):
        load_agent_module("baselines.no_exploration", "MetaMap-v0", setting="standard")


def test_family_hooks(monkeypatch):
    monkeypatch.setattr(hooks, "FAMILY_BASELINES", dict(hooks.FAMILY_BASELINES))
    # A family that is not tabular and registers no hooks has no baselines.
    monkeypatch.setattr(family_class("cooking"), "tabular", False)
    with pytest.raises(ValueError, match="family 'cooking' has no 'expert_action' baseline"):
        hooks.family_hook("cooking", "expert_action")
    register_family_baselines("map", FamilyBaselines(expert_action="test_baselines:always_noop"))
    agent = load_agent_module("baselines.oracle", "MetaMap-v0")
    results = run_trials(agent, "MetaMap-v0", num_trials=2, seed=0)
    assert results.episode_lengths[:, 1].tolist() == [20, 20]  # noop until the step limit
    with pytest.raises(ValueError, match="family 'map' has no 'no_exploration' baseline"):
        load_agent_module("baselines.no_exploration", "MetaMap-v0")
    with pytest.raises(ValueError, match="family='nope'"):
        register_family_baselines("nope", FamilyBaselines(expert_action="x:y"))


def always_noop(episode_env, problem_id, rng) -> int:
    return 4


def test_exact_agents_start_in_a_fresh_process():
    # Nothing tabulated yet when the first observation arrives (no bounds computed before).
    import subprocess
    import sys

    code = ("from evaluation.protocol import load_agent_module; from evaluation.harness import run_trials\n"
            "for module in ('baselines.no_exploration', 'baselines.thompson'):\n"
            "    agent = load_agent_module(module, 'MetaMap-v0', split='test', seed=0)\n"
            "    assert run_trials(agent, 'MetaMap-v0', num_trials=3, seed=0).exploit_returns.shape == (3,)\n")
    subprocess.run([sys.executable, "-c", code], check=True)
