"""The run machinery every training CLI shares (the recurrent Q-learners, the gradient-based
methods, RL²-PPO): starting or exactly resuming a run (:func:`start_run`, :func:`parse_cli`),
its logs (:class:`RunLog`: ``progress.csv``, TensorBoard, the progress bar), its final outputs
(:func:`finish_run`: ``final.pt`` and ``result.json``, written atomically), and the small
helpers their summaries use (:func:`git_commit`, :func:`mean_ci95`, :func:`bounds_for`).

A learner's loop lives beside its method family (:mod:`baselines.common.recurrent_q.loop`,
:mod:`baselines.common.gradient.loop`) and imports this module, never the reverse.
"""

from __future__ import annotations

import argparse
import csv
import dataclasses
import json
import subprocess
import sys
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any, TypeVar

import numpy as np
import torch

from evaluation.bounds import Bounds, cached_bounds, get_bounds, no_bounds_reason
from meta_explore_envs.core import check_int
from meta_explore_envs.files import atomic_path, write_json_atomic
from meta_explore_envs.registry import env_family

ROOT = Path(__file__).resolve().parents[2]
PROGRESS_CSV = "progress.csv"  #: a run's log of rows, in its ``out`` folder

C = TypeVar("C")
T = TypeVar("T")


def git_commit(*paths: str) -> str:
    """The checked-out commit, with ``-dirty`` when ``paths`` (relative to the repository)
    have uncommitted changes; "unknown" outside a git checkout."""
    try:
        out = subprocess.run(["git", "rev-parse", "HEAD"], capture_output=True, text=True, check=True,
                             cwd=Path(__file__).resolve().parent)
        dirty = subprocess.run(["git", "status", "--porcelain", "--", *paths], capture_output=True,
                               text=True, cwd=ROOT).stdout.strip()
        return out.stdout.strip() + ("-dirty" if dirty else "")
    except (OSError, subprocess.CalledProcessError):
        return "unknown"


def mean_ci95(values: np.ndarray) -> tuple[float, float]:
    """Mean and the half-width of its normal 95% confidence interval."""
    values = np.asarray(values, dtype=float)
    if len(values) < 2:
        return float(values.mean()) if len(values) else float("nan"), float("nan")
    return float(values.mean()), float(1.96 * values.std(ddof=1) / np.sqrt(len(values)))


def bounds_for(env_id: str, split: str = "test", compute: bool = True) -> Bounds | None:
    """The harness's bounds of ``env_id`` (:func:`evaluation.bounds.get_bounds`); ``None`` for a
    family without bounds (the MuJoCo tasks: runs then report raw returns only).

    With ``compute=False`` only bounds known without computing are used, else None
    (computing the exact bounds of a family the first time can take minutes).
    """
    if no_bounds_reason(env_family(env_id)) is not None:
        return None
    return get_bounds(env_id, split) if compute else cached_bounds(env_id, split)


# ---------------------------------------------------------------------------- outputs
def save_torch_atomic(obj: Any, path: Path) -> None:
    """``torch.save(obj, path)`` written atomically (a killed run never leaves half a file)."""
    with atomic_path(path) as tmp:
        torch.save(obj, tmp)


def drop_rows_after(csv_path: Path, env_steps: int) -> None:
    """Remove the rows of ``csv_path`` (a ``progress.csv``) logged after ``env_steps`` (the
    checkpoint a resumed run starts from: it trains and logs them again), keeping the file's own
    header, so that a resumed run's curve has one row per log step."""
    if not csv_path.exists():
        return
    with open(csv_path, newline="") as f:
        reader = csv.DictReader(f)
        header, rows = reader.fieldnames, list(reader)
    kept = [row for row in rows if float(row["env_steps"]) <= env_steps]
    if len(kept) < len(rows):
        with atomic_path(csv_path) as tmp, open(tmp, "w", newline="") as f:
            writer = csv.DictWriter(f, fieldnames=header)
            writer.writeheader()
            writer.writerows(kept)


