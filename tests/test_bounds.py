"""Exact bounds: values worked out by hand, agreement with brute force, cache, errors."""

from __future__ import annotations

import json
from functools import cache

import numpy as np
import pytest

from evaluation import bounds as bounds_module
from evaluation.bounds import Bounds, cached_bounds, get_bounds, normalised_score, register_bounds
from meta_explore_envs.envs.cooking import fridge_contents
from meta_explore_envs.planning.grid_values import (
    ExactProblemSet,
    compute_exact_bounds,
    no_exploration,
    optimal_and_random,
    thompson,
)
from meta_explore_envs.planning.tables import family_model
from meta_explore_envs.registry import family_class

# ---------------------------------------------------------------------------- brute force
# A direct, unpruned implementation of the definitions on the env's rules (no tables), to
# check the tables, the branch-and-bound planner and the Thompson-sampling recursion.


def _key(obs) -> bytes:
    return np.asarray(obs).tobytes()


class BruteForce:
    def __init__(self, family: str):
        self.env = family_class(family)(split="train")
        self.n = len(self.env.action_names)

    def step(self, problem, instruction, state, action):
        env = self.env
        env.set_problem(problem)
        env.begin_episode(instruction)
        env.state = state
        reward, over, _ = env.transition(action)
        return reward, over, env.state, _key(env.state_observation())

    def start(self, problem, instruction):
        self.env.set_problem(problem)
        self.env.begin_episode(instruction)
        return self.env.state

    @cache
    def q_optimal(self, problem, instruction, state):
        out = []
        for a in range(self.n):
            r, over, nxt, _ = self.step(problem, instruction, state, a)
            out.append(r if over else r + max(self.q_optimal(problem, instruction, nxt)))
        return tuple(out)

    @cache
    def bayes(self, instruction, state, weighted: frozenset):
        """Bayes value of (state, belief); ``weighted`` = frozenset of (problem, weight)."""
        total = sum(w for _, w in weighted)
        best = None
        for a in range(self.n):
            groups: dict = {}
            value = 0
            for p, w in weighted:
                r, over, nxt, obs = self.step(p, instruction, state, a)
                if over:
                    value += w * r
                else:
                    groups.setdefault((obs, r, nxt), []).append((p, w))
            for (_obs, r, nxt), members in groups.items():
                gw = sum(w for _, w in members)
                value += gw * (r + self.bayes(instruction, nxt, frozenset(members)))
            value /= total
            best = value if best is None else max(best, value)
        return best


def instructions_of(env, problem):
    env.set_problem(problem)
    return env.instruction_distribution()


# ---------------------------------------------------------------------------- values by hand
def test_distracting_bus_optimal_is_0_8_for_every_problem_and_goal():
    model_family = family_model("distracting_bus")
    problems = [1, 50, 77, 300, 575]
    for goal in range(4):
        model = model_family.model(goal)
        model.add_problems(problems)
        values = model.optimal_values[[model.start_row(p) for p in problems]]
        assert values.tolist() == [80.0] * len(problems)  # 3 steps: -0.1, -0.1, +1


def test_cooking_test_split_bounds_by_hand():
    ps = ExactProblemSet("cooking", "test")
    assert ps.scored == [10] and ps.prior == list(range(64))  # the held-out kitchen; the family as prior
    assert fridge_contents(10) == (2, 2, 0)  # blue, blue, red
    optimal, _ = optimal_and_random(ps)
    # blue-blue 0.6 (4/9), blue-red and red-blue 0.4 (2/9 each), red-red 0.2 (1/9): 4.2 / 9.
    assert optimal == pytest.approx(420 / 9, abs=1e-9)


def test_map_bounds_and_the_shipped_table():
    values = compute_exact_bounds(ExactProblemSet("map", "test"))
    shipped = json.loads(bounds_module.REFERENCE_FILE.read_text())["MetaMap-v0/test/1"]["bounds"]
    for name in Bounds.NAMES:
        assert shipped[name] == pytest.approx(values[name], abs=1e-9)
    assert values["optimal"] == pytest.approx(0.8, abs=1e-12)
    assert values["no_exploration"] == pytest.approx(0.3, abs=1e-12)  # walk 8 steps
    assert values["random"] < values["no_exploration"] < values["thompson"] < values["optimal"]
    assert values["thompson"] == pytest.approx(0.5002314814814814, abs=1e-12)  # regression value


