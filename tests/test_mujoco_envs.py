"""The MuJoCo meta-RL tasks (MetaHalfCheetahVel-v0, ...): spaces and settings, the exact reward of
each task against its formula (Gymnasium's own terms), the fixed task sets and their splits,
RandParams' model parameters, episode ends inside a trial, determinism, errors, rendering, a
missing mujoco, and scoring without bounds.

(Gymnasium's and SB3's env checkers run on every id in tests/test_api.py, over the registry.)"""

from __future__ import annotations

import json
import math
import subprocess
import sys

import gymnasium as gym
import numpy as np
import pytest

pytest.importorskip("mujoco", reason="the MuJoCo tasks need the [mujoco] extra")

from meta_explore_envs.envs.mujoco_tasks import (  # noqa: E402
    DIRECTIONS,
    HORIZON,
    SCALE_BASES,
    HalfCheetahVelEnv,
    HopperRandParamsEnv,
    Walker2DRandParamsEnv,
)

IDS = {  # id -> (robot, action dimension, observation dimension)
    "MetaHalfCheetahVel-v0": ("HalfCheetah-v5", 6, 17),
    "MetaHalfCheetahFwdBwd-v0": ("HalfCheetah-v5", 6, 17),
    "MetaAntFwdBwd-v0": ("Ant-v5", 8, 105),
    "MetaWalker2DFwdBwd-v0": ("Walker2d-v5", 6, 17),
    "MetaWalker2DRandParams-v0": ("Walker2d-v5", 6, 17),
    "MetaHopperRandParams-v0": ("Hopper-v5", 3, 11),
}
FWD_BWD = ["MetaHalfCheetahFwdBwd-v0", "MetaAntFwdBwd-v0", "MetaWalker2DFwdBwd-v0"]
RAND_PARAMS = {"MetaWalker2DRandParams-v0": Walker2DRandParamsEnv, "MetaHopperRandParams-v0": HopperRandParamsEnv}


def trial(env_id, problem_id=None, seed=0, **kwargs):
    env = gym.make(env_id, **kwargs)
    env.reset(seed=seed, options=None if problem_id is None else {"problem_id": problem_id})
    return env


def step_from(env, state, action):
    """Put the episode env in ``state``, step ``action``; return (reward, forward velocity, the robot)."""
    episode_env = env.unwrapped.episode_env
    episode_env.state = state
    _, reward, *_ = env.step(action)
    return reward, episode_env.forward_velocity, episode_env.sim


@pytest.mark.parametrize("env_id", IDS)
def test_registered_standard_only_with_the_robots_spaces(env_id):
    robot, n_actions, n_observations = IDS[env_id]
    env = gym.make(env_id)
    trial_env = env.unwrapped
    assert trial_env.setting == "standard" and trial_env.exploration_rewards
    assert trial_env.max_trial_steps == 2 * HORIZON == 400
    assert env.action_space == gym.spaces.Box(-1.0, 1.0, (n_actions,), np.float32)
    assert env.observation_space["observation"] == gym.spaces.Box(-np.inf, np.inf, (n_observations,), np.float64)
    assert env.observation_space["prev_action"] == env.action_space
    assert trial_env.episode_env.sim.spec.id == robot
    obs, info = env.reset(seed=0)
    assert obs["instruction"] == 1 and obs["observation"].shape == (n_observations,)  # the task is never observed
    assert info["instruction_text"] in ("run at the target velocity", "run in the task's direction", "run forward")
    with pytest.raises(ValueError, match=r"setting='imrl' is not supported by .*use setting='standard'"):
        gym.make(env_id, setting="imrl")


def test_imrl_refusals_say_why():
    with pytest.raises(ValueError, match=r"shows only in the rewards, and IMRL's exploration episode is unrewarded"):
        gym.make("MetaHalfCheetahVel-v0", setting="imrl")
    with pytest.raises(ValueError, match=r"only the dynamics differ, so there is no instruction for IMRL to give"):
        gym.make("MetaHopperRandParams-v0", setting="imrl")


