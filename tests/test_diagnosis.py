"""The exploration diagnosis against hand cases: what an exploration episode found out, exactly."""

from __future__ import annotations

import math

import numpy as np
import pytest

from evaluation.bounds import get_bounds
from meta_explore_envs.envs.bus_grid import COLOURED_SOURCES
from meta_explore_envs.envs.cooking import FRIDGE_CELLS, POT_CELL, fridge_contents
from meta_explore_envs.envs.distracting_bus import GREY_SOURCES
from meta_explore_envs.envs.map import MAP_CELL
from meta_explore_envs.grid.world import Action
from meta_explore_envs.planning.diagnosis import consistent_problems, diagnose, exploration_value
from meta_explore_envs.planning.grid_values import prior_problems

L, U, R, D, RIDE, END, PICK = (int(a) for a in (Action.LEFT, Action.UP, Action.RIGHT, Action.DOWN, Action.RIDE,
                                                 Action.END_EPISODE, Action.PICK_UP))


def walk(start: tuple[int, int], cells: list[tuple[int, int]], at_each: list[int] = ()) -> list[int]:
    """Moves from ``start`` visiting ``cells`` in order (x first), with ``at_each`` on each."""
    actions, (x, y) = [], start
    for cx, cy in cells:
        actions += [R if cx > x else L] * abs(cx - x) + [U if cy > y else D] * abs(cy - y)
        actions += list(at_each)
        x, y = cx, cy
    return actions


def test_an_episode_that_ends_at_once_learns_nothing_and_is_worth_not_exploring():
    prior = prior_problems("map", "test")
    values = []
    for problem in prior:
        for instruction in range(4):
            result = diagnose("map", prior, problem, [END], instruction)
            assert result.bits == 0.0 and len(result.consistent) == len(prior)
            values.append(result.value)
    assert np.mean(values) == pytest.approx(get_bounds("MetaMap-v0", "test").no_exploration, abs=1e-9)


def test_reading_the_map_pins_the_problem_down():
    prior = prior_problems("map", "test")
    actions = walk((4, 4), [MAP_CELL]) + [END]  # standing on the map shows the problem ID
    for problem in (0, 7, 23):
        result = diagnose("map", prior, problem, actions, instruction=2)
        assert result.consistent.tolist() == [problem]
        assert result.bits == pytest.approx(math.log2(24))
        assert result.value == pytest.approx(get_bounds("MetaMap-v0", "test").optimal)


def test_riding_the_coloured_buses_is_worth_the_optimal_return():
    prior = prior_problems("distracting_bus", "test")
    # From the start (4, 4), step onto each coloured source, ride, ride back, step back.
    actions = []
    for sx, sy in COLOURED_SOURCES:
        step, back = (U, D) if sy > 4 else (D, U) if sy < 4 else (R, L) if sx > 4 else (L, R)
        actions += [step, RIDE, RIDE, back]
    problem = prior[5]
    result = diagnose("distracting_bus", prior, problem, actions[:19] + [END], instruction=1)
    assert all(p % 24 == problem % 24 for p in result.consistent.tolist())  # the coloured buses are known
    assert result.value == pytest.approx(get_bounds("MetaDistractingBus-v0", "test").optimal)


def test_riding_only_grey_buses_gathers_bits_but_not_the_coloured_buses():
    # On the whole family (coloured x grey permutations) the grey buses say nothing about the
    # coloured ones: every coloured permutation stays possible. They are not worth nothing
    # here, though: knowing where two grey buses go shortens some exploitation routes.
    prior = list(range(24 * 24))
    actions = []
    for gx, gy in GREY_SOURCES[:2]:
        actions += walk((4, 4), [(gx, gy)], [RIDE, RIDE]) + walk((gx, gy), [(4, 4)])
    problem = 24 * 7 + 3
    result = diagnose("distracting_bus", prior, problem, actions + [END], instruction=0)
    assert {p % 24 for p in result.consistent.tolist()} == set(range(24))
    assert result.bits == pytest.approx(math.log2(576 / len(result.consistent))) and result.bits > 3
    nothing = exploration_value("distracting_bus", prior, prior, 0)
    everything = exploration_value("distracting_bus", prior, [problem], 0)
    assert nothing < result.value < everything  # (0.3 < 0.4 < 0.8 for this route)


