"""Gymnasium/SB3 conventions over the registry: checkers, vector envs, seeding, pickling,
rendering, and clear errors for bad input."""

from __future__ import annotations

import pickle
import warnings

import gymnasium as gym
import numpy as np
import pytest
from gymnasium.utils.env_checker import check_env as gym_check_env

import meta_explore_envs
from tests.conftest import ALL_IDS, GRID_IDS

SETTINGS = ["imrl", "standard"]


def rollout(env, seed, actions, options=None):
    """(observations, rewards, terminated flags, instruction texts) of ``actions`` after a reset."""
    obs, info = env.reset(seed=seed, options=options)
    trace = [(obs, 0.0, False, info["instruction_text"])]
    for action in actions:
        obs, reward, terminated, _, info = env.step(action)
        trace.append((obs, reward, terminated, info["instruction_text"]))
        if terminated:
            break
    return trace


def assert_same_trace(a, b):
    assert len(a) == len(b)
    for (obs_a, r_a, t_a, text_a), (obs_b, r_b, t_b, text_b) in zip(a, b):
        assert obs_a.keys() == obs_b.keys()
        for key in obs_a:
            np.testing.assert_array_equal(obs_a[key], obs_b[key], err_msg=key)
        assert (r_a, t_a, text_a) == (r_b, t_b, text_b)


def random_actions(n, seed=0, high=9):
    return np.random.default_rng(seed).integers(0, high, size=n).tolist()


@pytest.mark.parametrize("checker", ["gymnasium", "sb3"])
@pytest.mark.parametrize("setting", SETTINGS)
@pytest.mark.parametrize("env_id", ALL_IDS)
def test_env_checkers_pass_without_warnings(env_id, setting, checker):
    family = meta_explore_envs.family_class(meta_explore_envs.env_family(env_id))
    if setting in family.unsupported_settings:
        pytest.skip(f"{env_id} refuses setting={setting!r} (its family's tests check the error)")
    env = gym.make(env_id, setting=setting)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        # ProMP's actions are Box(-0.2, 0.2) (MetaPointCorner); SB3 merely recommends [-1, 1].
        warnings.filterwarnings("ignore", message=".*symmetric and normalized Box action space")
        if checker == "gymnasium":
            # The spec fixes prev_reward as Box(-inf, inf); the checker merely finds that wide.
            warnings.filterwarnings("ignore", message=".*Box observation space m(in|ax)imum value is.*infinity")
            gym_check_env(env.unwrapped)
        else:
            from stable_baselines3.common.env_checker import check_env as sb3_check_env

            sb3_check_env(env)
    env.close()


@pytest.mark.usefixtures("one_torch_thread")
@pytest.mark.parametrize("env_id", GRID_IDS)
def test_recurrent_ppo_runs(env_id, tmp_path, monkeypatch):
    from sb3_contrib import RecurrentPPO

    monkeypatch.setenv("SB3_LOGDIR", str(tmp_path))  # SB3 always makes a log folder

    from meta_explore_envs.sb3_compat import recurrent_policy_kwargs

    env = gym.make(env_id)
    model = RecurrentPPO("MultiInputLstmPolicy", env, n_steps=64, batch_size=64, n_epochs=1, seed=0,
                         policy_kwargs=recurrent_policy_kwargs(lstm_hidden_size=16), device="cpu")
    model.learn(total_timesteps=300)
    assert model.num_timesteps >= 300
    env.close()


@pytest.mark.xfail(strict=True, raises=TypeError,
                   reason="SB3 2.9.2 sums MultiDiscrete.nvec to numpy.int64, which torch 2.13's nn.LSTM "
                          "rejects; meta_explore_envs.sb3_compat works around it. Passing means upstream "
                          "fixed it and the workaround can go.")
def test_recurrent_ppo_without_the_compat_kwargs():
    from sb3_contrib import RecurrentPPO

    RecurrentPPO("MultiInputLstmPolicy", gym.make("MetaMap-v0"), device="cpu")


def test_make_works_for_every_id_and_through_the_module_prefix():
    for env_id in meta_explore_envs.env_ids():
        assert gym.spec(env_id).max_episode_steps is None
    env = gym.make("meta_explore_envs:MetaCooking-v0")
    assert isinstance(env.unwrapped, meta_explore_envs.TrialEnv)


