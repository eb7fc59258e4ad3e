"""Shared machinery of the gradient-based meta-RL agents (``baselines.maml``, ``baselines.promp``,
``baselines.mame``); the algorithms import it, never the reverse.

* :mod:`.networks`: the Gaussian MLP policy with functional parameters
  (``torch.func.functional_call``; ``vmap`` over tasks' adapted weights);
* :mod:`.estimators`: returns, GAE, ProMP's linear feature baseline, DiCE's magic box, PPO-clip;
* :mod:`.meta_policy`: the meta-policy interface (explore, adapt, exploit) and MAML's/ProMP's
  policy-gradient meta-policy with its inner surrogates (REINFORCE, LVC);
* :mod:`.rollout`: batched trials on the native vector env (exploration episode, adaptation per
  task, exploitation episodes);
* :mod:`.agent`: the harness agent (adapts at the episode boundary) and policy checkpoints;
* :mod:`.config`, :mod:`.loop`: the shared dataclass config and the training loop (progress,
  CSV + TensorBoard, periodic harness evaluation, exact resume).
"""
