"""Wall time of one 4-run sweep with 1 and with 2 workers (Ray backend by default).

    python benchmarks/sweep_scaling.py [--backend ray|local] [--total-steps 10000]

Each sweep is DREAM on MetaMap-v0, training seeds 0-3, ``--total-steps`` env steps per run
(train, then score 3 x 100 trials per split), in a fresh temporary folder; the Ray backend
starts its own local instance each time (that start-up is part of the wall time). On a
2-core machine two workers should take about half the wall time of one. Run it with nothing
else on the machine; the figures in docs/sweeps.md say what they were measured beside.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def timed_sweep(out: Path, workers: int, backend: str, total_steps: int) -> float:
    command = [sys.executable, "-m", "evaluation.sweep", "--agents", "dream", "--envs", "MetaMap-v0", "--seeds", "0-3",
               "--total-steps", str(total_steps), "--out", str(out), "--backend", backend, "--workers", str(workers),
               "--no-progress"]
    start = time.perf_counter()
    subprocess.run(command, check=True, stdout=subprocess.DEVNULL)
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--backend", choices=("ray", "local"), default="ray")
    parser.add_argument("--total-steps", type=int, default=10_000)
    args = parser.parse_args()
    walls = {}
    with tempfile.TemporaryDirectory() as tmp:
        for workers in (1, 2):
            walls[workers] = timed_sweep(Path(tmp) / f"w{workers}", workers, args.backend, args.total_steps)
            print(f"{args.backend} backend, 4 runs x {args.total_steps} env steps, --workers {workers}: "
                  f"{walls[workers]:.1f} s", flush=True)
    print(f"--workers 2 takes {walls[2] / walls[1]:.2f} x the wall time of --workers 1 "
          f"(speed-up {walls[1] / walls[2]:.2f} x)")


if __name__ == "__main__":
    main()
