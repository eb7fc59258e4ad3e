"""Compare agents over training runs: ``python -m evaluation.compare SWEEP [SWEEP ...] --out report/``.

    python -m evaluation.compare sweeps/NAME [more sweep dirs] [--out report] [--reps 2000]
        [--seed 0] [--merge-agents] [--taus 101] [--title TEXT]

Reads the runs of one or more sweep directories (written by ``python -m evaluation.sweep``),
builds for every agent the runs x envs matrix of normalised **test** scores (each run's
``run.json`` ``test.normalised``: 0 = no exploration, 1 = optimal) and reports, with
`rliable <https://github.com/google-research/rliable>`_ (Agarwal et al., "Deep reinforcement
learning at the edge of the statistical precipice", NeurIPS 2021):

* per agent and env, and aggregated over envs: the interquartile mean (IQM), the median, the
  mean and the optimality gap, each with a 95% percentile **stratified bootstrap** CI over
  training runs (runs resampled with replacement within each env);
* the performance profile (fraction of (run, env) scores above tau, on a grid of tau) with CI bands;
* the probability of improvement of each agent over each other (per env and aggregated);
* sample-efficiency curves per env: the IQM over runs of the normalised test score against
  env steps (each run's ``curve``) with 95% CI bands and the exact bounds as lines.

**Which runs.** Per-env statistics use every finished run of that agent and env. rliable's
aggregates need a full runs x envs matrix, so the aggregate is over the envs where *every*
agent has a finished run ("common envs"), and per agent over the runs (training seeds) that
have all of these envs; the report lists the envs and seeds left out and why. Failed,
running and pending runs are listed beside the finished ones (with their error and log),
never dropped silently.

**Agents from several sweeps.** An agent name found in one sweep keeps its name; one found in
several sweeps becomes ``SWEEP/AGENT`` per sweep (e.g. two DREAM variants), unless
``--merge-agents`` pools them (then an (agent, env, seed) in two sweeps is an error).

**Determinism.** rliable draws its resamples from NumPy's global generator: every bootstrap
here seeds it with ``--seed`` (and restores it afterwards), one call per estimate, so an
estimate does not depend on which other agents are compared; the same sweeps and options
always give the same ``report.json`` (it records no wall-clock time).

**Output** (under ``--out``, written atomically): ``report.json`` (``REPORT_SCHEMA_VERSION`` 1:
the commands, the bootstrap settings, every run, every estimate with its CI),
``aggregate.png``, ``per_env.png``, ``performance_profile.png``,
``probability_of_improvement.png``, ``curves-ENV.png`` (one per env with curves),
``gifs/AGENT__ENV.gif`` (the trial GIF of the run whose test score is the median of that
agent and env), ``logs/...`` (logs of failed runs) and ``index.html``, a page that shows it
all with relative links only.

A path that is not a sweep directory, or an unreadable ``sweep.json``/``run.json``, stops the
CLI with one line naming the path and exit status 2 (from Python: :class:`SweepError`, a
``ValueError``).
"""

from __future__ import annotations

import html
import json
import re
import shlex
import shutil
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from evaluation.bounds import Bounds, normalised_score
from evaluation.report import BOUND_STYLES, CI_LEVEL
from evaluation.sweep import RUN_JSON, SWEEP_JSON, SweepError, agent_label
from meta_explore_envs.core import check_int
from meta_explore_envs.files import atomic_path, write_json_atomic, write_text_atomic
from meta_explore_envs.optional import require

# The command line comes with the [report] extra; rliable (the statistics) is imported where
# it is used, through require(..., "compare"), so that --help works without the [compare] extra.
tyro = require("tyro", "report")

REPORT_SCHEMA_VERSION = 1
SWEEP_SCHEMA_VERSION = 1  #: the sweep.json / run.json schema this reader understands
RUNS_DIR = "runs"
STATUSES = ("done", "failed", "running", "pending")
REPORT_JSON, INDEX_HTML, REPORT_MD, GIF_DIR, LOG_DIR = "report.json", "index.html", "report.md", "gifs", "logs"
AGGREGATE_PNG, PER_ENV_PNG = "aggregate.png", "per_env.png"
PROFILE_PNG, POI_PNG = "performance_profile.png", "probability_of_improvement.png"
#: The aggregate metrics, in table order, with their display names.
METRICS = {"iqm": "IQM", "median": "median", "mean": "mean", "optimality_gap": "optimality gap"}
BOOTSTRAP_METHOD = ("percentile stratified bootstrap over training runs (rliable.library.get_interval_estimates): "
                    "runs resampled with replacement within each env")
SCORE = "normalised test score: (return - no_exploration) / (optimal - no_exploration), run.json test.normalised"
_SEED_DIR = re.compile(r"^seed(\d+)$")


@dataclass
class CompareConfig:
    """Compare agents over training runs: IQM, median, mean and optimality gap with stratified
    bootstrap CIs (rliable), performance profiles, probability of improvement and
    sample-efficiency curves, from the runs of sweep directories; writes report.json, PNG
    figures and index.html to --out."""

    sweeps: tyro.conf.Positional[tuple[Path, ...]]
    """Sweep directories (each with sweep.json and runs/), written by python -m evaluation.sweep."""
    out: Path = Path("report")
    """Folder for report.json, the PNG figures, gifs/, logs/ and index.html."""
    reps: int = 2000
    """Bootstrap resamples per estimate (rliable's default for profiles; more: slower, smoother CIs)."""
    seed: int = 0
    """Seed of NumPy's global generator before each bootstrap (rliable draws from it)."""
    merge_agents: bool = False
    """Pool the runs of an agent found in several sweeps (default: SWEEP/AGENT per sweep)."""
    taus: int = 101
    """Thresholds of the performance profile (evenly spaced from min(0, lowest score) to max(1, highest))."""
    title: str = "Agents compared over training runs"
    """Title of index.html and the figures."""


# ---------------------------------------------------------------------------------------------
# Reading sweeps


@dataclass
class Sweep:
    """One sweep directory: its ``sweep.json`` document."""

    path: Path  #: as given on the command line
    name: str  #: the directory's name
    document: dict[str, Any]


@dataclass
class Run:
    """One (agent, env, seed) run of a sweep: its ``run.json`` (``{}`` before one is written)."""

    sweep: Sweep
    agent: str  #: the name in the report (the agent, or SWEEP/AGENT, see the module docstring)
    env_id: str
    seed: int
    directory: Path
    record: dict[str, Any] = field(repr=False)
    label: str = ""  #: the name shown in figures and tables (the agent's ``TRAINING.label``, e.g. IMPORT)

    @property
    def status(self) -> str:
        return self.record.get("status", "pending")

    def split(self, name: str) -> dict[str, Any] | None:
        """The ``test`` or ``train`` scores of a finished run, else None."""
        return self.record.get(name) if self.status == "done" else None

    @property
    def score(self) -> float | None:
        """The normalised test score of a finished run (None: not finished, or no bounds)."""
        test = self.split("test")
        return None if test is None or test.get("normalised") is None else float(test["normalised"])

    @property
    def key(self) -> tuple[str, str, int]:
        return self.agent, self.env_id, self.seed


