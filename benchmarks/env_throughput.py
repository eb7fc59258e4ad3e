"""Env throughput: steps/s of every registered id, single env and ``make_vec``.

    python benchmarks/env_throughput.py [--seconds 3] [--env-ids MetaCooking-v0 ...]

Single env: ``gymnasium.make(id)`` with its default wrappers (env checker, order enforcing)
and all trial bookkeeping, random actions drawn beforehand (column "env") or with
``env.action_space.sample()`` in the loop (column "+ sample()"), resets included, pinned to
one CPU core. Vector: ``gymnasium.make_vec(id, num_envs=N)`` (sync), env steps per second
(N per vector step). Prints a rich table and the same table as Markdown for docs/performance.md.
"""

from __future__ import annotations

import os
import platform
import time
from dataclasses import dataclass, field

import gymnasium as gym
import numpy as np
import tyro
from rich.console import Console
from rich.table import Table

import meta_explore_envs
from meta_explore_envs.grid import GridEpisodeEnv


@dataclass
class Config:
    seconds: float = 3.0
    """Minimum wall-clock time per measurement."""
    env_ids: tuple[str, ...] = field(default_factory=lambda: tuple(meta_explore_envs.env_ids()))
    vector_sizes: tuple[int, ...] = (8, 64)
    """make_vec sizes measured for the grid envs."""
    cpu: int | None = 0
    """Pin the process to this core (None: leave the affinity alone)."""


def timed(run_chunk, seconds: float) -> float:
    """Call ``run_chunk() -> steps`` until ``seconds`` have passed; return steps per second."""
    run_chunk()  # warm-up (first reset/step checks, renderer/GL set-up)
    steps, start = 0, time.perf_counter()
    while (elapsed := time.perf_counter() - start) < seconds:
        steps += run_chunk()
    return steps / elapsed


def single_env(env_id: str, seconds: float, sample: bool) -> float:
    env = gym.make(env_id)
    env.reset(seed=0)
    env.action_space.seed(0)
    actions = np.random.default_rng(0).integers(0, env.action_space.n, size=2000).tolist()

    def chunk() -> int:
        for action in actions:
            _, _, terminated, truncated, _ = env.step(env.action_space.sample() if sample else action)
            if terminated or truncated:
                env.reset()
        return len(actions)

    rate = timed(chunk, seconds)
    env.close()
    return rate


def vector_env(env_id: str, num_envs: int, seconds: float) -> float:
    envs = gym.make_vec(env_id, num_envs=num_envs, vectorization_mode="sync")
    envs.reset(seed=0)
    actions = np.random.default_rng(0).integers(0, envs.single_action_space.n, size=(200, num_envs))

    def chunk() -> int:
        for row in actions:
            envs.step(row)
        return actions.size

    rate = timed(chunk, seconds)
    envs.close()
    return rate


def is_grid(env_id: str) -> bool:
    return issubclass(meta_explore_envs.family_class(meta_explore_envs.env_family(env_id)), GridEpisodeEnv)


def main(config: Config) -> None:
    if config.cpu is not None and hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {config.cpu})
    console = Console()
    columns = ["env", "env steps/s (single)", "+ sample() steps/s"]
    columns += [f"make_vec {n} steps/s" for n in config.vector_sizes]
    rows = []
    for env_id in config.env_ids:
        row = [env_id, single_env(env_id, config.seconds, False), single_env(env_id, config.seconds, True)]
        for n in config.vector_sizes:
            row.append(vector_env(env_id, n, config.seconds) if is_grid(env_id) else None)
        rows.append(row)
        console.print(f"measured {env_id}")

    table = Table(title=f"Env throughput ({platform.processor() or platform.machine()}, "
                        f"Python {platform.python_version()}, gymnasium {gym.__version__}, "
                        f"load {os.getloadavg()[0]:.2f})")
    for column in columns:
        table.add_column(column, justify="right" if column != "env" else "left")
    fmt = [(r[0], *("—" if v is None else f"{v:,.0f}" for v in r[1:])) for r in rows]
    for row in fmt:
        table.add_row(*row)
    console.print(table)
    print("\n| " + " | ".join(columns) + " |")
    print("|" + "---|" * len(columns))
    for row in fmt:
        print("| " + " | ".join(f"`{row[0]}`" if i == 0 else c for i, c in enumerate(row)) + " |")


if __name__ == "__main__":
    main(tyro.cli(Config))
