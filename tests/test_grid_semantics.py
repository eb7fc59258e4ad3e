"""Scripted paths that pin the grid families' semantics (benchmark spec section 4).

Expected values are written out by hand from the spec, not recomputed with the env's code.
"""

from __future__ import annotations

import numpy as np
import pytest

from meta_explore_envs.envs import CookingEnv, DistractingBusEnv, MapEnv
from meta_explore_envs.grid import Action

L, U, R, D, NOOP, RIDE, END, PICK, DROP = range(9)


def run(env_cls, problem_id, instruction, actions, split="train"):
    """Play one single episode; return (rewards, last obs, terminated, truncated, env)."""
    env = env_cls(split=split)
    env.reset(seed=0, options={"problem_id": problem_id, "instruction": instruction})
    rewards, obs, terminated, truncated = [], None, False, False
    for i, action in enumerate(actions):
        assert not (terminated or truncated), f"episode ended before action {i}"
        obs, reward, terminated, truncated, _ = env.step(action)
        rewards.append(reward)
    return rewards, obs, terminated, truncated, env


def position(obs) -> tuple[int, int]:
    return int(obs["observation"][0]), int(obs["observation"][1])


# ---------------------------------------------------------------------------- bus grids
def test_step_ride_step_to_goal_returns_exactly_0_8():
    # Problem 0: coloured permutation (0, 1, 2, 3): the bus above the start goes to (0, 1).
    rewards, obs, terminated, truncated, _ = run(DistractingBusEnv, 0, 0, [U, RIDE, D])
    assert rewards == [-0.1, -0.1, 1.0]
    assert sum(rewards) == 0.8
    assert position(obs) == (0, 0) and terminated and not truncated


@pytest.mark.parametrize(
    "goal, actions",
    [(0, [U, RIDE, D]), (1, [D, RIDE, U]), (2, [R, RIDE, U]), (3, [L, RIDE, D])],
)
def test_every_goal_reachable_in_three_steps_in_problem_0(goal, actions):
    # Problem 0: (4,5)->(0,1), (5,4)->(0,7), (3,4)->(8,1), (4,3)->(8,7).
    rewards, obs, terminated, _, _ = run(DistractingBusEnv, 0, goal, actions)
    assert sum(rewards) == pytest.approx(0.8, abs=1e-12) and terminated


def test_walking_straight_returns_0_3(make_trial):
    env = make_trial("MetaDistractingBus-v0", problem_id=0, instructions=[0])
    env.step(END)  # skip exploration
    for action in [L] * 4 + [D] * 3:
        _, reward, terminated, _, info = env.step(action)
        assert reward == -0.1 and not info["episode_done"]
    _, reward, terminated, _, info = env.step(D)
    assert reward == 1.0 and terminated
    assert info["episode_return"] == 0.3  # exact: rewards are summed in hundredths
    assert info["episode_length"] == 8 and info["episode_success"]


def test_coloured_permutation_order_follows_itertools():
    # Problem 1 (test split): permutation (0, 1, 3, 2): source (3,4) -> (8,7), (4,3) -> (8,1).
    _, obs, *_ = run(DistractingBusEnv, 1, 0, [L, RIDE], split="test")
    assert position(obs) == (8, 7)
    _, obs, *_ = run(DistractingBusEnv, 1, 0, [D, RIDE], split="test")
    assert position(obs) == (8, 1)
    # Problem 23: permutation (3, 2, 1, 0): (4,5) -> (8,7).
    _, obs, *_ = run(DistractingBusEnv, 23, 0, [U, RIDE], split="test")
    assert position(obs) == (8, 7)


def test_grey_bus_lands_on_its_grey_destination_and_rides_back():
    # Problem 24 = coloured 0 + 24 * grey 1; grey permutation (0, 1, 3, 2): (3,5) -> (4,8).
    rewards, obs, *_ = run(DistractingBusEnv, 24, 0, [L, U, RIDE], split="test")
    assert position(obs) == (4, 8)
    assert obs["observation"][2] == 1  # a return bus stands there
    _, obs, *_ = run(DistractingBusEnv, 24, 0, [L, U, RIDE, RIDE], split="test")
    assert position(obs) == (3, 5)
    # Problem 0: grey identity permutation: (3,3) -> (4,0), (5,5) -> (0,4).
    _, obs, *_ = run(DistractingBusEnv, 0, 0, [L, D, RIDE])
    assert position(obs) == (4, 0)
    _, obs, *_ = run(DistractingBusEnv, 0, 0, [R, U, RIDE])
    assert position(obs) == (0, 4)