def _read_json(path: Path) -> dict[str, Any]:
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as error:
        raise SweepError(f"{path}: cannot read it as JSON ({error})") from error
    if not isinstance(document, dict):
        raise SweepError(f"{path}: expected a JSON object, got {type(document).__name__}")
    version = document.get("schema_version")
    if version != SWEEP_SCHEMA_VERSION:
        raise SweepError(f"{path}: schema_version {version!r}, this reader understands {SWEEP_SCHEMA_VERSION}")
    return document


def load_sweep(path: str | Path) -> tuple[Sweep, list[tuple[str, str, int, Path, dict[str, Any]]]]:
    """Read a sweep directory: its :class:`Sweep` and its runs as (agent, env_id, seed,
    directory, run.json document or ``{}``), sorted by agent, env and seed. A run is a
    ``runs/AGENT/ENV_ID/seedK/`` folder or an entry of ``sweep.json``'s ``runs`` list (the
    runs the sweep plans; those not started yet have no folder and are pending).

    Raises :class:`SweepError` naming the path when ``path`` is not a sweep directory (no
    ``sweep.json``), a file is not valid JSON of schema 1, a run directory is not named
    ``seed<k>`` or a ``run.json`` disagrees with its directory.
    """
    path = Path(path)
    hint = "expected a sweep directory with sweep.json and runs/, written by python -m evaluation.sweep"
    if not path.is_dir():
        raise SweepError(f"{path}: {'no such directory' if not path.exists() else 'not a directory'} ({hint})")
    if not (path / SWEEP_JSON).is_file():
        raise SweepError(f"{path}: not a sweep directory: it has no {SWEEP_JSON} ({hint})")
    sweep = Sweep(path, path.resolve().name, _read_json(path / SWEEP_JSON))
    runs = []
    root = path / RUNS_DIR
    # A sweep that has not started a run yet has no runs/ folder: it has no runs, not an error.
    for agent_dir in _subdirs(root):
        for env_dir in _subdirs(agent_dir):
            for run_dir in _subdirs(env_dir):
                match = _SEED_DIR.match(run_dir.name)
                if match is None:
                    raise SweepError(f"{run_dir}: a run directory must be named seed<k> (e.g. seed0)")
                seed = int(match.group(1))
                record = _read_json(run_dir / RUN_JSON) if (run_dir / RUN_JSON).is_file() else {}
                if record:
                    _check_run(run_dir / RUN_JSON, record, agent_dir.name, env_dir.name, seed)
                runs.append((agent_dir.name, env_dir.name, seed, run_dir, record))
    found = {run[3] for run in runs}
    planned = sweep.document.get("runs") or []
    for entry in planned if isinstance(planned, list) else []:
        parts = Path(str(entry)).parts
        match = _SEED_DIR.match(parts[-1]) if len(parts) == 4 and parts[0] == RUNS_DIR else None
        if match is None:
            raise SweepError(f"{path / SWEEP_JSON}: runs entry {entry!r} is not runs/AGENT/ENV_ID/seedK")
        if path / entry not in found:
            runs.append((parts[1], parts[2], int(match.group(1)), path / entry, {}))
    return sweep, sorted(runs, key=lambda r: (r[0], r[1], r[2]))


def _subdirs(path: Path) -> list[Path]:
    # Hidden entries are the writers' temporary files and folders, not runs.
    return sorted(p for p in path.iterdir() if p.is_dir() and not p.name.startswith(".")) if path.is_dir() else []


def _check_run(path: Path, record: dict[str, Any], agent: str, env_id: str, seed: int) -> None:
    """A run.json must match its directory and carry the test scores once done."""
    for key, expected in (("agent", agent), ("env_id", env_id), ("seed", seed)):
        if record.get(key) != expected:
            raise SweepError(f"{path}: {key} is {record.get(key)!r} but the directory says {expected!r}")
    if record.get("status") not in STATUSES:
        raise SweepError(f"{path}: status {record.get('status')!r}, expected one of {STATUSES}")
    if record["status"] == "done" and not isinstance(record.get("test"), dict):
        raise SweepError(f"{path}: status 'done' but no 'test' scores")


def load_runs(paths: Sequence[str | Path], merge_agents: bool = False) -> tuple[list[Sweep], list[Run]]:
    """Read every sweep; name the agents (see the module docstring); return the sweeps and their runs.

    Raises :class:`SweepError` for a sweep given twice, two sweeps with the same directory
    name whose agents need telling apart, or with ``merge_agents`` the same (agent, env,
    seed) in two sweeps.
    """
    if not paths:
        raise SweepError("no sweep directory given: python -m evaluation.compare sweeps/NAME [...]")
    loaded, seen = [], {}
    for path in paths:
        resolved = Path(path).resolve()
        if resolved in seen:
            raise SweepError(f"{path}: sweep given twice (also as {seen[resolved]})")
        seen[resolved] = path
        loaded.append(load_sweep(path))
    sweeps_of: dict[str, set[str]] = {}
    for sweep, runs in loaded:
        for agent, *_ in runs:
            sweeps_of.setdefault(agent, set()).add(sweep.name)
    runs_out, where, labels = [], {}, {}
    for sweep, runs in loaded:
        for agent, env_id, seed, directory, record in runs:
            shared = len(sweeps_of[agent]) > 1 and not merge_agents
            if shared and sum(s.name == sweep.name for s, _ in loaded) > 1:
                raise SweepError(f"{sweep.path}: agent {agent!r} is in several sweeps and two of them are named "
                                 f"{sweep.name!r}: rename one, or pass --merge-agents to pool them")
            label = labels.setdefault(agent, agent_label(agent))
            run = Run(sweep, f"{sweep.name}/{agent}" if shared else agent, env_id, seed, directory, record,
                      f"{sweep.name}/{label}" if shared else label)
            if run.key in where:
                raise SweepError(f"{directory}: {agent} on {env_id} with seed {seed} is also in "
                                 f"{where[run.key]} (--merge-agents needs distinct seeds)")
            where[run.key] = directory
            runs_out.append(run)
    return [sweep for sweep, _ in loaded], runs_out


# ---------------------------------------------------------------------------------------------
# Statistics (rliable)


@dataclass(frozen=True)
class Estimate:
    """A point estimate with its 95% bootstrap CI (None: fewer than 2 runs to resample)."""

    value: float
    ci: tuple[float, float] | None

    def to_dict(self) -> dict[str, Any]:
        return {"value": self.value, "ci": None if self.ci is None else list(self.ci)}


def _rliable() -> tuple[Any, Any]:
    return require("rliable.library", "compare"), require("rliable.metrics", "compare")


def _seeded(seed: int, compute: Callable[[], Any]) -> Any:
    """``compute()`` with NumPy's global generator seeded (rliable resamples with
    ``np.random.choice``); the caller's global state is restored afterwards."""
    state = np.random.get_state()
    np.random.seed(seed)
    try:
        return compute()
    finally:
        np.random.set_state(state)


def _matrix(scores: Any, name: str = "scores", ndim: int = 2) -> np.ndarray:
    array = np.asarray(scores, dtype=float)
    if array.ndim != ndim or array.shape[0] == 0 or 0 in array.shape:
        raise ValueError(f"{name} must be a non-empty {ndim}-D array (runs first), got shape {array.shape}")
    if not np.all(np.isfinite(array)):
        raise ValueError(f"{name} must be finite, got {array.ravel()[~np.isfinite(array.ravel())][:3]}")
    return array


def _check_reps(reps: int) -> None:
    check_int("reps", reps, 1)


