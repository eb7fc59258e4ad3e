"""Reference returns of every env (benchmark spec, section 6) and the normalised score.

:func:`get_bounds` returns, per exploitation episode, the expected return of four
reference policies on a split:

* ``optimal``: the problem is known (perfect exploration);
* ``no_exploration``: the Bayes-optimal policy without an exploration episode;
* ``thompson``: Thompson-sampling exploration (PEARL-UB), then Bayes-optimal exploitation;
* ``random``: uniformly random actions.

How they are computed is up to each *family* of :mod:`meta_explore_envs.registry`: a
:attr:`~meta_explore_envs.core.EpisodeEnv.tabular` family (the grids) gets exact dynamic
programming on its own rules (:func:`evaluation.grid_bounds.exact_bounds`; the definitions are in
:mod:`meta_explore_envs.planning.grid_values`) without registering anything; a family whose
bounds come from elsewhere (MetaSign3D: a privileged planner,
:func:`evaluation.sign3d_bounds.sign3d_bounds`; MetaPointCorner: Monte Carlo returns of
reference policies, :func:`evaluation.point_corner_bounds.point_corner_bounds`) is listed in
:data:`BOUND_FAMILIES` or registers its function with :func:`register_bounds`. The harness and reports only ever call
:func:`get_bounds`.

**Contract of a bounds function**: ``function(env_id: str, split: str,
num_exploit_episodes: int, progress: bool) -> Bounds``; values in reward units per
exploitation episode of the family's default setting (IMRL; MetaPointCorner: standard),
averaged uniformly over the split's problems and their instruction distributions;
``Bounds.method`` says how they were obtained (e.g. "exact dynamic programming",
"privileged planner, 10000 Monte Carlo episodes"). It must be deterministic: results are
cached on disk, keyed by a fingerprint of the function's code and of the family's code,
with every module they import
(:func:`evaluation.fingerprint.source_fingerprint`).

Normalised score (spec): ``(return - no_exploration) / (optimal - no_exploration)``: 0 for
an agent that does no better than not exploring, 1 for perfect exploration.

``python -m evaluation.bounds`` prints the bounds of every env (``--help`` for options).
"""

from __future__ import annotations

import contextlib
import dataclasses
import functools
import gc
import importlib
import importlib.resources
import json
import os
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from meta_explore_envs.core import SPLITS, check_choice, check_num_exploit_episodes
from meta_explore_envs.files import write_json_atomic
from meta_explore_envs.optional import require
from meta_explore_envs.registry import FAMILIES, env_family, env_ids, family_class

#: Bumped when the meaning of a cached value changes without a code change.
BOUNDS_FORMAT = 1

#: Bounds shipped with the package (``python -m evaluation.bounds --write-reference``), used
#: while their fingerprint matches the code, so that a fresh install need not recompute.
REFERENCE_FILE = Path(str(importlib.resources.files("evaluation") / "data" / "reference_bounds.json"))


@dataclass(frozen=True)
class Bounds:
    """Expected return per exploitation episode of the reference policies (reward units)."""

    env_id: str
    split: str
    num_exploit_episodes: int
    optimal: float
    no_exploration: float
    thompson: float
    random: float
    method: str  #: how the values were obtained
    seconds: float = 0.0  #: time the computation took (not the cache lookup)

    def as_dict(self) -> dict:
        return dataclasses.asdict(self)

    #: Names of the four reference policies, in table order.
    NAMES = ("optimal", "no_exploration", "thompson", "random")


BoundsFunction = Callable[[str, str, int, bool], Bounds]

#: The bounds function of every :attr:`~meta_explore_envs.core.EpisodeEnv.tabular` family
#: without an entry in :data:`BOUND_FAMILIES`.
EXACT_BOUNDS = "evaluation.grid_bounds:exact_bounds"

#: Family name -> ``"module:function"`` (or the function) computing its bounds, for families
#: that are not tabular (imported on first use, so that a family's heavy dependencies load
#: only when its bounds are asked for).
BOUND_FAMILIES: dict[str, str | BoundsFunction] = {
    "sign3d": "evaluation.sign3d_bounds:sign3d_bounds",
    "point_corner": "evaluation.point_corner_bounds:point_corner_bounds",
}


def register_bounds(family: str, function: str | BoundsFunction) -> None:
    """Make ``function`` (or ``"module:function"``) compute the bounds of ``family``."""
    check_choice("family", family, sorted(FAMILIES))
    BOUND_FAMILIES[family] = function


