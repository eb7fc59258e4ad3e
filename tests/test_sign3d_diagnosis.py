"""MetaSign3D's explore/exploit diagnosis: whether the exploration episode saw the sign, the
resulting exploration value, and the poses the harness records for it."""

from __future__ import annotations

import math

import gymnasium as gym
import numpy as np
import pytest

import meta_explore_envs  # noqa: F401
from evaluation.bounds import get_bounds
from evaluation.diagnosis import diagnose, exploration_values
from evaluation.harness import run_trials, trial_specs
from meta_explore_envs.envs import sign3d_layout as layout
from meta_explore_envs.planning.sign3d import (
    ALL_PROBLEMS,
    Sign3DPlanner,
    sign_seen,
    word_fully_visible,
    word_in_view,
    word_partly_visible,
    world_walls,
)

ENV_ID = "MetaSign3D-v0"
LEFT, RIGHT, END = layout.TURN_LEFT, layout.TURN_RIGHT, layout.END_EPISODE
NO_INSTRUCTION = len(layout.SHAPE_NAMES)  # the observed instruction of the exploration episode
#: In the start room facing west, away from the sign (which hangs on the east wall of the
#: bottom-right room): nothing of it can be in view.
FACING_AWAY = (4.5, 5.0, math.pi, 0, 0)


@pytest.fixture(scope="module")
def planner():
    return Sign3DPlanner()


def reset_to(env: gym.Env, spec) -> tuple:
    """Reset ``env`` to a harness trial (as the harness does); its exploration start state."""
    env.reset(seed=spec.reset_seed, options={"problem_id": spec.problem_id, "instructions": list(spec.instructions)})
    return env.unwrapped.episode_env.state


def start_state(spec) -> tuple:
    """The exploration episode's start state of a MetaSign3D harness trial."""
    env = gym.make(ENV_ID, split="test")
    state = reset_to(env, spec)
    env.close()
    return state


def replay(planner: Sign3DPlanner, state: tuple, actions: list[int]) -> list[tuple]:
    """The states after each of ``actions`` from ``state`` (the env's own rules)."""
    rules = planner.env
    rules.instruction = None
    rules.state = state
    states = []
    for action in actions:
        rules.transition(action)
        states.append(rules.state)
    return states


def heading(state: tuple) -> float:
    return state[2] + state[3] * layout.TURN


def distinct_views(planner: Sign3DPlanner, state: tuple) -> int:
    """How many different observations the three problems give at ``state`` (rendered)."""
    x, z = state[:2]
    return len({planner.world.observe(p, x, z, heading(state)).tobytes() for p in sorted(ALL_PROBLEMS)})


# ---------------------------------------------------------------------------- sign_seen
def test_facing_away_from_the_start_is_not_seen(planner):
    assert not word_fully_visible(FACING_AWAY[0], FACING_AWAY[1], heading(FACING_AWAY), world_walls())
    assert not sign_seen([FACING_AWAY])
    assert not sign_seen([])  # no observation, nothing seen
    assert distinct_views(planner, FACING_AWAY) == 1  # the rendered frames agree: no sign pixels


def test_the_reading_path_sees_the_sign_at_its_end(planner):
    spec = trial_specs(ENV_ID, "test", 1, seed=0)[0]
    start = start_state(spec)
    path = planner.reading_path((start[0], start[1], heading(start)))
    states = [start, *replay(planner, start, path)]
    assert sign_seen(states) and sign_seen(states[-1:])
    assert not sign_seen(states[:-1])  # the planner's path reads it at its last pose, not before
    assert distinct_views(planner, states[-1]) == 3  # all three words differ in the rendered frames
    assert distinct_views(planner, start) == 1
    assert np.array_equal(world_walls(), planner.walls) and not world_walls().flags.writeable


def test_some_of_the_word_in_view_counts_where_the_whole_word_does_not():
    """Turning away from a reading pose: the word leaves the view edge first, so a pose shows
    part of it (``word_in_view``, whose colour pixels differ between the problems) before none."""
    walls = world_walls()
    x, z = layout.SIGN_POS[0] - 3.0, layout.SIGN_POS[2]  # 3 m in front of the sign, facing it at 0 rad
    assert word_fully_visible(x, z, 0.0, walls) and word_in_view([(x, z, 0.0, 0, 0)])
    partial = [h for h in np.linspace(0.0, math.pi / 2, 2001) if word_partly_visible(x, z, h, walls)
               and not word_fully_visible(x, z, h, walls)]
    assert partial, "no heading shows only part of the word"
    state = (x, z, float(np.median(partial)), 0, 0)
    assert word_in_view([FACING_AWAY, state]) and not sign_seen([FACING_AWAY, state])
    assert not word_in_view([FACING_AWAY]) and not word_in_view([])


