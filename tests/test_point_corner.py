"""MetaPointCorner-v0: dynamics and the exact reward of scripted paths, the trial API with Box
actions, errors, determinism, rendering, bounds and the reference agents in the harness.

(Gymnasium's and SB3's env checkers run on it in tests/test_api.py, over the registry.)"""

from __future__ import annotations

import math

import gymnasium as gym
import numpy as np
import pytest

import meta_explore_envs
from evaluation.harness import run_trials
from meta_explore_envs.envs.point_corner import CORNERS, MAX_STEPS
from meta_explore_envs.planning.point_corner import STEP_PROGRESS, estimate_bounds

ENV_ID = "MetaPointCorner-v0"
TOP_RIGHT, TOP_LEFT = 3, 2
C = 0.2 * math.sqrt(2)  # a full diagonal step


def trial_at(start, problem_id=TOP_RIGHT, seed=0, **kwargs):
    """A trial of ``problem_id`` whose exploration episode starts at ``start`` (set through the
    episode env's ``state``: the start is otherwise uniform in [-0.2, 0.2]^2)."""
    env = gym.make(ENV_ID, **kwargs)
    env.reset(seed=seed, options={"problem_id": problem_id})
    env.unwrapped.episode_env.state = (*start, 0)
    return env


def play(env, actions):
    rewards, infos = [], []
    for action in actions:
        _, reward, _, _, info = env.step(np.asarray(action, dtype=np.float32))
        rewards.append(reward)
        infos.append(info)
    return rewards, infos


def test_registered_with_the_standard_setting_and_box_spaces():
    env = gym.make(ENV_ID)
    trial = env.unwrapped
    assert trial.setting == "standard" and trial.exploration_rewards and trial.max_trial_steps == 200
    assert env.action_space == gym.spaces.Box(-0.2, 0.2, (2,), np.float32)
    space = env.observation_space
    assert space["observation"] == gym.spaces.Box(-20.2, 20.2, (2,), np.float32)
    assert space["prev_action"] == gym.spaces.Box(-0.2, 0.2, (2,), np.float32)
    assert space["prev_reward"] == gym.spaces.Box(-np.inf, np.inf, (1,), np.float32)
    obs, info = env.reset(seed=0)
    assert np.all(np.abs(obs["observation"]) <= 0.2) and obs["instruction"] == 1  # never observed
    np.testing.assert_array_equal(obs["prev_action"], np.zeros(2, np.float32))
    assert info["instruction_text"] == "go to the goal corner"  # does not name the corner


def test_imrl_is_refused_with_the_reason():
    with pytest.raises(ValueError, match=r"setting='imrl' is not supported by point_corner: .*no instruction.*"
                                         r"unrewarded exploration episode carries no information"):
        gym.make(ENV_ID, setting="imrl")


def test_straight_to_the_goal_pays_the_distance_left_after_the_zone():
    env = trial_at((0.0, 0.0))
    rewards, infos = play(env, [(0.2, 0.2)] * 10 + [(0.0, 0.0)] * 90)
    assert rewards[0] == 0.0  # (0.2, 0.2): L1 0.4, inside the zone
    assert rewards[1] == pytest.approx(C)  # from (0.2, 0.2) to (0.4, 0.4), straight at (2, 2)
    assert sum(rewards) == pytest.approx(1.8 * math.sqrt(2))  # |(0.2, 0.2) - (2, 2)|
    assert rewards[10:] == [0.0] * 90  # standing on the goal
    assert infos[-1]["episode_done"] and infos[-1]["episode_return"] == pytest.approx(1.8 * math.sqrt(2))
    assert infos[-1]["episode_success"] and infos[-1]["episode_length"] == MAX_STEPS


def test_a_wrong_quadrant_pays_nothing_and_the_zone_pays_nothing():
    env = trial_at((0.0, 0.0))
    assert play(env, [(-0.2, 0.2)] * 20)[0] == [0.0] * 20  # towards (-2, 2): the goal is (2, 2)
    env = trial_at((0.0, 0.0))
    assert play(env, [(0.1, 0.1), (0.1, 0.1), (-0.05, 0.0)])[0] == [0.0] * 3  # L1 < 0.5 throughout


def test_moving_away_inside_the_quadrant_costs_and_axes_count_for_both_corners():
    env = trial_at((1.0, 1.0))
    assert play(env, [(-0.2, -0.2)])[0] == [pytest.approx(-C)]
    for problem in (TOP_RIGHT, TOP_LEFT):  # (0, 1) is on the axis between both corners
        env = trial_at((0.2, 1.0), problem_id=problem)
        expected = math.dist((0.2, 1.0), CORNERS[problem]) - math.dist((0.0, 1.0), CORNERS[problem])
        assert play(env, [(-0.2, 0.0)])[0] == [pytest.approx(expected)]