def bounds_entry(family: str) -> str | BoundsFunction | None:
    """What computes the bounds of ``family``: its :data:`BOUND_FAMILIES` entry, else
    :data:`EXACT_BOUNDS` for a tabular family, else ``None`` (it has no bounds)."""
    entry = BOUND_FAMILIES.get(family)
    if entry is None and family_class(family).tabular:
        return EXACT_BOUNDS
    return entry


def no_bounds_reason(family: str) -> str | None:
    """Why ``family`` has no bounds (the family's own
    :attr:`~meta_explore_envs.core.EpisodeEnv.no_bounds_reason`, else that none are registered),
    or ``None`` when it has them."""
    if bounds_entry(family) is not None:
        return None
    return family_class(family).no_bounds_reason or (
        f"none are registered for family {family!r} (see evaluation.bounds.register_bounds)")


def _bounds_function(family: str) -> tuple[BoundsFunction, str]:
    entry = bounds_entry(family)
    if entry is None:
        have = sorted(f for f in FAMILIES if f in BOUND_FAMILIES or family_class(f).tabular)
        why = family_class(family).no_bounds_reason
        raise ValueError(
            f"no bounds are registered for family {family!r}{f' ({why})' if why else ''}: families with bounds "
            f"are {have} (see evaluation.bounds.register_bounds)"
        )
    if isinstance(entry, str):
        module, name = entry.split(":")
        return getattr(importlib.import_module(module), name), module
    return entry, entry.__module__


def cache_dir() -> Path:
    """Where computed bounds are kept: ``$META_EXPLORE_ENVS_CACHE`` or ``~/.cache/meta_explore_envs``."""
    root = os.environ.get("META_EXPLORE_ENVS_CACHE") or Path.home() / ".cache" / "meta_explore_envs"
    return Path(root) / "bounds"


def bounds_fingerprint(env_id: str, split: str, num_exploit_episodes: int) -> str:
    """Fingerprint of everything the bounds of ``env_id`` depend on (code and arguments),
    computed once per process (the code does not change while it runs)."""
    return _fingerprint(env_id, split, num_exploit_episodes, str(bounds_entry(env_family(env_id))))


@functools.cache
def _fingerprint(env_id: str, split: str, num_exploit_episodes: int, entry: str) -> str:
    from evaluation.fingerprint import source_fingerprint

    family = env_family(env_id)
    _, function_module = _bounds_function(family)
    family_module = FAMILIES[family].episode_env.split(":")[0]
    extra = json.dumps([BOUNDS_FORMAT, env_id, split, num_exploit_episodes, entry])
    return source_fingerprint([function_module, family_module], extra)


_MEMORY: dict[tuple[str, str, int], tuple[str, Bounds]] = {}


def reference_key(env_id: str, split: str, num_exploit_episodes: int) -> str:
    """Key of an entry of :data:`REFERENCE_FILE`: ``"env_id/split/num_exploit_episodes"``."""
    return f"{env_id}/{split}/{num_exploit_episodes}"


def parse_reference_key(key: str) -> tuple[str, str, int]:
    env_id, split, n = key.split("/")
    return env_id, split, int(n)


def _load_reference() -> dict:
    try:
        return json.loads(REFERENCE_FILE.read_text())
    except (OSError, ValueError):
        return {}


def _check_arguments(env_id: str, split: str, num_exploit_episodes: int) -> tuple[str, int]:
    env_family(env_id)
    return check_choice("split", split, SPLITS), check_num_exploit_episodes(num_exploit_episodes)


def _cache_path(env_id: str, split: str, num_exploit_episodes: int) -> Path:
    return cache_dir() / f"{env_id}-{split}-n{num_exploit_episodes}.json"


def cached_bounds(env_id: str, split: str = "test", num_exploit_episodes: int = 1) -> Bounds | None:
    """The bounds if they are known without computing (memory, user cache or the shipped
    table, each only while its fingerprint matches the code), else ``None``."""
    split, num_exploit_episodes = _check_arguments(env_id, split, num_exploit_episodes)
    _bounds_function(env_family(env_id))  # names the families with bounds when there are none
    key = (env_id, split, num_exploit_episodes)
    fingerprint = bounds_fingerprint(*key)
    cached = _MEMORY.get(key)
    if cached is not None and cached[0] == fingerprint:
        return cached[1]
    for read in (lambda: json.loads(_cache_path(*key).read_text()),
                 lambda: _load_reference().get(reference_key(*key), {})):
        try:
            data = read()
            if data.get("fingerprint") == fingerprint:
                bounds = Bounds(**data["bounds"])
                _MEMORY[key] = (fingerprint, bounds)
                return bounds
        except (OSError, ValueError, TypeError, KeyError):
            pass
    return None