def test_bad_states_are_refused():
    with pytest.raises(TypeError, match=r"states\[1\] = \(4.5, 5.0, 0.0\) is not a MetaSign3D state"):
        sign_seen([FACING_AWAY, (4.5, 5.0, 0.0)])
    with pytest.raises(ValueError, match="non-finite"):
        sign_seen([(math.nan, 5.0, 0.0, 0, 0)])
    with pytest.raises(TypeError, match=r"states\[0\] = None is not a MetaSign3D state"):
        word_in_view([None])


# ---------------------------------------------------------------------------- in the harness
class Scripted:
    """Plays a fixed exploration per trial (then ``end episode``) and ends every exploitation
    episode at once: a non-privileged agent, it only counts trials and reads the instruction."""

    name = "scripted"

    def __init__(self, explorations: list[list[int]]):
        self.explorations = explorations
        self.trial = -1
        self.plan: list[int] = []

    def reset(self) -> None:
        self.trial += 1
        self.plan = list(self.explorations[self.trial]) if self.trial < len(self.explorations) else []

    def act(self, observation) -> int:
        if observation["instruction"] == NO_INSTRUCTION and self.plan:
            return self.plan.pop(0)
        return END


def test_exploration_values_follow_whether_the_sign_was_seen(planner):
    specs = trial_specs(ENV_ID, "test", 3, seed=0)
    starts = [start_state(spec) for spec in specs[:2]]
    read = planner.reading_path((starts[0][0], starts[0][1], heading(starts[0])))
    late = planner.reading_path((starts[1][0], starts[1][1], heading(starts[1])))
    padding = layout.MAX_STEPS - len(late)
    assert padding % 2 == 0, "trial 1's reading path no longer fits the turn-in-place padding"
    explorations = [
        read + [END],  # reads the sign, then ends the episode: seen
        [LEFT, RIGHT] * (padding // 2) + late,  # reaches the reading pose with the 20th step, which ends the
        # episode: that observation is the exploitation start, so the sign was never seen
        [END],  # ends at once: nothing seen
    ]
    results = run_trials(Scripted(explorations), ENV_ID, num_trials=3, seed=0)
    assert results.exploration_actions == explorations
    for t, (start, actions) in enumerate(zip([*starts, start_state(specs[2])], explorations)):
        states = results.exploration_states[t]
        assert len(states) == len(actions) and states[0] == start
        assert states[1:] == replay(planner, start, actions)[:len(actions) - 1]  # the ending step: not seen
    diagnosis = diagnose(results)
    bounds = get_bounds(ENV_ID, "test")
    assert diagnosis.sign_seen.tolist() == [True, False, False]
    # The second walk never reached its reading pose, but some of the word came into view on the way.
    assert diagnosis.word_in_view.tolist() == [True, True, False]
    assert diagnosis.values.tolist() == [bounds.optimal, bounds.no_exploration, bounds.no_exploration]
    assert exploration_values(results).tolist() == diagnosis.values.tolist()

    from evaluation.report import score

    s = score([results], bounds, exploration=[diagnosis.values], sign_seen=[diagnosis.sign_seen],
              word_in_view=[diagnosis.word_in_view])
    assert s.sign_seen_fraction == pytest.approx(1 / 3) and s.exploration_score == pytest.approx(1 / 3)
    assert s.word_in_view_fraction == pytest.approx(2 / 3)
    assert s.to_dict()["sign_seen_fraction"] == s.sign_seen_fraction
    assert s.to_dict()["word_in_view_fraction"] == s.word_in_view_fraction


def test_privileged_agents_and_the_standard_setting_get_no_diagnosis():
    from evaluation.protocol import load_agent_module

    oracle = load_agent_module("baselines.oracle", ENV_ID, split="test", seed=0)
    results = run_trials(oracle, ENV_ID, num_trials=1, seed=0, agent_module="baselines.oracle")
    assert results.privileged and sign_seen(results.exploration_states[0])  # it reads the sign...
    assert diagnose(results) is None and exploration_values(results) is None  # ...but is no result
    standard = run_trials(Scripted([]), ENV_ID, num_trials=1, seed=0, env_kwargs={"setting": "standard"})
    assert diagnose(standard) is None


def test_grid_envs_record_their_exploration_states_too():
    """The same recording on a grid env: the start state, then the state after every
    exploration step but the one that ends the episode."""
    from evaluation.protocol import load_agent_module

    agent = load_agent_module("baselines.random", "MetaMap-v0", split="test", seed=0)
    results = run_trials(agent, "MetaMap-v0", num_trials=4, seed=0)
    env = gym.make("MetaMap-v0", split="test")
    for spec, actions, states in zip(trial_specs("MetaMap-v0", "test", 4, seed=0), results.exploration_actions,
                                     results.exploration_states):
        expected = [reset_to(env, spec)]
        for action in actions[:-1]:
            env.step(action)
            expected.append(env.unwrapped.episode_env.state)
        assert states == expected
    assert diagnose(results).sign_seen is None and diagnose(results).word_in_view is None