def test_opening_the_three_fridges_knows_the_kitchen():
    prior = prior_problems("cooking", "test")  # the whole family: the test split holds one kitchen
    actions = walk(POT_CELL, list(FRIDGE_CELLS), [PICK]) + [END]
    recipe = (fridge_contents(10)[0], fridge_contents(10)[2])
    result = diagnose("cooking", prior, 10, actions, instruction=recipe)
    assert result.consistent.tolist() == [10] and result.bits == pytest.approx(6.0)
    # Knowing the kitchen is worth what playing in that kitchen alone is worth.
    assert result.value == pytest.approx(exploration_value("cooking", [10], [10], recipe), abs=1e-12)
    assert result.value > diagnose("cooking", prior, 10, [END], instruction=recipe).value


def test_the_last_observation_of_an_ended_episode_is_not_seen():
    prior = prior_problems("map", "test")
    to_map = walk((4, 4), [MAP_CELL])
    # Arriving on the map with the step that ends the episode (the 20-step limit) shows nothing.
    padding = [int(Action.NOOP)] * (20 - len(to_map))
    assert len(consistent_problems("map", prior, 3, padding + to_map)) == 24
    assert consistent_problems("map", prior, 3, padding[1:] + to_map + [END]).tolist() == [3]


def test_a_problem_outside_the_prior_is_refused():
    with pytest.raises(ValueError, match="problem=3 is not in the prior"):
        consistent_problems("map", [0, 1], 3, [END])


# ---------------------------------------------------------------------------- in the scoring harness
def _values_of(module: str, num_trials: int = 120):
    from evaluation.diagnosis import exploration_values
    from evaluation.harness import run_trials
    from evaluation.protocol import load_agent_module

    agent = load_agent_module(module, "MetaMap-v0", split="test", seed=0)
    results = run_trials(agent, "MetaMap-v0", split="test", num_trials=num_trials, seed=0, agent_module=module)
    return results, exploration_values(results)


def test_thompson_explores_as_its_bound_says_and_exploits_all_it_found():
    results, values = _values_of("baselines.thompson")
    bound = get_bounds("MetaMap-v0", "test").thompson
    stderr = values.std(ddof=1) / np.sqrt(len(values))
    assert abs(values.mean() - bound) < 4 * stderr  # the Thompson bound in expectation
    # Its exploitation is Bayes-optimal by construction: the returns match the values.
    gap = results.exploit_returns - values
    assert abs(gap.mean()) < 4 * gap.std(ddof=1) / np.sqrt(len(gap)) + 1e-12


def test_not_exploring_finds_nothing():
    results, values = _values_of("baselines.no_exploration", 40)
    assert all(actions == [END] for actions in results.exploration_actions)
    prior = prior_problems("map", "test")
    expected = [exploration_value("map", prior, prior, instructions[0], problem)
                for problem, instructions in zip(results.problem_ids.tolist(), results.instruction_keys)]
    assert values.tolist() == pytest.approx(expected, abs=1e-12)


def test_privileged_agents_get_no_diagnosis():
    _, values = _values_of("baselines.oracle", 5)
    assert values is None


def test_score_reports_the_exploration_score_and_the_efficiency(tmp_path):
    from evaluation.report import score

    results, values = _values_of("baselines.thompson", 60)
    bounds = get_bounds("MetaMap-v0", "test")
    s = score([results], bounds, exploration=[values])
    gap = bounds.optimal - bounds.no_exploration
    assert s.exploration_score == pytest.approx((values.mean() - bounds.no_exploration) / gap)
    assert s.exploration_score_ci[0] <= s.exploration_score <= s.exploration_score_ci[1]
    assert s.exploitation_efficiency == pytest.approx(results.exploit_returns.mean() / values.mean())
    assert score([results], bounds).exploration_score is None  # without values: not reported
