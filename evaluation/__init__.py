"""Exact bounds, the scoring harness and reports (benchmark spec, sections 6 and 7).

**Agent protocol** (details in :mod:`evaluation.protocol`): an agent module exposes
``load_agent(env_id: str, checkpoint: str | None = None, **kwargs) -> Agent``; the harness
passes ``split``, ``setting``, ``num_exploit_episodes`` and ``seed`` as keyword arguments.
An ``Agent`` has ``reset() -> None`` (start of a trial) and ``act(observation: dict) -> int``
and never sees ``info``. Optional, for speed: ``act_batch(observations: dict[str, np.ndarray],
new_trial: np.ndarray) -> np.ndarray`` (observations stacked on a leading batch axis,
``new_trial[i]`` True when slot ``i`` starts a new trial). Privileged (cheating) agents set
``privileged = True`` and implement ``act_privileged(observation, env)``: they get the live
``TrialEnv`` and reports mark them. An agent that loads a default checkpoint itself may set
``checkpoint_path`` (recorded and hashed in ``results.json``). Failures on the agent's side
(module missing, no ``load_agent``, ``load_agent`` or ``act`` raising, an invalid action)
raise :class:`~evaluation.protocol.AgentError` naming the module and the problem.

Modules:

* :mod:`evaluation.harness`: :func:`~evaluation.harness.run_trials` plays trials of a seed
  (the same for every agent) and returns :class:`~evaluation.harness.TrialResults`;
* :mod:`evaluation.bounds`: :func:`~evaluation.bounds.get_bounds` (per-family registry
  ``BOUND_FAMILIES``, caches, the shipped reference table) and
  :func:`~evaluation.bounds.normalised_score`;
* :mod:`meta_explore_envs.planning` (not here: the env package, which both this package and
  the baselines build on): the exact bounds of the grid families (tables built with the env's own ``transition``,
  Bayes-optimal search over beliefs);
* :mod:`evaluation.score`: ``python -m evaluation.score --agent MODULE`` (rich table,
  ``results.json``, ``results.md``, ``results.png``, GIFs);
* :mod:`evaluation.report`: aggregation with 95% percentile-bootstrap CIs (stratified by
  seed), the ``results.json`` schema (``RESULTS_SCHEMA``), tables, bar chart, GIFs.

Nothing here imports torch.
"""
