"""Why an agent scores what it scores: how well it explored, and how well it used what it found.

For every scored trial of a tabular family (IMRL, non-privileged agent), the exploration
value is the expected return of Bayes-optimal exploitation given what the trial's
exploration episode showed (:mod:`meta_explore_envs.planning.diagnosis`), averaged over the
trial's exploitation episodes. Per agent and env:

* **exploration score**: the mean exploration value, normalised like the return,
  ``(value - no_exploration) / (optimal - no_exploration)``: 1 = found everything that
  matters, 0 = as good as not exploring;
* **exploitation efficiency**: mean exploitation return / mean exploration value (reward
  units): 1 = exploits what it found Bayes-optimally (Thompson sampling and no exploration are
  1 by construction, up to sampling), below 1 = cannot use what it found.

A low score with efficiency near 1 means "explores too little"; a high exploration score with
low efficiency means "cannot use what it found" (the paper's chicken-and-egg problem, measured).
"""

from __future__ import annotations

import numpy as np

from evaluation.harness import TrialResults
from meta_explore_envs.planning.diagnosis import consistent_problems, exploration_value
from meta_explore_envs.planning.grid_values import prior_problems
from meta_explore_envs.registry import env_family, family_class


def exploration_values(results: TrialResults) -> np.ndarray | None:
    """(num_trials,) the exploration value of each trial (reward units), or ``None`` where the
    diagnosis does not apply (a family that is not tabular, the standard setting, a privileged
    agent, or trials recorded without their exploration actions)."""
    family = env_family(results.env_id)
    if (not family_class(family).tabular or results.env_kwargs.get("setting", "imrl") != "imrl"
            or results.privileged or len(results.exploration_actions) != len(results.problem_ids)):
        return None
    prior = prior_problems(family, results.split)
    consistent_of: dict[tuple[int, tuple[int, ...]], np.ndarray] = {}
    value_of: dict[tuple[bytes, object, int], float] = {}
    values = np.empty(len(results.problem_ids))
    for t, (problem, actions, instructions) in enumerate(zip(
            results.problem_ids.tolist(), results.exploration_actions, results.instruction_keys)):
        key = (problem, tuple(actions))
        consistent = consistent_of.get(key)
        if consistent is None:
            consistent = consistent_of[key] = consistent_problems(family, prior, problem, actions)
        episode_values = []
        for instruction in instructions:
            vkey = (consistent.tobytes(), instruction, problem)
            value = value_of.get(vkey)
            if value is None:
                value = value_of[vkey] = exploration_value(family, prior, consistent, instruction, problem)
            episode_values.append(value)
        values[t] = float(np.mean(episode_values))
    return values


__all__ = ["exploration_values"]