def test_ride_off_a_bus_and_walking_into_walls_only_cost_a_step():
    rewards, obs, *_ = run(DistractingBusEnv, 0, 0, [RIDE, PICK, DROP, NOOP])
    assert rewards == [-0.1] * 4 and position(obs) == (4, 4)
    rewards, obs, *_ = run(DistractingBusEnv, 0, 1, [U, RIDE, L, L])  # at (0, 1), walls to the left
    assert position(obs) == (0, 1) and rewards[-1] == -0.1


def test_status_reports_buses_only_where_they_are():
    _, obs, *_ = run(DistractingBusEnv, 0, 0, [NOOP])
    assert obs["observation"].tolist() == [4, 4, 0]
    _, obs, *_ = run(DistractingBusEnv, 0, 0, [U])
    assert obs["observation"].tolist() == [4, 5, 1]


@pytest.mark.parametrize("noops", [0, 4, 19])
def test_end_episode_costs_the_remaining_steps(noops):
    rewards, _, terminated, truncated, _ = run(DistractingBusEnv, 0, 0, [NOOP] * noops + [END])
    assert rewards[-1] == pytest.approx(-0.1 - 0.1 * (20 - noops - 1), abs=1e-12)
    assert sum(rewards) == pytest.approx(-2.0, abs=1e-12)
    assert terminated and not truncated


def test_time_limit_truncates_after_20_steps():
    rewards, _, terminated, truncated, _ = run(DistractingBusEnv, 0, 0, [NOOP] * 20)
    assert len(rewards) == 20 and truncated and not terminated
    assert sum(rewards) == pytest.approx(-2.0, abs=1e-12)


def test_map_reveals_problem_id_plus_one_only_on_its_cell():
    _, obs, *_ = run(MapEnv, 5, 0, [R, R, R, D])  # (7, 3)
    assert obs["observation"].tolist() == [7, 3, 0, 6]
    _, obs, *_ = run(MapEnv, 5, 0, [R, R, R, D, D])  # (7, 2)
    assert obs["observation"].tolist() == [7, 2, 0, 0]
    _, obs, *_ = run(MapEnv, 23, 0, [R, R, R, D])
    assert obs["observation"][3] == 24


def test_map_buses_follow_the_problem_permutation_and_no_grey_buses():
    _, obs, *_ = run(MapEnv, 1, 0, [L, RIDE])  # permutation (0, 1, 3, 2)
    assert position(obs) == (8, 7)
    _, obs, *_ = run(MapEnv, 1, 0, [L, D, RIDE])  # (3, 3): grey bus in DistractingBus only
    assert position(obs) == (3, 3) and obs["observation"][2] == 0


# ---------------------------------------------------------------------------- cooking
# Problem 36 = 0 + 4 * 1 + 16 * 2: fridges (2,0) red(0), (2,1) green(1), (2,2) blue(2).
KITCHEN = 36


def test_perfect_cooking_episode_returns_the_staged_sum():
    actions = [R, PICK, L, DROP, R, U, PICK, D, L, DROP]
    rewards, obs, terminated, truncated, env = run(CookingEnv, KITCHEN, (1, 2), actions)
    assert rewards == [-0.1, 0.25, -0.1, 0.25, -0.1, -0.1, 0.25, -0.1, -0.1, 0.25]
    assert sum(rewards) == pytest.approx(0.4, abs=1e-12)
    assert terminated and not truncated
    assert obs["observation"].tolist() == [1, 1, 2, 4, 1, 2, 4]


def test_wrong_ingredient_costs_an_extra_quarter():
    rewards, obs, *_ = run(CookingEnv, KITCHEN, (1, 2), [R, D, PICK])  # red at (2, 0)
    assert rewards[-1] == -0.35
    assert obs["observation"][3] == 0  # holding red
    # Stage 2: a pick up that does not give the second ingredient.
    rewards, *_ = run(CookingEnv, KITCHEN, (1, 2), [R, PICK, L, DROP, R, PICK])
    assert rewards[-1] == -0.35
    # A pick up that gives nothing (empty cell) at stage 0 also wastes the step.
    rewards, *_ = run(CookingEnv, KITCHEN, (1, 2), [L, PICK])
    assert rewards[-1] == -0.35


