"""MetaPointCorner's native vector env: env steps/s (N per vector step) against N single envs.

    python benchmarks/point_corner_vector.py [--seconds 2] [--sizes 1 40 800]

``gymnasium.make_vec("MetaPointCorner-v0", num_envs=N)`` (:class:`~meta_explore_envs.vector.PointCornerVectorEnv`)
and Gymnasium's ``SyncVectorEnv`` of N single envs, random actions drawn beforehand, trial
bookkeeping, infos and autoresets included.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import gymnasium as gym
import numpy as np
import tyro

import meta_explore_envs  # noqa: F401  (registers the ids)


@dataclass
class Config:
    seconds: float = 2.0
    """Minimum wall-clock time per measurement."""
    sizes: tuple[int, ...] = (1, 40, 800)
    """Numbers of sub-envs."""


def steps_per_second(num_envs: int, mode: str, seconds: float) -> float:
    envs = gym.make_vec("MetaPointCorner-v0", num_envs=num_envs, vectorization_mode=mode)
    envs.reset(seed=0)
    actions = np.random.default_rng(0).uniform(-0.3, 0.3, size=(100, num_envs, 2))
    steps, start = 0, time.perf_counter()
    while time.perf_counter() - start < seconds:
        for a in actions:
            envs.step(a)
        steps += len(actions) * num_envs
    return steps / (time.perf_counter() - start)


def main(config: Config) -> None:
    print("| N | native steps/s | sync steps/s |\n|---:|---:|---:|")
    for n in config.sizes:
        native = steps_per_second(n, "vector_entry_point", config.seconds)
        sync = steps_per_second(n, "sync", config.seconds) if n <= 64 else float("nan")
        print(f"| {n} | {native:,.0f} | {sync:,.0f} |")


if __name__ == "__main__":
    main(tyro.cli(Config))
