"""Sweeps over agents, envs and training seeds: train each run, score it, resume after a kill.

::

    python -m evaluation.sweep --agents dream --envs MetaMap-v0 MetaCooking-v0 --seeds 0-9 \\
        --out sweeps/dream-grid [--total-steps N] [--backend local|ray] [--address ADDR] [--workers K]

A **run** is one (agent, env, training seed) with the sweep's settings. It is a pure
function of them: it trains with the agent's own training CLI (the module's ``TRAINING``,
see :class:`evaluation.protocol.Training`) in ``runs/<agent>/<env_id>/seed<k>/train/``, then
scores the final checkpoint with ``python -m evaluation.score`` on the test split (the
result) and on the train split (for choices such as which checkpoint to ship), and writes
``run.json`` (the format is in ``docs/sweeps.md``). Both are subprocesses with a fixed
thread count, so a run gives the same bits whichever backend or machine runs it.

* **Resuming.** Re-running the same command continues the sweep: finished runs (``run.json``
  status ``done``) are skipped, an unfinished training continues from its last checkpoint
  (``--resume``, exact), a run killed while scoring is scored again. A run directory that
  holds a different setting (another budget, ...) is an error: use another ``--out``.
* **Failures.** A run whose training or scoring fails is marked ``failed`` with the end of
  its log; the others go on; the next invocation tries it again. The exit status is 1 when
  any run failed.
* **Backends.** ``local`` (default): ``--workers`` runs at a time on this machine (threads
  that each wait on a training subprocess). ``ray``: each run is a Ray task with
  ``--cpus-per-run`` CPUs on a local Ray instance, or on the cluster at ``--address``
  (``docs/sweeps.md`` shows a multi-node and a SLURM example); ``--out`` must then be on a
  file system every node sees.
* **Locking.** A run being trained holds ``run.lock`` (``flock``): a second sweep on the same
  directory skips it instead of training it twice.
"""

from __future__ import annotations

import csv
import dataclasses
import datetime as dt
import fcntl
import json
import os
import shlex
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
import traceback
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Literal

from meta_explore_envs.files import write_json_atomic
from meta_explore_envs.optional import require

SCHEMA_VERSION = 1
SWEEP_JSON, RUN_JSON, RUN_LOCK = "sweep.json", "run.json", "run.lock"
TRAIN_DIR, TRAIN_LOG, SCORE_LOG = "train", "train.log", "score.log"
#: The score summary copied from ``results.json`` into ``run.json`` (per split).
SCORE_KEYS = ("normalised", "normalised_ci", "mean_return", "return_ci", "exploration_score",
              "exploration_score_ci", "exploitation_efficiency", "num_trials", "seed_means")
BOUND_KEYS = ("optimal", "no_exploration", "thompson", "random")
INTERRUPTED = "re-run the same sweep command to resume it"

#: The train-split score plays the trials of evaluation seeds ``s + SELECTION_SEED_OFFSET``:
#: where an env's two splits hold the same problems (MetaMap, MetaSign3D, MetaPointCorner, the
#: Fwd-Bwd tasks), the same seeds would play the test split's very trials, and a checkpoint
#: chosen by its train-split score (``evaluation.ship``) would be chosen on the test trials.
SELECTION_SEED_OFFSET = 1000


