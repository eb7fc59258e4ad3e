"""Fork a run: continue its checkpoint under settings it has not acted on yet.

A run's checkpoint at ``env_steps`` is also the checkpoint of every run whose settings differ
only in what has not acted by then: DREAM's run whose bonuses decay from 1M env steps, at
400k, is the run whose bonuses never decay, at 400k. A fork copies the checkpoint into a new
folder with the new settings recorded in it; ``--resume`` there then trains, exactly, the run
of the new settings from that point on, without training its first ``env_steps`` again::

    python -m baselines.common.recurrent_q.fork --agent baselines.dream \\
        --source runs/sign3d-s2 --out runs/sign3d-s2-nodecay --set novelty_decay_steps=0
    python -m baselines.dream.train --resume --out runs/sign3d-s2-nodecay

The config decides what has acted (``settings_that_acted``); any other change is refused,
naming the setting. The new folder's ``fork.json`` records the source, the step and the
changes; its ``progress.csv`` is the source's up to the checkpoint.
"""

from __future__ import annotations

import importlib
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any

import torch
import tyro

from baselines.common.recurrent_q.config import RecurrentQConfig
from baselines.common.runs import PROGRESS_CSV, drop_rows_after, save_torch_atomic
from meta_explore_envs.files import write_json_atomic

CHECKPOINT = "checkpoint.pt"


def config_class(agent: str) -> type[RecurrentQConfig]:
    """The config class of a method package on the shared learner (``baselines.dream``): the
    :class:`RecurrentQConfig` subclass its ``config`` module defines."""
    try:
        module = importlib.import_module(f"{agent}.config")
    except ModuleNotFoundError:
        raise ValueError(f"--agent {agent!r}: no module {agent}.config (a method package on the shared learner, "
                         "e.g. baselines.dream)") from None
    found = [obj for obj in vars(module).values() if isinstance(obj, type) and issubclass(obj, RecurrentQConfig)
             and obj.__module__ == module.__name__]
    if len(found) != 1:
        raise ValueError(f"--agent {agent!r}: {module.__name__} defines {len(found)} RecurrentQConfig classes, "
                         "expected 1")
    return found[0]


def parse_settings(cls: type[RecurrentQConfig], settings: list[str] | tuple[str, ...]) -> dict[str, Any]:
    """``["name=value", ...]`` as typed values of ``cls``'s fields (the type of each field's
    default: bool, int, float or str)."""
    defaults = cls().to_dict()
    changes: dict[str, Any] = {}
    for item in settings:
        name, sep, text = item.partition("=")
        if not sep:
            raise ValueError(f"--set {item!r}: expected NAME=VALUE")
        if name not in defaults:
            raise ValueError(f"--set {item!r}: {cls.__name__} has no setting {name!r}")
        kind = type(defaults[name])
        try:
            if kind is bool:
                if text.lower() not in ("true", "false"):
                    raise ValueError
                value: Any = text.lower() == "true"
            else:
                value = kind(text)
        except ValueError:
            raise ValueError(f"--set {item!r}: {name} takes a {kind.__name__}, got {text!r}") from None
        changes[name] = value
    return changes


def fork_run(cls: type[RecurrentQConfig], source: Path, out: Path, changes: dict[str, Any]) -> RecurrentQConfig:
    """Copy ``source/checkpoint.pt`` to ``out`` with ``changes`` applied to its settings; returns
    the new settings. Raises ``ValueError`` (writing nothing) when a change would alter what the
    run has already done, ``FileExistsError`` when ``out`` already holds a checkpoint."""
    source, out = Path(source), Path(out)
    path = source / CHECKPOINT
    if not path.is_file():
        raise FileNotFoundError(f"--source {source}: no {CHECKPOINT} there")
    if (out / CHECKPOINT).exists():
        raise FileExistsError(f"--out {out}: {out / CHECKPOINT} exists")
    state = torch.load(path, map_location="cpu", weights_only=True)
    saved = cls.from_dict(state["config"], source=str(path))
    env_steps = int(state["counters"]["env_steps"])
    forked = cls.from_dict({**saved.to_dict(), **changes, "out": str(out)}, source="--set")
    acted = saved.settings_that_acted(forked, env_steps)
    if acted:
        raise ValueError(f"cannot fork {path} at {env_steps:,} env steps: the run has already acted on "
                         + ", ".join(f"{name} (saved {getattr(saved, name)!r}, new {getattr(forked, name)!r})"
                                     for name in acted))
    out.mkdir(parents=True, exist_ok=True)
    if (source / PROGRESS_CSV).exists():
        shutil.copyfile(source / PROGRESS_CSV, out / PROGRESS_CSV)
        drop_rows_after(out / PROGRESS_CSV, env_steps)
    write_json_atomic(out / "config.json", forked.to_dict())
    write_json_atomic(out / "fork.json", {"source": str(path), "env_steps": env_steps,
                                          "changes": {name: getattr(forked, name) for name in changes}})
    save_torch_atomic({**state, "config": forked.to_dict()}, out / CHECKPOINT)
    return forked


@dataclass
class ForkArgs:
    """Continue a run's checkpoint under settings it has not acted on yet (module docstring)."""

    agent: str
    """Method package on the shared learner, e.g. ``baselines.dream``."""
    source: str
    """Folder of the run's ``checkpoint.pt``."""
    out: str
    """New folder for the fork (``--resume`` continues it)."""
    settings: Annotated[tuple[str, ...], tyro.conf.arg(name="set")] = field(default=())
    """``NAME=VALUE`` of each changed setting (the config's field names, e.g. ``novelty_decay_steps=0``)."""


def main(argv: list[str] | None = None) -> None:
    args = tyro.cli(ForkArgs, args=argv, description=__doc__.split("\n\n")[0])
    cls = config_class(args.agent)
    forked = fork_run(cls, Path(args.source), Path(args.out), parse_settings(cls, args.settings))
    print(f"forked {args.source} into {args.out} with {', '.join(args.settings) or 'no changes'} "
          f"({type(forked).__name__}); continue it with --resume --out {args.out}")


__all__ = ["ForkArgs", "config_class", "fork_run", "main", "parse_settings"]

if __name__ == "__main__":
    main()
