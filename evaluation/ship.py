"""Choose the checkpoint an agent ships for each env from a sweep, by a rule on the train split.

::

    python -m evaluation.ship sweeps/dream-grid --agent dream [--rule best-train] [--envs ID ...] [--dry-run]
    python -m evaluation.ship sweeps/baselines-grid --agent erl2 --rule median-train

For every env of the sweep, :func:`evaluation.sweep.choose_run` picks one finished run of
``--agent`` by its **train-split** score (``best-train``: the highest, ties to the lowest
seed; ``median-train``: the lower median). Its checkpoint (the agent's
``TRAINING.checkpoint``: ``final.pt``, ``final.zip``) is copied to the agent package's
shipped folder, ``<package>/checkpoints/<env_id><suffix>`` (see
:func:`evaluation.protocol.shipped_folder`), and a JSON beside it records the training
command, the rule, every candidate's train-split score and the chosen run's test score.
The test split plays no part in the choice (the train-split score plays its own trials even
where the two splits hold the same problems: :data:`evaluation.sweep.SELECTION_SEED_OFFSET`),
so the shipped agent's test score is an honest estimate (the sweep's IQM over all seeds is
the result to quote, not this run's).
"""

from __future__ import annotations

import dataclasses
import json
import shlex
import shutil
from pathlib import Path
from typing import Any, Literal

import tyro

from evaluation.compare import load_sweep
from evaluation.protocol import import_agent_module, shipped_folder
from evaluation.sweep import SELECTION_RULES, choose_run
from meta_explore_envs.files import atomic_path, write_json_atomic


@dataclasses.dataclass
class ShipConfig:
    """Copy the chosen run's checkpoint of every env into the agent package's checkpoints/ folder."""

    sweep: tyro.conf.Positional[Path]
    """A sweep folder (``python -m evaluation.sweep --agents AGENT ...``)."""
    agent: str = "dream"
    """The agent of the sweep whose checkpoints to ship (its folder name under ``runs/``)."""
    rule: Literal["best-train", "median-train"] = "best-train"
    """How to choose among the env's finished runs (train-split scores only)."""
    envs: list[str] = dataclasses.field(default_factory=list)
    """Only these envs (default: every env of the sweep)."""
    dry_run: bool = False
    """Print the choice without copying anything."""
    destination: Path | None = None
    """Where the checkpoints go (default: the agent package's shipped folder)."""


def training_recipe(record: dict[str, Any]) -> str:
    """The command that trains the run of ``record`` (a ``run.json``) anywhere: its training
    command without the sweep's folder and the sweep's own flags."""
    command = record["commands"]["train"]
    flags = [f for f in command[command.index("--env"):] if f not in ("--no-progress", "--resume")]
    out_at = flags.index("--out")
    del flags[out_at:out_at + 2]  # the folder is the sweep's, not part of the recipe
    return shlex.join(["python", "-m", record["spec"]["training"]["cli"], *flags])


def ship(config: ShipConfig) -> dict[str, dict]:
    """Choose and copy; returns ``{env_id: metadata}`` (what each JSON records)."""
    if config.rule not in SELECTION_RULES:
        raise ValueError(f"--rule {config.rule!r}: expected one of {', '.join(SELECTION_RULES)}")
    _, runs = load_sweep(config.sweep)
    by_env: dict[str, list[tuple[Path, dict]]] = {}
    for agent, env_id, _seed, directory, record in runs:
        if agent == config.agent and (not config.envs or env_id in config.envs):
            by_env.setdefault(env_id, []).append((directory, record))
    missing = sorted(set(config.envs) - set(by_env)) if config.envs else ([] if by_env else ["any env"])
    if missing:
        agents = sorted({agent for agent, *_ in runs})
        raise ValueError(f"the sweep {config.sweep} has no {config.agent!r} run on {missing}; it has agents {agents} "
                         f"and, for {config.agent!r}, envs {sorted(by_env)}")
    shipped = {}
    for env_id, candidates in sorted(by_env.items()):
        chosen = choose_run([record for _, record in candidates], config.rule)
        directory = next(d for d, r in candidates if r is chosen)
        training = chosen["spec"]["training"]
        checkpoint = directory / "train" / training["checkpoint"]
        destination = config.destination or shipped_folder(import_agent_module(chosen["agent_module"]).__file__)
        result_file = directory / "train" / "result.json"
        train_result = json.loads(result_file.read_text(encoding="utf-8")) if result_file.is_file() else {}
        test = chosen["test"]
        meta = {
            "command": training_recipe(chosen),
            "seed": chosen["seed"],
            "env_steps": chosen["env_steps"],
            "wall_s": chosen["train_wall_s"],
            "test_normalised": test["normalised"],
            "test_normalised_ci": test["normalised_ci"],
            # None on an env without bounds (the MuJoCo tasks): the returns below are its scores.
            "test_normalised_ci95": (test["normalised_ci"][1] - test["normalised_ci"][0]) / 2
            if test.get("normalised_ci") else None,
            "train_normalised": chosen["train"]["normalised"],
            "test_return": test.get("mean_return"),
            "train_return": chosen["train"].get("mean_return"),
            "git_commit": train_result.get("git_commit"),
            "selection": {
                "sweep": str(config.sweep), "run": str(directory), "rule": config.rule,
                "train_normalised_by_seed": {str(r["seed"]): r["train"]["normalised"]
                                             for _, r in candidates if r.get("status") == "done"},
            },
            "note": f"chosen by the rule {config.rule!r} on the train split among the sweep's finished runs; "
                    f"test scores are the sweep's evaluation.score runs ({test['num_trials']} trials)",
        }
        shipped[env_id] = meta
        scores = (f"train {meta['train_normalised']:.3f}, test {meta['test_normalised']:.3f}"
                  if meta["test_normalised"] is not None else
                  f"no bounds: train return {meta['train_return']:.3f}, test return {meta['test_return']:.3f}")
        print(f"{config.agent} {env_id}: seed {chosen['seed']} ({scores}) by {config.rule} among seeds "
              f"{sorted(int(s) for s in meta['selection']['train_normalised_by_seed'])}")
        if not config.dry_run:
            suffix = Path(training["checkpoint"]).suffix
            with atomic_path(destination / f"{env_id}{suffix}", suffix=suffix) as tmp:
                shutil.copyfile(checkpoint, tmp)
            write_json_atomic(destination / f"{env_id}.json", meta)
    return shipped


def main(args: list[str] | None = None) -> None:
    ship(tyro.cli(ShipConfig, args=args, description=__doc__.split("\n")[0]))


if __name__ == "__main__":
    main()