def test_no_exploration_uses_buses_it_knows():
    # Problems 0..23: every permutation of the coloured buses, the grey ones fixed (and so
    # known). Without exploring, the best is a grey bus towards the goal's side: e.g. for the
    # bottom-left corner (4,4) -> (5,4) -> (5,5), ride to (0,4), walk 4 down: 7 steps, 0.4
    # (the coloured buses stay a gamble; walking all the way is 8 steps, 0.3).
    ps = ExactProblemSet("distracting_bus", scored=range(24))
    assert no_exploration(ps) == pytest.approx(40.0, abs=1e-9)


def test_equivalent_cooking_states_pay_the_same_for_every_action_sequence():
    # States another kitchen's actions lead to (ingredients no fridge here holds) included.
    env, twin, other = (family_class("cooking")() for _ in range(3))
    rng = np.random.default_rng(3)
    for _ in range(300):
        problem = int(rng.integers(env.num_problems))
        env.set_problem(problem)
        recipes = sorted(env.instruction_distribution())
        recipe = recipes[int(rng.integers(len(recipes)))]
        other.set_problem(int(rng.integers(env.num_problems)))
        other.begin_episode(recipe)
        for action in rng.integers(0, 9, size=int(rng.integers(0, 15))):
            if other.transition(int(action))[1]:
                break
        state = other.core_state
        rep_problem, rep_recipe = env.equivalent_task(problem, recipe)
        twin.set_problem(rep_problem)
        for actions in rng.integers(0, 9, size=(4, 20)):
            env.begin_episode(recipe)
            twin.begin_episode(rep_recipe)
            env.core_state, twin.core_state = state, env.equivalent_state(problem, recipe, state)
            for action in actions:
                a, b = env.transition(int(action)), twin.transition(int(action))
                assert a == b, (problem, recipe, state)
                if a[1]:
                    break
    start = (1, 1, 4, (4, 4, 4), 0)
    # blue 0, red 1, yellow 2
    assert env.equivalent_state(10, (2, 0), (2, 0, 3, (2, 3, 4), 1)) == (2, 0, 2, (0, 2, 4), 1)
    assert env.equivalent_state(36, (1, 2), start) == start


# ---------------------------------------------------------------------------- brute force agreement
BUS_SUBSET = [0, 1, 30, 100]
COOKING_SUBSET = [2, 10, 18, 40]  # kitchens with and without blue and red


@pytest.mark.parametrize("family, problems", [("distracting_bus", BUS_SUBSET), ("cooking", COOKING_SUBSET)])
def test_bayes_planner_matches_brute_force(family, problems):
    brute = BruteForce(family)
    ps = ExactProblemSet(family, scored=problems)
    for instruction in ps.instructions(problems)[:2]:
        support = ps.with_instruction(problems, instruction)
        planner = ps.planner(instruction)
        belief = planner.belief(support)
        value = planner.value(planner.start_state(belief), belief)
        weighted = frozenset((p, ps.distribution[p][instruction]) for p in support)
        expected = brute.bayes(instruction, brute.start(support[0], instruction), weighted)
        assert value == pytest.approx(expected, abs=1e-7)


def _brute_thompson(family, prior):
    """Thompson-sampling bound by direct simulation: explorer trajectories with uniform ties,
    posterior by replaying the actions in every problem, exploitation by brute-force Bayes."""
    brute = BruteForce(family)
    env = brute.env
    dist = {p: instructions_of(env, p) for p in prior}

    def trajectories(q, j, p, state, actions, prob):
        q_values = brute.q_optimal(q, j, state)
        best = [a for a in range(brute.n) if q_values[a] >= max(q_values) - 1e-9]
        for a in best:
            r, over, nxt, obs = brute.step(p, j, state, a)
            if over:
                yield actions + [a], prob / len(best)
            else:
                yield from trajectories(q, j, p, nxt, actions + [a], prob / len(best))

    def seen(p, j, actions):
        """What the agent sees: observations of the goal-free episode while it goes on."""
        env.set_problem(p)
        env.begin_episode(None)
        out = []
        for a in actions:
            _, real_over, _ = env.transition(a)
            if real_over:
                return tuple(out) + ("ended",)
            out.append(_key(env.state_observation()))
        return tuple(out)

    total = 0.0
    for p in prior:
        for q in prior:
            for j, pj in dist[q].items():
                for actions, prob in trajectories(q, j, p, brute.start(q, j), [], 1.0):
                    target = seen(p, j, actions)
                    posterior = [x for x in prior if seen(x, j, actions) == target]
                    for i, pi in dist[p].items():
                        support = [x for x in posterior if dist[x].get(i, 0) > 0]
                        weighted = frozenset((x, dist[x][i]) for x in support)
                        exploit = brute.bayes(i, brute.start(p, i), weighted)
                        total += pj / len(prior) * prob * pi / len(prior) * exploit
    return total