@dataclasses.dataclass
class SweepConfig:
    """Train and score every (agent, env, seed); re-run the same command to resume."""

    agents: list[str]
    """Agent modules with a ``TRAINING`` entry; a bare name means ``baselines.<name>`` (``dream``)."""
    envs: list[str]
    """Registered trial env ids."""
    out: Path
    """Sweep folder: ``sweep.json`` and ``runs/<agent>/<env_id>/seed<k>/``."""
    seeds: list[str] = dataclasses.field(default_factory=lambda: ["0-2"])
    """Training seeds: integers and inclusive ranges, e.g. ``0-9`` or ``0 3 5-7``."""
    total_steps: int | None = None
    """Training budget in env steps for every run; default: each agent's own per-env default."""
    train_args: str = ""
    """Extra options for every run's training CLI, as one string (a hyperparameter sweep:
    ``--train-args="--epsilon-decay-steps 100000"``; write it with ``=``, since the value starts
    with a dash). Part of a run's identity; the CLI rejects an option it does not know."""
    backend: Literal["local", "ray"] = "local"
    """``local``: a pool of ``--workers`` on this machine; ``ray``: Ray tasks."""
    address: str | None = None
    """Ray cluster address (``ray start --head`` prints it; ``auto`` = the cluster this node is
    part of); default: a local Ray instance started for the sweep."""
    workers: int = 2
    """Runs at a time (with Ray: at most this many tasks in flight)."""
    cpus_per_run: int = 1
    """CPUs per run: the training CLI's ``--threads`` and the thread count of scoring; with
    Ray, the task's ``num_cpus``. Part of a run's identity (1 and 2 torch threads sum in a
    different order, so they train different runs)."""
    trials: int = 100
    """Scored trials per evaluation seed and split."""
    score_seeds: list[int] = dataclasses.field(default_factory=lambda: [0, 1, 2])
    """Evaluation seeds (``evaluation.score --seeds``): trials * len(score_seeds) per split."""
    record: int = 1
    """GIFs of the first N test trials per run (the report shows one per agent and env)."""
    progress: bool = True
    """Show a live display of runs done / running / failed with an ETA."""


class SweepError(ValueError):
    """A sweep that cannot start (bad options, an agent without ``TRAINING``, a run directory
    holding other settings) or cannot be read (``evaluation.compare``: a path that is not a
    sweep, a file that is not valid); the message names the value or the path. The CLIs print
    it and exit with status 2."""


# ---------------------------------------------------------------------------- runs
#: ``Training`` fields that do not change a run's results (left out of ``RunSpec.identity``).
PRESENTATION_ONLY = frozenset({"label"})


@dataclasses.dataclass(frozen=True)
class RunSpec:
    """Everything one run depends on (``identity``) and where it lives (``directory``)."""

    agent: str
    agent_module: str
    env_id: str
    seed: int
    total_steps: int | None
    threads: int
    trials: int
    score_seeds: tuple[int, ...]
    record: int
    training: dict[str, Any]
    directory: str
    train_args: tuple[str, ...] = ()

    def identity(self) -> dict[str, Any]:
        """The settings that determine the run's results (``run.json`` ``spec``)."""
        data = dataclasses.asdict(self)
        del data["directory"]
        data["score_seeds"] = list(self.score_seeds)
        # ``label`` only names the method in reports, so renaming it must not orphan saved runs.
        data["training"] = {key: value for key, value in self.training.items() if key not in PRESENTATION_ONLY}
        data["training"]["curve_columns"] = list(self.training["curve_columns"])
        data["train_args"] = list(self.train_args)
        if not self.train_args:  # (sweeps saved before the option keep their identity)
            del data["train_args"]
        return data

    @property
    def name(self) -> str:
        return f"{self.agent}/{self.env_id}/seed{self.seed}"


def parse_seeds(values: Sequence[str | int]) -> list[int]:
    """``["0-2", "5"]`` -> ``[0, 1, 2, 5]`` (sorted, no repeats); ``SweepError`` for bad items."""
    seeds: set[int] = set()
    for value in values:
        text = str(value).strip()
        low, dash, high = text.partition("-") if not text.startswith("-") else (text, "", "")
        try:
            first, last = int(low), int(high) if dash else int(low)
        except ValueError:
            raise SweepError(f"--seeds: {value!r} is neither a seed nor a range such as 0-9") from None
        if first < 0 or last < first:
            raise SweepError(f"--seeds: {value!r} must be a seed >= 0 or a range low-high with 0 <= low <= high")
        seeds.update(range(first, last + 1))
    if not seeds:
        raise SweepError("--seeds: give at least one training seed")
    return sorted(seeds)


def agent_module_name(agent: str) -> str:
    """``dream`` -> ``baselines.dream``; a dotted name is kept."""
    return agent if "." in agent else f"baselines.{agent}"


def agent_label(agent: str) -> str:
    """``agent``'s name in reports: its ``TRAINING.label`` (``import_`` -> ``"IMPORT"``), else
    ``agent`` itself (also when its module cannot be imported here)."""
    from evaluation.protocol import AgentError, import_agent_module

    try:
        training = getattr(import_agent_module(agent_module_name(agent)), "TRAINING", None)
    except AgentError:
        return agent
    return getattr(training, "label", None) or agent


