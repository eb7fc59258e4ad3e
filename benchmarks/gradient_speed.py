"""Speed of the gradient-based agents' training iterations on MetaPointCorner-v0.

    python benchmarks/gradient_speed.py [--iterations 20] [--methods maml promp mame]

Per method: a trainer with its default config (one torch thread), ``--iterations``
iterations (collection of ``meta_batch`` trials on the native vector env and the outer
update) after one warm-up iteration, then one evaluation of ``eval_trials`` test trials
through the harness. Prints iterations/s, env steps/s, the evaluation's seconds and the
extrapolated minutes of a default run (``total_steps`` / steps per iteration iterations and
``total_steps / steps per iteration / eval_every`` evaluations).
"""

from __future__ import annotations

import importlib
import tempfile
import time
from dataclasses import dataclass

import torch
import tyro

import meta_explore_envs  # noqa: F401  (registers the ids)
from baselines.common.gradient.loop import evaluate


@dataclass
class Config:
    iterations: int = 20
    """Timed iterations per method."""
    methods: tuple[str, ...] = ("maml", "promp", "mame")


CONFIGS = {"maml": "MAMLConfig", "promp": "ProMPConfig", "mame": "MAMEConfig"}


def main(config: Config) -> None:
    torch.set_num_threads(1)
    print("| method | iterations/s | env steps/s | evaluation (s) | default run (min) |\n|---|---:|---:|---:|---:|")
    for method in config.methods:
        cfg_class = getattr(importlib.import_module(f"baselines.{method}.config"), CONFIGS[method])
        trainer_class = importlib.import_module(f"baselines.{method}.train").Trainer
        with tempfile.TemporaryDirectory() as out:
            cfg = cfg_class(out=out, progress=False)
            trainer = trainer_class(cfg)
            trainer.train_iteration()  # warm-up
            start = time.perf_counter()
            for _ in range(config.iterations):
                trainer.train_iteration()
            per_iteration = (time.perf_counter() - start) / config.iterations
            start = time.perf_counter()
            evaluate(trainer, None)
            per_eval = time.perf_counter() - start
        iterations = cfg.total_steps // trainer.steps_per_iteration
        minutes = (iterations * per_iteration + iterations // cfg.eval_every * per_eval) / 60
        print(f"| {method} | {1 / per_iteration:.2f} | {trainer.steps_per_iteration / per_iteration:,.0f} | "
              f"{per_eval:.1f} | {minutes:.1f} |")


if __name__ == "__main__":
    main(tyro.cli(Config))
