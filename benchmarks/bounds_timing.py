"""Time the bounds (cold and cached) and the harness (baselines, trials x seeds); print a table.

``python benchmarks/bounds_timing.py [--env-ids ...] [--splits test] [--agents ...]``

* CLI: the whole ``python -m evaluation.bounds`` command (every grid env and split), cold
  (``--recompute``: worker processes, see ``evaluation.bounds.compute_missing``) and then cached (user cache);
* cold: a fresh process computes the bounds from scratch (no caches, no shipped table);
* cached: a fresh process reads them back from the on-disk cache the cold run wrote;
* harness: ``run_trials`` of each baseline for ``--trials`` x ``--seeds`` (after its first
  trial set has warmed the baseline's own caches, the time of all seeds together).
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass

import tyro
from rich.console import Console
from rich.table import Table

COLD = """
import json, sys, time
from evaluation.bounds import get_bounds
t = time.perf_counter()
b = get_bounds(sys.argv[1], sys.argv[2], use_cache=False)
print(json.dumps({"seconds": time.perf_counter() - t, **b.as_dict()}))
"""
CACHED = """
import json, sys, time
t0 = time.perf_counter()
from evaluation.bounds import get_bounds
t = time.perf_counter()
b = get_bounds(sys.argv[1], sys.argv[2])
t1 = time.perf_counter()
get_bounds(sys.argv[1], sys.argv[2])
print(json.dumps({"seconds": t1 - t, "memory_seconds": time.perf_counter() - t1, "import_seconds": t - t0}))
"""
HARNESS = """
import json, sys, time
from evaluation.harness import run_trials
from evaluation.protocol import load_agent_module
module, env_id, trials, seeds = sys.argv[1], sys.argv[2], int(sys.argv[3]), [int(s) for s in sys.argv[4].split(",")]
t = time.perf_counter()
runs = []
for seed in seeds:
    agent = load_agent_module(module, env_id, split="test", setting="imrl", num_exploit_episodes=1, seed=seed)
    runs.append(run_trials(agent, env_id, num_trials=trials, seed=seed))
total = time.perf_counter() - t
steps = sum(r.steps for r in runs)
print(json.dumps({"seconds": total, "steps": steps, "first_seed_seconds": runs[0].seconds,
                  "later_seeds_seconds": sum(r.seconds for r in runs[1:])}))
"""


@dataclass
class Config:
    env_ids: tuple[str, ...] = ("MetaDistractingBus-v0", "MetaMap-v0", "MetaCooking-v0")
    splits: tuple[str, ...] = ("test",)
    agents: tuple[str, ...] = ("baselines.oracle", "baselines.no_exploration", "baselines.thompson", "baselines.random")
    trials: int = 100
    seeds: tuple[int, ...] = (0, 1, 2)
    skip_bounds: bool = False
    skip_cli: bool = False


def _run(code: str, *args: str, env: dict) -> dict:
    out = subprocess.run([sys.executable, "-c", code, *args], capture_output=True, text=True, env=env, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def main(config: Config) -> None:
    import os

    console = Console() if sys.stdout.isatty() else Console(width=160)
    with tempfile.TemporaryDirectory() as cache:
        env = {**os.environ, "META_EXPLORE_ENVS_CACHE": cache}
        if not config.skip_cli:
            table = Table(title="python -m evaluation.bounds (every env and split), wall clock")
            for column in ("command", "s"):
                table.add_column(column, justify="left" if column == "command" else "right")
            for args in (["--recompute"], [], []):
                start = time.perf_counter()
                subprocess.run([sys.executable, "-m", "evaluation.bounds", *args], env=env, check=True,
                               capture_output=True)
                table.add_row(" ".join(["python -m evaluation.bounds", *args]) + ("" if args else " (cached)"),
                              f"{time.perf_counter() - start:.2f}")
            console.print(table)
        if not config.skip_bounds:
            table = Table(title="Bounds: cold (fresh process, no cache) and cached (fresh process, disk cache)")
            for column in ("env", "split", "optimal", "no exploration", "Thompson", "random", "cold s",
                           "cached s", "in-memory s"):
                table.add_column(column, justify="left" if column in ("env", "split") else "right")
            for env_id in config.env_ids:
                for split in config.splits:
                    cold = _run(COLD, env_id, split, env=env)
                    cached = _run(CACHED, env_id, split, env=env)
                    table.add_row(env_id, split, *(f"{cold[k]:+.4f}" for k in ("optimal", "no_exploration",
                                                                              "thompson", "random")),
                                  f"{cold['seconds']:.1f}", f"{cached['seconds']:.4f}",
                                  f"{cached['memory_seconds']:.6f}")
                    console.print(f"{env_id} {split}: cold {cold['seconds']:.1f} s")
            console.print(table)
        table = Table(title=f"Harness: {config.trials} trials x seeds {list(config.seeds)} "
                            "(one process per agent and env)")
        for column in ("agent", "env", "total s", "first seed s", "other seeds s", "steps", "steps/s"):
            table.add_column(column, justify="left" if column in ("agent", "env") else "right")
        for module in config.agents:
            for env_id in config.env_ids:
                start = time.perf_counter()
                r = _run(HARNESS, module, env_id, str(config.trials), ",".join(map(str, config.seeds)), env=env)
                table.add_row(module, env_id, f"{r['seconds']:.1f}", f"{r['first_seed_seconds']:.1f}",
                              f"{r['later_seeds_seconds']:.1f}", str(r["steps"]),
                              f"{r['steps'] / max(r['seconds'], 1e-9):.0f}")
                console.print(f"{module} {env_id}: {time.perf_counter() - start:.1f} s")
        console.print(table)


if __name__ == "__main__":
    main(tyro.cli(Config))
