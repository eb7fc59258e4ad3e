"""Choose the checkpoint DREAM ships for each env from a sweep, by a rule on the train split.

::

    python -m baselines.dream.ship sweeps/dream-grid [--rule best-train] [--envs ID ...] [--dry-run]

For every env of the sweep, :func:`evaluation.sweep.choose_run` picks one finished DREAM run
by its **train-split** score (``best-train``: the highest, ties to the lowest seed;
``median-train``: the lower median). Its ``final.pt`` is copied to
``baselines/dream/checkpoints/<env_id>.pt`` and a JSON beside it records the training
command, the rule, every candidate's train-split score and the chosen run's test score. The
test split plays no part in the choice, so the shipped agent's test score is an honest
estimate (the sweep's IQM over all seeds is the result to quote, not this run's).
"""

from __future__ import annotations

import dataclasses
import json
import shlex
import shutil
from pathlib import Path
from typing import Literal

from baselines.dream.agent import CHECKPOINTS
from evaluation.sweep import choose_run
from meta_explore_envs.files import atomic_path, write_json_atomic


@dataclasses.dataclass
class ShipConfig:
    """Copy the chosen run's checkpoint of every env into baselines/dream/checkpoints/."""

    sweep: Path
    """A sweep folder (``python -m evaluation.sweep --agents dream ...``)."""
    rule: Literal["best-train", "median-train"] = "best-train"
    """How to choose among the env's finished runs (train-split scores only)."""
    envs: list[str] = dataclasses.field(default_factory=list)
    """Only these envs (default: every env of the sweep)."""
    dry_run: bool = False
    """Print the choice without copying anything."""
    destination: Path = CHECKPOINTS
    """Where the checkpoints go (the package's shipped checkpoints by default)."""


def ship(config: ShipConfig) -> dict[str, dict]:
    """Choose and copy; returns ``{env_id: metadata}`` (what each JSON records)."""
    from evaluation.compare import load_sweep

    _, runs = load_sweep(config.sweep)
    by_env: dict[str, list[tuple[Path, dict]]] = {}
    for agent, env_id, _seed, directory, record in runs:
        if agent == "dream" and (not config.envs or env_id in config.envs):
            by_env.setdefault(env_id, []).append((directory, record))
    missing = sorted(set(config.envs) - set(by_env))
    if missing:
        raise ValueError(f"--envs {missing}: the sweep {config.sweep} has no DREAM run on them; it has "
                         f"{sorted(by_env)}")
    shipped = {}
    for env_id, candidates in sorted(by_env.items()):
        chosen = choose_run([record for _, record in candidates], config.rule)
        directory = next(d for d, r in candidates if r is chosen)
        train_result = json.loads((directory / "train" / "result.json").read_text(encoding="utf-8"))
        command = chosen["commands"]["train"]
        flags = command[command.index("--env"):]
        flags = [f for f in flags if f not in ("--no-progress", "--resume")]
        out_at = flags.index("--out")
        del flags[out_at:out_at + 2]  # the folder is the sweep's, not part of the recipe
        meta = {
            "command": shlex.join(["python", "-m", "baselines.dream.train", *flags]),
            "seed": chosen["seed"],
            "env_steps": chosen["env_steps"],
            "wall_s": chosen["train_wall_s"],
            "test_normalised": chosen["test"]["normalised"],
            "test_normalised_ci": chosen["test"]["normalised_ci"],
            "test_normalised_ci95": (chosen["test"]["normalised_ci"][1] - chosen["test"]["normalised_ci"][0]) / 2,
            "train_normalised": chosen["train"]["normalised"],
            "git_commit": train_result.get("git_commit"),
            "selection": {
                "sweep": str(config.sweep), "run": str(directory), "rule": config.rule,
                "train_normalised_by_seed": {str(r["seed"]): r["train"]["normalised"]
                                             for _, r in candidates if r.get("status") == "done"},
            },
            "note": f"chosen by the rule {config.rule!r} on the train split among the sweep's finished runs; "
                    f"test scores are the sweep's evaluation.score runs ({chosen['test']['num_trials']} trials)",
        }
        shipped[env_id] = meta
        print(f"{env_id}: seed {chosen['seed']} (train {meta['train_normalised']:.3f}, test "
              f"{meta['test_normalised']:.3f}) by {config.rule} among seeds "
              f"{sorted(int(s) for s in meta['selection']['train_normalised_by_seed'])}")
        if not config.dry_run:
            with atomic_path(config.destination / f"{env_id}.pt", suffix=".pt") as tmp:
                shutil.copyfile(directory / "train" / "final.pt", tmp)
            write_json_atomic(config.destination / f"{env_id}.json", meta)
    return shipped


def main(args: list[str] | None = None) -> None:
    import tyro

    ship(tyro.cli(ShipConfig, args=args, description=__doc__.split("\n")[0]))


if __name__ == "__main__":
    main()