def test_velocity_target_sets_the_reward_exactly():
    """-|v - target| - 0.05 |a|^2 with v = (x after - x before) / dt, the same start for two targets."""
    env = trial("MetaHalfCheetahVel-v0", problem_id=0)
    episode_env = env.unwrapped.episode_env
    nq = episode_env.sim.model.nq
    start = list(episode_env.state)
    start[nq] = 1.5  # qvel[0]: the torso moving forward at 1.5
    action = np.array([0.5, -0.5, 0.25, 1.0, -1.0, 0.0], np.float32)
    x0 = start[0]
    reward, velocity, sim = step_from(env, start, action)
    assert velocity == pytest.approx((sim.data.qpos[0] - x0) / sim.dt, abs=1e-12) and velocity > 0.5
    target = HalfCheetahVelEnv.target_velocity(0)
    ctrl = 0.05 * float(np.sum(np.square(action.astype(np.float64))))
    assert reward == pytest.approx(-abs(velocity - target) - ctrl, abs=1e-12)
    env2 = trial("MetaHalfCheetahVel-v0", problem_id=5)
    reward2, velocity2, _ = step_from(env2, start, action)
    assert velocity2 == velocity  # the task changes the reward, not the dynamics
    target2 = HalfCheetahVelEnv.target_velocity(5)
    assert reward2 - reward == pytest.approx(abs(velocity - target) - abs(velocity - target2), abs=1e-12)


@pytest.mark.parametrize("env_id", FWD_BWD)
def test_direction_flips_the_forward_term_and_keeps_gymnasiums_other_terms(env_id):
    action = np.linspace(-0.8, 0.8, IDS[env_id][1]).astype(np.float32)
    rewards, velocities = [], []
    for problem in (0, 1):
        env = trial(env_id, problem_id=problem)
        start = trial(env_id, problem_id=0, seed=3).unwrapped.episode_env.state  # one start for both
        reward, velocity, sim = step_from(env, start, action)
        # The robot's own Gymnasium terms at this step (control cost on the action as given, Ant's
        # contact cost, the healthy bonus of Ant and Walker2d).
        others = (-sim.control_cost(action.astype(np.float64)) - getattr(sim, "contact_cost", 0.0)
                  + getattr(sim, "healthy_reward", 0.0))
        assert reward == pytest.approx(DIRECTIONS[problem] * velocity + others, abs=1e-12)
        rewards.append(reward)
        velocities.append(velocity)
    assert velocities[0] == velocities[1] != 0
    assert rewards[0] - rewards[1] == pytest.approx(2 * velocities[0], abs=1e-12)
    assert gym.make(env_id).unwrapped.episode_env.problem_ids == (0, 1)
    assert gym.make(env_id, split="test").unwrapped.episode_env.problem_ids == (0, 1)


def test_control_costs_and_time_steps_follow_promp():
    """HalfCheetah pays 0.05 |a|^2 (ProMP's; Gymnasium's default is 0.1), Ant 0.5, Walker2d and Hopper
    0.001; Walker2D-Fwd-Bwd steps 0.016 s (ProMP's frame skip 8), Walker2D-Rand-Params 0.01 (5)."""
    weights = {env_id: gym.make(env_id).unwrapped.episode_env.sim.control_cost(np.ones(1)) for env_id in IDS}
    assert weights == {"MetaHalfCheetahVel-v0": 0.05, "MetaHalfCheetahFwdBwd-v0": 0.05, "MetaAntFwdBwd-v0": 0.5,
                       "MetaWalker2DFwdBwd-v0": 1e-3, "MetaWalker2DRandParams-v0": 1e-3,
                       "MetaHopperRandParams-v0": 1e-3}
    dts = {env_id: gym.make(env_id).unwrapped.episode_env.sim.dt for env_id in IDS}
    assert dts == pytest.approx({"MetaHalfCheetahVel-v0": 0.05, "MetaHalfCheetahFwdBwd-v0": 0.05,
                                 "MetaAntFwdBwd-v0": 0.05, "MetaWalker2DFwdBwd-v0": 0.016,
                                 "MetaWalker2DRandParams-v0": 0.01, "MetaHopperRandParams-v0": 0.008})


def expected_factors(seed, problem_id, shapes):
    """The documented draw: one generator per problem, default_rng((seed, problem_id)); each entry
    of body_mass, body_inertia, dof_damping, geom_friction (in that order) scaled by base ** U(-3, 3)."""
    rng = np.random.default_rng((seed, problem_id))
    return {name: SCALE_BASES[name] ** rng.uniform(-3.0, 3.0, shapes[name]) for name in SCALE_BASES}


