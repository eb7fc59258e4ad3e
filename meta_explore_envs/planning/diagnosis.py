"""What an exploration episode found out, exactly (tabular families, IMRL setting).

The agent never sees the problem. After the goal-free exploration episode it can only rule out
the problems whose episode, played with the same actions, would have shown it something else.
:func:`diagnose` gives, for one played exploration episode:

* ``consistent``: the problems of the prior still possible (exact: every problem of the prior
  is replayed on the family's own rules, tabulated in :mod:`meta_explore_envs.vector.tables`);
* ``bits``: the information gathered, ``log2(len(prior) / len(consistent))`` (uniform prior);
* ``value``: the **exploration value**, the expected return in the true problem of the
  Bayes-optimal exploitation of the given instruction under the prior restricted to
  ``consistent`` (and to the problems where the instruction can occur, weighted by its
  probability there; ties broken uniformly): the same computation that defines the
  ``no_exploration`` and ``thompson`` bounds (:mod:`meta_explore_envs.planning.grid_values`),
  so that its average over a split's trials is the bound of the same explorer.

An episode that ends at once learns nothing (0 bits; its values average to the
no-exploration bound); one that pins the problem down is worth the optimal return. The agent
sees every observation of the exploration episode but the last one when that step ends it
(an ended episode's final observation is only in ``info``); IMRL exploration pays no reward,
so rewards tell nothing.
"""

from __future__ import annotations

import math
from collections.abc import Hashable, Sequence
from dataclasses import dataclass

import numpy as np

from meta_explore_envs.core import REWARD_SCALE
from meta_explore_envs.planning.grid_values import split_planner
from meta_explore_envs.planning.tables import family_model
from meta_explore_envs.vector.tables import episode_tables


@dataclass(frozen=True)
class ExplorationDiagnosis:
    """What one exploration episode found out (see the module docstring)."""

    consistent: np.ndarray  #: sorted problem IDs of the prior still possible
    bits: float  #: log2(prior size / consistent size)
    value: float  #: expected exploitation return (reward units) given ``consistent``


def consistent_problems(family: str, prior: Sequence[int], problem: int, actions: Sequence[int]) -> np.ndarray:
    """The problems of ``prior`` whose goal-free episode, played with ``actions``, shows the
    agent what ``problem``'s showed (``actions``: the whole exploration episode, in order)."""
    tables = episode_tables(family)
    prior = np.array(sorted(int(p) for p in prior), np.int64)
    if problem not in set(prior.tolist()):
        raise ValueError(f"problem={problem} is not in the prior ({len(prior)} problems)")
    states = np.array([tables.start(int(p), None) for p in prior.tolist()] + [tables.start(int(problem), None)])
    next_state, _, ends, _, observation = tables.views()
    shown = observation[states]
    alike = (shown == shown[-1]).reshape(len(states), -1).all(axis=1)
    for step, action in enumerate(actions, start=1):
        flat = states * tables.num_actions + int(action)
        if ends[flat[-1]] or step >= tables.max_steps:
            break  # the episode ended: its last observation is not shown
        states = next_state[flat].astype(np.int64)
        shown = observation[states]
        alike &= (shown == shown[-1]).reshape(len(states), -1).all(axis=1)
    return prior[alike[:-1]]


def exploration_value(family: str, prior: Sequence[int], consistent: Sequence[int], instruction: Hashable,
                      problem: int | None = None) -> float:
    """Expected return (reward units) of Bayes-optimal exploitation of ``instruction`` when the
    problem is known to be in ``consistent`` (a subset of ``prior``): in ``problem`` if given,
    else averaged over ``consistent`` as the posterior weighs them."""
    planner = split_planner(family, tuple(sorted(int(p) for p in prior)), instruction)
    model = family_model(family)
    support = [int(p) for p in consistent if model.instruction_distribution(int(p)).get(instruction, 0.0) > 0]
    if not support:
        raise ValueError(f"instruction {instruction!r} cannot occur in any of the problems {list(consistent)}")
    belief = planner.belief(np.array(support, np.int64))
    start = planner.start_state(belief)
    if problem is None:
        return planner.value(start, belief) / REWARD_SCALE
    if problem not in support:
        raise ValueError(f"problem={problem} is not among the problems consistent with instruction {instruction!r}")
    return planner.evaluate(start, belief, problem) / REWARD_SCALE


def diagnose(family: str, prior: Sequence[int], problem: int, actions: Sequence[int],
             instruction: Hashable) -> ExplorationDiagnosis:
    """The :class:`ExplorationDiagnosis` of an exploration episode played with ``actions`` in
    ``problem``, before exploiting ``instruction``."""
    consistent = consistent_problems(family, prior, problem, actions)
    return ExplorationDiagnosis(consistent, math.log2(len(prior) / len(consistent)),
                                exploration_value(family, prior, consistent, instruction, problem))


__all__ = ["ExplorationDiagnosis", "consistent_problems", "diagnose", "exploration_value"]