class RunLog:
    """A run's logs: ``out/progress.csv`` (appended to; a resumed run keeps its file's own
    header, so rows of older runs with other columns stay readable), TensorBoard scalars under
    ``out/tb`` and, with ``progress``, a tqdm bar over env steps. Use it as a context manager:
    everything is flushed and closed on exit, also when training fails."""

    def __init__(self, out: Path, columns: Iterable[str], *, total_steps: int, initial_steps: int, desc: str,
                 progress: bool) -> None:
        from torch.utils.tensorboard import SummaryWriter

        self.writer = SummaryWriter(str(out / "tb"))
        csv_path = out / PROGRESS_CSV
        header = None
        if csv_path.exists():
            with open(csv_path, newline="") as f:
                header = next(csv.reader(f), None)
        self.csv_file = open(csv_path, "a", newline="")
        self.csv_writer = csv.DictWriter(self.csv_file, fieldnames=header or list(columns), extrasaction="ignore")
        if header is None:
            self.csv_writer.writeheader()
        self.bar = None
        if progress:
            from tqdm import tqdm

            self.bar = tqdm(total=total_steps, initial=initial_steps, unit="step", unit_scale=True,
                            dynamic_ncols=True, desc=desc)

    def write(self, row: Mapping[str, Any], env_steps: int) -> None:
        """One CSV row (flushed: a killed run keeps it) and its finite numbers as TensorBoard
        scalars at ``env_steps``."""
        self.csv_writer.writerow(row)
        self.csv_file.flush()
        for key, value in row.items():
            if key != "env_steps" and isinstance(value, (int, float)) and np.isfinite(value):
                self.writer.add_scalar(key, value, env_steps)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()
        self.csv_file.close()
        self.writer.close()

    def __enter__(self) -> RunLog:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


def finish_run(out: Path, policy_checkpoint: Mapping[str, Any], summary: Mapping[str, Any]) -> dict[str, Any]:
    """Write a finished run's ``out/final.pt`` (the policy checkpoint its ``load_agent`` reads)
    and ``out/result.json`` (``summary``), each atomically; returns ``summary``."""
    save_torch_atomic(policy_checkpoint, out / "final.pt")
    write_json_atomic(out / "result.json", dict(summary))
    return dict(summary)


# ---------------------------------------------------------------------------- starting a run
#: ``total_steps`` or ``threads`` value that, with ``resume``, keeps the saved run's (what the
#: CLI passes when ``--resume`` comes without ``--total-steps`` / ``--threads``); any other
#: value replaces it. Keeping the thread count keeps the resumed run identical to an
#: uninterrupted one (1 and 2 threads give different runs, see ``RecurrentQConfig.threads``).
KEEP_SAVED = -1



def resumed_config(cfg: C, saved: C) -> C:
    """The settings a resumed run continues with: the saved run's, except ``total_steps`` and
    ``threads`` where ``cfg`` gives new values (not :data:`KEEP_SAVED`), and ``progress``."""
    changeable = {name: getattr(saved, name) if getattr(cfg, name) == KEEP_SAVED else getattr(cfg, name)
                  for name in ("total_steps", "threads")}
    return type(saved)(**{**saved.to_dict(), **changeable, "progress": cfg.progress, "out": cfg.out,
                          "resume": True})


