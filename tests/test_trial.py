"""The trial API (benchmark spec section 3): episode boundaries, settings, info, wrappers."""

from __future__ import annotations

import gymnasium as gym
import numpy as np
import pytest

from meta_explore_envs import ProblemIdObservation, TrialEnv
from meta_explore_envs.envs import CookingEnv

L, U, R, D, NOOP, RIDE, END, PICK, DROP = range(9)
NO_GOAL = 4  # bus-grid instruction sentinel
NO_ACTION = 9  # prev_action on an episode's first step


def test_trial_boundaries_and_final_observation(make_trial):
    env = make_trial("MetaDistractingBus-v0", problem_id=0, instructions=[0])
    for _ in range(3):
        obs, reward, terminated, _, info = env.step(NOOP)
        assert obs["episode"] == 0 and reward == 0.0 and not info["episode_done"]
    obs, reward, terminated, truncated, info = env.step(END)
    assert not terminated and not truncated and reward == 0.0
    assert info["episode_done"] and info["episode_index"] == 0
    assert info["episode_return"] == 0.0 and info["episode_length"] == 4 and not info["episode_success"]
    final = info["final_observation"]
    assert final["episode"] == 0 and final["prev_action"] == END and final["instruction"] == NO_GOAL
    # The returned observation is the first of the exploitation episode.
    assert obs["episode"] == 1 and obs["instruction"] == 0
    assert obs["prev_action"] == NO_ACTION and obs["prev_reward"].tolist() == [0.0]
    assert obs["observation"].tolist() == [4, 4, 0]
    assert info["instruction_text"] == "go to the bottom-left corner"

    for action, expected in [(U, -0.1), (RIDE, -0.1)]:
        obs, reward, terminated, _, info = env.step(action)
        assert reward == expected and not terminated and obs["prev_action"] == action
        assert obs["prev_reward"].dtype == np.float32 and obs["prev_reward"][0] == np.float32(expected)
    obs, reward, terminated, truncated, info = env.step(D)
    assert terminated and not truncated and reward == 1.0
    assert info["episode_done"] and info["episode_index"] == 1 and info["episode_success"]
    assert info["episode_return"] == 0.8 and info["episode_length"] == 3
    assert obs["episode"] == 1 and obs["observation"].tolist() == [0, 0, 0]
    assert info["final_observation"]["observation"].tolist() == [0, 0, 0]
    with pytest.raises(gym.error.ResetNeeded):
        env.step(NOOP)


def test_trial_is_bounded_by_the_episode_time_limits(make_trial):
    env = make_trial("MetaCooking-v0", num_exploit_episodes=2)
    assert env.unwrapped.max_trial_steps == 60
    steps, ends = 0, []
    terminated = False
    while not terminated:
        _, _, terminated, _, info = env.step(NOOP)
        steps += 1
        if info["episode_done"]:
            ends.append((steps, info["episode_length"]))
    assert ends == [(20, 20), (40, 20), (60, 20)]


def test_imrl_exploration_is_reward_free_and_goal_free(make_trial):
    env = make_trial("MetaDistractingBus-v0", problem_id=0, instructions=[0])
    rewards = []
    for action in [U, RIDE, D, NOOP]:  # reaches (0, 0), which is not a goal while exploring
        obs, reward, _, _, info = env.step(action)
        rewards.append(reward)
        assert obs["prev_reward"][0] == 0.0 and obs["instruction"] == NO_GOAL
        assert not info["episode_done"] and info["instruction_text"] == ""
    assert rewards == [0.0] * 4


def test_imrl_exploration_rewards_pay_the_step_cost(make_trial):
    env = make_trial("MetaDistractingBus-v0", problem_id=0, instructions=[0], exploration_rewards=True)
    obs, reward, *_ = env.step(U)
    assert reward == -0.1 and obs["prev_reward"][0] == np.float32(-0.1)
    obs, reward, _, _, info = env.step(END)
    assert reward == pytest.approx(-0.1 - 0.1 * 18) and info["episode_return"] == -2.0


def test_standard_setting_hides_the_instruction_and_rewards_exploration(make_trial):
    env = make_trial("MetaDistractingBus-v0", problem_id=0, instructions=[0], setting="standard")
    assert env.unwrapped.exploration_rewards is True
    for action in [U, RIDE]:
        obs, reward, _, _, info = env.step(action)
        assert reward == -0.1 and obs["instruction"] == NO_GOAL
        assert info["instruction_text"] == "go to the bottom-left corner"
    obs, reward, terminated, _, info = env.step(D)  # the hidden goal also ends exploration
    assert reward == 1.0 and info["episode_done"] and info["episode_return"] == 0.8 and not terminated
    assert obs["episode"] == 1 and obs["instruction"] == NO_GOAL