def aggregate_metrics(scores: np.ndarray) -> np.ndarray:
    """``(4,)``: rliable's IQM, median, mean and optimality gap (gamma 1) of a ``(runs, envs)``
    matrix, in :data:`METRICS` order (the bootstrap's statistic). The median of one env (a
    single column) is the median over its runs: rliable's median is the median over envs of
    each env's mean, which for one env would only repeat the mean."""
    _, metrics = _rliable()
    median = metrics.aggregate_median(scores) if scores.shape[1] > 1 else np.median(scores)
    return np.array([metrics.aggregate_iqm(scores), median,
                     metrics.aggregate_mean(scores), metrics.aggregate_optimality_gap(scores)])


def interval_estimates(scores: Any, reps: int = 2000, seed: int = 0) -> dict[str, Estimate]:
    """:data:`METRICS` of a ``(runs, envs)`` score matrix, each with its 95% stratified bootstrap
    CI over runs (``reps`` resamples; None with a single run). Deterministic for ``seed``."""
    scores = _matrix(scores)
    _check_reps(reps)
    library, _ = _rliable()
    point = aggregate_metrics(scores)
    ci = None
    if len(scores) >= 2:
        _, intervals = _seeded(seed, lambda: library.get_interval_estimates(
            {"x": scores}, aggregate_metrics, reps=reps, confidence_interval_size=CI_LEVEL))
        ci = intervals["x"]  # (2, 4): low and high rows
    return {name: Estimate(float(point[i]), None if ci is None else (float(ci[0, i]), float(ci[1, i])))
            for i, name in enumerate(METRICS)}


def performance_profile(scores: Any, taus: Any, reps: int = 2000,
                        seed: int = 0) -> tuple[np.ndarray, np.ndarray | None]:
    """rliable's score distribution of a ``(runs, envs)`` matrix: ``(T,)`` fraction of all
    scores ``> tau`` for each of the ``(T,)`` ``taus``, and its ``(2, T)`` 95% CI band
    (stratified bootstrap; None with a single run)."""
    scores = _matrix(scores)
    taus = _matrix(taus, "taus", ndim=1)
    _check_reps(reps)
    library, _ = _rliable()
    if len(scores) < 2:
        return np.asarray(library.score_distributions(scores, taus), float), None
    profiles, cis = _seeded(seed, lambda: library.create_performance_profile(
        {"x": scores}, taus, reps=reps, confidence_interval_size=CI_LEVEL))
    return np.asarray(profiles["x"], float), np.asarray(cis["x"], float)


def improvement_fraction(x: np.ndarray, y: np.ndarray) -> float:
    """rliable's ``metrics.probability_of_improvement`` of ``(runs_x, envs)`` over ``(runs_y, envs)``
    scores, the same numbers without a scipy call per env: per env the Mann-Whitney U of X
    (pairs with X above Y, ties counting 1/2) over ``runs_x * runs_y``, averaged over envs. (A
    10,000-resample report makes about a million of these calls.)"""
    pairs = x[:, None, :] - y[None, :, :]  # (runs_x, runs_y, envs)
    u = (pairs > 0).sum((0, 1)) + 0.5 * (pairs == 0).sum((0, 1))
    return np.mean(u / (len(x) * len(y)))


def probability_of_improvement(scores_x: Any, scores_y: Any, reps: int = 2000, seed: int = 0) -> Estimate:
    """P(X > Y): rliable's probability of improvement of X's ``(runs_x, envs)`` scores over Y's
    ``(runs_y, envs)`` (per env the Mann-Whitney fraction of run pairs with X's score above Y's,
    ties counting 1/2, averaged over envs), with its 95% CI (X's and Y's runs resampled
    independently within each env; None when either has a single run)."""
    x, y = _matrix(scores_x, "scores_x"), _matrix(scores_y, "scores_y")
    if x.shape[1] != y.shape[1]:
        raise ValueError(f"scores_x and scores_y need the same envs (columns), got {x.shape} and {y.shape}")
    _check_reps(reps)
    library, _ = _rliable()
    value = float(improvement_fraction(x, y))
    if min(len(x), len(y)) < 2:
        return Estimate(value, None)
    _, cis = _seeded(seed, lambda: library.get_interval_estimates(
        {"x": [x, y]}, improvement_fraction, reps=reps, confidence_interval_size=CI_LEVEL))
    low, high = np.asarray(cis["x"], float).ravel()
    return Estimate(value, (float(low), float(high)))


def iqm_curve(scores: Any, reps: int = 2000, seed: int = 0) -> tuple[np.ndarray, np.ndarray | None]:
    """``(F,)`` IQM over runs of a ``(runs, F)`` matrix of scores at F points of training, and
    its ``(2, F)`` 95% stratified bootstrap CI band (None with a single run)."""
    scores = _matrix(scores)[:, None, :]  # rliable's (runs, tasks, frames) layout, one task
    _check_reps(reps)
    library, _ = _rliable()
    stats = require("scipy.stats", "compare")

    def per_frame(s: np.ndarray) -> np.ndarray:
        # rliable's aggregate_iqm (scipy's 25% trim_mean over runs and tasks) at every frame at
        # once: one call per bootstrap resample instead of one per frame (a 10,000-resample
        # report with 15 curves of ~100 points made 15M calls: most of its ~40 minutes).
        return stats.trim_mean(s.reshape(-1, s.shape[-1]), proportiontocut=0.25, axis=0)

    point = per_frame(scores)
    if len(scores) < 2:
        return point, None
    _, cis = _seeded(seed, lambda: library.get_interval_estimates(
        {"x": scores}, per_frame, reps=reps, confidence_interval_size=CI_LEVEL))
    return point, np.asarray(cis["x"], float)


def align_curves(curves: Sequence[Any], points: int = 50) -> tuple[np.ndarray, np.ndarray, str]:
    """Put runs' learning curves (each ``(k_i, 2)``: env steps, score) on one grid of steps.

    Returns ``(F,)`` steps, ``(runs, F)`` scores and how: the steps every run has
    ("common steps") when there are at least 2 of them, else ``points`` steps spread evenly
    over the range all runs cover, each run linearly interpolated ("interpolated"; never
    extrapolated).
    """
    arrays = []
    for i, curve in enumerate(curves):
        array = np.asarray(curve, dtype=float)
        if array.ndim != 2 or array.shape[1] != 2 or len(array) == 0:
            raise ValueError(f"curve {i} must be a list of [env_steps, score] pairs, got shape {array.shape}")
        arrays.append(array[np.argsort(array[:, 0], kind="stable")])
    if not arrays:
        raise ValueError("align_curves needs at least one curve")
    common = sorted(set.intersection(*(set(a[:, 0].tolist()) for a in arrays)))
    if len(common) >= 2:
        steps = np.array(common)
        return steps, np.array([[a[a[:, 0] == s, 1][-1] for s in steps] for a in arrays]), "common steps"
    low, high = max(a[0, 0] for a in arrays), min(a[-1, 0] for a in arrays)
    if not high > low:
        raise ValueError(f"the runs' curves share no range of env steps (latest start {low}, earliest end {high})")
    steps = np.linspace(low, high, points)
    return steps, np.array([np.interp(steps, a[:, 0], a[:, 1]) for a in arrays]), "interpolated"


def tau_grid(scores: np.ndarray, count: int) -> np.ndarray:
    """``(count,)`` thresholds from min(0, lowest score) to max(1, highest score)."""
    check_int("taus", count, 2)
    return np.linspace(min(0.0, float(scores.min())), max(1.0, float(scores.max())), count)


