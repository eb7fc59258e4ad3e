"""Exact bounds of the discrete (grid) families, by dynamic programming on their own rules.

Definitions (benchmark spec, section 6), all per exploitation episode in the IMRL setting,
averaged uniformly over the scored split's problems and over each problem's
:meth:`~meta_explore_envs.core.EpisodeEnv.instruction_distribution`:

* **optimal**: the problem is known; the best return of each (problem, instruction).
* **random**: uniformly random actions; the exact expected return (backward induction over
  every reachable state, no sampling).
* **no exploration**: the Bayes-optimal policy of one episode without any exploration. Its
  *prior* is uniform over the scored split, or over all problems of the family when the
  split has a single problem (MetaCooking's test split); it conditions on the instruction
  (posterior weights ``prior(p) * P(instruction | p)``, so seeing a recipe is evidence
  about the kitchen) and on every observation and reward of the episode. The bound is its
  expected return on the scored problems, with ties between equally good actions broken
  uniformly at random (this matters only when the prior is not the scored split).
* **Thompson sampling (PEARL-UB)**: in the exploration episode the agent draws a problem
  ``q`` from the prior and an instruction ``j`` from ``q``'s distribution and follows the
  optimal policy of ``(q, j)`` in the true problem: at every step an action that is optimal
  for ``(q, j)`` from the current state, ties broken uniformly at random. It stops when
  that imagined instructed episode ends (goal reached, ``end episode`` chosen, or the step
  limit), taking ``end episode`` if the goal-free exploration episode is still running.
  It sees every observation the exploration episode shows (not the last one when that
  episode ends on the same step: an ended episode's final observation is only in
  ``info``, which agents never get); IMRL exploration pays no reward, so rewards tell
  nothing. The exploitation episode is then played Bayes-optimally with the prior
  restricted to the problems consistent with what was seen (ties uniformly at random).

Bounds do not depend on ``num_exploit_episodes``: each definition conditions on the
exploration episode and the current episode only.
"""

from __future__ import annotations

import time
from collections.abc import Hashable, Iterable

import numpy as np

from meta_explore_envs.core import REWARD_SCALE
from meta_explore_envs.planning.bayes import BayesPlanner
from meta_explore_envs.planning.tables import family_model
from meta_explore_envs.planning.thompson import thompson_value
from meta_explore_envs.progress import progress_bar


def _instruction_order(instructions: Iterable[Hashable]) -> list[Hashable]:
    return sorted(instructions, key=repr)


class ExactProblemSet:
    """The scored problems, the prior and the instruction probabilities of one split.

    ``ExactProblemSet(family, split)`` is a split of the benchmark; ``scored=`` and ``prior=``
    (lists of problem IDs, ``scored`` a subset of ``prior``) give other sets, e.g. the
    whole family, or small sets for tests.
    """

    def __init__(self, family: str, split: str | None = None, *, scored: Iterable[int] | None = None,
                 prior: Iterable[int] | None = None):
        self.family = family_model(family)
        if (split is None) == (scored is None):
            raise ValueError("give either a split or the scored problems")
        if split is not None:
            scored = self.family.env_class.split_problem_ids(split)
        self.scored = sorted(int(p) for p in scored)
        #: A single-problem split would make the "unknown" problem known: use the family.
        default = self.scored if len(self.scored) > 1 else list(range(self.family.env_class.num_problems))
        self.prior = default if prior is None else sorted(int(p) for p in prior)
        if not self.scored or not set(self.scored) <= set(self.prior):
            raise ValueError(f"the scored problems {self.scored} must be a non-empty subset of the prior")
        problems = sorted(set(self.prior) | set(self.scored))
        self.distribution = {p: self.family.instruction_distribution(p) for p in problems}
        self.prior_is_scored = self.prior == self.scored
        self.scored_set = set(self.scored)

    def instructions(self, problems: Iterable[int]) -> list[Hashable]:
        """Instructions with positive probability in some of ``problems``."""
        return _instruction_order({i for p in problems for i, w in self.distribution[p].items() if w > 0})

    def with_instruction(self, problems: Iterable[int], instruction: Hashable) -> list[int]:
        return [p for p in problems if self.distribution[p].get(instruction, 0.0) > 0]

    def planner(self, instruction: Hashable) -> BayesPlanner:
        """The Bayes planner of ``instruction`` under this split's prior (cached per split)."""
        return split_planner(self.family.family, tuple(self.prior), instruction)


_PLANNERS: dict[tuple[str, tuple[int, ...], Hashable], BayesPlanner] = {}


def split_planner(family: str, prior: tuple[int, ...], instruction: Hashable) -> BayesPlanner:
    """The process-wide Bayes planner of ``instruction`` for a uniform prior over ``prior``."""
    key = (family, prior, instruction)
    planner = _PLANNERS.get(key)
    if planner is None:
        fm = family_model(family)
        weights = {}
        for p in prior:
            w = fm.instruction_distribution(p).get(instruction, 0.0)
            if w > 0:
                weights[p] = w / len(prior)
        planner = _PLANNERS[key] = BayesPlanner(fm.model(instruction), weights)
    return planner


