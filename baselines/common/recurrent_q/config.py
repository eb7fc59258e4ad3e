"""The shared learner's settings: one documented dataclass, parsed by ``tyro``.

A method's configuration subclasses :class:`RecurrentQConfig`, adds its own fields (each a
command-line flag of its training CLI) and may redeclare a field to change its default. The
defaults here are the settings DREAM's shipped checkpoints were trained with.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

#: Per-env changes every method on the shared learner makes (the same budget and sizes for
#: all of them). MetaSign3D-v0's 80 x 60 frames: every network embeds them with its own small
#: CNN (``networks.FrameEncoder``), which makes an update ~100x a grid update on a CPU, so
#: fewer trials per wave and per batch; a replay of 3,000 trials holds 1.7 GB of frames.
#: Epsilon's random actions leave out ``end episode`` (which pays nothing there): with it a
#: uniform walk touches the instructed object in 0.6% of episodes, without it in 7.6%
#: (``benchmarks/sign3d_random_touch.py``), and DREAM's exploitation policy learned to fetch
#: only without it (docs/sign3d.md, third and fourth runs). Adam's lr is 3e-4, not the grids'
#: 3e-3: at 3e-3 the ReLU channels of the Q-networks' CNNs died (0 of 48 channels turned on
#: by any frame in DREAM's twenty-seventh probe: blind Q-networks), at 1e-3 the exploration
#: Q's first convolution kept 3 of 16 channels by 100k env steps, at 3e-4 15 of 16
#: (``progress.csv``'s ``frame_channels_alive``; docs/sign3d.md). The budget, 1M env steps
#: (2M until the fifteenth session): DREAM's test curves flatten from 500k-700k, and with the
#: bonuses kept its explorations showed the word in 98-98.7% of the train split's trials from
#: 1.0M to 1.2M (docs/sign3d.md "The fifteenth session").
PIXEL_PRESETS: dict[str, dict[str, Any]] = {
    "MetaSign3D-v0": {
        "lr": 3e-4,
        "random_end_action": False,
        "total_steps": 1_000_000,
        "num_envs": 16,
        "batch_size": 16,
        "buffer_trials": 3_000,
        "learning_starts": 5_000,
        "eval_every": 100_000,
        "checkpoint_every": 100_000,
        "checkpoint_frames": False,
    },
}

#: Settings of how a run is carried out, not of what it learns: a fork (:mod:`.fork`) may
#: give them new values. ``runs.RESUME_SETTINGS`` less ``threads``: a resume may change the
#: thread count on request, but 1 and 2 threads sum in another order, so a fork that changed
#: it would not be the run its settings train from the start.
RUN_SETTINGS = ("out", "resume", "progress", "total_steps")


@dataclass
class RecurrentQConfig:
    """Recurrent double DQN on whole meta-training trials of a ``Meta*-v0`` trial env."""

    # ------------------------------------------------------------------ run
    env: str = "MetaDistractingBus-v0"
    """Registered trial env id to meta-train on (train split; scored on the test split)."""
    total_steps: int = 1_000_000
    """Budget in env steps, counting every step of exploration and exploitation episodes."""
    seed: int = 0
    """Seed of everything: networks, problems, instructions, epsilon-greedy, replay sampling."""
    out: str = "runs/run"
    """Output folder: config.json, progress.csv, TensorBoard events, checkpoint.pt, final.pt."""
    resume: bool = False
    """Continue the run saved in ``out/checkpoint.pt`` exactly where it stopped."""
    threads: int = 1
    """torch intra-op threads. 1: two runs side by side on a 2-core machine, one per core; 2:
    one run on both cores (its gradient updates ~25% faster with these small networks). A
    run is deterministic for a given thread count, but 1 and 2 threads sum some products in
    a different order, so the same seed trains to a different (equally good) run."""
    progress: bool = True
    """Show a progress bar (env steps, steps/s, current returns)."""

    # ------------------------------------------------------------------ trials
    num_envs: int = 64
    """Trials stepped in lockstep; one batched network call per time step."""
    num_exploit_episodes: int = 1
    """Exploitation episodes per meta-training trial (scoring always uses 1)."""

    # ------------------------------------------------------------------ networks
    hidden: int = 64
    """Width of the observation embeddings, the recurrent memories and the Q heads."""
    memory: str = "max"
    """Recurrent cell of both Q-networks: "max" (running max over transition features, see
    ``networks.MaxMemory``; fast) or "gru" (the paper's choice; training ~25% slower here:
    ~600-650 against ~800 env steps/s on the buses with one other job on the 2 cores)."""
    dueling: bool = False
    """Dueling Q-heads (state value + advantages, see ``networks.RecurrentQ``) for both
    Q-networks; False: one head of Q-values."""

    # ------------------------------------------------------------------ DQN
    gamma: float = 0.99
    """Discount of the exploitation policy."""
    explore_gamma: float = 0.9
    """Discount of the exploration policy. Below 1 so that information found sooner is worth
    more: with ~0.99 every useless step early in a 20-step episode costs only ``c``, below
    the noise of the Q-estimates, and the greedy explorer dawdles."""
    td_lambda: float = 0.8
    """lambda of the double-DQN targets' Watkins Q(lambda) returns; 0: one-step targets."""
    lr: float = 3e-3
    """Adam learning rate (all networks)."""
    batch_size: int = 64
    """Trials per gradient update (whole exploration and exploitation episodes)."""
    env_steps_per_update: float = 32.0
    """Env steps collected per gradient update (the replay ratio)."""
    buffer_trials: int = 20_000
    """Replay capacity in trials."""
    learning_starts: int = 20_000
    """Env steps collected before the first update."""
    target_tau: float = 0.01
    """Polyak rate of the target Q-networks per update."""
    max_grad_norm: float = 10.0
    """Gradient clipping (global norm)."""
    epsilon_start: float = 1.0
    """Initial epsilon of both policies' epsilon-greedy actions (scoring is greedy)."""
    epsilon_end: float = 0.01
    epsilon_decay_steps: int = 40_000
    """Env steps over which the exploitation policy's epsilon decays linearly to ``epsilon_end``."""
    explore_no_end_fraction: float = 0.0
    """Fraction of meta-training trials whose exploration episode cannot end early: where the
    exploration policy would take ``end episode``, a uniformly random other action is taken
    instead, up to the step limit. The greedy explorer stops where it expects no more
    information; only there do the remaining facts go untried (MetaDistractingBus: an
    explorer that stops after two coloured buses almost never rides back for the third
    with per-step epsilon). 0: off (the paper's epsilon-greedy only)."""
    random_end_action: bool = True
    """Whether epsilon-greedy's uniformly random action may be ``end episode`` (both
    policies). False: it is drawn from the other actions. Where ending pays nothing and only
    cuts the episode short (MetaSign3D), a random ``end`` stops one episode in four before it
    gets anywhere: uniform over all 4 actions touches the instructed object within the 20
    steps in 0.6% of episodes (1/6 of 3.7% for any object), uniform over the 3 moves in 7.6%
    (45% for any object; ``planning.sign3d``'s pose graph, 16 starts). Greedy actions may
    still end the episode."""
    explore_epsilon_end: float = 0.05
    explore_epsilon_decay_steps: int = 150_000
    """The same for the exploration policy: it keeps trying actions for longer, since what
    is worth exploring only shows once the encoder and decoder have learned."""

    problems_per_start: int = 1
    """Meta-training plays each start (trial seed) in this many different problems of the
    split in one wave (drawn without replacement), with the same epsilon draws. Until what
    the problems show differs (MetaSign3D: until the sign is in view) such trials are the
    same, frame for frame, but for their problem: a decoder cannot tell their problems apart
    by anything but what tells problems apart, so it cannot memorise them. Each trial's
    problem and start are still uniform; only trials of a wave are paired (common random
    numbers). 1: off (each trial's seed draws its problem). ``num_envs`` must be a multiple."""

    # ------------------------------------------------------------------ logging and evaluation
    log_every: int = 10_000
    """Env steps between CSV/TensorBoard rows of training statistics."""
    eval_every: int = 50_000
    """Env steps between test-split evaluations through the harness (0: only at the end)."""
    eval_trials: int = 100
    """Trials per periodic test-split evaluation."""
    normalise: bool = True
    """Report normalised scores; the final evaluation computes the exact bounds if the harness
    has not cached them yet (periodic evaluations only use cached ones)."""
    checkpoint_every: int = 50_000
    """Env steps between checkpoints (``out/checkpoint.pt``; the run resumes from it)."""
    checkpoint_frames: bool = True
    """Pixel observations: store the replay's frames in ``checkpoint.pt``.
    ``--no-checkpoint-frames`` leaves them out (a MetaSign3D checkpoint shrinks from ~1.7 GB
    to a few MB, small enough to keep between machines) and ``--resume`` renders them again
    from each trial's seed and actions (~0.75 ms a frame), checked against their saved CRCs."""

    def __post_init__(self) -> None:
        if self.problems_per_start < 1 or self.num_envs % self.problems_per_start:
            raise ValueError(f"problems_per_start={self.problems_per_start} must be >= 1 and divide "
                             f"num_envs={self.num_envs}")
        if not 0.0 <= self.explore_no_end_fraction <= 1.0:
            raise ValueError(f"explore_no_end_fraction={self.explore_no_end_fraction} must be in [0, 1]")

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    def settings_that_acted(self, other: RecurrentQConfig, env_steps: int) -> list[str]:
        """The settings in which ``other`` differs from this config and on which a run of this
        config has already acted by ``env_steps``: continued under ``other`` from there, its
        checkpoint would not be the run that ``other`` trains from the start. Every difference
        but :data:`RUN_SETTINGS` counts here; a method exempts the settings of a schedule that
        has not begun (DREAM: the exploration bonuses' decay)."""
        return [f.name for f in dataclasses.fields(self)
                if f.name not in RUN_SETTINGS and getattr(self, f.name) != getattr(other, f.name)]

    @classmethod
    def env_presets(cls) -> dict[str, dict[str, Any]]:
        """Per-env changes to the defaults (``env -> {field: value}``): :data:`PIXEL_PRESETS`
        here; a method may override this (keeping those rows)."""
        return PIXEL_PRESETS

    @classmethod
    def without_removed(cls, data: dict[str, Any], source: str = "config") -> dict[str, Any]:
        """A saved config without the settings removed since (none here; a method overrides
        this to drop, or refuse, the settings its older runs recorded)."""
        return data

    @classmethod
    def for_env(cls, env: str, **overrides: Any):
        """The configuration for ``env``: the defaults, then the env's row of
        :meth:`env_presets`, then ``overrides`` (what the command line sets)."""
        return cls.from_dict({**cls().to_dict(), **cls.env_presets().get(env, {}), "env": env, **overrides})

    @classmethod
    def from_dict(cls, data: dict[str, Any], source: str = "config"):
        """The configuration a saved dict records (``source`` names it in errors); settings
        removed since it was saved are dropped or refused (see :meth:`without_removed`)."""
        data = cls.without_removed(data, source)
        names = {f.name for f in dataclasses.fields(cls)}
        unknown = set(data) - names
        if unknown:
            raise ValueError(f"unknown {cls.__name__} field(s) {sorted(unknown)}")
        return cls(**data)