@pytest.mark.parametrize("env_id", RAND_PARAMS)
def test_rand_params_scale_the_model_by_the_problems_factors_and_nothing_carries_over(env_id):
    cls = RAND_PARAMS[env_id]
    assert SCALE_BASES == {"body_mass": 1.5, "body_inertia": 1.5, "dof_damping": 1.3, "geom_friction": 1.5}
    robot = gym.make(IDS[env_id][0]).unwrapped  # Gymnasium's own model: the defaults
    defaults = {name: getattr(robot.model, name).copy() for name in SCALE_BASES}
    env = gym.make(env_id)
    model = env.unwrapped.episode_env.sim.model
    for problem in (3, 7, 3, 0):  # two problems in a row each get their own parameters
        env.reset(seed=1, options={"problem_id": problem})
        factors = expected_factors(cls.task_seed, problem, {name: value.shape for name, value in defaults.items()})
        for name, default in defaults.items():
            np.testing.assert_array_equal(getattr(model, name), default * factors[name], err_msg=name)
            assert np.all(factors[name] >= SCALE_BASES[name] ** -3) and np.all(factors[name] <= SCALE_BASES[name] ** 3)
    env.reset(options={"problem_id": 7})
    assert not np.array_equal(model.body_mass, env.unwrapped.episode_env.scale_factors(3)["body_mass"] *
                              defaults["body_mass"])


def test_rand_params_change_the_dynamics_and_the_reward_is_gymnasiums():
    start_env = trial("MetaHopperRandParams-v0", problem_id=0)
    start = start_env.unwrapped.episode_env.state
    action = np.array([1.0, -1.0, 0.5], np.float32)
    velocities = []
    for problem in (0, 1):
        env = trial("MetaHopperRandParams-v0", problem_id=problem)
        reward, velocity, sim = step_from(env, start, action)
        expected = velocity + sim.healthy_reward - sim.control_cost(action.astype(float))  # Gymnasium's reward
        assert reward == pytest.approx(expected, abs=1e-12)
        velocities.append(velocity)
    assert velocities[0] != velocities[1]


def test_task_sets_are_fixed_and_the_splits_disjoint():
    env = HalfCheetahVelEnv()
    assert env.split_problem_ids("train") == list(range(40)) and env.split_problem_ids("test") == list(range(40, 50))
    train = {HalfCheetahVelEnv.target_velocity(p) for p in range(40)}
    test = {HalfCheetahVelEnv.target_velocity(p) for p in range(40, 50)}
    assert len(train) == 40 and len(test) == 10 and not train & test
    assert all(0.0 <= v <= 3.0 for v in train | test)
    assert round(HalfCheetahVelEnv.target_velocity(0), 6) == 1.927285  # pinned: the task set never moves
    assert round(HalfCheetahVelEnv.target_velocity(40), 6) == 0.458693
    hopper = HopperRandParamsEnv(split="test")
    assert hopper.problem_ids == tuple(range(40, 50))
    assert round(float(hopper.scale_factors(0)["body_mass"][1]), 6) == 0.75785
    with pytest.raises(ValueError, match=r"problem_id=3 is not in the 'test' split of hopper_rand_params: valid "
                                         r"IDs are 10 IDs of \[0, 50\) \(train 0-39, test 40-49\)"):
        gym.make("MetaHopperRandParams-v0", split="test").reset(options={"problem_id": 3})
    with pytest.raises(ValueError, match=r"problem_id=2 is out of range: expected an integer in \[0, 2\)"):
        gym.make("MetaAntFwdBwd-v0").reset(options={"problem_id": 2})
    # The user's seed picks a problem of the split; it never changes the task set.
    seeded = trial("MetaHalfCheetahVel-v0", seed=123).unwrapped
    assert seeded.episode_env.target == HalfCheetahVelEnv.target_velocity(seeded.problem_id)


def trace(env_id, seed, steps=40):
    env = gym.make(env_id)
    obs, _ = env.reset(seed=seed)
    actions = np.random.default_rng(1).uniform(-1, 1, (steps, env.action_space.shape[0])).astype(np.float32)
    out = [env.unwrapped.problem_id, obs["observation"]]
    for action in actions:
        obs, reward, terminated, _, _ = env.step(action)
        out += [obs["observation"], reward]
        if terminated:  # both episodes fell
            break
    return out


@pytest.mark.parametrize("env_id", IDS)
def test_same_seed_same_trial(env_id):
    a, b, c = trace(env_id, 7), trace(env_id, 7), trace(env_id, 8)
    assert all(np.array_equal(x, y) for x, y in zip(a, b, strict=True))
    assert not np.array_equal(a[1], c[1])  # the robot's reset noise comes from the trial's seed


