"""Learning curves from training runs' ``progress.csv`` (any method: DREAM, the recurrent-Q
baselines, the gradient-based family): test return vs env steps.

    python -m baselines.common.plot runs/dream-bus-s0 runs/dream-bus-s1 --out assets/dream/bus.png \\
        --title MetaDistractingBus-v0 --optimal 0.8 --no-exploration 0.3 --thompson 0.5
    python -m baselines.common.plot assets/dream/runs/MetaMap-v0-s*.csv --out assets/dream/MetaMap-v0.png

Each run (a run folder holding ``progress.csv``, or a CSV file itself) is one line (its
label: the folder or file name unless ``--labels``); horizontal lines mark the optimal,
Thompson-sampling and no-exploration returns when given. The training return (the CSV's
``train_return``, epsilon-greedy on train problems, or the gradient-based methods'
``exploit_return`` of each batch) is drawn thin and faded.
"""

from __future__ import annotations

import argparse
import csv
import math
import os
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

from meta_explore_envs.files import atomic_path  # noqa: E402


def read_progress(run: str | os.PathLike) -> list[dict[str, float]]:
    path = Path(run)
    if path.is_dir():
        path = path / "progress.csv"
    rows = []
    with open(path, newline="") as f:
        for row in csv.DictReader(f):
            rows.append({k: float(v) if v not in ("", None) else float("nan") for k, v in row.items()})
    return rows


def plot_runs(runs: list[str], out: str, title: str = "", labels: list[str] | None = None,
              optimal: float | None = None, no_exploration: float | None = None,
              colours: list[str] | None = None, thompson: float | None = None) -> None:
    fig, ax = plt.subplots(figsize=(6, 3.8), dpi=110)
    for i, run in enumerate(runs):
        rows = read_progress(run)
        label = labels[i] if labels else (Path(run).stem if Path(run).is_file() else Path(run).name)
        colour = colours[i] if colours else f"C{i}"
        test = [(r["env_steps"], r["test_return"]) for r in rows if r["test_return"] == r["test_return"]]
        train_column = "train_return" if rows and "train_return" in rows[0] else "exploit_return"
        train = [(r["env_steps"], r[train_column]) for r in rows if not math.isnan(r.get(train_column, math.nan))]
        if train:
            ax.plot(*zip(*train), color=colour, alpha=0.25, lw=1)
        if test:
            ax.plot(*zip(*test), color=colour, lw=1.8, marker="o", ms=3, label=label)
    if optimal is not None:
        ax.axhline(optimal, color="k", ls="--", lw=1, label="optimal")
    if thompson is not None:
        ax.axhline(thompson, color="tab:purple", ls="-.", lw=1, label="Thompson sampling")
    if no_exploration is not None:
        ax.axhline(no_exploration, color="grey", ls=":", lw=1.2, label="no exploration")
    ax.set_xlabel("env steps (exploration + exploitation)")
    ax.set_ylabel("exploitation return")
    ax.set_title(title)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7, loc="lower right")
    fig.tight_layout()
    with atomic_path(out, suffix=Path(out).suffix) as tmp:
        fig.savefig(tmp)
    plt.close(fig)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("runs", nargs="+")
    parser.add_argument("--out", required=True)
    parser.add_argument("--title", default="")
    parser.add_argument("--labels", nargs="*")
    parser.add_argument("--optimal", type=float)
    parser.add_argument("--no-exploration", type=float)
    parser.add_argument("--thompson", type=float)
    args = parser.parse_args()
    plot_runs(args.runs, args.out, args.title, args.labels, args.optimal, args.no_exploration,
              thompson=args.thompson)


if __name__ == "__main__":
    main()
