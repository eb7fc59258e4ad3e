"""Property-based tests: random action sequences keep the trial's invariants."""

from __future__ import annotations

import gymnasium as gym
import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

import meta_explore_envs  # noqa: F401
from tests.conftest import GRID_IDS

STEP = -0.1
END_CHARGES = {round(STEP - 0.1 * remaining, 2) for remaining in range(20)}
#: Every reward a step can pay, per family (the goal-free exploration pays 0 in IMRL).
ALLOWED_REWARDS = {
    "MetaDistractingBus-v0": {0.0, STEP, 1.0} | END_CHARGES,
    "MetaMap-v0": {0.0, STEP, 1.0} | END_CHARGES,
    "MetaCooking-v0": {0.0, STEP, 0.25, -0.35} | END_CHARGES,
}

trial_cases = st.fixed_dictionaries({
    "env_id": st.sampled_from(GRID_IDS),
    "setting": st.sampled_from(["imrl", "standard"]),
    "num_exploit_episodes": st.integers(1, 3),
    "split": st.sampled_from(["train", "test"]),
    "seed": st.integers(0, 2**31 - 1),
    "actions": st.lists(st.integers(0, 8), min_size=1, max_size=200),
})


@settings(max_examples=150, deadline=None)
@given(case=trial_cases)
def test_random_trials_keep_their_invariants(case):
    env = gym.make(case["env_id"], setting=case["setting"], split=case["split"],
                   num_exploit_episodes=case["num_exploit_episodes"])
    trial = env.unwrapped
    episode_env = trial.episode_env
    obs, _ = env.reset(seed=case["seed"])
    assert obs in env.observation_space
    assert trial.problem_id in episode_env.problem_ids
    steps, episode, episode_return = 0, 0, 0.0
    terminated = False
    for action in case["actions"]:
        obs, reward, terminated, truncated, info = env.step(action)
        steps += 1
        assert not truncated
        assert obs in env.observation_space
        x, y = int(obs["observation"][0]), int(obs["observation"][1])
        assert 0 <= x < episode_env.width and 0 <= y < episode_env.height
        assert round(reward, 2) in ALLOWED_REWARDS[case["env_id"]] and reward == round(reward, 2)
        episode_return += reward
        assert obs["episode"] >= episode  # episodes only move forward
        if info["episode_done"]:
            assert info["episode_return"] == round(episode_return, 2)
            assert 1 <= info["episode_length"] <= episode_env.max_episode_steps
            assert info["final_observation"]["episode"] == episode
            episode_return = 0.0
            episode += 1
            assert terminated == (episode == case["num_exploit_episodes"] + 1)
        else:
            assert not terminated and obs["episode"] == episode
        if case["setting"] == "standard" or obs["episode"] == 0:
            np.testing.assert_array_equal(obs["instruction"], episode_env.instruction_sentinel)
        if terminated:
            break
    assert steps <= trial.max_trial_steps


@settings(max_examples=60, deadline=None)
@given(env_id=st.sampled_from(GRID_IDS), seed=st.integers(0, 2**31 - 1),
       actions=st.lists(st.integers(0, 8), max_size=80))
def test_reset_with_the_same_seed_replays_the_same_trial(env_id, seed, actions):
    env = gym.make(env_id)

    def trace():
        obs, _ = env.reset(seed=seed)
        out = [obs["observation"].tolist()]
        for action in actions:
            obs, reward, terminated, _, _ = env.step(action)
            out.append((obs["observation"].tolist(), np.asarray(obs["instruction"]).tolist(), reward))
            if terminated:
                break
        return env.unwrapped.problem_id, env.unwrapped.instructions, out

    assert trace() == trace()


@settings(max_examples=100, deadline=None)
@given(env_id=st.sampled_from(GRID_IDS), seed=st.integers(0, 1000),
       bad_action=st.one_of(st.integers(max_value=-1), st.integers(min_value=9),
                            st.floats(allow_nan=True), st.text(max_size=3), st.booleans()))
def test_bad_actions_never_change_the_state(env_id, seed, bad_action):
    env = gym.make(env_id)
    env.reset(seed=seed)
    env.step(2)
    before = env.unwrapped.episode_env.state, env.unwrapped.episode
    try:
        env.step(bad_action)
    except (TypeError, ValueError) as error:
        assert repr(bad_action) in str(error) and "[0, 9)" in str(error)
    else:
        raise AssertionError(f"action {bad_action!r} was accepted")
    assert (env.unwrapped.episode_env.state, env.unwrapped.episode) == before