def test_standard_setting_without_exploration_rewards(make_trial):
    env = make_trial("MetaMap-v0", problem_id=0, instructions=[0], setting="standard",
                     exploration_rewards=False)
    _, reward, *_ = env.step(U)
    assert reward == 0.0


def test_imrl_resamples_instructions_each_exploitation_episode(make_trial):
    seen = set()
    for seed in range(10):
        env = make_trial("MetaDistractingBus-v0", seed=seed, num_exploit_episodes=3)
        trial = env.unwrapped
        assert len(trial.instructions) == 3
        observed = []
        terminated = False
        while not terminated:
            obs, _, terminated, _, info = env.step(END)
            if not terminated:
                observed.append(obs["instruction"])
        assert observed == trial.instructions
        seen.add(tuple(observed))
    assert len(seen) > 1


def test_standard_setting_keeps_one_instruction_per_trial(make_trial):
    for seed in range(5):
        env = make_trial("MetaCooking-v0", seed=seed, num_exploit_episodes=3, setting="standard")
        instructions = env.unwrapped.instructions
        assert len(instructions) == 3 and len(set(instructions)) == 1


def test_options_are_honoured(make_trial):
    env = make_trial("MetaCooking-v0", problem_id=36, instructions=[(2, 0), (1, 1)], num_exploit_episodes=2)
    trial = env.unwrapped
    assert trial.problem_id == 36 and trial.instructions == [(2, 0), (1, 1)]
    obs, *_ = env.step(END)
    assert obs["instruction"].tolist() == [2, 0]
    obs, *_ = env.step(END)
    assert obs["instruction"].tolist() == [1, 1]


def test_problem_id_in_info_only_on_the_train_split(make_trial):
    env = make_trial("MetaDistractingBus-v0", problem_id=11)
    _, _, _, _, info = env.step(NOOP)
    assert info["problem_id"] == 11
    env = make_trial("MetaDistractingBus-v0", split="test", problem_id=1)
    _, info = env.reset(seed=0)
    assert "problem_id" not in info
    _, _, _, _, info = env.step(END)
    assert "problem_id" not in info


def test_problems_are_drawn_from_the_split():
    env = gym.make("MetaDistractingBus-v0", split="train")
    drawn = {env.reset(seed=seed)[1]["problem_id"] for seed in range(300)}
    assert all(pid % 11 == 0 for pid in drawn) and len(drawn) > 40
    test = gym.make("MetaCooking-v0", split="test")
    held_out = set()
    for seed in range(20):
        test.reset(seed=seed)
        held_out.add(test.unwrapped.problem_id)
    assert held_out == {10}


def test_problem_id_observation_wrapper(make_trial):
    env = ProblemIdObservation(gym.make("MetaMap-v0"))
    assert env.observation_space["problem_id"] == gym.spaces.Discrete(24)
    obs, _ = env.reset(seed=3, options={"problem_id": 7})
    assert obs["problem_id"] == 7 and obs in env.observation_space
    obs, _, _, _, info = env.step(END)
    assert obs["problem_id"] == 7 and info["final_observation"]["problem_id"] == 7
    with pytest.raises(TypeError, match="TrialEnv"):
        ProblemIdObservation(gym.make("CartPole-v1"))


def test_trial_env_accepts_an_episode_env_instance():
    env = TrialEnv(CookingEnv(split="test"), num_exploit_episodes=2)
    obs, info = env.reset(seed=0)
    assert env.problem_id == 10 and obs["episode"] == 0 and "problem_id" not in info
    with pytest.raises(ValueError, match="split"):
        TrialEnv(CookingEnv(), split="test")
    with pytest.raises(TypeError, match="EpisodeEnv"):
        TrialEnv(object())


def test_render_lines_describe_the_trial(make_trial):
    env = make_trial("MetaCooking-v0", problem_id=36, instructions=[(1, 2)])
    lines = env.unwrapped.render_lines()
    assert "MetaCooking-v0" in lines[0] and "problem 36" in lines[0]
    assert "exploration episode" in lines[1]
    env.step(END)
    lines = env.unwrapped.render_lines()
    assert "exploitation episode 1/1" in lines[1] and "put green then blue in the pot" in lines[1]