def test_stepping_out_of_the_zone_and_back_pays_every_other_step():
    """ProMP's sparse reward pays each step out of the zone again (documented in the family)."""
    env = trial_at((0.1, 0.1))
    rewards, _ = play(env, [(0.2, 0.2), (-0.2, -0.2)] * 5)
    assert rewards[0::2] == [pytest.approx(C)] * 5 and rewards[1::2] == [0.0] * 5


def test_large_actions_are_clipped_and_prev_action_shows_the_applied_action():
    env = trial_at((0.0, 0.0))
    obs, *_ = env.step(np.array([5.0, -3.0], np.float32))
    np.testing.assert_allclose(obs["observation"], (0.2, -0.2))
    np.testing.assert_array_equal(obs["prev_action"], np.array([0.2, -0.2], np.float32))
    obs, *_ = env.step([0, 1])  # integers are numbers too
    np.testing.assert_allclose(obs["observation"], (0.2, 0.0), atol=1e-7)


@pytest.mark.parametrize("action, error, message", [
    (np.zeros(3), ValueError, r"has shape \(3,\): expected a finite \(dx, dy\) of shape \(2,\), each clipped to "
                              r"\[-0.2, 0.2\]"),
    (np.zeros((2, 1)), ValueError, r"has shape \(2, 1\)"),
    (0.1, ValueError, r"action=0.1 has shape \(\)"),
    (np.array([np.nan, 0.0]), ValueError, r"is not finite"),
    ([np.inf, 0.0], ValueError, r"is not finite"),
    ("up", TypeError, r"action='up' has dtype <U2, not a real number"),
    ([True, False], TypeError, r"dtype bool"),
    (np.array([1j, 0]), TypeError, r"dtype complex128"),
    (None, TypeError, r"dtype object"),
    ([[0.1], 0.2], TypeError, r"is not an array"),
])
def test_bad_actions_raise_and_leave_the_env_usable(action, error, message):
    env = trial_at((0.05, -0.1))
    before = env.unwrapped.episode_env.state
    with pytest.raises(error, match=message):
        env.step(action)
    assert env.unwrapped.episode_env.state == before
    env.step(np.array([0.1, 0.1], np.float32))
    assert env.unwrapped.episode_env.state[2] == 1


def test_bad_reset_options_raise_and_leave_the_env_usable():
    env = gym.make(ENV_ID)
    env.reset(seed=0, options={"problem_id": 1})
    with pytest.raises(ValueError, match=r"problem_id=4 is out of range: expected an integer in \[0, 4\)"):
        env.reset(options={"problem_id": 4})
    with pytest.raises(ValueError, match=r"instruction=1 is out of range.*0: go to the goal corner"):
        env.reset(options={"instructions": [1]})
    assert env.unwrapped.problem_id == 1
    env.step(np.zeros(2, np.float32))


def test_both_splits_hold_the_four_corners():
    for split in ("train", "test"):
        assert gym.make(ENV_ID, split=split).unwrapped.episode_env.problem_ids == (0, 1, 2, 3)


def random_trace(seed, steps=200):
    env = gym.make(ENV_ID)
    obs, _ = env.reset(seed=seed)
    actions = np.random.default_rng(1).uniform(-0.3, 0.3, (steps, 2)).astype(np.float32)
    trace = [obs["observation"], env.unwrapped.problem_id]
    for action in actions:
        obs, reward, terminated, _, _ = env.step(action)
        trace += [obs["observation"], reward]
    assert terminated
    return trace


def test_same_seed_same_trial_other_seed_other_trial():
    a, b, c = random_trace(7), random_trace(7), random_trace(8)
    assert all(np.array_equal(x, y) for x, y in zip(a, b, strict=True))
    assert not np.array_equal(a[0], c[0])


def test_episodes_are_100_steps_and_the_trial_two_episodes():
    env = gym.make(ENV_ID, num_exploit_episodes=2)
    obs, _ = env.reset(seed=3)
    ends = []
    for t in range(300):
        obs, _, terminated, truncated, info = env.step(np.array([0.2, 0.0], np.float32))
        assert not truncated
        if info["episode_done"]:
            ends.append(t + 1)
        if info["episode_done"] and not terminated:
            np.testing.assert_array_equal(obs["prev_action"], np.zeros(2, np.float32))  # a new episode's start
            assert obs["prev_reward"][0] == 0
    assert ends == [100, 200, 300] and terminated and obs["episode"] == 2