# ---------------------------------------------------------------------------------------------
# The report


def median_run(runs: Sequence[Run]) -> Run:
    """The run whose test score is the median (the lower one of an even count; ties by seed)."""
    ordered = sorted(runs, key=lambda r: (r.score, r.seed))
    return ordered[(len(ordered) - 1) // 2]


def _safe(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "_", name)


def _copy(source: Path, target: Path) -> None:
    with atomic_path(target, suffix=target.suffix) as tmp:
        shutil.copyfile(source, tmp)


def _ci_pair(value: Any) -> list[float] | None:
    return None if value is None else [float(v) for v in value]


def _bounds(env_id: str, runs: Sequence[Run]) -> dict[str, float] | None:
    """The env's test bounds (from its first finished run) with Thompson's normalised value."""
    for run in runs:
        test = run.split("test")
        raw = None if test is None else test.get("bounds")
        if raw and all(raw.get(name) is not None for name in Bounds.NAMES):
            bounds = Bounds(env_id, "test", 1, *(float(raw[name]) for name in Bounds.NAMES), method="run.json")
            try:
                thompson = float(normalised_score(bounds.thompson, bounds))
            except ValueError:  # optimal not above no exploration: nothing to normalise by
                thompson = None
            return {**{name: getattr(bounds, name) for name in Bounds.NAMES}, "thompson_normalised": thompson}
    return None


def _run_row(run: Run, in_aggregate: bool, log: str | None, gif: str | None) -> dict[str, Any]:
    """The report.json entry of one run."""
    record = run.record
    row: dict[str, Any] = {
        "sweep": run.sweep.name, "agent": run.agent, "agent_name": record.get("agent", run.agent.split("/")[-1]),
        "agent_module": record.get("agent_module"), "env_id": run.env_id, "seed": run.seed, "status": run.status,
        "error": record.get("error") if record else "not started (no run.json yet)",
        "directory": run.directory.relative_to(run.sweep.path).as_posix(),
        "total_steps": record.get("total_steps"), "env_steps": record.get("env_steps"),
        "train_wall_s": record.get("train_wall_s"), "commands": record.get("commands"),
        "in_aggregate": in_aggregate, "log": log, "gif": gif,
    }
    for split in ("test", "train"):
        scores = run.split(split) or {}
        row[split] = {"normalised": scores.get("normalised"), "normalised_ci": _ci_pair(scores.get("normalised_ci")),
                      "mean_return": scores.get("mean_return"), "return_ci": _ci_pair(scores.get("return_ci")),
                      "exploration_score": scores.get("exploration_score"),
                      "exploration_score_ci": _ci_pair(scores.get("exploration_score_ci")),
                      "exploitation_efficiency": scores.get("exploitation_efficiency"),
                      "num_trials": scores.get("num_trials")} if scores else None
    if run.status == "done" and run.score is None:
        row["error"] = "finished without a normalised test score (no bounds): not in the statistics"
    return row


def _status_counts(runs: Sequence[Run]) -> dict[str, int]:
    counts = {status: sum(r.status == status for r in runs) for status in STATUSES}
    return {status: n for status, n in counts.items() if n}


Cells = dict[tuple[str, str], list[Run]]  #: (agent, env_id) -> its finished runs with a score


def _estimates(scores: Any, config: CompareConfig) -> dict[str, Any]:
    return {name: e.to_dict() for name, e in interval_estimates(scores, config.reps, config.seed).items()}


def _band(band: np.ndarray | None) -> dict[str, list[float] | None]:
    return {"ci_low": None if band is None else band[0].tolist(), "ci_high": None if band is None else band[1].tolist()}


def per_env_statistics(runs: Sequence[Run], agents: Sequence[str], envs: Sequence[str], scored: Cells,
                       config: CompareConfig) -> dict[str, Any]:
    """Per env: its bounds and, per agent with runs there, the metrics over every finished run."""
    per_env: dict[str, Any] = {}
    for env_id in envs:
        per_env[env_id] = {"bounds": _bounds(env_id, [r for r in runs if r.env_id == env_id]), "agents": {}}
        for agent in agents:
            cell = scored[agent, env_id]
            all_runs = [r for r in runs if r.agent == agent and r.env_id == env_id]
            if all_runs:
                entry: dict[str, Any] = {"runs": len(cell), "seeds": [r.seed for r in cell],
                                         "statuses": _status_counts(all_runs)}
                if cell:
                    entry.update(_estimates([[r.score] for r in cell], config))
                per_env[env_id]["agents"][agent] = entry
    return per_env


def aggregate_statistics(runs: Sequence[Run], agents: Sequence[str], envs: Sequence[str], scored: Cells,
                         config: CompareConfig) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
    """The aggregate over the envs every agent has a finished run on ("common envs"; an agent
    without any finished run does not count), per agent over the seeds finished on all of them
    (rliable needs a full matrix): the report entry and each agent's ``(seeds, common envs)``
    score matrix."""
    finished = [a for a in agents if any(scored[a, e] for e in envs)]
    common = [e for e in envs if finished and all(scored[a, e] for a in finished)]
    matrices: dict[str, np.ndarray] = {}
    entries: dict[str, Any] = {}
    for agent in agents:
        by_seed: dict[int, dict[str, Run]] = {}
        for run in runs:
            if run.agent == agent:
                by_seed.setdefault(run.seed, {})
                if run.score is not None:
                    by_seed[run.seed][run.env_id] = run
        complete = sorted(s for s, cells in by_seed.items() if common and all(e in cells for e in common))
        left_out = {}
        for seed in sorted(set(by_seed) - set(complete)):
            statuses = {r.env_id: r.status for r in runs if r.agent == agent and r.seed == seed}
            missing = [f"{e}: {statuses.get(e, 'no run')}" for e in common if e not in by_seed[seed]]
            left_out[str(seed)] = "; ".join(missing) or "no common env"
        entries[agent] = {"seeds": complete, "left_out_seeds": left_out}
        if complete:
            matrices[agent] = np.array([[by_seed[s][e].score for e in common] for s in complete])
            entries[agent].update(_estimates(matrices[agent], config))
    aggregate = {
        "envs": common,
        "left_out_envs": {e: "no finished run of " + ", ".join(a for a in finished if not scored[a, e])
                          for e in envs if e not in common},
        "agents_without_finished_runs": [a for a in agents if a not in finished],
        "agents": entries,
        "note": ("rliable's aggregates need a full runs x envs matrix: over the envs where every agent has a "
                 "finished run, per agent the runs (seeds) finished on all of them; per-env statistics use "
                 "every finished run"),
    }
    return aggregate, matrices


def profile_statistics(matrices: dict[str, np.ndarray], config: CompareConfig) -> dict[str, Any]:
    """Performance profiles of the aggregate matrices, on one tau grid for all agents."""
    if not matrices:
        return {"taus": [], "agents": {}}
    taus = tau_grid(np.concatenate([m.ravel() for m in matrices.values()]), config.taus)
    agents = {}
    for agent, matrix in matrices.items():
        values, band = performance_profile(matrix, taus, config.reps, config.seed)
        agents[agent] = {"profile": values.tolist(), **_band(band)}
    return {"taus": taus.tolist(), "agents": agents}


def improvement_statistics(agents: Sequence[str], envs: Sequence[str], scored: Cells,
                           matrices: dict[str, np.ndarray], config: CompareConfig) -> dict[str, Any]:
    """P(X > Y) for each ordered pair of agents: over the aggregate matrices, and per env over
    every finished run."""
    def pairs(scores: dict[str, Any]) -> list[dict[str, Any]]:
        return [{"x": x, "y": y, **probability_of_improvement(scores[x], scores[y], config.reps, config.seed).to_dict()}
                for x in agents for y in agents if x != y and x in scores and y in scores]

    per_env = {e: pairs({a: [[r.score] for r in scored[a, e]] for a in agents if scored[a, e]}) for e in envs}
    return {"aggregate": pairs(matrices), "per_env": per_env}


def curve_statistics(agents: Sequence[str], envs: Sequence[str], scored: Cells,
                     config: CompareConfig) -> dict[str, Any]:
    """Per env and agent, the IQM learning curve over the finished runs that have a ``curve``."""
    curves: dict[str, Any] = {}
    for env_id in envs:
        env_curves = {}
        for agent in agents:
            with_curve = [r for r in scored[agent, env_id] if r.record.get("curve")]
            if not with_curve:
                continue
            seeds = [r.seed for r in with_curve]
            try:
                steps, values, grid = align_curves([r.record["curve"] for r in with_curve])
            except ValueError as error:  # reported, not fatal: the other statistics stand
                env_curves[agent] = {"error": str(error), "seeds": seeds}
                continue
            iqm, band = iqm_curve(values, config.reps, config.seed)
            env_curves[agent] = {"seeds": seeds, "grid": grid, "steps": steps.tolist(), "iqm": iqm.tolist(),
                                 **_band(band)}
        if env_curves:
            curves[env_id] = env_curves
    return curves


def copy_files(runs: Sequence[Run], scored: Cells,
               out: Path) -> tuple[dict[tuple[str, str], tuple[Run, str]], dict[tuple[str, str, int], str]]:
    """Copy under ``out`` the GIF of each agent and env's median run and the log of each failed
    run; return {(agent, env): (median run, its GIF's path under out)} and {run key: log path}."""
    gifs, logs = {}, {}
    for (agent, env_id), cell in scored.items():
        chosen = median_run(cell) if cell else None
        gif = None if chosen is None else chosen.record.get("gif")
        if gif and (chosen.directory / gif).is_file():
            target = f"{GIF_DIR}/{_safe(agent)}__{_safe(env_id)}.gif"
            _copy(chosen.directory / gif, out / target)
            gifs[agent, env_id] = (chosen, target)
    for run in runs:
        name = run.record.get("log") or "train.log"
        if run.status == "failed" and (run.directory / name).is_file():
            target = (f"{LOG_DIR}/{_safe(run.sweep.name)}/{_safe(run.agent)}/{_safe(run.env_id)}/seed{run.seed}/"
                      f"{_safe(Path(name).name)}")
            _copy(run.directory / name, out / target)
            logs[run.key] = target
    return gifs, logs


def compare(sweeps: Sequence[Sweep], runs: Sequence[Run], config: CompareConfig,
            command: str) -> dict[str, Any]:
    """Every statistic of the report; writes the figures, GIFs and logs under ``config.out``
    and returns the ``report.json`` document (see docs/compare.md)."""
    agents = list(dict.fromkeys(r.agent for r in runs))
    envs = sorted({r.env_id for r in runs})
    scored = {(a, e): [r for r in runs if r.agent == a and r.env_id == e and r.score is not None]
              for a in agents for e in envs}
    aggregate, matrices = aggregate_statistics(runs, agents, envs, scored, config)
    used = {(agent, env_id, seed) for agent, entry in aggregate["agents"].items()
            for env_id in aggregate["envs"] for seed in entry["seeds"]}
    gifs, logs = copy_files(runs, scored, config.out)
    gif_of_run = {run.key: path for run, path in gifs.values()}
    document = {
        "schema_version": REPORT_SCHEMA_VERSION,
        "title": config.title,
        "command": command,
        "sweeps": [{"path": str(s.path), "name": s.name, "command": s.document.get("command"),
                    "commands": s.document.get("commands"), "created": s.document.get("created"),
                    "config": s.document.get("config")} for s in sweeps],
        "score": SCORE,
        "bootstrap": {"method": BOOTSTRAP_METHOD, "level": CI_LEVEL, "reps": config.reps, "seed": config.seed,
                      "library": f"rliable {_version('rliable')}",
                      "seeding": "np.random.seed(seed) before each estimate's bootstrap; global state restored"},
        "agents": agents,
        "labels": {r.agent: r.label or r.agent for r in runs},
        "envs": envs,
        "statuses": _status_counts(runs),
        "runs": [_run_row(run, run.key in used, logs.get(run.key), gif_of_run.get(run.key)) for run in runs],
        "per_env": per_env_statistics(runs, agents, envs, scored, config),
        "aggregate": aggregate,
        "performance_profile": profile_statistics(matrices, config),
        "probability_of_improvement": improvement_statistics(agents, envs, scored, matrices, config),
        "curves": curve_statistics(agents, envs, scored, config),
        "gifs": [{"agent": a, "env_id": e, "sweep": run.sweep.name, "seed": run.seed, "path": path}
                 for (a, e), (run, path) in gifs.items()],
    }
    document["figures"] = figures(document, config.out)
    return document


def _version(package: str) -> str | None:
    import importlib.metadata

    try:
        return importlib.metadata.version(package)
    except importlib.metadata.PackageNotFoundError:
        return None


# ---------------------------------------------------------------------------------------------
# Figures (matplotlib, Agg)


def _pyplot() -> Any:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def _save(fig: Any, path: Path) -> None:
    plt = _pyplot()
    fig.tight_layout()
    with atomic_path(path, suffix=".png") as tmp:
        fig.savefig(tmp, dpi=100)
    plt.close(fig)


def _colours(agents: Sequence[str]) -> dict[str, str]:
    """One colour per agent, the same in every figure; not green, purple, grey or black, the
    bounds' colours (:data:`~evaluation.report.BOUND_STYLES`)."""
    cycle = ["tab:blue", "tab:orange", "tab:red", "tab:brown", "tab:pink", "tab:olive", "tab:cyan"]
    return {agent: cycle[i % len(cycle)] for i, agent in enumerate(agents)}


def _labeller(document: dict[str, Any]) -> Callable[[str], str]:
    """agent -> its name in figures and tables (``document["labels"]``; reports written before
    labels existed show the agent names)."""
    labels = document.get("labels", {})
    return lambda agent: labels.get(agent, agent)


def _plural(count: int, noun: str) -> str:
    return f"{count} {noun}" + ("" if count == 1 else "s")


def _intervals(ax: Any, labels: Sequence[str], estimates: Sequence[dict[str, Any]], colours: Sequence[str],
               xlabel: str) -> None:
    """rliable-style interval plot: one row per label, a bar over the CI and a tick at the point."""
    for row, (estimate, colour) in enumerate(zip(estimates, colours)):
        y = len(labels) - 1 - row
        if estimate.get("ci") is not None:
            low, high = estimate["ci"]
            ax.barh(y, high - low, left=low, height=0.6, color=colour, alpha=0.75)
        ax.plot([estimate["value"]] * 2, [y - 0.3, y + 0.3], color="black", linewidth=1.5)
    ax.set_yticks(range(len(labels)), list(reversed(labels)), fontsize=8)
    ax.set_xlabel(xlabel, fontsize=9)
    ax.grid(axis="x", alpha=0.3)


def figures(document: dict[str, Any], out: Path) -> dict[str, Any]:
    """Draw the PNGs of a report document under ``out``; return {name: relative path(s)}."""
    plt = _pyplot()
    colours = _colours(document["agents"])
    name = _labeller(document)
    drawn: dict[str, Any] = {}
    aggregate = document["aggregate"]
    agents = [a for a in document["agents"] if "iqm" in aggregate["agents"].get(a, {})]
    if agents:
        fig, axes = plt.subplots(1, len(METRICS), figsize=(3.2 * len(METRICS), 0.6 + 0.45 * len(agents) + 1.0),
                                 squeeze=False)
        for ax, (metric, metric_name) in zip(axes[0], METRICS.items()):
            _intervals(ax, [name(a) for a in agents] if ax is axes[0][0] else [""] * len(agents),
                       [aggregate["agents"][a][metric] for a in agents], [colours[a] for a in agents], metric_name)
        fig.suptitle(f"Aggregate over {_plural(len(aggregate['envs']), 'env')}, normalised test score (95% CI)",
                     fontsize=10)
        _save(fig, out / AGGREGATE_PNG)
        drawn["aggregate"] = AGGREGATE_PNG

    envs = [e for e in document["envs"] if any("iqm" in v for v in document["per_env"][e]["agents"].values())]
    if envs:
        fig, axes = plt.subplots(1, len(envs), figsize=(3.4 * len(envs), 0.6 + 0.45 * len(document["agents"]) + 1.0),
                                 squeeze=False)
        for ax, env_id in zip(axes[0], envs):
            cells = document["per_env"][env_id]["agents"]
            names = [a for a in document["agents"] if "iqm" in cells.get(a, {})]
            _intervals(ax, [name(a) for a in names], [cells[a]["iqm"] for a in names], [colours[a] for a in names],
                       "IQM")
            ax.set_title(env_id, fontsize=9)
        fig.suptitle("IQM of the normalised test score per env (95% CI)", fontsize=10)
        _save(fig, out / PER_ENV_PNG)
        drawn["per_env"] = PER_ENV_PNG

    profile = document["performance_profile"]
    if profile["agents"]:
        fig, ax = plt.subplots(figsize=(6.4, 4.2))
        for agent, values in profile["agents"].items():
            ax.plot(profile["taus"], values["profile"], color=colours[agent], label=name(agent))
            if values["ci_low"] is not None:
                ax.fill_between(profile["taus"], values["ci_low"], values["ci_high"], color=colours[agent], alpha=0.2)
        ax.set_xlabel("normalised test score tau")
        ax.set_ylabel("fraction of runs with score > tau")
        ax.set_ylim(-0.02, 1.02)
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8)
        ax.set_title(f"Performance profile over {_plural(len(aggregate['envs']), 'env')} (95% CI bands)", fontsize=10)
        _save(fig, out / PROFILE_PNG)
        drawn["performance_profile"] = PROFILE_PNG

    pairs = [p for p in document["probability_of_improvement"]["aggregate"]
             if document["agents"].index(p["x"]) < document["agents"].index(p["y"])]
    if pairs:
        fig, ax = plt.subplots(figsize=(6.4, 0.8 + 0.45 * len(pairs) + 0.8))
        _intervals(ax, [f"P({name(p['x'])} > {name(p['y'])})" for p in pairs], pairs, [colours[p["x"]] for p in pairs],
                   "probability of improvement")
        ax.axvline(0.5, color="grey", linestyle="--", linewidth=1)
        ax.set_xlim(-0.02, 1.02)
        ax.set_title("Probability of improvement, aggregate (95% CI); P(Y > X) = 1 - P(X > Y)", fontsize=10)
        _save(fig, out / POI_PNG)
        drawn["probability_of_improvement"] = POI_PNG

    drawn["curves"] = {}
    for env_id, env_curves in document["curves"].items():
        fig, ax = plt.subplots(figsize=(6.4, 4.2))
        for agent, curve in env_curves.items():
            if "iqm" not in curve:
                continue
            ax.plot(curve["steps"], curve["iqm"], color=colours[agent],
                    label=f"{name(agent)} ({len(curve['seeds'])} runs)")
            if curve["ci_low"] is not None:
                ax.fill_between(curve["steps"], curve["ci_low"], curve["ci_high"], color=colours[agent], alpha=0.2)
        bounds = document["per_env"][env_id]["bounds"]
        lines = {"optimal": 1.0, "no_exploration": 0.0,
                 "thompson": None if bounds is None else bounds["thompson_normalised"]}
        for bound, value in lines.items():
            if value is not None:
                colour, style = BOUND_STYLES[bound]
                ax.axhline(value, color=colour, linestyle=style, linewidth=1.2, label=bound.replace("_", " "))
        ax.set_xlabel("env steps")
        ax.set_ylabel("IQM normalised test score")
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8)
        ax.set_title(f"{env_id}: sample efficiency (IQM over runs, 95% CI)", fontsize=10)
        png = f"curves-{_safe(env_id)}.png"
        _save(fig, out / png)
        drawn["curves"][env_id] = png
    return drawn