@contextlib.contextmanager
def _gc_paused():
    """Pause Python's cyclic garbage collector while bounds are computed: the searches
    allocate millions of small tuples and dicts (acyclic, freed by reference counting), and
    the collector's passes over the growing tables cost about 10-15% of the time."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def get_bounds(env_id: str, split: str = "test", num_exploit_episodes: int = 1, *,
               use_cache: bool = True, progress: bool = False) -> Bounds:
    """The bounds of ``env_id`` on ``split`` (see the module docstring).

    Computed once and cached in memory and on disk (:func:`cache_dir`); the cache is keyed by
    a fingerprint of the code involved, so changing an env's rules recomputes them. The
    repository ships the bounds of the grid envs (:data:`REFERENCE_FILE`), used while their
    fingerprint matches (:func:`cached_bounds` looks without computing).
    ``use_cache=False`` recomputes (and refreshes the cache). ``progress`` shows progress
    bars while computing.
    """
    split, num_exploit_episodes = _check_arguments(env_id, split, num_exploit_episodes)
    function, _ = _bounds_function(env_family(env_id))
    key = (env_id, split, num_exploit_episodes)
    if use_cache:
        bounds = cached_bounds(*key)
        if bounds is not None:
            return bounds
    start = time.perf_counter()
    with _gc_paused():
        bounds = function(env_id, split, num_exploit_episodes, progress)
    if not bounds.seconds:
        bounds = dataclasses.replace(bounds, seconds=time.perf_counter() - start)
    fingerprint = bounds_fingerprint(*key)
    _MEMORY[key] = (fingerprint, bounds)
    write_json_atomic(_cache_path(*key), {"fingerprint": fingerprint, "bounds": bounds.as_dict()})
    return bounds


def normalised_score(value: float | np.ndarray, bounds: Bounds) -> float | np.ndarray:
    """``(value - no_exploration) / (optimal - no_exploration)``: 0 = no exploration, 1 = optimal."""
    gap = bounds.optimal - bounds.no_exploration
    if not gap > 0:
        raise ValueError(
            f"{bounds.env_id} ({bounds.split}): optimal {bounds.optimal} is not above no-exploration "
            f"{bounds.no_exploration}, so the normalised score is undefined"
        )
    return (np.asarray(value, dtype=float) - bounds.no_exploration) / gap if isinstance(value, np.ndarray) \
        else (float(value) - bounds.no_exploration) / gap


def bounds_table(bounds: Sequence[Bounds]):
    """A rich table of bounds (one row per env and split; methods in the caption)."""
    Table = require("rich.table", "report").Table

    methods = list(dict.fromkeys(b.method for b in bounds))
    table = Table(title="Bounds per exploitation episode (IMRL; MetaPointCorner: standard)",
                  caption="\n".join(f"[{k + 1}] {m}" for k, m in enumerate(methods)), caption_justify="left")
    for column in ("env", "split", *Bounds.NAMES, "method", "compute s"):
        table.add_column(column, justify="left" if column in ("env", "split") else "right")
    for b in bounds:
        table.add_row(b.env_id, b.split, *(f"{getattr(b, name):+.4f}" for name in Bounds.NAMES),
                      f"[{methods.index(b.method) + 1}]", f"{b.seconds:.1f}")
    return table


@dataclass
class BoundsCommand:
    """Print the bounds of the registered envs (computing and caching what is missing)."""

    env: tuple[str, ...] = ()
    """Env ids (default: every registered env with registered bounds; with --write-reference,
    those whose bounds are computed by exact dynamic programming, the slow ones)."""
    split: tuple[str, ...] = SPLITS
    num_exploit_episodes: int = 1
    recompute: bool = False
    """Ignore the caches (the result still refreshes the user cache)."""
    workers: int = 0
    """Processes computing missing bounds at once, one work unit each: a family, or a split that
    shares no tables with the family's others (0: one per CPU core)."""
    write_reference: bool = False
    """Also store the results in the shipped table (assets/reference_bounds.json)."""


def _compute(keys: Sequence[tuple[str, str, int]]) -> list[tuple[Bounds, float, float]]:
    """Worker of :func:`compute_missing`: the bounds of ``keys`` (one work unit, in one process
    so that they share its tables), each with the wall and CPU seconds taken."""
    out = []
    for key in keys:
        start, cpu = time.perf_counter(), time.process_time()
        bounds = get_bounds(*key, use_cache=False)
        out.append((bounds, time.perf_counter() - start, time.process_time() - cpu))
    return out


