"""Why an agent scores what it scores: how well it explored, and how well it used what it found.

For every scored trial (IMRL setting, non-privileged agent) the **exploration value** is the
expected return, per exploitation episode, of Bayes-optimal exploitation given what the trial's
exploration episode showed. How it is computed is up to each family (:data:`DIAGNOSES`):

* tabular families (the grids): exactly (:mod:`meta_explore_envs.planning.diagnosis`): the
  problems consistent with the exploration's observations, then Bayes-optimal exploitation of
  each exploitation episode's instruction in the true problem, averaged over the episodes;
* ``sign3d`` (MetaSign3D): whether the exploration episode **saw the sign** (the whole word in
  view from a pose the agent observed: :func:`meta_explore_envs.planning.sign3d.sign_seen`);
  the value is then the optimal bound, else the no-exploration bound
  (:func:`evaluation.bounds.get_bounds`, per exploitation episode). Those bounds are the
  privileged planner's estimates in expectation over the exploitation episode's random start
  (not the trial's own start), and a partial view of the sign counts as not seen, so a
  trial's value is approximate; its mean over trials is exact in expectation for an explorer
  that either reads the whole word or sees nothing of the sign. The exploration score is
  then the fraction of trials in which the sign was seen (:attr:`Diagnosis.sign_seen`).
  :attr:`Diagnosis.word_in_view` also counts the trials that showed only part of the word
  (an agent may read the colour from it).

Per agent and env (:func:`evaluation.report.score`):

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

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from evaluation.bounds import get_bounds
from evaluation.harness import TrialResults
from meta_explore_envs.planning.diagnosis import consistent_problems, exploration_value
from meta_explore_envs.planning.grid_values import prior_problems
from meta_explore_envs.registry import env_family, family_class


@dataclass(frozen=True)
class Diagnosis:
    """The explore/exploit diagnosis of one run (one :class:`~evaluation.harness.TrialResults`)."""

    #: (num_trials,) float: the exploration value of each trial, reward units per exploitation episode.
    values: np.ndarray
    #: (num_trials,) bool: MetaSign3D only, whether the trial's exploration episode saw the sign
    #: (:func:`meta_explore_envs.planning.sign3d.sign_seen`); None for other families.
    sign_seen: np.ndarray | None = None
    #: (num_trials,) bool: MetaSign3D only, whether some of the sign's word was in view in the
    #: exploration episode, whole or not (:func:`meta_explore_envs.planning.sign3d.word_in_view`);
    #: None for other families.
    word_in_view: np.ndarray | None = None


def _tabular_diagnosis(results: TrialResults) -> Diagnosis | None:
    """Exact exploration values of a tabular family (None without the exploration actions)."""
    if len(results.exploration_actions) != len(results.problem_ids):
        return None
    family = env_family(results.env_id)
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
    return Diagnosis(values)


def _sign3d_diagnosis(results: TrialResults) -> Diagnosis | None:
    """MetaSign3D: the optimal bound where the exploration saw the sign, else the no-exploration
    bound (None without the exploration states)."""
    if len(results.exploration_states) != len(results.problem_ids):
        return None
    # Imported here: the planner's module is only needed (and its world only built) for sign3d.
    from meta_explore_envs.planning.sign3d import sign_seen, word_in_view

    bounds = get_bounds(results.env_id, results.split, results.num_exploit_episodes)
    seen = np.array([sign_seen(states) for states in results.exploration_states], dtype=bool)
    in_view = np.array([word_in_view(states) for states in results.exploration_states], dtype=bool)
    return Diagnosis(np.where(seen, bounds.optimal, bounds.no_exploration), sign_seen=seen, word_in_view=in_view)


DiagnosisFunction = Callable[[TrialResults], "Diagnosis | None"]

#: Family name -> its diagnosis, for families that are not tabular; every tabular family
#: without an entry gets the exact one. A family in neither has no diagnosis.
DIAGNOSES: dict[str, DiagnosisFunction] = {
    "sign3d": _sign3d_diagnosis,
}


def diagnose(results: TrialResults) -> Diagnosis | None:
    """The diagnosis of ``results``, or ``None`` where it does not apply: a family without
    one, the standard setting, a privileged agent, or trials recorded without what the
    family's diagnosis reads (exploration actions or states)."""
    family = env_family(results.env_id)
    function = DIAGNOSES.get(family)
    if function is None and family_class(family).tabular:
        function = _tabular_diagnosis
    if function is None or results.env_kwargs.get("setting", "imrl") != "imrl" or results.privileged:
        return None
    return function(results)


def exploration_values(results: TrialResults) -> np.ndarray | None:
    """(num_trials,) the exploration value of each trial (reward units), or ``None`` where the
    diagnosis does not apply (see :func:`diagnose`)."""
    diagnosis = diagnose(results)
    return None if diagnosis is None else diagnosis.values


__all__ = ["DIAGNOSES", "Diagnosis", "diagnose", "exploration_values"]