def test_vector_env_plays_the_single_env_trials():
    envs = gym.make_vec(ENV_ID, num_envs=2)
    obs, _ = envs.reset(seed=10)
    for i in range(2):
        single, _ = gym.make(ENV_ID).reset(seed=10 + i)
        np.testing.assert_array_equal(obs["observation"][i], single["observation"])
    envs.step(np.full((2, 2), 0.2, np.float32))
    envs.close()


def test_rgb_array_shows_the_corners_the_goal_and_the_path():
    env = gym.make(ENV_ID, render_mode="rgb_array")
    env.reset(seed=0, options={"problem_id": 0})
    first = env.render()
    assert first.dtype == np.uint8 and first.ndim == 3 and first.shape[0] >= 400
    from meta_explore_envs.rendering import COLOURS

    assert (first == COLOURS["goal"]).all(axis=-1).sum() > 100  # the goal corner, filled
    for _ in range(5):
        env.step(np.array([-0.2, -0.2], np.float32))
    assert not np.array_equal(first, env.render())


def test_the_expert_from_the_diagonal_cycles_then_walks():
    """From (0.1, 0.1) towards (2, 2): 45 cycles out of the zone and back (c each), then a
    10-step walk worth |(0.1, 0.1) - (2, 2)| = 1.9 sqrt 2: 10.9 sqrt 2 in all."""
    from baselines.oracle import OracleAgent

    env = trial_at((0.1, 0.1))
    oracle, trial, total = OracleAgent(ENV_ID), env.unwrapped, 0.0
    for _ in range(MAX_STEPS):
        _, reward, *_ = env.step(oracle.act_privileged({}, env))
        total += reward
    assert total == pytest.approx(10.9 * math.sqrt(2)) and trial.episode == 1


@pytest.mark.usefixtures("bounds_cache")
def test_bounds_and_their_errors():
    from evaluation.bounds import get_bounds

    bounds = get_bounds(ENV_ID, "test")  # the shipped table's (checked against the code by test_bounds.py)
    assert "Monte Carlo over 2048 uniform starts" in bounds.method and "standard errors" in bounds.method
    upper = MAX_STEPS / 2 * STEP_PROGRESS + math.sqrt(8) / 2  # 50 c + |s0 - g| / 2 at s0 = 0
    assert bounds.random < bounds.no_exploration < bounds.thompson < bounds.optimal < upper + 0.01
    # An independent sample of 128 starts agrees within 4 standard errors of the difference
    # (the shipped values' own error is sqrt(128 / 2048) = 1/4 of this sample's).
    small = estimate_bounds(num_starts=128, seed=1)
    for name in ("optimal", "no_exploration", "thompson", "random"):
        mean, se = small[name]
        assert abs(mean - getattr(bounds, name)) <= 4 * se * math.sqrt(1 + 1 / 16), name


@pytest.mark.parametrize("module, bound", [("baselines.no_exploration", "no_exploration"),
                                           ("baselines.thompson", "thompson"), ("baselines.random", "random"),
                                           ("baselines.oracle", "optimal")])
@pytest.mark.usefixtures("bounds_cache")
def test_reference_agents_play_their_bounds(module, bound):
    """The agents see observations only (float32 positions and rewards) and play the policies
    that define the bounds: their mean return is the bound within 4 standard errors."""
    import importlib

    from evaluation.bounds import get_bounds

    agent = importlib.import_module(module).load_agent(ENV_ID, seed=0)
    results = run_trials(agent, ENV_ID, num_trials=60, seed=2)
    assert results.setting == "standard"
    returns = results.exploit_returns
    se = returns.std(ddof=1) / math.sqrt(len(returns))
    assert abs(returns.mean() - getattr(get_bounds(ENV_ID), bound)) <= 4 * se + 0.01


@pytest.mark.usefixtures("bounds_cache")
def test_score_cli_scores_it(tmp_path):
    from evaluation.score import main

    main(["--agent", "baselines.random", "baselines.oracle", "--env", ENV_ID, "--trials", "4", "--seeds", "0",
          "--out", str(tmp_path), "--record", "1"])
    import json

    document = json.loads((tmp_path / "results.json").read_text())
    assert {entry["env_kwargs"]["setting"] for entry in document["results"]} == {"standard"}
    assert list((tmp_path / "gifs").glob("*.gif"))


def test_the_family_is_in_the_registry():
    assert meta_explore_envs.env_family(ENV_ID) == "point_corner"
