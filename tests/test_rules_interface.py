"""The optional planner declarations of the rules interface hold for the families that make them."""

from __future__ import annotations

import numpy as np
import pytest

import meta_explore_envs
from meta_explore_envs import family_class
from meta_explore_envs.envs import CookingEnv
from meta_explore_envs.grid import GridEpisodeEnv
from tests.conftest import GRID_IDS


def outcome(env, action):
    reward, over, success = env.transition(action)
    return env.core_state, reward, over, success, np.asarray(env.state_observation()).tolist()


@pytest.mark.parametrize("env_id", GRID_IDS)
def test_grid_transitions_do_not_depend_on_the_step_count(env_id):
    env = family_class(meta_explore_envs.env_family(env_id))()
    assert isinstance(env, GridEpisodeEnv) and env.time_homogeneous
    rng = np.random.default_rng(0)
    last = env.max_episode_steps - 1
    for _ in range(300):
        env.set_problem(int(rng.choice(env.problem_ids)))
        env.begin_episode(env.sample_instruction(rng))
        for action in rng.integers(0, 9, size=int(rng.integers(0, 12))):  # wander to a random state
            if env.transition(int(action))[1]:
                break
        core, action = env.core_state, int(rng.integers(0, 9))
        results = []
        for steps in (0, int(rng.integers(1, last))):
            env.core_state, env.steps_taken = core, steps
            next_core, reward, over, success, obs = outcome(env, action)
            if action == env.end_episode_action:
                reward -= env.end_episode_charge(env.max_episode_steps - steps - 1)
            results.append((next_core, reward, over, success, obs))
        assert results[0] == results[1]
        env.core_state, env.steps_taken = core, last  # the last step always ends the episode
        assert env.transition(action)[1]


def test_end_episode_charge_is_what_idling_would_cost():
    env = CookingEnv()
    assert [env.end_episode_charge(r) for r in (0, 1, 19)] == [0, -10, -190]


def test_equivalent_cooking_tasks_pay_the_same_for_every_action_sequence():
    env, twin = CookingEnv(), CookingEnv()
    rng = np.random.default_rng(1)
    classes = set()
    for problem in env.problem_ids:
        env.set_problem(problem)
        for recipe in env.instruction_distribution():
            rep_problem, rep_recipe = env.equivalent_task(problem, recipe)
            classes.add((rep_problem, rep_recipe))
            twin.set_problem(rep_problem)
            assert rep_recipe in twin.instruction_distribution()
            for actions in rng.integers(0, 9, size=(8, 20)):
                env.begin_episode(recipe)
                twin.begin_episode(rep_recipe)
                for action in actions:
                    a, b = env.transition(int(action)), twin.transition(int(action))
                    assert a == b, (problem, recipe, rep_problem, rep_recipe)
                    if a[1]:
                        break
    assert len(classes) == 22
    assert env.equivalent_task(36, (1, 2)) == (36, (1, 2))  # 0, 1, 2 already in first-appearance order
    assert env.equivalent_task(10, (2, 0)) == (16, (0, 1))  # blue, blue, red -> 0, 0, 1
