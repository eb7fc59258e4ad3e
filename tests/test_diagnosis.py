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