@pytest.mark.parametrize("env_id", GRID_IDS)
def test_same_seed_same_trial_across_instances(env_id):
    actions = random_actions(200, seed=1)
    a = rollout(gym.make(env_id), 123, actions)
    b = rollout(gym.make(env_id), 123, actions)
    assert_same_trace(a, b)
    env_a, env_b = gym.make(env_id), gym.make(env_id)
    env_a.reset(seed=5)
    env_b.reset(seed=5)
    assert env_a.unwrapped.problem_id == env_b.unwrapped.problem_id
    assert env_a.unwrapped.instructions == env_b.unwrapped.instructions


@pytest.mark.parametrize("env_id", GRID_IDS)
def test_different_seeds_give_different_trials(env_id):
    problems = set()
    for seed in range(20):
        env = gym.make(env_id)
        env.reset(seed=seed)
        problems.add((env.unwrapped.problem_id, str(env.unwrapped.instructions)))
    assert len(problems) > 5


@pytest.mark.parametrize("mode", ["sync", "async"])
@pytest.mark.parametrize("env_id", GRID_IDS)
def test_make_vec_matches_single_envs(env_id, mode):
    num_envs = 4
    actions = np.random.default_rng(2).integers(0, 9, size=(30, num_envs))
    envs = gym.make_vec(env_id, num_envs=num_envs, vectorization_mode=mode)
    obs, _ = envs.reset(seed=100)
    vector_obs, vector_rewards, vector_done = [obs], [], []
    for row in actions:
        obs, rewards, terminated, truncated, _ = envs.step(row)
        vector_obs.append(obs)
        vector_rewards.append(rewards)
        vector_done.append(terminated)
    envs.close()
    for i in range(num_envs):
        # Gymnasium seeds sub-env i with seed + i.
        single = rollout(gym.make(env_id), 100 + i, actions[:, i].tolist())
        for t, (obs, reward, terminated, _) in enumerate(single):
            for key in obs:
                np.testing.assert_array_equal(vector_obs[t][key][i], obs[key], err_msg=f"{key} at step {t}")
            if t > 0:
                assert vector_rewards[t - 1][i] == pytest.approx(reward)
                assert vector_done[t - 1][i] == terminated


def test_make_vec_with_eight_envs_steps():
    envs = gym.make_vec("MetaDistractingBus-v0", num_envs=8)
    obs, _ = envs.reset(seed=0)
    assert obs["observation"].shape == (8, 3)
    for _ in range(100):
        obs, rewards, terminated, truncated, _ = envs.step(envs.action_space.sample())
        assert rewards.shape == (8,) and not truncated.any()
    envs.close()


@pytest.mark.parametrize("env_id", GRID_IDS)
def test_pickle_round_trip_mid_trial(env_id):
    env = gym.make(env_id, render_mode="rgb_array")
    env.reset(seed=7)
    for action in [0, 1, 7, 8]:
        env.step(action)
    env.render()  # a renderer exists now; it must not break pickling
    clone = pickle.loads(pickle.dumps(env))
    actions = random_actions(60, seed=3)
    for action in actions:
        a, b = env.step(action), clone.step(action)
        for key in a[0]:
            np.testing.assert_array_equal(a[0][key], b[0][key])
        assert a[1:4] == b[1:4]
        if a[2]:
            break
    np.testing.assert_array_equal(env.render(), clone.render())


@pytest.mark.parametrize("env_id", GRID_IDS)
def test_rgb_array_rendering(env_id):
    env = gym.make(env_id, render_mode="rgb_array")
    env.reset(seed=0)
    first = env.render()
    assert first.dtype == np.uint8 and first.ndim == 3 and first.shape[2] == 3
    assert first.shape[0] >= 400 and first.shape[1] >= 400
    env.step(2)
    second = env.render()
    assert second.shape == first.shape and not np.array_equal(first, second)


def test_human_rendering_opens_a_window():
    env = gym.make("MetaCooking-v0", render_mode="human")
    env.reset(seed=0)
    env.step(2)
    env.close()


