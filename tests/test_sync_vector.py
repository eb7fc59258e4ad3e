"""SyncTrialVectorEnv: the vector env of single trial envs (families without a batched one)."""

from __future__ import annotations

import numpy as np
import pytest

from meta_explore_envs.trial import TrialEnv
from meta_explore_envs.vector.point_corner import PointCornerVectorEnv
from meta_explore_envs.vector.sync import SyncTrialVectorEnv


def play(envs, actions):
    return [envs.step(a)[:4] for a in actions]


@pytest.mark.parametrize("num_exploit_episodes", [1, 2])
def test_it_plays_what_the_native_vector_env_plays_across_autoresets(num_exploit_episodes):
    """MetaPointCorner has both: the native env is pinned to single envs by its own tests, so the
    two must agree step for step, through trial ends and NEXT_STEP autoresets (700 steps)."""
    n, options = 5, {"problem_id": [0, None, 3, None, 1]}
    sync = SyncTrialVectorEnv(n, episode_env="point_corner", split="test", num_exploit_episodes=num_exploit_episodes)
    native = PointCornerVectorEnv(n, split="test", num_exploit_episodes=num_exploit_episodes)
    first_sync, first_native = sync.reset(seed=3, options=options)[0], native.reset(seed=3, options=options)[0]
    for key in first_native:
        np.testing.assert_array_equal(first_sync[key], first_native[key])
    actions = np.random.default_rng(0).uniform(-0.3, 0.3, (700, n, 2))
    for t, (a, b) in enumerate(zip(play(sync, actions), play(native, actions))):
        for key in b[0]:
            np.testing.assert_allclose(a[0][key], b[0][key], err_msg=f"step {t}, {key}")
        np.testing.assert_allclose(a[1], b[1], err_msg=f"step {t}, reward")
        np.testing.assert_array_equal(a[2], b[2])
        np.testing.assert_array_equal(a[3], b[3])
    np.testing.assert_array_equal(sync.problem_id, native.problem_id)


def test_sub_env_i_plays_the_single_env_seeded_with_seed_plus_i():
    sync = SyncTrialVectorEnv(3, episode_env="point_corner")
    observations, _ = sync.reset(seed=10)
    for i in range(3):
        single = TrialEnv("point_corner")
        obs, _ = single.reset(seed=10 + i)
        np.testing.assert_array_equal(observations["observation"][i], obs["observation"])
        assert sync.problem_id[i] == single.problem_id


def test_bad_options_name_the_sub_env_and_reset_nothing():
    sync = SyncTrialVectorEnv(3, episode_env="point_corner")
    before = sync.reset(seed=1, options={"problem_id": [2, 2, 2]})[0]["observation"].copy()
    with pytest.raises(ValueError, match="sub-env 1: .*problem_id"):
        sync.reset(seed=5, options={"problem_id": [0, 7, 1]})
    with pytest.raises(ValueError, match=r"options\['problem_id'\] must hold one entry per sub-env \(3"):
        sync.reset(seed=5, options={"problem_id": [0, 1]})
    np.testing.assert_array_equal(sync.problem_id, [2, 2, 2])
    step_obs = sync.step(np.zeros((3, 2)))[0]["observation"]
    np.testing.assert_array_equal(step_obs, before)  # still usable: the zero action kept every position


def test_it_exposes_what_learners_read_from_the_native_vector_envs():
    sync = SyncTrialVectorEnv(2, episode_env="point_corner", num_exploit_episodes=3)
    assert sync.num_exploit_episodes == 3 and sync.setting == "standard"
    np.testing.assert_array_equal(sync.problem_ids, [0, 1, 2, 3])
    assert sync.single.episode_env.max_episode_steps == 100
    assert sync.action_space.shape == (2, 2)