@pytest.mark.parametrize("family, problems", [("distracting_bus", [0, 7]), ("cooking", [2, 10])])
def test_thompson_matches_brute_force(family, problems):
    ps = ExactProblemSet(family, scored=problems)
    assert thompson(ps) == pytest.approx(_brute_thompson(family, problems), abs=1e-7)


def test_single_problem_split_breaks_ties_uniformly():
    # Scored problem 10 under a prior over several kitchens: the policy's expected return in
    # kitchen 10, ties broken uniformly, equals the average over the tied first actions.
    ps = ExactProblemSet("cooking", scored=[10], prior=COOKING_SUBSET)
    instruction = (2, 0)
    planner = ps.planner(instruction)
    belief = planner.belief(ps.with_instruction(ps.prior, instruction))
    start = planner.start_state(belief)
    actions = planner.optimal_actions(start, belief)
    expected = np.mean([
        planner.action_node(start, belief, a).member_reward[list(planner.belief_problems(belief)).index(10)]
        + sum(planner.evaluate(o.state, o.belief, 10) for o in planner.action_node(start, belief, a).outcomes
              if 10 in planner.belief_problems(o.belief))
        for a in actions
    ])
    assert planner.evaluate(start, belief, 10) == pytest.approx(expected)
    # Evaluated on every problem of the prior, the tie-broken policy averages to the Bayes value.
    weights = np.array([ps.distribution[p][instruction] for p in planner.belief_problems(belief)])
    per_problem = [planner.evaluate(start, belief, p) for p in planner.belief_problems(belief)]
    assert float(weights @ per_problem / weights.sum()) == pytest.approx(planner.value(start, belief))


# ---------------------------------------------------------------------------- API, cache, errors
def test_normalised_score():
    b = Bounds("MetaMap-v0", "test", 1, optimal=0.8, no_exploration=0.3, thompson=0.5, random=-2.0, method="x")
    assert normalised_score(0.8, b) == pytest.approx(1.0)
    assert normalised_score(0.3, b) == pytest.approx(0.0)
    assert normalised_score(0.55, b) == pytest.approx(0.5)
    np.testing.assert_allclose(normalised_score(np.array([0.3, 0.8]), b), [0.0, 1.0])
    flat = Bounds("MetaMap-v0", "test", 1, optimal=0.3, no_exploration=0.3, thompson=0.3, random=-2.0, method="x")
    with pytest.raises(ValueError, match="normalised score is undefined"):
        normalised_score(0.5, flat)


def test_get_bounds_validates_its_arguments():
    with pytest.raises(ValueError, match="MetaNope-v0.*MetaCooking-v0"):
        get_bounds("MetaNope-v0")
    with pytest.raises(ValueError, match="split='validation'"):
        get_bounds("MetaMap-v0", "validation")
    with pytest.raises(ValueError, match="num_exploit_episodes=0"):
        get_bounds("MetaMap-v0", "test", 0)


def test_get_bounds_caches_on_disk_and_recomputes_when_the_code_changes(tmp_path, monkeypatch):
    monkeypatch.setenv("META_EXPLORE_ENVS_CACHE", str(tmp_path))
    monkeypatch.setattr(bounds_module, "_MEMORY", {})
    monkeypatch.setattr(bounds_module, "REFERENCE_FILE", tmp_path / "no-reference.json")
    calls = []

    def fake(env_id, split, num_exploit_episodes, progress):
        calls.append(split)
        return Bounds(env_id, split, num_exploit_episodes, 1.0, 0.5, 0.75, -1.0, "fake")

    monkeypatch.setitem(bounds_module.BOUND_FAMILIES, "map", fake)
    assert cached_bounds("MetaMap-v0", "train") is None and calls == []
    first = get_bounds("MetaMap-v0", "train")
    path = tmp_path / "bounds" / "MetaMap-v0-train-n1.json"
    assert json.loads(path.read_text())["bounds"]["optimal"] == 1.0
    assert not list(path.parent.glob("*.tmp"))  # written through a temporary file
    monkeypatch.setattr(bounds_module, "_MEMORY", {})
    assert get_bounds("MetaMap-v0", "train") == first and calls == ["train"]  # from disk
    assert cached_bounds("MetaMap-v0", "train") == first
    monkeypatch.setattr(bounds_module, "bounds_fingerprint", lambda *args: "changed code")
    get_bounds("MetaMap-v0", "train")
    assert calls == ["train", "train"]