# ---------------------------------------------------------------------------------------------
# index.html

_CSS = """
body { font-family: system-ui, sans-serif; margin: 1.5em auto; max-width: 1400px; padding: 0 1em; color: #222; }
table { border-collapse: collapse; margin: 0.5em 0 1.5em; font-size: 0.9em; }
th, td { border: 1px solid #ccc; padding: 0.25em 0.55em; text-align: right; vertical-align: top; }
td { white-space: nowrap; }
td.wrap { white-space: normal; text-align: left; min-width: 16em; }
th { background: #f0f0f0; position: sticky; top: 0; }
td.l, th.l { text-align: left; }
tr.failed td { background: #fde2e2; }
tr.running td, tr.pending td { background: #fff6d5; }
.status { font-weight: 600; }
code, pre { background: #f5f5f5; padding: 0.1em 0.3em; font-size: 0.85em; }
pre { white-space: pre-wrap; padding: 0.5em; }
img { max-width: 100%; }
img.gif { image-rendering: pixelated; min-width: 160px; }
figure { display: inline-block; margin: 0.5em; vertical-align: top; }
figcaption { font-size: 0.85em; color: #555; }
.note { color: #555; font-size: 0.9em; }
img.broken { outline: 3px solid red; }
"""

# Marks each image on the page as loaded or broken once the page has loaded (the headless
# browser test reads these attributes; a person sees broken images outlined in red).
_SCRIPT = """
window.addEventListener('load', function () {
  var images = document.images, ok = 0, broken = [];
  for (var i = 0; i < images.length; i++) {
    if (images[i].complete && images[i].naturalWidth > 0) { ok++; }
    else { broken.push(images[i].getAttribute('src')); images[i].className += ' broken'; }
  }
  document.body.setAttribute('data-images-loaded', ok);
  document.body.setAttribute('data-images-total', images.length);
  document.body.setAttribute('data-images-broken', broken.join(' '));
});
"""


