"""MetaPointCorner's native vector env: sub-env ``i`` plays bit for bit the trials of a single env
seeded ``seed + i`` (observations, rewards, terminations, infos, across autoresets)."""

from __future__ import annotations

import gymnasium as gym
import numpy as np
import pytest
from gymnasium.vector import AutoresetMode

import meta_explore_envs  # noqa: F401  (registers the ids)
from meta_explore_envs.vector import PointCornerVectorEnv
from tests.test_vector import play_both

ENV_ID = "MetaPointCorner-v0"


def box_actions(rng: np.random.Generator, envs: gym.vector.VectorEnv) -> np.ndarray:
    """Actions inside and outside the clip range."""
    return rng.uniform(-0.4, 0.4, size=(envs.num_envs, 2))


@pytest.mark.parametrize("split, num_exploit_episodes, exploration_rewards",
                         [("train", 1, None), ("test", 2, None), ("train", 1, False)])
def test_each_sub_env_plays_the_trials_of_a_single_env(split, num_exploit_episodes, exploration_rewards):
    steps = 100 * (num_exploit_episodes + 1) * 2 + 3  # two trials and an autoreset
    trials = play_both(ENV_ID, 3, steps, seed=7, draw_actions=box_actions, split=split,
                       num_exploit_episodes=num_exploit_episodes, exploration_rewards=exploration_rewards)
    assert trials == 3 * 2


def test_make_vec_returns_the_native_env_with_next_step_autoreset():
    envs = gym.make_vec(ENV_ID, num_envs=4)
    assert isinstance(envs, PointCornerVectorEnv)
    assert envs.metadata["autoreset_mode"] is AutoresetMode.NEXT_STEP
    assert envs.action_space.shape == (4, 2)


def test_reset_options_and_straight_paths_pay_the_single_env_rewards():
    envs = gym.make_vec(ENV_ID, num_envs=4)
    envs.reset(seed=0, options={"problem_id": [0, 1, 2, 3]})
    assert envs.unwrapped.problem_id.tolist() == [0, 1, 2, 3]
    from meta_explore_envs.envs.point_corner import CORNERS

    total = np.zeros(4)
    for _ in range(100):
        total += envs.step(np.sign(CORNERS) * 0.2)[1]
    single = gym.make(ENV_ID)
    single.reset(seed=2, options={"problem_id": 2})
    expected = sum(single.step(np.sign(CORNERS[2]) * 0.2)[1] for _ in range(100))
    assert total[2] == expected


@pytest.mark.parametrize("actions, error, message", [
    (np.zeros((2, 2)), ValueError, "shape"),
    (np.array([[0.0, 0.0], [np.nan, 0.0], [0.0, 0.0]]), ValueError, "sub-env 1"),
    (np.array([["a", "b"]] * 3), TypeError, "dtype"),
])
def test_bad_actions_raise_and_leave_the_env_usable(actions, error, message):
    envs = gym.make_vec(ENV_ID, num_envs=3)
    observations, _ = envs.reset(seed=1)
    with pytest.raises(error, match=message):
        envs.step(actions)
    assert envs.step(np.zeros((3, 2)))[0]["observation"].tolist() == observations["observation"].tolist()


def test_step_needs_a_reset_and_rendering_is_refused():
    with pytest.raises(gym.error.ResetNeeded):
        PointCornerVectorEnv(2).step(np.zeros((2, 2)))
    with pytest.raises(ValueError, match="render_mode"):
        PointCornerVectorEnv(2, render_mode="rgb_array")