def test_register_bounds_and_families_without_bounds(monkeypatch):
    # A family that is not tabular and registers no bounds function has none.
    monkeypatch.setattr(family_class("map"), "tabular", False)
    with pytest.raises(ValueError, match="no bounds are registered for family 'map'"):
        get_bounds("MetaMap-v0")
    with pytest.raises(ValueError, match="family='nope'"):
        register_bounds("nope", "x:y")


def test_reference_bounds_are_current():
    """The shipped table (``evaluation/data/reference_bounds.json``) must match the current code: after
    changing an env's rules or the bounds code, run ``python -m evaluation.bounds --write-reference``."""
    reference = json.loads(bounds_module.REFERENCE_FILE.read_text())
    assert reference, "empty reference table"
    stale = [key for key, entry in reference.items()
             if entry["fingerprint"] != bounds_module.bounds_fingerprint(*bounds_module.parse_reference_key(key))]
    assert not stale, f"stale reference bounds {stale}: run python -m evaluation.bounds --write-reference"


def test_cold_cli_computes_families_in_parallel_workers_and_matches_the_shipped_table(tmp_path, monkeypatch, capsys):
    """``python -m evaluation.bounds --recompute``: one worker process per family (fork), the
    results equal the shipped table, land in the user cache and are then read back."""
    monkeypatch.setenv("META_EXPLORE_ENVS_CACHE", str(tmp_path))
    monkeypatch.setattr(bounds_module, "_MEMORY", {})
    command = bounds_module.BoundsCommand(env=("MetaMap-v0", "MetaSign3D-v0"), recompute=True, workers=2)
    bounds_module.main(command)
    out = capsys.readouterr().out
    assert "4 entries" in out and "(4 computed)" in out
    reference = json.loads(bounds_module.REFERENCE_FILE.read_text())
    for split in ("train", "test"):
        cached = json.loads((tmp_path / "bounds" / f"MetaMap-v0-{split}-n1.json").read_text())["bounds"]
        shipped = reference[f"MetaMap-v0/{split}/1"]["bounds"]
        assert {k: cached[k] for k in Bounds.NAMES} == {k: shipped[k] for k in Bounds.NAMES}
    monkeypatch.setattr(bounds_module, "_MEMORY", {})
    bounds_module.main(bounds_module.BoundsCommand(env=("MetaMap-v0",)))
    assert "(0 computed)" in capsys.readouterr().out


def test_work_units_keep_splits_that_share_tables_together():
    """Cold runs give MetaDistractingBus's train and test splits (disjoint problems and priors)
    to different processes, and keep MetaCooking's together (its test prior is every kitchen)."""
    bus = [("MetaDistractingBus-v0", "train", 1), ("MetaDistractingBus-v0", "test", 1)]
    assert sorted(bounds_module._work_units("distracting_bus", bus)) == sorted([[bus[0]], [bus[1]]])
    cooking = [("MetaCooking-v0", "train", 1), ("MetaCooking-v0", "test", 1)]
    assert bounds_module._work_units("cooking", cooking) == [cooking]
    # A bounds function without ``shares_work`` keeps a family in one process.
    sign = [("MetaSign3D-v0", "train", 1), ("MetaSign3D-v0", "test", 1)]
    assert bounds_module._work_units("sign3d", sign) == [sign]


def test_the_fingerprint_follows_imports_inside_functions(tmp_path, monkeypatch):
    """A cached bound must go stale when code it runs changes, wherever that code is imported
    (here: a module imported only inside a function)."""
    from evaluation import fingerprint

    package = tmp_path / "fingerprint_probe"
    package.mkdir()
    (package / "__init__.py").write_text("")
    (package / "top.py").write_text("def value():\n    from fingerprint_probe import lazy\n    return lazy.X\n")
    (package / "lazy.py").write_text("X = 1\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.setattr(fingerprint, "FOLLOWED_PACKAGES", (*fingerprint.FOLLOWED_PACKAGES, "fingerprint_probe"))

    def digest() -> str:
        fingerprint._module_code.cache_clear()
        return fingerprint.source_fingerprint(["fingerprint_probe.top"])

    before = digest()
    (package / "lazy.py").write_text("X = 2\n")
    assert digest() != before
    (package / "lazy.py").write_text('"""Docs do not count."""\nX = 2  # nor do comments\n')
    changed = digest()
    (package / "lazy.py").write_text("X = 2\n")
    assert digest() == changed