def _e(value: Any) -> str:
    return html.escape("" if value is None else str(value))


def _num(value: float | None, ci: Sequence[float] | None = None, sign: bool = True) -> str:
    if value is None:
        return "n/a"
    text = f"{value:+.3f}" if sign else f"{value:.3f}"
    return text if ci is None else f"{text} [{ci[0]:+.3f}, {ci[1]:+.3f}]"


def _est(entry: dict[str, Any], metric: str) -> str:
    estimate = entry.get(metric)
    return "n/a" if estimate is None else _num(estimate["value"], estimate["ci"])


def _table(header: Sequence[str], rows: Sequence[Sequence[str]], left: int = 1,
           classes: Sequence[str] | None = None, wrap_last: bool = False) -> str:
    """An HTML table; ``rows`` are already-escaped cell HTML; the first ``left`` columns
    left-aligned, numbers right-aligned on one line; ``wrap_last``: the last column is text."""
    def cell_class(i: int) -> str:
        return " class=wrap" if wrap_last and i == len(header) - 1 else " class=l" if i < left else ""

    head = "".join(f"<th{cell_class(i)}>{_e(h)}</th>" for i, h in enumerate(header))
    body = []
    for k, row in enumerate(rows):
        cls = f' class="{classes[k]}"' if classes and classes[k] else ""
        body.append(f"<tr{cls}>" + "".join(f"<td{cell_class(i)}>{cell}</td>" for i, cell in enumerate(row)) + "</tr>")
    return f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table>"