def test_a_fall_ends_the_episode_and_the_trial_goes_on():
    env = trial("MetaWalker2DFwdBwd-v0", problem_id=0)
    episode_env = env.unwrapped.episode_env
    state = list(episode_env.state)
    state[1] = 0.5  # rootz: the walker's torso below the healthy range (0.8, 2)
    episode_env.state = state
    obs, reward, terminated, truncated, info = env.step(np.zeros(6, np.float32))
    assert info["episode_done"] and info["episode_length"] == 1 and not terminated and not truncated
    assert obs["episode"] == 1 and obs["prev_reward"][0] == 0  # the exploitation episode starts afresh
    assert env.unwrapped.episode_env.steps_taken == 0 and env.unwrapped.episode_env.state[1] > 1.2
    # Single-episode use: a fall is a termination, the step limit a truncation.
    single = Walker2DRandParamsEnv()
    single.reset(seed=0)
    single.state = state
    assert single.step(np.zeros(6))[2:4] == (True, False)
    cheetah = HalfCheetahVelEnv()
    cheetah.reset(seed=0)
    for t in range(HORIZON):
        _, _, terminated, truncated, _ = cheetah.step(np.zeros(6))
        assert (terminated, truncated) == (False, t == HORIZON - 1)


def test_episodes_are_200_steps_and_rewards_pay_in_exploration_too():
    env = trial("MetaHalfCheetahFwdBwd-v0", problem_id=1)
    ends, returns = [], []
    for t in range(2 * HORIZON):
        obs, reward, terminated, _, info = env.step(np.full(6, 0.3, np.float32))
        if info["episode_done"]:
            ends.append(t + 1)
            returns.append(info["episode_return"])
    assert ends == [200, 400] and terminated and all(r != 0 for r in returns)


@pytest.mark.parametrize("action, error, message", [
    (np.zeros(5), ValueError, r"has shape \(5,\): expected a finite action of shape \(6,\) \(MuJoCo clamps each "
                              r"control to \[-1, 1\]\)"),
    (np.zeros((6, 1)), ValueError, r"has shape \(6, 1\)"),
    (0.5, ValueError, r"action=0.5 has shape \(\)"),
    (np.array([np.nan, 0, 0, 0, 0, 0]), ValueError, r"is not finite"),
    ([np.inf] * 6, ValueError, r"is not finite"),
    ("run", TypeError, r"action='run' has dtype <U3, not a real number"),
    ([True] * 6, TypeError, r"dtype bool"),
    (None, TypeError, r"dtype object"),
    ([[0.1], 0.2, 0, 0, 0, 0], TypeError, r"is not an array"),
])
def test_bad_actions_raise_naming_the_value_before_any_change(action, error, message):
    env = trial("MetaHalfCheetahVel-v0", problem_id=2)
    before = env.unwrapped.episode_env.state
    with pytest.raises(error, match=message):
        env.step(action)
    assert env.unwrapped.episode_env.state == before
    obs, *_ = env.step([2, -3, 0, 0, 1, 0])  # integers are numbers; out-of-range controls are clamped by MuJoCo
    np.testing.assert_array_equal(obs["prev_action"], np.array([1, -1, 0, 0, 1, 0], np.float32))


def test_envs_refuse_to_be_pickled_and_the_vector_env_steps():
    import pickle

    env = trial("MetaHopperRandParams-v0")
    with pytest.raises(TypeError, match="holds a live MuJoCo simulation and cannot be pickled or copied"):
        pickle.dumps(env.unwrapped.episode_env)
    envs = gym.make_vec("MetaHopperRandParams-v0", num_envs=2)
    obs, _ = envs.reset(seed=4)
    for i in range(2):
        single, _ = gym.make("MetaHopperRandParams-v0").reset(seed=4 + i)
        np.testing.assert_array_equal(obs["observation"][i], single["observation"])
    envs.step(np.zeros((2, 3), np.float32))
    envs.close()


def test_rgb_array_frames_show_the_robot_under_the_panel():
    env = trial("MetaHalfCheetahVel-v0", problem_id=0, render_mode="rgb_array")
    try:
        frame = env.render()
    except Exception as error:  # noqa: BLE001  (no OpenGL: MUJOCO_GL=egl needs libEGL and a device)
        pytest.skip(f"MuJoCo cannot draw offscreen here ({type(error).__name__}: {error})")
    assert frame.dtype == np.uint8 and frame.shape[1] == 480 and frame.shape[0] > 360
    image = frame[-360:]
    assert image.std() > 10  # the floor and the robot, not a blank image
    for _ in range(5):
        env.step(np.ones(6, np.float32))
    assert not np.array_equal(frame, env.render())
    env.close()


