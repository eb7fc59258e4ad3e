"""MetaSign3D's privileged planner, its bounds and the oracle / no-exploration policies."""

from __future__ import annotations

import math

import gymnasium as gym
import numpy as np
import pytest

import meta_explore_envs  # noqa: F401
from meta_explore_envs.envs import sign3d_layout as layout
from meta_explore_envs.envs.sign3d import Sign3DEnv
from meta_explore_envs.planning.sign3d import (
    ALL_PROBLEMS,
    BOUNDS,
    Sign3DPlanner,
    sample_starts,
    sign_may_be_visible,
    start_values,
    word_fully_visible,
)
from meta_explore_envs.planning.sign3d_policies import Sign3DNoExplorationPolicy

#: A start from which reading the sign and fetching an object within one episode works for
#: exactly one target per instruction (No-exploration value 1/3).
START = sample_starts(6, seed=0)[5]


@pytest.fixture(scope="module")
def planner():
    return Sign3DPlanner()


@pytest.fixture(scope="module")
def graph(planner):
    return planner.full_search(START)


def test_visibility_test_never_misses_the_sign(planner):
    world = planner.world
    rng = np.random.default_rng(1)
    checked = informative = 0
    while checked < 150:
        x, z, h = rng.uniform(0.4, 9.6), rng.uniform(0.4, 12.6), rng.uniform(-math.pi, math.pi)
        if world.blocked(x, z):
            continue
        checked += 1
        views = [world.observe(p, x, z, h) for p in sorted(ALL_PROBLEMS)]
        differ = not (np.array_equal(views[0], views[1]) and np.array_equal(views[0], views[2]))
        informative += differ
        if not sign_may_be_visible(x, z, h, world.wall_segs):
            assert not differ, (x, z, h)
        if word_fully_visible(x, z, h, world.wall_segs):
            assert differ and len({v.tobytes() for v in views}) == 3, (x, z, h)
    assert informative > 5


def test_the_sign_cannot_be_seen_from_the_top_room(planner):
    for x in np.linspace(0.4, 9.6, 24):
        for z in np.linspace(0.4, 6.1, 12):
            for h in np.linspace(-math.pi, math.pi, 16, endpoint=False):
                assert not sign_may_be_visible(x, z, h, planner.walls), (x, z, h)


def test_search_paths_replay_in_the_env(planner, graph):
    assert all(t <= layout.MAX_STEPS for t in graph.touch_time)  # Optimal = 1 from here
    env = Sign3DEnv()
    for obj in range(len(layout.OBJECTS)):
        path = planner.shortest_path_to_object(graph, obj)
        assert len(path) == graph.touch_time[obj]
        env.reset(seed=0, options={"problem_id": layout.OBJECTS[obj].colour, "instruction": layout.OBJECTS[obj].shape})
        env.state = (*START, 0, 0)
        rewards = [env.step(action)[1] for action in path]
        assert rewards == [0.0] * (len(path) - 1) + [1.0] and env.touched == obj
        # time_to_touch agrees with the search from the start
        assert graph.time_to_touch[obj][0] == graph.touch_time[obj]


def test_bound_values_from_one_start(planner, graph):
    values = start_values(planner, START)
    assert values["optimal"] == 1.0
    assert values["no_exploration"] == pytest.approx(1 / 3)
    assert values["thompson"] == pytest.approx(1 / 3)  # the shortest paths never see the sign
    assert -0.1 < values["random"] < 0.0  # five wrong objects for one right one


@pytest.mark.parametrize("with_end", [True, False])
def test_random_value_matches_simulation(planner, graph, with_end):
    """Uniform over the 4 actions (``end episode`` = 3 stops the walk) or the 3 moves."""
    exact = planner.random_value(graph, 1, 0, with_end=with_end)
    env = Sign3DEnv()
    env.reset(seed=0, options={"problem_id": 1, "instruction": 0})
    rng = np.random.default_rng(0)
    returns = []
    for _ in range(4000 if with_end else 2000):  # (3-move walks last longer)
        env.state = (*START, 0, 0)
        total, over = 0, False
        while not over:
            reward, over, _ = env.transition(int(rng.integers(4 if with_end else 3)))
            total += reward
        returns.append(total / 100)
    stderr = np.std(returns) / math.sqrt(len(returns))
    assert abs(np.mean(returns) - exact) < 4 * stderr + 1e-3


