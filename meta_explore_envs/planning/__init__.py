"""Exact and privileged planning on the families' own rules: what defines the bounds and the
reference policies (oracle, no exploration, Thompson sampling).

* :mod:`.tables`: transition tables of the tabular (grid) families, built with the env's own
  ``transition``, and exact dynamic programming on them (optimal and random values);
* :mod:`.bayes`: Bayes-optimal search over ``(state, belief)`` within one episode, and
  :class:`~.bayes.BayesEpisode`, one such episode played from observations;
* :mod:`.thompson`: Thompson-sampling exploration, defined once: its exact expectation and
  its played explorer;
* :mod:`.grid_values`: the four reference values of a split of a tabular family (optimal,
  no exploration, Thompson sampling, random), exactly;
* :mod:`.sign3d`, :mod:`.sign3d_policies`: MetaSign3D's privileged planner (search over its
  deterministic dynamics from the agent's pose) and the policies built on it.

Nothing here imports :mod:`evaluation` or :mod:`baselines`; both build on it.
"""
