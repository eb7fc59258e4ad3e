"""MetaSign3D memory and speed: RSS growth over resets and env create/close loops, steps/s.

    python benchmarks/sign3d_memory.py [--resets 10000] [--envs 50] [--seconds 5]

Prints the process's resident set size (RSS, from /proc/self/statm) after warm-up and
after each phase, and the growth per phase:

* ``resets``: ``--resets`` trial resets of one ``gymnasium.make("MetaSign3D-v0")`` env
  (each renders the first observation); goal: < 50 MiB growth.
* ``create/close``: ``--envs`` times ``gymnasium.make`` + ``reset`` + 20 steps + ``close``
  (MiniWorld's own envs each leak a window and an 800x600 frame buffer, ~36 MiB per env).
* ``--miniworld-envs N``: the same create/close loop with MiniWorld's own ``Sign`` env, for
  comparison.
* ``steps``: single-env steps/s with random actions (resets included) for ``--seconds``,
  pinned to one CPU core, next to the CPU time per step; goal: >= 1,000 steps/s.

Also prints the GL renderer and ``uptime``'s load average, since timings on a shared
machine are noisy.
"""

from __future__ import annotations

import os
import platform
import time
from dataclasses import dataclass

import gymnasium as gym
import numpy as np
import tyro

import meta_explore_envs  # noqa: F401  (registers the ids)

ENV_ID = "MetaSign3D-v0"
MIB = 1024 * 1024


@dataclass
class Config:
    resets: int = 10_000
    """Trial resets of one env."""
    envs: int = 50
    """Envs created, used and closed one after the other."""
    seconds: float = 5.0
    """Duration of the steps/s measurement."""
    cpu: int | None = 0
    """Pin the process to this core (None: leave the affinity alone)."""
    miniworld_envs: int = 0
    """For comparison: also create/close this many of MiniWorld's own ``MiniWorld-Sign-v0``."""


def rss_mib() -> float:
    with open("/proc/self/statm") as f:
        pages = int(f.read().split()[1])
    return pages * os.sysconf("SC_PAGE_SIZE") / MIB


def load_average() -> str:
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


def main(config: Config) -> None:
    if config.cpu is not None and hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {config.cpu})
    env = gym.make(ENV_ID)
    env.reset(seed=0)
    for _ in range(200):  # warm-up: GL context, textures, display lists, first frames
        env.step(env.action_space.sample())
        env.reset()
    from meta_explore_envs.envs.sign3d_world import shared_gl

    print(f"{ENV_ID} on {platform.processor() or platform.machine()}, GL renderer: {shared_gl().renderer}")
    print(f"load average before: {load_average()}")
    base = rss_mib()
    print(f"RSS after warm-up: {base:8.1f} MiB")

    start = rss_mib()
    t0 = time.perf_counter()
    for i in range(config.resets):
        env.reset(seed=i)
    elapsed = time.perf_counter() - t0
    print(f"{config.resets} resets: RSS {rss_mib():8.1f} MiB, growth {rss_mib() - start:+.1f} MiB "
          f"({config.resets / elapsed:.0f} resets/s)")
    env.close()

    start = rss_mib()
    for i in range(config.envs):
        e = gym.make(ENV_ID)
        e.reset(seed=i)
        for _ in range(20):
            _, _, terminated, _, _ = e.step(e.action_space.sample())
            if terminated:
                break
        e.close()
    print(f"{config.envs} x create/reset/step/close: RSS {rss_mib():8.1f} MiB, "
          f"growth {rss_mib() - start:+.1f} MiB ({(rss_mib() - start) / config.envs:+.2f} MiB per env)")

    env = gym.make(ENV_ID)
    env.reset(seed=0)
    actions = np.random.default_rng(0).integers(0, 4, size=1000).tolist()
    steps, wall0, cpu0 = 0, time.perf_counter(), time.process_time()
    while time.perf_counter() - wall0 < config.seconds:
        for action in actions:
            _, _, terminated, _, _ = env.step(action)
            if terminated:
                env.reset()
        steps += len(actions)
    wall, cpu = time.perf_counter() - wall0, time.process_time() - cpu0
    pinned = f"pinned to core {config.cpu}" if config.cpu is not None else "not pinned"
    print(f"single env, random actions, resets included ({pinned}): {steps / wall:.0f} steps/s "
          f"({cpu / steps * 1e6:.0f} us CPU per step)")
    print(f"RSS at the end: {rss_mib():8.1f} MiB (growth since warm-up {rss_mib() - base:+.1f} MiB)")
    env.close()
    if config.miniworld_envs:
        import miniworld  # noqa: F401  (after our env: pyglet is already set up headless)

        start = rss_mib()
        for i in range(config.miniworld_envs):
            e = gym.make("MiniWorld-Sign-v0")
            e.reset(seed=i)
            e.close()
        print(f"for comparison, {config.miniworld_envs} x MiniWorld-Sign-v0 create/reset/close: growth "
              f"{rss_mib() - start:+.1f} MiB ({(rss_mib() - start) / config.miniworld_envs:+.2f} MiB per env)")
    print(f"load average after: {load_average()}")


if __name__ == "__main__":
    main(tyro.cli(Config))
