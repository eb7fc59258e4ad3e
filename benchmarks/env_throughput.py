"""Env throughput: steps/s of every registered id, single env and vector envs.

    python benchmarks/env_throughput.py [--seconds 3] [--env-ids MetaCooking-v0 ...]

Single env: ``gymnasium.make(id)`` with its default wrappers (env checker, order enforcing)
and all trial bookkeeping, random actions drawn beforehand (column "env") or with
``env.action_space.sample()`` in the loop (column "+ sample()"), resets included, pinned to
one CPU core. Native vector env (grid envs): ``gymnasium.make_vec(id, num_envs=N)``, i.e.
:class:`~meta_explore_envs.vector.TrialVectorEnv`, env steps per second (N per vector step),
random actions drawn beforehand, trial bookkeeping, infos and autoresets included, after a
warm-up chunk (which tabulates the episode kinds met). Sync: Gymnasium's ``SyncVectorEnv`` of
N single envs (``vectorization_mode="sync"``). Then the memory check: RSS before and after
``--memory-steps`` env steps of the native env at N = ``--memory-envs``. "N=1 output floor":
steps/s of a step that only copies out one native N = 1 step's outputs (no dynamics): no N = 1
vector step returning fresh arrays can be faster. Prints rich tables and the same as Markdown
for docs/performance.md.
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
    native_sizes: tuple[int, ...] = (1, 64, 1024, 4096, 16384)
    """Sizes of the native vector env measured for the grid envs."""
    sync_sizes: tuple[int, ...] = (64,)
    """Sizes of Gymnasium's SyncVectorEnv measured for the grid envs."""
    memory_envs: int = 16384
    """Sub-envs of the memory check (0: skip it)."""
    memory_steps: int = 10_000_000
    """Env steps of the memory check (per env id)."""
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
    space, rng = env.action_space, np.random.default_rng(0)
    if isinstance(space, gym.spaces.Box):  # MetaPointCorner, the MuJoCo tasks: uniform in the box
        actions = list(rng.uniform(space.low, space.high, (2000, *space.shape)).astype(space.dtype))
    else:
        actions = rng.integers(0, space.n, size=2000).tolist()

    def chunk() -> int:
        for action in actions:
            _, _, terminated, truncated, _ = env.step(env.action_space.sample() if sample else action)
            if terminated or truncated:
                env.reset()
        return len(actions)

    rate = timed(chunk, seconds)
    env.close()
    return rate


def vector_env(env_id: str, num_envs: int, seconds: float, mode: str) -> float:
    envs = gym.make_vec(env_id, num_envs=num_envs, vectorization_mode=mode)
    if mode == "vector_entry_point":
        envs.tabulate_all()  # one-time, per process; untimed (docs/performance.md gives its cost)
    envs.reset(seed=0)
    rows = max(2, min(200, 400_000 // num_envs))
    actions = np.random.default_rng(0).integers(0, envs.single_action_space.n, size=(rows, num_envs))

    def chunk() -> int:
        for row in actions:
            envs.step(row)
        return actions.size

    rate = timed(chunk, seconds)
    envs.close()
    return rate


def output_floor(env_id: str, seconds: float) -> float:
    """Steps/s of a step at N = 1 that does nothing but make fresh copies of the outputs a
    native N = 1 step returns inside an episode (observation dict, rewards, terminated,
    truncated, infos with their masks): an upper bound on any N = 1 vector step that returns
    fresh arrays, whatever its dynamics cost."""
    envs = gym.make_vec(env_id, num_envs=1, vectorization_mode="vector_entry_point")
    envs.reset(seed=0)
    rng = np.random.default_rng(0)
    while True:  # a step inside an episode: no final observation among its infos
        observation, reward, terminated, truncated, infos = envs.step(rng.integers(0, envs.single_action_space.n, 1))
        if not infos["episode_done"].any():
            break

    def chunk() -> int:
        for _ in range(2000):
            ({key: value.copy() for key, value in observation.items()}, reward.copy(), terminated.copy(),
             truncated.copy(), {key: value.copy() for key, value in infos.items()})
        return 2000

    return timed(chunk, seconds)


def rss_mib() -> float:
    """This process's resident set size (Linux ``/proc``), MiB."""
    with open("/proc/self/status") as status:
        return next(int(line.split()[1]) for line in status if line.startswith("VmRSS:")) / 1024


def memory_check(env_id: str, num_envs: int, steps: int) -> tuple[float, float, float]:
    """RSS after a warm-up of the native env, RSS after ``steps`` more env steps, and seconds."""
    envs = gym.make_vec(env_id, num_envs=num_envs, vectorization_mode="vector_entry_point")
    envs.tabulate_all()
    envs.reset(seed=0)
    actions = np.random.default_rng(0).integers(0, envs.single_action_space.n, size=(64, num_envs))
    for row in actions:
        envs.step(row)
    before, start = rss_mib(), time.perf_counter()
    for k in range(max(1, steps // num_envs)):
        envs.step(actions[k % len(actions)])
    return before, rss_mib(), time.perf_counter() - start


def is_grid(env_id: str) -> bool:
    return issubclass(meta_explore_envs.family_class(meta_explore_envs.env_family(env_id)), GridEpisodeEnv)


def main(config: Config) -> None:
    if config.cpu is not None and hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {config.cpu})
    console = Console()
    columns = ["env", "single env", "+ sample()"]
    columns += [f"native N={n}" for n in config.native_sizes] + [f"sync N={n}" for n in config.sync_sizes]
    columns.append("N=1 output floor")
    tabulation = []  # first, while nothing is tabulated in this process
    for env_id in config.env_ids:
        if is_grid(env_id):
            start = time.perf_counter()
            envs = gym.make_vec(env_id, num_envs=1, vectorization_mode="vector_entry_point")
            states = envs.tabulate_all()
            tabulation.append(f"| `{env_id}` | {len(envs.tables.starts)} | {states:,} | "
                              f"{time.perf_counter() - start:.1f} |")
    rows = []
    for env_id in config.env_ids:
        row = [env_id, single_env(env_id, config.seconds, False), single_env(env_id, config.seconds, True)]
        for n in config.native_sizes:
            row.append(vector_env(env_id, n, config.seconds, "vector_entry_point") if is_grid(env_id) else None)
        for n in config.sync_sizes:
            row.append(vector_env(env_id, n, config.seconds, "sync") if is_grid(env_id) else None)
        row.append(output_floor(env_id, config.seconds) if is_grid(env_id) else None)
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
    print("\nOne-time tabulation of every episode kind (train split; measured first, in a fresh "
          "process):\n\n| env | episode kinds | states | seconds |\n|---|---|---|---|")
    for line in tabulation:
        print(line)
    if config.memory_envs:
        print(f"\nMemory: native vector env, N={config.memory_envs}, {config.memory_steps:,} env steps after a "
              "64-step warm-up\n\n| env | RSS before (MiB) | RSS after (MiB) | seconds |\n|---|---|---|---|")
        for env_id in config.env_ids:
            if is_grid(env_id):
                before, after, seconds = memory_check(env_id, config.memory_envs, config.memory_steps)
                print(f"| `{env_id}` | {before:,.0f} | {after:,.0f} | {seconds:.1f} |")


if __name__ == "__main__":
    main(tyro.cli(Config))