def resolve_training(agent: str) -> dict[str, Any]:
    """The ``TRAINING`` entry of ``agent``'s module as a plain dict (``SweepError`` if none)."""
    from evaluation.protocol import AgentError, Training, import_agent_module

    module = agent_module_name(agent)
    try:
        training = getattr(import_agent_module(module), "TRAINING", None)
    except AgentError as error:
        raise SweepError(f"--agents {agent!r}: {error}") from error
    if not isinstance(training, Training):
        raise SweepError(f"--agents {agent!r}: module {module!r} has no TRAINING (an evaluation.protocol.Training "
                         "naming its training CLI), so it cannot be trained by a sweep")
    return dataclasses.asdict(training)


def plan_runs(config: SweepConfig) -> list[RunSpec]:
    """The sweep's runs, seed-major (every agent and env of seed 0 first), so that a sweep cut
    short has the same seeds for every agent and env. Validates the options."""
    from meta_explore_envs.registry import env_ids

    for name, value, low in (("--workers", config.workers, 1), ("--cpus-per-run", config.cpus_per_run, 1),
                             ("--trials", config.trials, 1), ("--record", config.record, 0)):
        if value < low:
            raise SweepError(f"{name} must be >= {low}, got {value}")
    if config.total_steps is not None and config.total_steps < 1:
        raise SweepError(f"--total-steps must be >= 1, got {config.total_steps}")
    if not config.agents or not config.envs:
        raise SweepError("give at least one agent (--agents) and one env (--envs)")
    unknown = [e for e in config.envs if e not in env_ids()]
    if unknown:
        raise SweepError(f"--envs: unknown env id(s) {unknown}; registered: {env_ids()}")
    if not config.score_seeds or min(config.score_seeds) < 0 or max(config.score_seeds) >= SELECTION_SEED_OFFSET:
        raise SweepError(f"--score-seeds must be one or more seeds in [0, {SELECTION_SEED_OFFSET}), got "
                         f"{config.score_seeds} (the train-split score plays seeds s + {SELECTION_SEED_OFFSET})")
    try:
        train_args = tuple(shlex.split(config.train_args))
    except ValueError as error:
        raise SweepError(f"--train-args {config.train_args!r}: {error}") from None
    trainings = {agent: resolve_training(agent) for agent in dict.fromkeys(config.agents)}
    root = Path(config.out).resolve() / "runs"
    return [RunSpec(agent=agent.rpartition(".")[2], agent_module=agent_module_name(agent), env_id=env_id, seed=seed,
                    total_steps=config.total_steps, threads=config.cpus_per_run, trials=config.trials,
                    score_seeds=tuple(config.score_seeds), record=config.record, training=trainings[agent],
                    train_args=train_args, directory=str(root / agent.rpartition(".")[2] / env_id / f"seed{seed}"))
            for seed in parse_seeds(config.seeds) for env_id in dict.fromkeys(config.envs) for agent in trainings]


def read_run(directory: str | os.PathLike) -> dict[str, Any] | None:
    """A run's ``run.json``, or ``None`` when it has none yet."""
    path = Path(directory) / RUN_JSON
    return json.loads(path.read_text(encoding="utf-8")) if path.exists() else None


def check_same_settings(spec: RunSpec) -> None:
    """``SweepError`` when the run's directory holds a run with other settings."""
    saved = read_run(spec.directory)
    if saved is not None and saved.get("spec") != spec.identity():
        theirs, ours = saved.get("spec") or {}, spec.identity()
        diff = {k: (theirs.get(k), ours.get(k)) for k in sorted(set(theirs) | set(ours))
                if theirs.get(k) != ours.get(k)}
        raise SweepError(f"{spec.directory} holds a run with other settings (saved, now): {diff}; "
                         "use another --out for a sweep with other settings")


#: Training and scoring subprocesses alive in this process (terminated when the sweep is killed).
_CHILDREN: set[subprocess.Popen] = set()
_CHILDREN_LOCK = threading.Lock()


def _die_with_parent(command: list[str]) -> list[str]:
    """``command`` under ``setpriv --pdeathsig TERM`` where util-linux has it: the child then
    gets SIGTERM when the thread that started it dies, even by SIGKILL, so a killed sweep (or a
    Ray worker cancelled with ``force``) leaves no training running behind it."""
    setpriv = shutil.which("setpriv")
    return [setpriv, "--pdeathsig", "TERM", *command] if setpriv and sys.platform == "linux" else command