def prior_problems(family: str, split: str) -> list[int]:
    """The problems the Bayes-optimal baselines believe in on ``split`` (see module doc)."""
    return ExactProblemSet(family, split).prior


def optimal_and_random(ps: ExactProblemSet, progress: bool = False) -> tuple[float, float]:
    """Optimal and random bounds (hundredths) of the scored problems."""
    family = ps.family
    # Weight of each representative (problem, instruction) (equivalent_task): one value each.
    weights: dict[tuple[int, Hashable], float] = {}
    for p in ps.scored:
        for instruction, w in ps.distribution[p].items():
            if w > 0:
                rep = family.representative(p, instruction)
                weights[rep] = weights.get(rep, 0.0) + w / len(ps.scored)
    optimal = random = 0.0
    for instruction in progress_bar(_instruction_order({i for _, i in weights}), "optimal/random", progress):
        model = family.model(instruction)
        problems = [p for p, i in weights if i == instruction]
        model.add_problems(problems)
        rows = np.array([model.start_row(p) for p in problems])
        w = np.array([weights[p, instruction] for p in problems])
        optimal += float(w @ model.optimal_values[rows])
        random += float(w @ model.random_values[rows])
    return optimal, random


def no_exploration(ps: ExactProblemSet, progress: bool = False) -> float:
    """No-exploration bound (hundredths): exploitation with the prior as the posterior."""
    instructions = ps.instructions(ps.scored)
    total = 0.0
    for instruction in progress_bar(instructions, "no exploration", progress):
        support = np.array(ps.with_instruction(ps.prior, instruction))
        total += _exploitation_value(ps, support, instruction)
    return total


def _exploitation_value(ps: ExactProblemSet, support: np.ndarray, instruction: Hashable) -> float:
    """Σ over the scored problems p in ``support`` of P(instruction | p) / |scored| times the
    return in p of Bayes-optimal exploitation under the prior restricted to ``support`` (hundredths)."""
    planner = ps.planner(instruction)
    belief = planner.belief(support)
    start = planner.start_state(belief)
    scored = ps.with_instruction([p for p in support if int(p) in ps.scored_set], instruction)
    if ps.prior_is_scored:
        weight = sum(ps.distribution[p][instruction] for p in support) / len(ps.scored)
        return weight * planner.value(start, belief)
    return sum(ps.distribution[p][instruction] / len(ps.scored) * planner.evaluate(start, belief, p) for p in scored)


def thompson(ps: ExactProblemSet, progress: bool = False) -> float:
    """Thompson-sampling (PEARL-UB) bound (hundredths)."""
    prior = np.array(sorted(ps.prior), np.int64)
    finished: dict[bytes, float] = {}

    def finish(consistent: np.ndarray, key: bytes) -> float:
        value = finished.get(key)
        if value is None:
            value = finished[key] = sum(
                _exploitation_value(ps, np.array(ps.with_instruction(consistent, i), np.int64), i)
                for i in ps.instructions([p for p in consistent if int(p) in ps.scored_set])
            )
        return value

    total = 0.0
    for j in progress_bar(ps.instructions(ps.prior), "Thompson sampling", progress):
        samples = ps.with_instruction(ps.prior, j)
        weights = [ps.distribution[q][j] / len(ps.prior) for q in samples]
        total += thompson_value(ps.family.model(j), samples, weights, prior, finish)
    return total


def compute_exact_bounds(problems: ExactProblemSet, progress: bool = False) -> dict[str, float]:
    """All four bounds of a problem set, in reward units (not hundredths), with the time each took."""
    ps = problems
    timings = {}
    t0 = time.perf_counter()
    optimal, random = optimal_and_random(ps, progress)
    timings["optimal_random_seconds"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    no_exp = no_exploration(ps, progress)
    timings["no_exploration_seconds"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    ts = thompson(ps, progress)
    timings["thompson_seconds"] = time.perf_counter() - t0
    return {"optimal": optimal / REWARD_SCALE, "no_exploration": no_exp / REWARD_SCALE,
            "thompson": ts / REWARD_SCALE, "random": random / REWARD_SCALE, **timings}




def shares_work(family: str, split_a: str, split_b: str) -> bool:
    """Whether the values of two splits share tables (their problems and priors overlap), so
    that computing them in one process is cheaper than in two."""
    a, b = ExactProblemSet(family, split_a), ExactProblemSet(family, split_b)
    return bool((set(a.prior) | set(a.scored)) & (set(b.prior) | set(b.scored)))


__all__ = ["ExactProblemSet", "compute_exact_bounds", "no_exploration", "optimal_and_random", "prior_problems",
           "shares_work", "split_planner"]
