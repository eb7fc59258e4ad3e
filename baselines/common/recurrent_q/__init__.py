"""The shared learner: recurrent double DQN on whole meta-training trials.

One piece of code for what every recurrent Q-learning method on the trial envs does the
same way; a method (``baselines/dream/train.py``, ``baselines/erl2/train.py``) is a short
module of networks and losses on top of it. Imported by methods, never the reverse.

* :mod:`.config`: ``RecurrentQConfig``, the run, trials, network, DQN, schedule and logging
  settings (tyro flags);
* :mod:`.networks`: ``ObsSpec`` (the observation encoding; pixel frames beside the integers
  where the env's observation is an RGB frame), ``FrameEncoder`` (a small CNN), ``ObsEmbedding``, the recurrent
  cells ``MaxMemory`` and ``GRUMemory``, ``RecurrentQ`` (``extra_nvec``: more integer inputs;
  ``trunk``/``head_q``: the memory output and step embedding before the Q-head, for a
  method that replaces the memory's output, e.g. IMPORT's z);
* :mod:`.collect`: ``TrialBatch``, a wave of whole trials in lockstep on the native vector
  env, and the ``Actor`` protocol it acts with;
* :mod:`.replay`: ``TrialBuffer``, a preallocated ring buffer of whole trials sampled as
  padded sequences (one uint8 frame per step for pixel observations);
* :mod:`.novelty`: ``FrameHashCounter``, SimHash codes of frames and their visit counts (a
  count-based novelty bonus);
* :mod:`.qlearning`: ``double_dqn_loss`` (Watkins Q(lambda) returns), ``sequence_mask``,
  ``soft_update``, ``linear_epsilon``, ``epsilon_greedy``;
* :mod:`.whole_trial`: for end-to-end methods whose one memory spans the whole trial
  (E-RL², IMPORT): the trial flags (``TRIAL_FLAGS_NVEC``), ``whole_trials`` (a replay batch
  as one sequence per trial, exploration rewards 0 in the targets), ``WholeTrialActor``;
* :mod:`.agent`: ``RecurrentAgent`` (the greedy harness agent around a method's actor),
  ``read_policy_checkpoint`` and ``check_policy_env``;
* :mod:`.loop`: ``RecurrentQTrainer`` (training state, collection, updates, exact resume, log
  rows) and ``train`` (budget, periodic evaluation, checkpoints) on the shared run machinery
  of :mod:`baselines.common.runs` (``start_run``, ``parse_cli``, ``RunLog``: progress bar, CSV
  + TensorBoard; ``finish_run``: the final outputs).
* :mod:`.fork`: ``fork_run`` and its CLI, a run's checkpoint continued under settings it has
  not acted on yet (``settings_that_acted``).

A method is four pieces:

1. **Config**: ``@dataclass class MyConfig(RecurrentQConfig)`` adding the method's fields
   (redeclare a shared field to change its default); optionally ``env_presets()`` (per-env
   changes) and ``without_removed()`` (settings older checkpoints record).
2. **Networks and acting**: one ``nn.Module`` holding everything learned (Q-networks from
   :class:`~.networks.RecurrentQ` or others), an actor with ``reset(slots)`` and
   ``q_values(slots, ints, rewards, episode)`` over trial slots (:class:`~.collect.Actor`;
   collection and the harness agent share it), and a harness agent (``act``/``act_batch``:
   :class:`~.agent.RecurrentAgent` around the actor).
3. **Trainer**: ``class MyTrainer(RecurrentQTrainer)`` with

   * class attributes ``method``, ``train_format`` (the ``checkpoint.pt`` format), ``cli``
     (the training module), ``metric_columns`` (numbers each update logs) and, for more
     recent-value columns than the train return and exploration length, ``recent_columns``;
   * ``make_networks()`` (after ``torch.manual_seed(cfg.seed)``), ``q_networks()`` (the online
     Q-networks by the name of their target copy in the checkpoint; the loop keeps the
     targets in ``self.targets`` and Polyak-averages them), ``make_actor()``,
     ``make_agent()``, ``make_policy_checkpoint(meta)``;
   * ``compute_losses(*batch)`` returning a dict with ``"total"`` (the loss that is
     back-propagated); typically ``double_dqn_loss(q, q_target, actions, rewards, lengths,
     gamma, td_lambda)`` per Q-network plus the method's own terms;
   * optional: ``make_optimizer()`` (default Adam at ``cfg.lr``), ``sample_batch()`` (default
     ``buffer.sample``), ``begin_wave(n)`` / ``end_wave(wave, trials, stats)`` (the method's
     draws and actor set-up around each wave), ``before_step()`` (e.g. a scheduled weight
     decay), ``update_metrics(losses)``, ``summary_fields()``.
4. **CLI**: ``train(cfg) = loop.train(cfg, MyTrainer)`` and
   ``main() = train(baselines.common.runs.parse_cli(MyConfig))``; ``TRAINING`` in the package for sweeps.

What the loop guarantees every method: the random streams (numpy generator: wave seeds,
the method's ``begin_wave`` draws, epsilon-greedy, replay sampling; torch generator:
networks and noise) are saved in ``checkpoint.pt`` with everything else, so a resumed run
equals an uninterrupted one; evaluation restores the torch generator; a run is
deterministic for a seed and thread count.
"""