#: Set when the sweep is being stopped: a run whose subprocess ends then was interrupted, not failed.
_STOPPING = threading.Event()


def terminate_children() -> None:
    """Terminate the training and scoring subprocesses this process started (on interrupt)."""
    _STOPPING.set()
    with _CHILDREN_LOCK:
        children = list(_CHILDREN)
    for child in children:
        if child.poll() is None:
            child.terminate()


def _run_logged(command: list[str], log: Path, threads: int) -> int:
    """Run ``command`` (its output appended to ``log``) with ``threads`` BLAS/OpenMP threads."""
    env = {**os.environ, "OMP_NUM_THREADS": str(threads), "MKL_NUM_THREADS": str(threads),
           "OPENBLAS_NUM_THREADS": str(threads), "PYTHONUNBUFFERED": "1"}
    with open(log, "a", encoding="utf-8") as out:
        out.write(f"\n=== {dt.datetime.now(dt.timezone.utc).isoformat(timespec='seconds')} on {socket.gethostname()}: "
                  f"{shlex.join(command)}\n")
        out.flush()
        child = subprocess.Popen(_die_with_parent(command), stdout=out, stderr=subprocess.STDOUT, env=env)
        with _CHILDREN_LOCK:
            _CHILDREN.add(child)
        try:
            return child.wait()
        finally:
            with _CHILDREN_LOCK:
                _CHILDREN.discard(child)
            if child.poll() is None:  # interrupted: leave no orphan training behind
                child.terminate()
                child.wait()


def _log_tail(log: Path, lines: int = 15) -> str:
    text = log.read_text(encoding="utf-8", errors="replace").splitlines() if log.exists() else []
    return "\n".join(text[-lines:])


@contextmanager
def _run_lock(directory: Path) -> Iterator[bool]:
    """Hold the run's lock file; yields False when another process holds it."""
    with open(directory / RUN_LOCK, "w") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            yield False
            return
        try:
            yield True
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def train_command(spec: RunSpec, resume: bool) -> list[str]:
    """The agent's training CLI for this run."""
    training = spec.training
    command = [sys.executable, "-m", training["cli"], "--env", spec.env_id, "--seed", str(spec.seed),
               "--out", str(Path(spec.directory) / TRAIN_DIR), "--no-progress"]
    if spec.total_steps is not None:
        command += ["--total-steps", str(spec.total_steps)]
    if training["threads_flag"]:
        command += ["--threads", str(spec.threads)]
    return command + list(spec.train_args) + (["--resume"] if resume else [])


def split_seeds(spec: RunSpec, split: str) -> list[int]:
    """The evaluation seeds of the run's score on ``split`` (see :data:`SELECTION_SEED_OFFSET`)."""
    return list(spec.score_seeds) if split == "test" else [s + SELECTION_SEED_OFFSET for s in spec.score_seeds]


def _scored(results_json: Path, spec: RunSpec, split: str) -> bool:
    """Whether ``results_json`` holds the run's score on ``split`` with the current seeds (a
    train-split score of older sweeps, on the test seeds, is scored again)."""
    if not results_json.is_file():
        return False
    settings = json.loads(results_json.read_text(encoding="utf-8")).get("settings", {})
    return settings.get("seeds") == split_seeds(spec, split)


def _finished(saved: dict[str, Any] | None, spec: RunSpec) -> bool:
    """Whether the saved ``run.json`` is this run's, done, with both scores current."""
    return (saved is not None and saved.get("status") == "done" and saved.get("spec") == spec.identity()
            and _scored(Path(spec.directory) / "score" / "train" / "results.json", spec, "train"))


def score_command(spec: RunSpec, split: str) -> list[str]:
    """``evaluation.score`` of the run's final checkpoint on ``split`` (GIFs on the test split only)."""
    directory = Path(spec.directory)
    return [sys.executable, "-m", "evaluation.score", "--agent", spec.agent_module, "--env", spec.env_id,
            "--split", split, "--trials", str(spec.trials), "--seeds", *map(str, split_seeds(spec, split)),
            "--checkpoint", str(directory / TRAIN_DIR / spec.training["checkpoint"]),
            "--out", str(directory / "score" / split), "--record", str(spec.record if split == "test" else 0),
            "--no-progress"]