def _img(path: str, alt: str, cls: str = "") -> str:
    return f'<img src="{_e(path)}" alt="{_e(alt)}"{f" class={cls}" if cls else ""}>'


def _poi_table(pairs: Sequence[dict[str, Any]], agents: Sequence[str], name: Callable[[str], str]) -> str:
    names = [a for a in agents if any(p["x"] == a for p in pairs)]
    lookup = {(p["x"], p["y"]): p for p in pairs}
    rows = [[_e(name(x))] + [("—" if x == y else _num(lookup[x, y]["value"], lookup[x, y]["ci"], sign=False)
                        if (x, y) in lookup else "n/a") for y in names] for x in names]
    return _table(["P(row > column)", *map(name, names)], rows)


def index_html(document: dict[str, Any]) -> str:
    """The report page: tables, figures, GIFs and the per-run table, relative links only."""
    agents, envs = document["agents"], document["envs"]
    name = _labeller(document)
    figures_ = document["figures"]
    boot = document["bootstrap"]
    parts = [f"<h1>{_e(document['title'])}</h1>",
             f"<p class=note>Score: {_e(document['score'])}. 95% CIs: {_e(boot['method'])}; {boot['reps']} "
             f"resamples, seed {boot['seed']} ({_e(boot['library'])}). Statistics after Agarwal et al., "
             "<i>Deep reinforcement learning at the edge of the statistical precipice</i>, NeurIPS 2021.</p>",
             f"<p>Command: <code>{_e(document['command'])}</code></p>"]
    sweep_rows = [[_e(s["name"]), _e(s["path"]), f"<code>{_e(s['command'])}</code>", _e(s["created"])]
                  for s in document["sweeps"]]
    parts.append("<h2>Sweeps</h2>" + _table(["sweep", "path", "command", "created"], sweep_rows, left=4))
    counts = ", ".join(f"{n} {status}" for status, n in document["statuses"].items()) or "no runs"
    parts.append(f"<p>Runs: {_e(counts)}.</p>")

    aggregate = document["aggregate"]
    parts.append("<h2>Aggregate over envs</h2>")
    parts.append(f"<p class=note>Envs: {_e(', '.join(aggregate['envs']) or 'none')}. {_e(aggregate['note'])}.</p>")
    if aggregate["agents_without_finished_runs"]:
        parts.append("<p>No finished run, so in no statistic: <b>"
                     + _e(", ".join(map(name, aggregate["agents_without_finished_runs"]))) + "</b></p>")
    if aggregate["left_out_envs"]:
        parts.append("<p>Left out of the aggregate: " + "; ".join(
            f"<b>{_e(e)}</b> ({_e(why)})" for e, why in aggregate["left_out_envs"].items()) + "</p>")
    rows = []
    for agent in agents:
        entry = aggregate["agents"][agent]
        left_out = "; ".join(f"seed {s}: {why}" for s, why in entry["left_out_seeds"].items())
        rows.append([_e(name(agent)), _e(len(entry["seeds"])), _e(" ".join(map(str, entry["seeds"]))),
                     *(_est(entry, m) for m in METRICS), _e(left_out)])
    parts.append(_table(["agent", "runs", "seeds", *(f"{n} [95% CI]" for n in METRICS.values()), "runs left out"],
                        rows, left=1, wrap_last=True))
    for key, caption in (("aggregate", "Aggregate metrics"), ("performance_profile", "Performance profile"),
                         ("probability_of_improvement", "Probability of improvement")):
        if key in figures_:
            parts.append(f"<figure>{_img(figures_[key], caption)}<figcaption>{_e(caption)}</figcaption></figure>")
    if document["probability_of_improvement"]["aggregate"]:
        parts.append("<h3>Probability of improvement, aggregate</h3>"
                     + _poi_table(document["probability_of_improvement"]["aggregate"], agents, name))

    parts.append("<h2>Per env</h2><p class=note>Every finished run of the agent and env.</p>")
    rows = []
    for env_id in envs:
        env = document["per_env"][env_id]
        bounds = env["bounds"]
        thompson = None if bounds is None else bounds["thompson_normalised"]
        for agent, entry in env["agents"].items():
            statuses = ", ".join(f"{n} {s}" for s, n in entry["statuses"].items())
            rows.append([_e(env_id), _e(name(agent)), _e(entry["runs"]), *(_est(entry, m) for m in METRICS),
                         _num(thompson), _e(statuses)])
    parts.append(_table(["env", "agent", "runs", *(f"{n} [95% CI]" for n in METRICS.values()),
                         "Thompson (normalised)", "runs by status"], rows, left=2))
    if "per_env" in figures_:
        parts.append(f"<figure>{_img(figures_['per_env'], 'IQM per env')}<figcaption>IQM per env</figcaption></figure>")
    for env_id in envs:
        pairs = document["probability_of_improvement"]["per_env"].get(env_id)
        if pairs:
            parts.append(f"<h3>Probability of improvement on {_e(env_id)}</h3>" + _poi_table(pairs, agents, name))

    if figures_.get("curves"):
        parts.append("<h2>Sample efficiency</h2><p class=note>IQM over runs of the normalised test score against "
                     "env steps, 95% CI bands; lines: optimal (1), no exploration (0), Thompson sampling.</p>")
        for env_id, path in figures_["curves"].items():
            parts.append(f"<figure>{_img(path, env_id)}<figcaption>{_e(env_id)}</figcaption></figure>")

    if document["gifs"]:
        parts.append("<h2>One trial per agent and env</h2><p class=note>The run whose test score is the median of "
                     "that agent and env (the lower median of an even count); exploration episode left, "
                     "exploitation right.</p>")
        for gif in document["gifs"]:
            caption = f"{name(gif['agent'])} on {gif['env_id']}, seed {gif['seed']}"
            parts.append(f"<figure>{_img(gif['path'], caption, 'gif')}<figcaption>{_e(caption)}</figcaption></figure>")

    parts.append("<h2>Runs</h2><p class=note>Every run of the sweeps, failures beside successes; "
                 "“in aggregate”: the run is in the aggregate matrix.</p>")
    rows, classes = [], []
    for run in document["runs"]:
        test, train = run["test"] or {}, run["train"] or {}
        efficiency = test.get("exploitation_efficiency")
        note = []
        if run["error"]:  # a failed run's error ends with the tail of its log: folded away
            first, _, rest = run["error"].strip().partition("\n")
            note.append(f"<details><summary>{_e(first)}</summary><pre>{_e(rest)}</pre></details>" if rest
                        else _e(first))
        if run["log"]:
            note.append(f'<a href="{_e(run["log"])}">log</a>')
        if run["gif"]:
            note.append(f'<a href="{_e(run["gif"])}">GIF</a>')
        rows.append([_e(name(run["agent"])), _e(run["env_id"]), _e(run["seed"]),
                     f'<span class=status>{_e(run["status"])}</span>',
                     _num(test.get("normalised"), test.get("normalised_ci")),
                     _num(train.get("normalised"), train.get("normalised_ci")),
                     _num(test.get("exploration_score"), test.get("exploration_score_ci")),
                     "n/a" if efficiency is None else f"{efficiency:.3f}",
                     _e(run["env_steps"]), "" if run["train_wall_s"] is None else f"{run['train_wall_s']:.0f}",
                     "yes" if run["in_aggregate"] else "no", " ".join(note)])
        classes.append(run["status"])
    parts.append(_table(["agent", "env", "seed", "status", "test score [95% CI]", "train-split score [95% CI]",
                         "exploration [95% CI]", "exploitation efficiency", "env steps", "train s", "in aggregate",
                         "error / files"], rows, left=2, classes=classes, wrap_last=True))
    parts.append("<p class=note>All numbers: <a href=\"report.json\">report.json</a>.</p>")
    return ("<!DOCTYPE html>\n<html lang=en><head><meta charset=utf-8>"
            f"<title>{_e(document['title'])}</title><style>{_CSS}</style></head>\n<body>\n"
            + "\n".join(parts) + f"\n<script>{_SCRIPT}</script>\n</body></html>\n")


