"""Training speed of the DQN-based baselines on the shared learner: env steps/s and updates/s.

    python benchmarks/baselines_speed.py                          # E-RL², IMPORT and VariBAD, MetaMap-v0, 30k steps
    python benchmarks/baselines_speed.py --method erl2 --env MetaDistractingBus-v0 --steps 50000

Each method trains with its config's defaults (what ``python -m baselines.<method>.train``
uses; one torch thread) but for ``learning_starts`` (default 5,000 here, so that a short run
is mostly the steady state of collection + updates at the configured replay ratio) and no
evaluation. Printed: the whole loop's env steps/s and updates/s after the first update, and
the collection alone (waves of ``num_envs`` trials, untrained networks). The machine load
(``os.getloadavg``) is printed with every figure: numbers are only comparable at similar load.
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys
import time
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

#: method -> (trainer module, config class name).
METHODS = {"erl2": ("baselines.erl2.train", "ERL2Config"), "import_": ("baselines.import_.train", "ImportConfig"),
           "varibad": ("baselines.varibad.train", "VariBADConfig")}


def load() -> str:
    return "load {:.2f} {:.2f} {:.2f}".format(*os.getloadavg())


def trainer_for(method: str, env: str, **overrides):
    module = importlib.import_module(METHODS[method][0])
    config_class = getattr(importlib.import_module(module.__name__.rsplit(".", 1)[0]), METHODS[method][1])
    return module.Trainer(config_class.for_env(env, progress=False, eval_every=0, **overrides))


def bench(method: str, env: str, steps: int, learning_starts: int) -> None:
    torch.set_num_threads(1)
    trainer = trainer_for(method, env, learning_starts=learning_starts)
    cfg = trainer.cfg
    print(f"\n## {method} on {env}: memory {cfg.memory}, dueling {cfg.dueling}, {cfg.num_envs} trials a wave, "
          f"batch {cfg.batch_size} trials, {cfg.env_steps_per_update:g} env steps per update, 1 torch thread")
    start = time.perf_counter()
    while trainer.env_steps < learning_starts:
        trainer.collect()
    collect_s = time.perf_counter() - start
    print(f"collection alone: {trainer.env_steps / collect_s:,.0f} env steps/s ({load()})")
    steps0, updates0, start = trainer.env_steps, trainer.updates, time.perf_counter()
    while trainer.env_steps < learning_starts + steps:
        trainer.train_wave()
    dt = time.perf_counter() - start
    done = trainer.env_steps - steps0
    print(f"training loop: {done:,} env steps, {trainer.updates - updates0:,} updates in {dt:.1f} s: "
          f"{done / dt:,.0f} env steps/s, {(trainer.updates - updates0) / dt:.1f} updates/s "
          f"(1M steps: {1e6 / (done / dt) / 60:.0f} min) ({load()})")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--method", nargs="+", default=list(METHODS), choices=list(METHODS))
    parser.add_argument("--env", default="MetaMap-v0")
    parser.add_argument("--steps", type=int, default=30_000)
    parser.add_argument("--learning-starts", type=int, default=5_000)
    args = parser.parse_args()
    for method in args.method:
        bench(method, args.env, args.steps, args.learning_starts)


if __name__ == "__main__":
    main()