def _work_units(family: str, keys: list[tuple[str, str, int]]) -> list[list[tuple[str, str, int]]]:
    """``keys`` of one family cut into groups computed in one process each: keys whose
    computations share work (the bounds function's ``shares_work(family, split_a, split_b)``;
    all of them when it has none) stay together, the others go to different processes."""
    function, _ = _bounds_function(family)
    shares_work = getattr(function, "shares_work", None)
    units: list[list[tuple[str, str, int]]] = []
    for key in keys:
        joined = [u for u in units if shares_work is None or any(shares_work(family, key[1], k[1]) for k in u)]
        merged = [k for u in joined for k in u] + [key]
        units = [u for u in units if u not in joined] + [merged]
    return units


def compute_missing(keys: Sequence[tuple[str, str, int]], recompute: bool = False, workers: int = 0,
                    progress: bool = True) -> dict[tuple[str, str, int], tuple[Bounds, float]]:
    """Bounds of every ``(env_id, split, num_exploit_episodes)`` key, with seconds taken
    (0 when cached). The missing ones (all with ``recompute``) are computed in ``workers``
    processes (0: one per core), one family per process (its splits share tables) unless
    its splits share no work (:func:`_work_units`), the slowest first by the shipped table's
    timings: a cold run takes about as long as the slowest family rather than the sum of all."""
    results: dict[tuple[str, str, int], tuple[Bounds, float]] = {}
    groups: dict[str, list[tuple[str, str, int]]] = {}
    for key in keys:
        bounds = None if recompute else cached_bounds(*key)
        if bounds is None:
            groups.setdefault(env_family(key[0]), []).append(key)
        else:
            results[key] = (bounds, 0.0)
    reference = _load_reference()

    def cost(group: list[tuple[str, str, int]]) -> float:
        return sum(reference.get(reference_key(*k), {}).get("bounds", {}).get("seconds", 0.0) for k in group)

    todo = sorted((unit for family, group in groups.items() for unit in _work_units(family, group)),
                  key=cost, reverse=True)

    def done(group, outcomes) -> None:
        for key, (bounds, seconds, cpu) in zip(group, outcomes):
            results[key] = (bounds, seconds)
            _MEMORY[key] = (bounds_fingerprint(*key), bounds)
            if progress:
                print(f"{key[0]} {key[1]}: {seconds:.2f} s ({cpu:.2f} s CPU; cache {cache_dir()})")

    workers = min(workers or os.cpu_count() or 1, len(todo))
    if workers <= 1:
        for group in todo:
            done(group, _compute(group))
        return results
    import concurrent.futures
    import multiprocessing

    # fork shares the imported modules (no start-up cost); spawn where fork does not exist.
    method = "fork" if "fork" in multiprocessing.get_all_start_methods() else "spawn"
    with concurrent.futures.ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context(method)) as pool:
        futures = {pool.submit(_compute, group): group for group in todo}
        for future in concurrent.futures.as_completed(futures):
            done(futures[future], future.result())
    return results


def main(command: BoundsCommand) -> None:
    Console = require("rich.console", "report").Console

    start = time.perf_counter()
    chosen = command.env or tuple(
        e for e in env_ids() if bounds_entry(env_family(e)) is not None
        and (not command.write_reference or bounds_entry(env_family(e)) == EXACT_BOUNDS)
    )
    if not command.env:  # say which envs the default list leaves out, and why
        reasons: dict[str, list[str]] = {}
        for env_id in env_ids():
            reason = no_bounds_reason(env_family(env_id))
            if reason is not None:
                reasons.setdefault(reason, []).append(env_id)
        for reason, skipped in reasons.items():
            print(f"no bounds (skipped): {', '.join(skipped)}: {reason}")
    keys = [(env_id, *_check_arguments(env_id, split, command.num_exploit_episodes))
            for env_id in chosen for split in command.split]
    computed = compute_missing(keys, command.recompute, command.workers)
    results = [computed[key][0] for key in keys]
    Console().print(bounds_table(results))
    print(f"{len(keys)} entries in {time.perf_counter() - start:.2f} s "
          f"({sum(seconds > 0 for _, seconds in computed.values())} computed)")
    if command.write_reference:
        reference = _load_reference()
        for key, bounds in zip(keys, results):
            reference[reference_key(*key)] = {"fingerprint": bounds_fingerprint(*key), "bounds": bounds.as_dict()}
        write_json_atomic(REFERENCE_FILE, dict(sorted(reference.items())))
        print(f"wrote {REFERENCE_FILE}")


__all__ = ["BOUND_FAMILIES", "Bounds", "bounds_entry", "bounds_table", "cache_dir", "cached_bounds", "get_bounds",
           "no_bounds_reason", "normalised_score", "register_bounds"]


if __name__ == "__main__":
    main(require("tyro", "report").cli(BoundsCommand))