def _md_table(header: Sequence[str], rows: Sequence[Sequence[str]], left: int = 1) -> str:
    align = ["---" if i < left else "---:" for i in range(len(header))]
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join(align) + "|"]
    return "\n".join(lines + ["| " + " | ".join(row) + " |" for row in rows])


def report_md(document: dict[str, Any]) -> str:
    """The report's tables as Markdown (for docs and READMEs): per env, aggregate, every run."""
    agents, envs = document["agents"], document["envs"]
    name = _labeller(document)
    boot = document["bootstrap"]
    metric_headers = [f"{n} [95% CI]" for n in METRICS.values()]
    parts = [f"# {document['title']}", "",
             f"Score: {document['score']}. 95% CIs: {boot['method']}; {boot['reps']} resamples, seed {boot['seed']}.",
             "", f"Command: `{document['command']}`", "", "## Per env", ""]
    rows = []
    for env_id in envs:
        env = document["per_env"][env_id]
        for agent, entry in env["agents"].items():
            statuses = ", ".join(f"{n} {s}" for s, n in entry["statuses"].items())
            rows.append([env_id, name(agent), str(entry["runs"]), *(_est(entry, m) for m in METRICS), statuses])
    parts += [_md_table(["env", "agent", "runs", *metric_headers, "runs by status"], rows, left=2), "",
              "## Aggregate over envs", "", f"Envs: {', '.join(document['aggregate']['envs']) or 'none'}. "
              f"{document['aggregate']['note']}.", ""]
    rows = [[name(agent), " ".join(map(str, entry["seeds"])), *(_est(entry, m) for m in METRICS)]
            for agent, entry in document["aggregate"]["agents"].items() if agent in agents]
    parts += [_md_table(["agent", "seeds", *metric_headers], rows), "", "## Runs", ""]
    rows = []
    for run in document["runs"]:
        test, train = run["test"] or {}, run["train"] or {}
        efficiency = test.get("exploitation_efficiency")
        rows.append([name(run["agent"]), run["env_id"], str(run["seed"]), run["status"],
                     _num(test.get("normalised"), test.get("normalised_ci")), _num(train.get("normalised")),
                     _num(test.get("exploration_score")), "n/a" if efficiency is None else f"{efficiency:.3f}",
                     "" if run["env_steps"] is None else f"{run['env_steps']:,}",
                     "" if run["train_wall_s"] is None else f"{run['train_wall_s'] / 60:.1f}"])
    parts += [_md_table(["agent", "env", "seed", "status", "test score [95% CI]", "train-split score",
                         "exploration score", "exploitation efficiency", "env steps", "train min"], rows, left=4)]
    return "\n".join(parts) + "\n"


# ---------------------------------------------------------------------------------------------
# CLI


def check_config(config: CompareConfig) -> None:
    """Validate the options (the sweeps are checked when read)."""
    check_int("reps", config.reps, 1)
    check_int("taus", config.taus, 2)
    check_int("seed", config.seed, 0)
    if not config.sweeps:
        raise SweepError("no sweep directory given: python -m evaluation.compare sweeps/NAME [...]")


def command_line(config: CompareConfig) -> str:
    """A command that reproduces ``config`` (recorded when run() is called from Python)."""
    parts = ["python", "-m", "evaluation.compare", *map(str, config.sweeps), "--out", str(config.out),
             "--reps", str(config.reps), "--seed", str(config.seed), "--taus", str(config.taus)]
    if config.merge_agents:
        parts.append("--merge-agents")
    if config.title != CompareConfig.title:
        parts += ["--title", config.title]
    return shlex.join(parts)


def run(config: CompareConfig, command: str | None = None) -> dict[str, Any]:
    """Read the sweeps, compute everything, write report.json, the figures and index.html;
    return the report document. Raises :class:`SweepError` / ``ValueError`` for bad input,
    before anything is written."""
    check_config(config)
    sweeps, runs = load_runs(config.sweeps, config.merge_agents)
    document = compare(sweeps, runs, config, command or command_line(config))
    write_json_atomic(config.out / REPORT_JSON, document)
    write_text_atomic(config.out / INDEX_HTML, index_html(document))
    write_text_atomic(config.out / REPORT_MD, report_md(document))
    return document


def summary(document: dict[str, Any]) -> str:
    """A few lines for the terminal: the aggregate IQM of each agent and the run counts."""
    counts = ", ".join(f"{n} {s}" for s, n in document["statuses"].items()) or "none finished"
    lines = [f"{len(document['runs'])} runs ({counts}); "
             f"aggregate over {', '.join(document['aggregate']['envs']) or 'no env'}"]
    for agent, entry in document["aggregate"]["agents"].items():
        lines.append(f"  {agent}: IQM {_est(entry, 'iqm')} over {len(entry['seeds'])} runs")
    return "\n".join(lines)


def main(args: list[str] | None = None) -> None:
    """The CLI: a bad path or option ends with one line on stderr and exit status 2."""
    args = sys.argv[1:] if args is None else list(args)
    config = tyro.cli(CompareConfig, args=args)
    try:
        document = run(config, command=shlex.join(["python", "-m", "evaluation.compare", *args]))
    except ValueError as error:  # SweepError included
        print(f"error: {error}", file=sys.stderr)
        raise SystemExit(2) from None
    print(summary(document))
    print(f"wrote {config.out / INDEX_HTML} and {config.out / REPORT_JSON}")


if __name__ == "__main__":
    main()