def start_run(cfg: C, trainer_class: type[T]) -> tuple[C, T, Path]:
    """A run's trainer, fresh or (``cfg.resume``) restored from ``out/checkpoint.pt`` with the
    saved settings (:func:`resumed_config`); sets torch's thread count and writes
    ``out/config.json``. Returns the settings in force, the trainer and the checkpoint's path.
    Any trainer with ``load_state_dict`` and a config with ``out``, ``resume``, ``threads``,
    ``to_dict`` and ``from_dict`` works (the gradient-based methods' too)."""
    out = Path(cfg.out)
    ckpt_path = out / "checkpoint.pt"
    if cfg.resume:
        if not ckpt_path.is_file():
            raise FileNotFoundError(f"--resume: no checkpoint at {ckpt_path}")
        state = torch.load(ckpt_path, map_location="cpu", weights_only=True)
        cfg = resumed_config(cfg, type(cfg).from_dict(state["config"], source=str(ckpt_path)))
        torch.set_num_threads(cfg.threads)
        trainer = trainer_class(cfg)
        trainer.load_state_dict(state)
        del state
        # The rows logged between the checkpoint and the stop are logged again by the resumed run.
        drop_rows_after(out / PROGRESS_CSV, trainer.env_steps)
    else:
        if ckpt_path.exists():
            raise FileExistsError(f"{ckpt_path} exists: pass --resume to continue that run, or another --out")
        torch.set_num_threads(check_int("threads", cfg.threads, 1))
        out.mkdir(parents=True, exist_ok=True)
        if (out / PROGRESS_CSV).exists():  # a run stopped before its first checkpoint: it starts over
            print(f"{out / PROGRESS_CSV}: no checkpoint to resume from, so the run starts over with a new log",
                  file=sys.stderr)
            (out / PROGRESS_CSV).unlink()
        trainer = trainer_class(cfg)
    write_json_atomic(out / "config.json", cfg.to_dict())
    return cfg, trainer, ckpt_path


def parse_cli(config_class: type[C], argv: list[str] | None = None, description: str = "") -> C:
    """A method's training settings from the command line: the env's preset
    (``config_class.env_presets()``) is the base and the flags win; with ``--resume`` the
    saved budget and thread count are kept (:data:`KEEP_SAVED`) unless their flag is given."""
    import tyro

    argv = sys.argv[1:] if argv is None else list(argv)
    peek = argparse.ArgumentParser(add_help=False)
    peek.add_argument("--env", default=config_class.env)
    env = peek.parse_known_args(argv)[0].env
    cfg = tyro.cli(config_class, args=argv, default=config_class.for_env(env), description=description)
    if cfg.resume:
        given = {a.split("=")[0] for a in argv}
        check_resume_flags(cfg, given)
        cfg = dataclasses.replace(cfg, **{name: KEEP_SAVED for name in ("total_steps", "threads")
                                          if f"--{name.replace('_', '-')}" not in given})
    return cfg


#: The settings a ``--resume`` may give new values (the rest are the saved run's).
RESUME_SETTINGS = ("total_steps", "threads", "progress", "out", "resume")


def check_resume_flags(cfg: Any, given: set[str]) -> None:
    """Refuse a flag given with ``--resume`` that would change a setting of the saved run
    (``out/config.json``; none to compare with: nothing refused): the resumed run keeps its
    saved settings, and silently ignoring the flag would train another run than the one
    asked for."""
    saved_path = Path(cfg.out) / "config.json"
    if not saved_path.is_file():
        return
    saved = json.loads(saved_path.read_text(encoding="utf-8"))
    asked = json.loads(json.dumps(cfg.to_dict()))  # (tuples as lists, like the saved file)
    changed = [name for name in asked if name not in RESUME_SETTINGS and name in saved
               and {f"--{name.replace('_', '-')}", f"--no-{name.replace('_', '-')}"} & given
               and asked[name] != saved[name]]
    if changed:
        raise ValueError(
            f"--resume continues the run saved in {cfg.out} with its own settings; "
            + ", ".join(f"--{name.replace('_', '-')} {asked[name]!r} differs from its {saved[name]!r}"
                        for name in changed)
            + ". Only --total-steps and --threads may change on resume. A setting the run has not acted on yet "
            "(e.g. a decay that has not begun) can change in a fork: python -m baselines.common.recurrent_q.fork "
            f"--agent PACKAGE --source {cfg.out} --out NEW_DIR --set NAME=VALUE")


__all__ = ["KEEP_SAVED", "PROGRESS_CSV", "RESUME_SETTINGS", "RunLog", "bounds_for", "check_resume_flags",
           "drop_rows_after", "finish_run", "git_commit",
           "mean_ci95", "parse_cli", "resumed_config", "save_torch_atomic", "start_run"]
