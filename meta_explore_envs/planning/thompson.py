"""Thompson-sampling (PEARL-UB) exploration of the tabular families, defined once.

In the exploration episode the agent draws a problem ``q`` from the prior and an instruction
``j`` from ``q``'s distribution and follows the optimal policy of ``(q, j)`` in the true
problem: at every step an action of :func:`explorer_actions`, ties uniformly at random. It
stops when that imagined instructed episode ends (goal reached, ``end episode`` chosen, or
the step limit), taking ``end episode`` if the goal-free exploration episode is still
running. Both uses read that one rule:

* :func:`thompson_value`: its exact expectation, over every tie and every problem of the
  prior (the ``thompson`` bound of :mod:`meta_explore_envs.planning.grid_values`);
* :class:`ThompsonExplorer`: one exploration episode of it, played with a random generator
  (the ``baselines.thompson`` agent).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from meta_explore_envs.planning.tables import InstructionModel


def explorer_actions(model: InstructionModel, q: int, position: int) -> list[int]:
    """The actions Thompson exploration may take at ``position`` when it sampled problem
    ``q`` (and ``model``'s instruction): those optimal for ``(q, instruction)``."""
    return model.optimal_actions_at(q, position)


def thompson_value(model: InstructionModel, samples: list[int], weights: list[float], prior: np.ndarray,
                   finish: Callable[[np.ndarray, bytes], float]) -> float:
    """The exact expectation of Thompson exploration: Σ over the sampled problems q of
    ``weight`` × the expected ``finish(consistent problems, key)`` after the exploration
    episode that :func:`explorer_actions` plays for (q, instruction) in every problem of
    ``prior`` (ties uniformly at random), with what it showed."""
    starts = np.array([model.start_of(int(p)) for p in prior])
    if (starts != starts[0]).any():
        raise NotImplementedError("Thompson sampling bound: problems with different start states")
    model.add_problems(prior)
    split = model.family.split_position
    classes = _policy_classes(model, prior, samples)
    memo: dict[tuple[int, bytes, int], float] = {}

    def explore(state: int, consistent: np.ndarray, key: bytes, k: int) -> float:
        # Samples of one policy class from this step on explore alike: one memo entry.
        memo_key = (state, key, k if classes is None else int(classes[split(state)[1], k]))
        value = memo.get(memo_key)
        if value is not None:
            return value
        actions = explorer_actions(model, samples[k], state)
        value = 0.0
        for action in actions:
            for outcome in model.exploration_outcomes(consistent, state, action, key):
                if outcome.imagined_over:
                    value += finish(outcome.problems, outcome.key)
                else:
                    value += explore(outcome.state, outcome.problems, outcome.key, k)
        value = memo[memo_key] = value / len(actions)
        return value

    start = model.start_position(int(prior[0]))
    return sum(w * explore(start, prior, prior.tobytes(), k) for k, w in enumerate(weights))


def _policy_classes(model: InstructionModel, prior: np.ndarray, samples: list[int]) -> np.ndarray | None:
    """``classes[t, k]``: samples with the same class at step count ``t`` have the same optimal
    actions at every state the explorer can meet, at every step count from ``t`` on, so
    their explorations from there are the same. ``None`` unless every problem of the prior
    has its own full table and every sample has values at each of its states (the states
    the explorer can meet in any problem of the prior)."""
    if not all(model.has_full_table(int(p)) for p in prior):
        return None
    tables = model.row_table[model.slots(prior)]
    states = np.flatnonzero((tables >= 0).any(axis=0))
    rows = model.row_table[model.slots(samples)][:, states]
    if (rows < 0).any():
        return None
    classes = np.zeros((model.horizon + 1, len(samples)), np.int64)
    for t in range(model.horizon - 1, -1, -1):
        masks = model.optimal_masks(rows.ravel(), t).reshape(rows.shape)
        _, inverse = np.unique(np.column_stack((masks, classes[t + 1])), axis=0, return_inverse=True)
        classes[t] = inverse.reshape(-1)
    return classes[:-1]



class ThompsonExplorer:
    """Thompson exploration played: follow the optimal policy of a sampled problem ``q`` and
    instruction ``j`` in the true problem (:func:`explorer_actions`, ties drawn with ``rng``),
    tracking which problems are consistent with the observations."""

    def __init__(self, model: InstructionModel, q: int, prior: np.ndarray, rng: np.random.Generator,
                 end_action: int):
        self.model, self.q, self.rng, self.end_action = model, int(q), rng, end_action
        self.consistent = np.asarray(prior, np.int64)
        model.add_problems(self.consistent)
        self.state = model.start_position(self.q)  # position of the imagined episode
        self.done = False  # the imagined episode of (q, j) is over

    def act(self) -> int:
        if self.done:
            return self.end_action
        return int(self.rng.choice(explorer_actions(self.model, self.q, self.state)))

    def observe(self, action: int, observation: Any) -> None:
        """The exploration episode went on after ``action`` and shows ``observation``."""
        outcomes = self.model.exploration_outcomes(self.consistent, self.state, action)
        observation_id = self.model.family.known_observation_id(observation)
        for outcome in outcomes:
            if outcome.observation == observation_id and observation_id >= 0:
                self.consistent, self.state, self.done = outcome.problems, outcome.state, outcome.imagined_over
                return
        raise RuntimeError(f"the observation after action {action} matches no problem of the prior")

    def episode_ended(self, action: int) -> None:
        """The exploration episode ended with ``action`` (its last observation is not shown)."""
        if self.done:  # the explorer ended it itself after the imagined episode: nothing new
            return
        for outcome in self.model.exploration_outcomes(self.consistent, self.state, action):
            if outcome.observation == -1:
                self.consistent = outcome.problems
                return
        raise RuntimeError("the exploration episode ended where no problem of the prior ends it")


__all__ = ["ThompsonExplorer", "explorer_actions", "thompson_value"]