def test_losing_the_held_ingredient_goes_back_a_stage():
    # Stage 1 -> 0: drop green on the floor.
    rewards, *_ = run(CookingEnv, KITCHEN, (1, 2), [R, PICK, L, L, DROP, R, R, PICK])
    assert rewards[1] == 0.25 and rewards[4] == -0.35 and rewards[-1] == 0.25
    # Stage 1 -> 0 by replacing green with red; the pick up itself is not charged twice.
    rewards, *_ = run(CookingEnv, KITCHEN, (1, 2), [R, PICK, D, PICK])
    assert rewards[-1] == -0.35
    # Stage 3 -> 2: replace blue with green.
    rewards, *_ = run(CookingEnv, KITCHEN, (1, 2), [R, PICK, L, DROP, R, U, PICK, D, PICK])
    assert rewards[-1] == -0.35


def test_pot_slots_fill_in_order_overflow_is_lost_and_pick_up_empties_the_pot():
    fill = [R, PICK, L, DROP]  # green into the next slot (goal-free episode: no stages)
    _, obs, *_ = run(CookingEnv, KITCHEN, None, fill * 3 + [R, PICK, L])
    assert obs["observation"].tolist() == [1, 1, 2, 1, 1, 1, 1]
    _, obs, *_ = run(CookingEnv, KITCHEN, None, fill * 4)
    assert obs["observation"].tolist() == [1, 1, 2, 4, 1, 1, 1]  # 4th green lost
    _, obs, *_ = run(CookingEnv, KITCHEN, None, fill + [PICK])
    assert obs["observation"].tolist() == [1, 1, 2, 4, 4, 4, 4]


def test_wrong_first_slot_blocks_the_recipe_until_the_pot_is_emptied():
    # Red lands in slot 1, then green goes to slot 2: stage 1 is lost (-0.35).
    actions = [R, D, PICK, U, L, DROP, R, PICK, L, DROP]
    rewards, obs, *_ = run(CookingEnv, KITCHEN, (1, 2), actions)
    assert rewards[-1] == -0.35 and obs["observation"][4:].tolist() == [0, 1, 4]


def test_same_ingredient_twice():
    actions = [R, PICK, L, DROP, R, PICK, L, DROP]
    rewards, obs, terminated, *_ = run(CookingEnv, KITCHEN, (1, 1), actions)
    assert rewards == [-0.1, 0.25, -0.1, 0.25, -0.1, 0.25, -0.1, 0.25] and terminated


def test_cooking_end_episode_subtracts_remaining_steps():
    rewards, _, terminated, *_ = run(CookingEnv, KITCHEN, (1, 2), [R, PICK, END])
    assert rewards[-1] == pytest.approx(-0.1 - 0.1 * 17, abs=1e-12) and terminated


def test_fridge_contents_encode_the_problem_id():
    # Problem 10 (the held-out kitchen): blue, blue, red at (2,0), (2,1), (2,2).
    for moves, expected in [([R, D], 2), ([R], 2), ([R, U], 0)]:
        _, obs, *_ = run(CookingEnv, 10, (2, 0), moves + [PICK], split="test")
        assert obs["observation"][3] == expected
        assert obs["observation"][2] == 3  # fridge


def test_recipes_are_drawn_from_the_fridges_with_replacement():
    env = CookingEnv()
    env.set_problem(KITCHEN)
    distribution = env.instruction_distribution()
    assert set(distribution) == {(a, b) for a in range(3) for b in range(3)}
    assert all(p == pytest.approx(1 / 9) for p in distribution.values())
    env.set_problem(0)  # all fridges red
    assert env.instruction_distribution() == {(0, 0): pytest.approx(1.0)}
    env.set_problem(KITCHEN)
    rng = np.random.default_rng(0)
    draws = [env.sample_instruction(rng) for _ in range(9000)]
    counts = {recipe: draws.count(recipe) for recipe in distribution}
    assert all(850 < c < 1150 for c in counts.values()), counts


def test_goal_free_episode_has_only_step_costs():
    rewards, _, terminated, truncated, _ = run(CookingEnv, KITCHEN, None, [R, PICK, L, DROP])
    assert rewards == [-0.1] * 4 and not terminated
    rewards, _, terminated, *_ = run(DistractingBusEnv, 0, None, [U, RIDE, D])  # (0, 0): no goal
    assert rewards == [-0.1] * 3 and not terminated


def test_action_enum_matches_spec_numbering():
    assert [a.value for a in Action] == list(range(9))
    assert [a.name for a in Action] == [
        "LEFT", "UP", "RIGHT", "DOWN", "NOOP", "RIDE", "END_EPISODE", "PICK_UP", "DROP"]