@pytest.mark.slow
def test_no_exploration_policy_earns_the_planned_value(planner, graph):
    env = gym.make("MetaSign3D-v0")
    trial = env.unwrapped
    policy = Sign3DNoExplorationPolicy(trial)
    policy.planner = planner  # reuse the search from START
    returns = []
    for problem in sorted(ALL_PROBLEMS):
        for instruction in (0, 1):
            env.reset(seed=problem, options={"problem_id": problem, "instructions": [instruction]})
            policy.reset()
            _, _, _, _, info = env.step(policy.act())
            assert info["episode_done"] and info["episode_length"] == 1  # no exploration
            trial.episode_env.state = (*START, 0, 0)
            done = False
            while not done:
                _, _, done, _, info = env.step(policy.act())
            returns.append(info["episode_return"])
    value = np.mean([planner.no_exploration_value(graph, i) for i in (0, 1)])
    assert np.mean(returns) == pytest.approx(value) and sorted(returns) == [0.0] * 4 + [1.0] * 2


def test_policies_refuse_other_envs_and_settings():
    with pytest.raises(TypeError, match="plays MetaSign3D trials"):
        Sign3DNoExplorationPolicy(gym.make("MetaMap-v0").unwrapped)
    with pytest.raises(ValueError, match="needs setting='imrl'"):
        Sign3DNoExplorationPolicy(gym.make("MetaSign3D-v0", setting="standard").unwrapped)


def test_stored_bounds_are_consistent():
    assert BOUNDS["optimal"].mean == 1.0 and BOUNDS["optimal"].stderr == 0.0
    assert 0.0 < BOUNDS["no_exploration"].mean < 0.5
    assert BOUNDS["thompson"].mean == pytest.approx(BOUNDS["no_exploration"].mean, abs=0.05)
    assert -0.1 < BOUNDS["random"].mean < 0.0
    assert all(b.n >= 100 for b in BOUNDS.values())


# ---------------------------------------------------------------------------- harness hooks
def test_harness_bounds_are_the_stored_ones(bounds_cache):
    from evaluation.bounds import get_bounds, normalised_score

    bounds = get_bounds("MetaSign3D-v0", "test")
    assert (bounds.optimal, bounds.no_exploration, bounds.thompson, bounds.random) == tuple(
        BOUNDS[name].mean for name in ("optimal", "no_exploration", "thompson", "random"))
    assert "privileged planner" in bounds.method
    assert normalised_score(1.0, bounds) == 1.0 and normalised_score(BOUNDS["no_exploration"].mean, bounds) == 0.0
    assert get_bounds("MetaSign3D-v0", "train").optimal == 1.0


def test_expert_action_only_reads_the_env_and_reaches_the_target():
    from baselines.sign3d import expert_action

    env = Sign3DEnv()
    env.reset(seed=0, options={"problem_id": 2, "instruction": 0})  # the green box at (9, 5)
    env.state = (*START, 0, 0)
    rewards = []
    while True:
        state = env.state
        action = expert_action(env, 2)
        assert env.state == state
        _, reward, terminated, truncated, _ = env.step(action)
        rewards.append(reward)
        if terminated or truncated:
            break
    assert rewards[-1] == 1.0 and len(rewards) == Sign3DPlanner().search(START).touch_time[2]


@pytest.mark.slow
def test_oracle_through_the_harness_reads_the_sign_and_scores_one(bounds_cache):
    from baselines.oracle import load_agent
    from evaluation.harness import run_trials

    agent = load_agent("MetaSign3D-v0")
    results = run_trials(agent, "MetaSign3D-v0", num_trials=2, seed=0, record=1)
    assert results.privileged and results.exploit_returns.tolist() == [1.0, 1.0]
    assert (results.episode_lengths[:, 0] > 5).all()  # it walked to the sign before ending exploration
    # It ends exploration where the whole word is in view and the problems look different.
    env = gym.make("MetaSign3D-v0", split="test")
    env.reset(seed=3)
    trial, planner = env.unwrapped, Sign3DPlanner()
    while True:
        action = agent.act_privileged({}, env)
        if action == layout.END_EPISODE:
            break
        env.step(action)
    ep = trial.episode_env
    assert trial.episode == 0 and ep.steps_taken > 5 and word_fully_visible(*ep.position, ep.heading, planner.walls)
    assert len({planner.world.observe(p, *ep.position, ep.heading).tobytes() for p in sorted(ALL_PROBLEMS)}) == 3
    exploration = results.frames[0][0]
    assert len(exploration) == results.episode_lengths[0, 0] + 1 and exploration[0].shape[1] >= 640


@pytest.mark.slow
def test_thompson_and_no_exploration_agents_play_through_the_harness():
    from baselines.no_exploration import load_agent as no_exploration
    from baselines.thompson import load_agent as thompson
    from evaluation.harness import run_trials

    for load in (no_exploration, thompson):
        agent = load("MetaSign3D-v0", split="test", setting="imrl", seed=0)
        results = run_trials(agent, "MetaSign3D-v0", num_trials=2, seed=1)
        assert results.privileged and set(results.exploit_returns.tolist()) <= {0.0, 1.0}  # never guesses
    # Thompson's exploration walks to an object (touch ends it) without seeing the sign.
    assert (results.episode_lengths[:, 0] < 20).all()
    assert agent._policy.explored == ALL_PROBLEMS