# ---------------------------------------------------------------------------- errors
@pytest.mark.parametrize(
    "action, error, message",
    [
        (9, ValueError, r"action=9 is out of range: expected an integer in \[0, 9\)"),
        (-1, ValueError, r"action=-1 is out of range"),
        (1.0, TypeError, r"action must be an integer in \[0, 9\).*got 1.0 of type float"),
        ("up", TypeError, r"got 'up' of type str"),
        (True, TypeError, r"got True of type bool"),
        (np.array([1, 2]), TypeError, r"action must be an integer"),
        (np.float32(2), TypeError, r"of type float32"),
    ],
)
def test_bad_actions_raise_and_leave_the_env_usable(action, error, message):
    env = gym.make("MetaCooking-v0")
    env.reset(seed=0)
    before = env.unwrapped.episode_env.state
    with pytest.raises(error, match=message):
        env.step(action)
    assert env.unwrapped.episode_env.state == before
    env.step(np.int64(2))  # numpy integers and 0-d integer arrays are fine
    env.step(np.array(0))


def test_bad_reset_options_raise_and_leave_the_env_usable():
    env = gym.make("MetaDistractingBus-v0")
    env.reset(seed=0, options={"problem_id": 11})
    with pytest.raises(ValueError, match=r"unknown reset option\(s\) \['goal'\].*'instructions', 'problem_id'"):
        env.reset(options={"goal": 1})
    with pytest.raises(ValueError, match=r"problem_id=1 is not in the 'train' split.*53 IDs in \[0, 576\) divisible"):
        env.reset(options={"problem_id": 1})
    with pytest.raises(ValueError, match=r"problem_id=576 is out of range: expected an integer in \[0, 576\)"):
        env.reset(options={"problem_id": 576})
    with pytest.raises(TypeError, match=r"problem_id must be an integer.*got '3'"):
        env.reset(options={"problem_id": "3"})
    with pytest.raises(ValueError, match=r"instruction=4 is out of range.*\[0, 4\).*bottom-left"):
        env.reset(options={"problem_id": 0, "instructions": [4]})
    with pytest.raises(ValueError, match=r"has 2 instruction\(s\); expected 1"):
        env.reset(options={"instructions": [0, 1]})
    with pytest.raises(TypeError, match=r"must be a list of 1 instruction"):
        env.reset(options={"instructions": 0})
    # The env still holds the earlier trial and keeps working.
    assert env.unwrapped.problem_id == 11
    env.step(0)
    env.reset(options={"problem_id": 22, "instructions": np.array([3])})
    assert env.unwrapped.instructions == [3]


def test_bad_cooking_instructions():
    env = gym.make("MetaCooking-v0", split="test")
    env.reset(seed=0)
    with pytest.raises(ValueError, match=r"wrong shape: expected two ingredients"):
        env.reset(options={"instructions": [1]})
    with pytest.raises(ValueError, match=r"wrong shape"):
        env.reset(options={"instructions": [[[1, 2]]]})
    with pytest.raises(ValueError, match=r"instruction\[1\]=7 is out of range"):
        env.reset(options={"instructions": [(1, 7)]})
    with pytest.raises(ValueError, match=r"cannot be cooked in problem 10: no fridge holds green"):
        env.reset(options={"instructions": [(2, 1)]})
    with pytest.raises(ValueError, match=r"problem_id=3 is not in the 'test' split.*only 10"):
        env.reset(options={"problem_id": 3})
    env.reset(options={"instructions": [np.array([2, 0])]})
    assert env.unwrapped.instructions == [(2, 0)]


def test_standard_setting_rejects_differing_instructions():
    env = gym.make("MetaMap-v0", setting="standard", num_exploit_episodes=2)
    with pytest.raises(ValueError, match="setting='standard' has one instruction per trial"):
        env.reset(options={"instructions": [0, 1]})
    env.reset(options={"instructions": [2, 2]})


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"split": "val"}, r"split='val' is not valid: expected one of \['train', 'test'\]"),
        ({"setting": "meta"}, r"setting='meta' is not valid: expected one of \['imrl', 'standard'\]"),
        ({"num_exploit_episodes": 0}, r"num_exploit_episodes=0 is not valid: expected an int >= 1"),
        ({"num_exploit_episodes": 1.5}, r"num_exploit_episodes=1.5"),
        ({"exploration_rewards": 1}, r"exploration_rewards=1 is not valid: expected True or False"),
        ({"render_mode": "ansi"}, r"render_mode='ansi'"),
    ],
)
@pytest.mark.filterwarnings("ignore:.*not in the possible render_modes")
def test_bad_make_kwargs(kwargs, message):
    with pytest.raises((ValueError, gym.error.Error), match=message):
        gym.make("MetaDistractingBus-v0", **kwargs)


def test_step_before_reset_raises():
    env = meta_explore_envs.TrialEnv("map")
    with pytest.raises(gym.error.ResetNeeded):
        env.step(0)
