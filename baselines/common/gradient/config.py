"""The settings every gradient-based method shares: one documented dataclass, parsed by ``tyro``.

A method's configuration subclasses :class:`GradientConfig` and adds its own fields (each a
flag of its training CLI). The defaults follow ProMP's point-env runs where this suite's
trial protocol allows (see each method's ``train.py`` for the deviations).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

#: The MuJoCo tasks whose episodes never end early (the losses need fixed-length episodes).
HALF_CHEETAH_ENV_IDS = ("MetaHalfCheetahVel-v0", "MetaHalfCheetahFwdBwd-v0")
#: Every env the gradient-based methods train on.
GRADIENT_ENV_IDS = ("MetaPointCorner-v0", *HALF_CHEETAH_ENV_IDS)
#: Their settings on the HalfCheetah tasks: an iteration is 40 trials x 2 episodes x 200 steps
#: = 16,000 env steps, so 1,000 iterations (ProMP's runs: 1,000 iterations of 40 x 20
#: trajectories); evaluations of 20 test trials every 25 iterations; checkpoints every 10
#: (about half a minute); raw returns (the MuJoCo tasks have no bounds).
HALF_CHEETAH_PRESET: dict[str, Any] = {"total_steps": 16_000_000, "eval_every": 25, "eval_trials": 20,
                                       "checkpoint_every": 10, "normalise": False}


@dataclass
class GradientConfig:
    """Gradient-based meta-RL on whole trials of ``MetaPointCorner-v0`` (one trial = one task:
    an exploration episode, the inner step(s) on it, then the exploitation episodes)."""

    # ------------------------------------------------------------------ run
    env: str = "MetaPointCorner-v0"
    """Registered trial env id to meta-train on (train split; scored on the test split)."""
    total_steps: int = 12_000_000
    """Budget in env steps, counting every step of exploration and exploitation episodes
    (one iteration: ``meta_batch x (num_exploit_episodes + 1) x 100`` = 8,000 by default, so
    1,500 iterations: about 9 minutes alone on one core of our CPU, under 30 with five
    processes on its 2 cores; ``python benchmarks/gradient_speed.py``)."""
    seed: int = 0
    out: str = "runs/gradient"
    """Output folder: config.json, progress.csv, tb/, checkpoint.pt, final.pt, result.json."""
    resume: bool = False
    """Continue the run saved in ``out/checkpoint.pt`` (bit for bit as if never stopped)."""
    threads: int = 1
    """Torch CPU threads (1 and 2 threads give different runs)."""
    progress: bool = True
    """Show a progress bar (``--no-progress`` for logs)."""
    # ------------------------------------------------------------------ trials
    meta_batch: int = 40
    """Trials (tasks) per iteration, played at once by the native vector env (ProMP: 40 tasks)."""
    num_exploit_episodes: int = 1
    """Exploitation episodes per trial (all played by the adapted policy; the outer loss uses all)."""
    episodes_per_task: int = 1
    """Trials per task in meta-training: each task adapts once from all their exploration
    episodes, and all their exploitation episodes count in the outer loss (1: as at test time,
    where a trial has one exploration episode; the papers sample 20 trajectories per task).
    ``meta_batch`` counts trials, so it must be a multiple of this."""
    # ------------------------------------------------------------------ networks and steps
    hidden: tuple[int, ...] = (64, 64)
    """Hidden layer widths of the tanh MLPs (ProMP: 64, 64)."""
    init_std: float = 1.0
    """Initial standard deviation of the Gaussian policies (ProMP: 1.0; actions clip at 0.2)."""
    gamma: float = 0.99
    gae_lambda: float = 1.0
    """GAE lambda of the outer (and inner) advantages (ProMP: 1.0)."""
    lr: float = 1e-3
    """Adam learning rate of the outer step (ProMP: 1e-3)."""
    ppo_epochs: int = 5
    """Outer PPO-clip steps per batch, each recomputing the adaptation (ProMP: 5)."""
    clip: float = 0.2
    """PPO clip range (ProMP, MAME: 0.2)."""
    grad_clip: float = 0.0
    """Global gradient-norm clip of the outer step (0: none)."""
    # ------------------------------------------------------------------ logging
    eval_every: int = 50
    """Iterations between evaluations on the test split through the harness."""
    eval_trials: int = 50
    """Test trials per evaluation (the final one too)."""
    normalise: bool = True
    """Report normalised test scores (the family's cached bounds)."""
    checkpoint_every: int = 50
    """Iterations between checkpoints (``out/checkpoint.pt``)."""

    def to_dict(self) -> dict[str, Any]:
        data = dataclasses.asdict(self)
        data["hidden"] = list(self.hidden)
        return data

    @classmethod
    def env_presets(cls) -> dict[str, dict[str, Any]]:
        """Settings per env that differ from the point env's defaults (the command line wins)."""
        return {env_id: HALF_CHEETAH_PRESET for env_id in HALF_CHEETAH_ENV_IDS}

    @classmethod
    def without_removed(cls, data: dict[str, Any], source: str = "config") -> dict[str, Any]:
        return data

    @classmethod
    def for_env(cls, env: str, **overrides: Any):
        """The configuration for ``env``: the defaults, then the env's row of
        :meth:`env_presets`, then ``overrides`` (what the command line sets)."""
        return cls.from_dict({**cls().to_dict(), **cls.env_presets().get(env, {}), "env": env, **overrides})

    @classmethod
    def from_dict(cls, data: dict[str, Any], source: str = "config"):
        names = {f.name for f in dataclasses.fields(cls)}
        unknown = set(data) - names
        if unknown:
            raise ValueError(f"unknown {cls.__name__} field(s) {sorted(unknown)} in {source}")
        data = dict(data)
        if "hidden" in data:
            data["hidden"] = tuple(data["hidden"])
        return cls(**data)


@dataclass
class PolicyGradientConfig(GradientConfig):
    """MAML-family settings: the inner policy-gradient step on the exploration episode."""

    inner_lr: float = 0.1
    """Step size alpha of the inner policy-gradient step (ProMP's point env: 0.1)."""
    inner_steps: int = 1
    """Inner gradient steps on the exploration episode (1 as in the papers)."""


__all__ = ["GRADIENT_ENV_IDS", "GradientConfig", "HALF_CHEETAH_ENV_IDS", "HALF_CHEETAH_PRESET", "PolicyGradientConfig"]