def _summary(results_json: Path) -> dict[str, Any]:
    """The run's score on one split, from ``evaluation.score``'s ``results.json``."""
    result = json.loads(results_json.read_text(encoding="utf-8"))["results"][0]
    summary = {key: result.get(key) for key in SCORE_KEYS}
    # A family without bounds (the MuJoCo tasks) has raw returns only: no bounds, normalised None.
    bounds = result.get("bounds")
    summary["bounds"] = {key: bounds.get(key) for key in BOUND_KEYS} if bounds else None
    return summary


def score_text(split: dict[str, Any] | None, ci: bool = True) -> str:
    """A split summary's score for tables: the normalised score (with its CI), or, for an env
    without bounds, the mean return; "-" without a summary."""
    if not split:
        return "-"
    key, label = ("normalised", "") if split.get("normalised") is not None else ("mean_return", "return ")
    low, high = split.get(f"{'normalised' if key == 'normalised' else 'return'}_ci") or (float("nan"),) * 2
    return f"{label}{split[key]:.3f}" + (f" [{low:.3f}, {high:.3f}]" if ci else "")


def read_curve(spec: RunSpec) -> list[list[float]]:
    """``[[env_steps, normalised test score], ...]`` from the agent's curve CSV (empty if none)."""
    training = spec.training
    if not training["curve"]:
        return []
    path = Path(spec.directory) / TRAIN_DIR / training["curve"]
    if not path.exists():
        return []
    steps_column, score_column = training["curve_columns"]
    with open(path, newline="") as f:
        return [[float(row[steps_column]), float(row[score_column])] for row in csv.DictReader(f)
                if row.get(score_column) not in (None, "")]


def train_wall_s(directory: Path, attempts: list[dict[str, Any]]) -> float:
    """Wall-clock seconds the training took: the sweep's recorded attempts, or the trainer's own
    count (``wall_s`` of its ``result.json``, kept across ``--resume``) where that is larger: an
    attempt killed with a session is never recorded by the sweep, but its time is in the
    trainer's checkpoint."""
    attempts_s = sum(a["wall_s"] for a in attempts)
    result = directory / TRAIN_DIR / "result.json"
    trainer_s = json.loads(result.read_text()).get("wall_s") if result.exists() else None
    return round(max(attempts_s, trainer_s or 0.0), 1)


def run_one(spec: RunSpec) -> dict[str, Any]:
    """Train (or resume) and score one run; returns (and writes) its ``run.json``.

    Never raises for a failing run: the record says ``failed`` with the end of the log. Safe
    to call again after a kill at any point; a finished run is returned as it is (unless its
    train-split score predates :data:`SELECTION_SEED_OFFSET`: that is scored again).
    """
    directory = Path(spec.directory)
    directory.mkdir(parents=True, exist_ok=True)
    saved = read_run(directory)
    if _finished(saved, spec):
        return saved
    record: dict[str, Any] = {
        "schema_version": SCHEMA_VERSION, "agent": spec.agent, "agent_module": spec.agent_module,
        "env_id": spec.env_id, "seed": spec.seed, "total_steps": spec.total_steps, "spec": spec.identity(),
        "status": "running", "error": None, "log": TRAIN_LOG, "host": socket.gethostname(),
        "attempts": (saved or {}).get("attempts", []) if (saved or {}).get("spec") == spec.identity() else [],
    }
    with _run_lock(directory) as locked:
        if not locked:
            return {**record, "status": "busy", "error": "another process is running this run (run.lock)"}
        checkpoint = directory / TRAIN_DIR / spec.training["checkpoint"]
        resume_from = spec.training["resume_from"]
        resume = bool(resume_from) and (directory / TRAIN_DIR / resume_from).exists()
        record["commands"] = {"train": train_command(spec, resume=False),
                              **{f"score_{split}": score_command(spec, split) for split in ("test", "train")}}
        write_json_atomic(directory / RUN_JSON, record)
        try:
            if not checkpoint.exists():
                start, started = time.perf_counter(), dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")
                code = _run_logged(train_command(spec, resume), directory / TRAIN_LOG, spec.threads)
                record["attempts"].append({"started": started,
                                           "resumed": resume, "wall_s": round(time.perf_counter() - start, 1),
                                           "returncode": code, "host": socket.gethostname()})
                if code != 0 or not checkpoint.exists():
                    raise RuntimeError(f"training exited with status {code}"
                                       f"{'' if checkpoint.exists() else f' without writing {checkpoint.name}'}; "
                                       f"end of {TRAIN_LOG}:\n{_log_tail(directory / TRAIN_LOG)}")
            for split in ("test", "train"):
                results = directory / "score" / split / "results.json"
                if not _scored(results, spec, split):
                    code = _run_logged(score_command(spec, split), directory / SCORE_LOG, spec.threads)
                    if code != 0:
                        record["log"] = SCORE_LOG
                        raise RuntimeError(f"scoring ({split} split) exited with status {code}; end of {SCORE_LOG}:\n"
                                           f"{_log_tail(directory / SCORE_LOG)}")
                record[split] = _summary(results)
            curve = read_curve(spec)
            gifs = sorted((directory / "score" / "test" / "gifs").glob("*.gif"))
            record.update(status="done", curve=curve, env_steps=int(curve[-1][0]) if curve else None,
                          train_wall_s=train_wall_s(directory, record["attempts"]),
                          gif=str(gifs[0].relative_to(directory)) if gifs else None)
        except Exception as error:  # noqa: BLE001  (a failed run is reported, the sweep goes on)
            if _STOPPING.is_set():  # the sweep was stopped: the run is unfinished, not broken
                record.update(status="pending", error=f"interrupted: the sweep was stopped ({INTERRUPTED})")
            else:
                record.update(status="failed", error=str(error) if isinstance(error, RuntimeError)
                              else "".join(traceback.format_exception(error)))
        write_json_atomic(directory / RUN_JSON, record)
    return record