MISSING_MUJOCO = """
import sys
sys.modules["mujoco"] = None  # what an install without the [mujoco] extra looks like
import gymnasium as gym
import meta_explore_envs
from meta_explore_envs import family_class

assert family_class("half_cheetah_vel").default_setting == "standard"  # the class needs no mujoco
try:
    gym.make("MetaHalfCheetahVel-v0")
except gym.error.DependencyNotInstalled as error:
    print(error)
"""


def test_a_missing_mujoco_names_the_extra():
    result = subprocess.run([sys.executable, "-c", MISSING_MUJOCO], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert 'mujoco is not installed' in result.stdout and 'pip install "meta-explore-envs[mujoco]"' in result.stdout


def test_scoring_without_bounds_reports_raw_returns_and_why(tmp_path, capsys):
    from evaluation.report import RESULTS_SCHEMA
    from evaluation.score import main
    from tests.test_harness import schema_errors

    main(["--agent", "baselines.random", "--env", "MetaHalfCheetahVel-v0", "--trials", "3", "--seeds", "0", "1",
          "--out", str(tmp_path), "--no-progress"])
    out = " ".join(capsys.readouterr().out.split())
    assert "MetaHalfCheetahVel-v0: no bounds: continuous-control MuJoCo task" in out
    document = json.loads((tmp_path / "results.json").read_text())
    assert schema_errors(document, RESULTS_SCHEMA) == []
    (result,) = document["results"]
    assert result["bounds"] is None and result["normalised"] is None and result["normalised_ci"] is None
    assert result["no_bounds"].startswith("continuous-control MuJoCo task: its optimal, no-exploration and "
                                          "Thompson returns have no closed form")
    low, high = result["return_ci"]
    assert low <= result["mean_return"] <= high and result["num_trials"] == 6
    assert all(length == [200, 200] for run in result["runs"] for length in run["episode_lengths"])
    markdown = (tmp_path / "results.md").read_text()
    assert "| no bounds |" in markdown and "- MetaHalfCheetahVel-v0: no bounds: continuous-control" in markdown


def test_families_with_bounds_keep_their_output(tmp_path):
    """No ``no_bounds`` key, no note, the normalised column as before."""
    from baselines.random import load_agent
    from evaluation.bounds import Bounds
    from evaluation.harness import run_trials
    from evaluation.report import markdown, score

    results = [run_trials(load_agent("MetaMap-v0", seed=s), "MetaMap-v0", num_trials=3, seed=s) for s in (0, 1)]
    bounds = Bounds("MetaMap-v0", "test", 1, 0.8, 0.3, 0.6, -1.0, "made up")
    s = score(results, bounds, no_bounds="never shown: the env has bounds")
    assert s.no_bounds is None and "no_bounds" not in s.to_dict() and s.normalised is not None
    assert "no bounds" not in markdown([s], "title")


def test_bounds_skip_families_without_them(monkeypatch, capsys):
    from evaluation import bounds as bounds_module

    with pytest.raises(ValueError, match=r"no bounds are registered for family 'ant_fwd_bwd' \(continuous-control "
                                         r"MuJoCo task: .*\): families with bounds are"):
        bounds_module.get_bounds("MetaAntFwdBwd-v0")
    assert bounds_module.no_bounds_reason("map") is None
    asked = []

    def fake(keys, recompute=False, workers=0, progress=True):
        asked.extend(keys)
        return {key: (bounds_module.Bounds(*key, 1.0, 0.5, 0.75, 0.0, "fake"), 0.0) for key in keys}

    monkeypatch.setattr(bounds_module, "compute_missing", fake)
    bounds_module.main(bounds_module.BoundsCommand())
    out = capsys.readouterr().out
    assert {key[0] for key in asked} == {"MetaCooking-v0", "MetaDistractingBus-v0", "MetaMap-v0",
                                         "MetaPointCorner-v0", "MetaSign3D-v0"}
    assert ("no bounds (skipped): MetaAntFwdBwd-v0, MetaHalfCheetahFwdBwd-v0, MetaHalfCheetahVel-v0, "
            "MetaHopperRandParams-v0, MetaWalker2DFwdBwd-v0, MetaWalker2DRandParams-v0: continuous-control") in out


def test_reference_agents_leave_the_mujoco_tasks_out_and_random_plays_them():
    from evaluation.score import ScoreConfig, check_config

    played = check_config(ScoreConfig(agent=("baselines.oracle", "baselines.no_exploration", "baselines.thompson")))
    assert not set(played) & set(IDS) and "MetaMap-v0" in played
    assert set(IDS) <= set(check_config(ScoreConfig(agent=("baselines.random",))))
    assert math.isfinite(float(np.sum(gym.make("MetaAntFwdBwd-v0").action_space.sample())))