#: Rules for choosing one run of a sweep (e.g. the checkpoint to ship). Both read the
#: **train-split** score only (its own trials, :data:`SELECTION_SEED_OFFSET`): a choice made on
#: the test split would inflate the reported result. Ties go to the lowest seed.
SELECTION_RULES = ("best-train", "median-train")


def choose_run(records: Sequence[dict[str, Any]], rule: str = "best-train") -> dict[str, Any]:
    """The run ``rule`` picks among finished ``records`` (one agent and env).

    ``best-train``: the highest train-split normalised score (on an env without bounds, the
    highest train-split mean return). ``median-train``: the run at the lower median of the
    train-split scores (the middle run of an odd count). ``ValueError`` for an unknown rule or
    when no record is finished.
    """
    if rule not in SELECTION_RULES:
        raise ValueError(f"rule must be one of {SELECTION_RULES}, got {rule!r}")

    def train_score(record: dict[str, Any]) -> float | None:
        train = record.get("train") or {}
        return train["normalised"] if train.get("normalised") is not None else train.get("mean_return")

    done = [r for r in records if r.get("status") == "done" and train_score(r) is not None]
    if not done:
        raise ValueError("no finished run with a train-split score to choose from")
    ranked = sorted(done, key=lambda r: (-train_score(r), r["seed"]))
    return ranked[0] if rule == "best-train" else ranked[len(ranked) // 2]


# ---------------------------------------------------------------------------- backends
def _schedule(specs: Sequence[RunSpec], workers: int, running: dict[Any, RunSpec],
              submit: Callable[[RunSpec], Any], finished: Callable[[list[Any]], Iterable[tuple[Any, dict[str, Any]]]],
              on_start: Callable[[RunSpec], None], on_done: Callable[[RunSpec, dict[str, Any]], None]) -> None:
    """What every backend does: keep at most ``workers`` runs in flight, in plan order.
    ``submit(spec)`` starts a run and returns its handle (kept in ``running``, which the caller
    owns so that it can cancel what is left if interrupted); ``finished(handles)`` waits up to
    about a second and returns the ``(handle, record)`` of the runs that ended."""
    pending = list(specs)
    while pending or running:
        while pending and len(running) < workers:
            spec = pending.pop(0)
            on_start(spec)
            running[submit(spec)] = spec
        for handle, record in finished(list(running)):
            on_done(running.pop(handle), record)


def run_local(specs: Sequence[RunSpec], workers: int, on_start: Callable[[RunSpec], None],
              on_done: Callable[[RunSpec, dict[str, Any]], None], **_: Any) -> None:
    """``workers`` runs at a time in this process's threads (each waits on a subprocess)."""
    from concurrent.futures import FIRST_COMPLETED, ThreadPoolExecutor, wait

    def finished(futures: list[Any]) -> list[tuple[Any, dict[str, Any]]]:
        done, _ = wait(futures, timeout=1.0, return_when=FIRST_COMPLETED)
        return [(future, future.result()) for future in done]

    with ThreadPoolExecutor(max_workers=workers) as pool:
        try:
            _schedule(specs, workers, {}, lambda spec: pool.submit(run_one, spec), finished, on_start, on_done)
        except BaseException:  # interrupted: end the runs' subprocesses so the pool can close
            terminate_children()
            raise


def run_one_on_ray(spec: RunSpec) -> dict[str, Any]:
    """:func:`run_one` in a Ray worker. Ray starts its workers at nice 15; a run's training
    would then get a few per cent of a core beside any ordinary process (its own scoring
    included), so the worker asks for normal priority first (allowed as root; elsewhere the
    run keeps Ray's niceness, which is harmless on a node that runs nothing else)."""
    try:
        os.setpriority(os.PRIO_PROCESS, 0, 0)
    except OSError:
        pass
    return run_one(spec)


def run_ray(specs: Sequence[RunSpec], workers: int, on_start: Callable[[RunSpec], None],
            on_done: Callable[[RunSpec, dict[str, Any]], None], address: str | None = None, cpus_per_run: int = 1,
            **_: Any) -> None:
    """Each run a Ray task of ``cpus_per_run`` CPUs, at most ``workers`` in flight."""
    ray = require("ray", "sweep")
    started_here = not ray.is_initialized()
    if started_here:
        if address is None:  # a local instance just big enough, without the dashboard's extra processes
            ray.init(num_cpus=max(workers * cpus_per_run, os.cpu_count() or 1), include_dashboard=False,
                     log_to_driver=False, configure_logging=False)
        else:
            ray.init(address=address, log_to_driver=False)
    # Ray pickles a function of ``__main__`` (``python -m evaluation.sweep``) by value; the
    # module's own copy is pickled by reference, so workers import it like any module.
    from evaluation.sweep import run_one_on_ray as run_one_by_reference

    remote = ray.remote(num_cpus=cpus_per_run, max_retries=0)(run_one_by_reference)

    def finished(refs: list[Any]) -> list[tuple[Any, dict[str, Any]]]:
        done, _ = ray.wait(refs, num_returns=1, timeout=1.0)
        pairs = []
        for ref in done:
            try:
                pairs.append((ref, ray.get(ref)))
            except Exception as error:  # noqa: BLE001  (a worker that died: report, go on)
                pairs.append((ref, {"status": "failed", "error": f"Ray task failed: {error}"}))
        return pairs

    running: dict[Any, RunSpec] = {}
    try:
        _schedule(specs, workers, running, remote.remote, finished, on_start, on_done)
    finally:
        for ref in running:
            ray.cancel(ref, force=True)
        if started_here:
            ray.shutdown()


BACKENDS = {"local": run_local, "ray": run_ray}


# ---------------------------------------------------------------------------- the sweep
def run_sweep(config: SweepConfig, command: str | None = None) -> list[dict[str, Any]]:
    """Run (or continue) the sweep; returns every run's record, in plan order."""
    specs = plan_runs(config)
    for spec in specs:
        check_same_settings(spec)
    out = Path(config.out)
    out.mkdir(parents=True, exist_ok=True)
    sweep_path = out / SWEEP_JSON
    sweep = json.loads(sweep_path.read_text(encoding="utf-8")) if sweep_path.exists() else {
        "schema_version": SCHEMA_VERSION, "created": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
        "commands": []}
    command = command or shlex.join(["python", "-m", "evaluation.sweep", *sys.argv[1:]])
    sweep["command"] = command
    sweep["commands"] = [*sweep.get("commands", []), command]
    config_dict = {k: (str(v) if isinstance(v, Path) else v) for k, v in dataclasses.asdict(config).items()}
    sweep["config"] = config_dict
    runs = sorted({str(Path(s.directory).relative_to(out.resolve())) for s in specs} | set(sweep.get("runs", [])))
    sweep["runs"] = runs
    write_json_atomic(sweep_path, sweep)

    records: dict[str, dict[str, Any]] = {}
    todo = []
    for spec in specs:
        saved = read_run(spec.directory)
        if _finished(saved, spec):
            records[spec.name] = saved
        else:
            todo.append(spec)
    display = _Display(total=len(specs), done=len(records), show=config.progress)
    display.start()
    try:
        BACKENDS[config.backend](todo, workers=config.workers, address=config.address,
                                 cpus_per_run=config.cpus_per_run, on_start=display.started,
                                 on_done=lambda spec, record: (records.__setitem__(spec.name, record),
                                                               display.finished(spec, record)))
    finally:
        display.stop()
    return [records[s.name] for s in specs if s.name in records]


class _Display:
    """A rich live line: runs done / running / failed, elapsed and ETA (from finished runs)."""

    def __init__(self, total: int, done: int, show: bool) -> None:
        self.total, self.done, self.failed, self.running, self.show = total, done, 0, 0, show
        self.progress = self.task = None

    def start(self) -> None:
        if not self.show:
            return
        progress = require("rich.progress", "report")
        self.progress = progress.Progress(
            progress.TextColumn("[bold]sweep[/]"), progress.BarColumn(), progress.MofNCompleteColumn(),
            progress.TextColumn("{task.description}"), progress.TimeElapsedColumn(), progress.TextColumn("ETA"),
            progress.TimeRemainingColumn())
        self.task = self.progress.add_task(self._text(), total=self.total, completed=self.done)
        self.progress.start()

    def _text(self) -> str:
        return f"done {self.done - self.failed} · running {self.running} · failed {self.failed}"

    def _refresh(self) -> None:
        if self.progress is not None:
            self.progress.update(self.task, completed=self.done, description=self._text())

    def started(self, spec: RunSpec) -> None:
        self.running += 1
        self._refresh()

    def finished(self, spec: RunSpec, record: dict[str, Any]) -> None:
        self.running -= 1
        self.done += 1
        status = record.get("status")
        if status != "done":
            self.failed += 1
        if self.progress is not None:
            log = Path(spec.directory) / record.get("log", TRAIN_LOG)
            note = f"test {score_text(record.get('test'))}" if status == "done" else f"[red]{status}[/]: see {log}"
            self.progress.console.print(f"{spec.name}: {note}")
        self._refresh()

    def stop(self) -> None:
        if self.progress is not None:
            self.progress.stop()


def print_summary(records: Sequence[dict[str, Any]]) -> None:
    """A table of every run: status, test and train-split scores, training wall time."""
    rich_table = require("rich.table", "report")
    console = require("rich.console", "report").Console()
    table = rich_table.Table(title="sweep runs")
    for column in ("agent", "env", "seed", "status", "test normalised [95% CI] (or return)", "train split",
                   "wall (min)"):
        table.add_column(column)
    for r in records:
        table.add_row(r["agent"], r["env_id"], str(r["seed"]), r["status"], score_text(r.get("test")),
                      score_text(r.get("train"), ci=False),
                      f"{r['train_wall_s'] / 60:.1f}" if r.get("train_wall_s") else "-")
    console.print(table)
    for r in records:
        if r["status"] != "done":
            console.print(f"[red]{r['agent']}/{r['env_id']}/seed{r['seed']} {r['status']}[/]: {r.get('error')}")


def main(args: list[str] | None = None) -> None:
    """The CLI: exit status 0 when every run is done, 1 when some failed, 2 for bad options."""
    import tyro

    config = tyro.cli(SweepConfig, args=args, description=__doc__.split("\n")[0])

    def stop(signum: int, frame: Any) -> None:  # a kill ends the children too; re-running resumes
        raise KeyboardInterrupt(f"signal {signum}")

    signal.signal(signal.SIGTERM, stop)
    try:
        records = run_sweep(config)
    except SweepError as error:
        print(f"error: {error}", file=sys.stderr)
        raise SystemExit(2) from None
    except KeyboardInterrupt:
        terminate_children()
        print("sweep interrupted: re-run the same command to continue it", file=sys.stderr)
        raise SystemExit(130) from None
    print_summary(records)
    raise SystemExit(0 if all(r["status"] == "done" for r in records) else 1)


if __name__ == "__main__":
    main()

__all__ = ["SELECTION_RULES", "RunSpec", "SweepConfig", "SweepError", "choose_run", "main", "parse_seeds", "plan_runs",
           "read_run", "run_one", "run_sweep"]
