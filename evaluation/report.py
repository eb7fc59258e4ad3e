"""Scores of agents against the bounds: aggregation, bootstrap CIs, ``results.json``, tables
(rich, Markdown), bar chart, GIFs.

**Confidence intervals.** :func:`bootstrap_means` gives the 95% CIs: a *percentile
bootstrap, stratified by seed*. Each of ``BOOTSTRAP_RESAMPLES`` (10,000) resamples draws,
for every seed, as many trials as that seed has, with replacement, from that seed's trials,
and takes the mean exploitation return over all drawn trials; the CI is the 2.5th and 97.5th
percentiles of those means (NumPy's linear interpolation). Seeds are strata, not resampled:
with the harness a seed fixes which trials are played (and seeds the agent), so trials are
independent draws within and across seeds and there are too few seeds to resample. The
generator is ``np.random.default_rng(BOOTSTRAP_SEED)`` (0): the same returns always give
the same CI. The normalised score's CI is the same percentiles of the resampled means after
normalisation (an increasing affine map, so the endpoints are the normalised return CI's;
the bounds are treated as exact). Data are centred on their median before resampling, so
that constant returns (the oracle's 0.8 in every trial) give a CI of exactly that value.
The CI is None (``null``) when a seed has fewer than 2 trials.

**results.json** (``RESULTS_SCHEMA``, JSON Schema 2020-12; ``SCHEMA_VERSION`` = 1; written
atomically by :func:`~meta_explore_envs.files.write_json_atomic`)::

    schema_version   1
    created          ISO 8601 UTC time, e.g. "2025-06-01T12:00:00Z"
    command          the command line ("python -m evaluation.score --agent ..."); run() from
                     Python records an equivalent command built from its config
    versions         meta_explore_envs, python, gymnasium, numpy, torch (installed version read
                     from the package metadata, torch is not imported; null if not installed)
    platform         platform.platform()
    settings         split, trials (per seed), seeds, num_exploit_episodes, checkpoint (the
                     --checkpoint value or null), record
    ci               method (text), level 0.95, resamples, rng_seed
    normalised_score "(return - no_exploration) / (optimal - no_exploration)"
    results          one entry per (env, agent), in run order:
      env_id, env_kwargs   every kwarg of gymnasium.make(env_id, **env_kwargs) (split, setting,
                           num_exploit_episodes, the registered episode_env)
      agent                module, name, privileged, checkpoints: [{path, sha256, seeds}]
                           (distinct checkpoints and the seeds that used them; [] for none;
                           sha256 of the file, null when the path is not a file)
      seeds, trials_per_seed, num_trials
      bounds               {optimal, no_exploration, thompson, random, method, ...} or null
      no_bounds            only where bounds is null: why the env has none (so no normalised
                           score), e.g. "continuous-control MuJoCo task: ..."
      mean_return, return_ci [low, high] or null, normalised, normalised_ci (null without
                           bounds), seed_means, success_rate (exploitation episodes), seconds
      exploration_score, exploration_score_ci, exploitation_efficiency
                           the explore/exploit diagnosis (evaluation.diagnosis); null where
                           it does not apply (no diagnosis for the family, privileged agent,
                           no bounds)
      sign_seen_fraction   MetaSign3D: the fraction of trials whose exploration episode saw
                           the sign (evaluation.diagnosis.Diagnosis.sign_seen; its CI is the
                           exploration score's); null for other envs and where the diagnosis
                           does not apply
      word_in_view_fraction
                           MetaSign3D: the fraction of trials whose exploration episode had
                           some of the sign's word in view, whole or not
                           (evaluation.diagnosis.Diagnosis.word_in_view); null as above
      runs                 per seed: seed, checkpoint, seconds, steps, problem_ids,
                           instructions, episode_returns / episode_lengths / episode_successes
                           ([trial][episode], episode 0 = exploration), exploit_returns

Checkpoint paths: ``--checkpoint PATH`` unless the agent sets ``checkpoint_path`` (the file
it actually loaded, e.g. a shipped default; see :mod:`evaluation.protocol`).
"""

from __future__ import annotations

import datetime
import hashlib
import importlib.metadata
import os
import platform
import sys
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from evaluation.bounds import Bounds, normalised_score
from evaluation.harness import TrialResults
from meta_explore_envs.core import check_int
from meta_explore_envs.files import atomic_path

SCHEMA_VERSION = 1
CI_LEVEL = 0.95
BOOTSTRAP_RESAMPLES = 10_000
BOOTSTRAP_SEED = 0
CI_METHOD = ("percentile bootstrap, stratified by seed: trials resampled with replacement within each seed, "
             "mean over all trials; percentiles of the resampled means (normalised score: of the normalised means)")
NORMALISED_SCORE = "(return - no_exploration) / (optimal - no_exploration)"


def bootstrap_means(groups: Sequence[np.ndarray], resamples: int = BOOTSTRAP_RESAMPLES,
                    seed: int = BOOTSTRAP_SEED) -> np.ndarray:
    """``(resamples,)`` bootstrap means of all values, resampling with replacement within each group.

    ``groups``: the values of each stratum (a seed's per-trial returns). Deterministic for a
    given ``seed``. Memory stays under ~16 MB per chunk whatever the group sizes.
    """
    groups = [np.asarray(g, dtype=float).ravel() for g in groups]
    if not groups or any(len(g) == 0 for g in groups):
        raise ValueError(f"bootstrap_means needs non-empty groups, got sizes {[len(g) for g in groups]}")
    check_int("resamples", resamples, 1)
    centre = float(np.median(np.concatenate(groups)))  # constant data resample to exactly 0 + centre
    rng = np.random.default_rng(seed)
    totals = np.zeros(resamples)
    for g in groups:
        centred = g - centre
        chunk = max(1, 2**21 // len(g))
        for start in range(0, resamples, chunk):
            stop = min(resamples, start + chunk)
            totals[start:stop] += centred[rng.integers(len(g), size=(stop - start, len(g)))].sum(axis=1)
    return centre + totals / sum(len(g) for g in groups)


def percentile_ci(samples: np.ndarray, level: float = CI_LEVEL) -> tuple[float, float]:
    """The central ``level`` percentile interval of bootstrap ``samples``."""
    tail = round((1 - level) / 2, 12)  # 0.025, not 0.025000000000000022
    low, high = np.quantile(samples, [tail, 1 - tail])
    return float(low), float(high)


_SHA256_CACHE: dict[tuple[str, int, int], str] = {}


def file_sha256(path: str | os.PathLike) -> str | None:
    """SHA-256 (hex) of the file at ``path``; None when it is not a file. Cached per (path, size, mtime)."""
    path = Path(path)
    if not path.is_file():
        return None
    stat = path.stat()
    key = (str(path.resolve()), stat.st_size, stat.st_mtime_ns)
    if key not in _SHA256_CACHE:
        digest = hashlib.sha256()
        with open(path, "rb") as f:
            for block in iter(lambda: f.read(1 << 20), b""):
                digest.update(block)
        _SHA256_CACHE[key] = digest.hexdigest()
    return _SHA256_CACHE[key]


@dataclass
class Score:
    """One agent on one env: exploitation return over all trials of all seeds."""

    agent: str  #: the agent's name
    module: str | None  #: the module it was loaded from
    env_id: str
    split: str
    env_kwargs: dict[str, Any]  #: every kwarg the env was made with
    privileged: bool
    seeds: list[int]
    trials_per_seed: list[int]
    num_trials: int  #: trials over all seeds
    mean_return: float  #: mean exploitation-episode return per trial
    return_ci: tuple[float, float] | None  #: 95% percentile-bootstrap CI of ``mean_return`` (stratified by seed)
    seed_means: list[float]  #: mean return of each seed
    success_rate: float  #: fraction of exploitation episodes that succeeded
    seconds: float  #: harness wall time over all seeds
    bounds: Bounds | None  #: None when the env's family has no registered bounds
    #: Why there are no bounds (and so no normalised score), where ``bounds`` is None.
    no_bounds: str | None = None
    normalised: float | None = None  #: (return - no_exploration) / (optimal - no_exploration)
    normalised_ci: tuple[float, float] | None = None
    #: Mean exploration value, normalised like the return (see :mod:`evaluation.diagnosis`).
    exploration_score: float | None = None
    exploration_score_ci: tuple[float, float] | None = None
    #: Mean exploitation return / mean exploration value (reward units).
    exploitation_efficiency: float | None = None
    #: MetaSign3D: fraction of trials whose exploration episode saw the sign (else None).
    sign_seen_fraction: float | None = None
    #: MetaSign3D: fraction of trials whose exploration episode had some of the word in view (else None).
    word_in_view_fraction: float | None = None
    checkpoints: list[dict[str, Any]] = field(default_factory=list)  #: [{path, sha256, seeds}]
    runs: list[TrialResults] = field(default_factory=list, repr=False)
    checkpoint_paths: list[str | None] = field(default_factory=list, repr=False)  #: per run

    def to_dict(self) -> dict[str, Any]:
        """The ``results`` entry of ``results.json`` (see the module docstring)."""
        run_keys = ("seed", "seconds", "steps", "problem_ids", "instructions", "episode_returns", "episode_lengths",
                    "episode_successes", "exploit_returns")
        runs = []
        for run, checkpoint in zip(self.runs, self.checkpoint_paths):
            data = run.to_dict()
            runs.append({"seed": data["seed"], "checkpoint": checkpoint, **{k: data[k] for k in run_keys[1:]}})
        return {
            "env_id": self.env_id, "env_kwargs": dict(self.env_kwargs),
            "agent": {"module": self.module, "name": self.agent, "privileged": self.privileged,
                      "checkpoints": [dict(c) for c in self.checkpoints]},
            "seeds": list(self.seeds), "trials_per_seed": list(self.trials_per_seed), "num_trials": self.num_trials,
            "bounds": None if self.bounds is None else self.bounds.as_dict(),
            **({} if self.no_bounds is None else {"no_bounds": self.no_bounds}),
            "mean_return": self.mean_return, "return_ci": _pair(self.return_ci),
            "normalised": self.normalised, "normalised_ci": _pair(self.normalised_ci),
            "exploration_score": self.exploration_score, "exploration_score_ci": _pair(self.exploration_score_ci),
            "exploitation_efficiency": self.exploitation_efficiency, "sign_seen_fraction": self.sign_seen_fraction,
            "word_in_view_fraction": self.word_in_view_fraction,
            "seed_means": list(self.seed_means), "success_rate": self.success_rate, "seconds": self.seconds,
            "runs": runs,
        }


def _fraction(flags: Sequence[np.ndarray]) -> float:
    """The share of True over every run's (num_trials,) bool flags."""
    return float(np.concatenate([np.asarray(f, bool) for f in flags]).mean())


def _pair(ci: tuple[float, float] | None) -> list[float] | None:
    return None if ci is None else [ci[0], ci[1]]


def score(results: Sequence[TrialResults], bounds: Bounds | None,
          checkpoints: Sequence[str | os.PathLike | None] | None = None,
          exploration: Sequence[np.ndarray] | None = None, sign_seen: Sequence[np.ndarray] | None = None,
          no_bounds: str | None = None, word_in_view: Sequence[np.ndarray] | None = None) -> Score:
    """Aggregate the runs of one agent on one env (one :class:`TrialResults` per seed).

    ``checkpoints``: the checkpoint path of each run (None: none), recorded with its SHA-256.
    ``exploration``: each run's per-trial exploration values (:mod:`evaluation.diagnosis`),
    for the exploration score and the exploitation efficiency. ``sign_seen``: MetaSign3D, each
    run's (num_trials,) bool flags (:attr:`evaluation.diagnosis.Diagnosis.sign_seen`), for
    ``sign_seen_fraction``; ``word_in_view`` likewise (:attr:`~evaluation.diagnosis.Diagnosis.word_in_view`),
    for ``word_in_view_fraction``. ``no_bounds``: why ``bounds`` is None (recorded and shown in place of
    the normalised score).
    """
    if not results:
        raise ValueError("score() needs at least one TrialResults")
    paths = [None if c is None else str(c) for c in (checkpoints or [None] * len(results))]
    if len(paths) != len(results):
        raise ValueError(f"score() got {len(paths)} checkpoints for {len(results)} runs")
    first = results[0]
    groups = [r.exploit_returns for r in results]
    n = sum(len(g) for g in groups)
    means = None
    if min(len(g) for g in groups) >= 2:
        means = bootstrap_means(groups)
    centre = float(np.median(np.concatenate(groups)))
    mean_return = centre + float(sum((g - centre).sum() for g in groups)) / n
    successes = np.concatenate([r.episode_successes[:, 1:].ravel() for r in results])
    distinct: dict[str, dict[str, Any]] = {}
    for path, run in zip(paths, results):
        if path is not None:
            entry = distinct.setdefault(path, {"path": path, "sha256": file_sha256(path), "seeds": []})
            entry["seeds"].append(run.seed)
    s = Score(
        agent=first.agent, module=first.agent_module, env_id=first.env_id, split=first.split,
        env_kwargs=dict(first.env_kwargs), privileged=first.privileged, seeds=[r.seed for r in results],
        trials_per_seed=[r.num_trials for r in results], num_trials=n, mean_return=mean_return,
        return_ci=None if means is None else percentile_ci(means),
        seed_means=[float(r.exploit_returns.mean()) for r in results], success_rate=float(successes.mean()),
        seconds=float(sum(r.seconds for r in results)), bounds=bounds,
        no_bounds=no_bounds if bounds is None else None, checkpoints=list(distinct.values()),
        runs=list(results), checkpoint_paths=paths,
    )
    if bounds is not None and bounds.optimal > bounds.no_exploration:
        s.normalised = float(normalised_score(s.mean_return, bounds))
        if means is not None:
            s.normalised_ci = percentile_ci(normalised_score(means, bounds))
        if exploration is not None:
            values = [np.asarray(v, float) for v in exploration]
            mean_value = float(np.concatenate(values).mean())
            s.exploration_score = float(normalised_score(mean_value, bounds))
            if min(len(v) for v in values) >= 2:
                s.exploration_score_ci = percentile_ci(normalised_score(bootstrap_means(values), bounds))
            if mean_value > 0:
                s.exploitation_efficiency = s.mean_return / mean_value
    if sign_seen is not None:
        s.sign_seen_fraction = _fraction(sign_seen)
    if word_in_view is not None:
        s.word_in_view_fraction = _fraction(word_in_view)
    return s


def versions() -> dict[str, str | None]:
    """Versions of the package, Python and the main libraries (torch from its metadata, not imported)."""
    import gymnasium

    import meta_explore_envs

    try:
        torch = sys.modules["torch"].__version__ if "torch" in sys.modules else importlib.metadata.version("torch")
    except importlib.metadata.PackageNotFoundError:
        torch = None
    return {"meta_explore_envs": meta_explore_envs.__version__, "python": platform.python_version(),
            "gymnasium": gymnasium.__version__, "numpy": np.__version__, "torch": torch}


def results_document(scores: Sequence[Score], *, command: str, settings: dict[str, Any]) -> dict[str, Any]:
    """The ``results.json`` document (``RESULTS_SCHEMA``)."""
    return {
        "schema_version": SCHEMA_VERSION,
        "created": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "command": command,
        "versions": versions(),
        "platform": platform.platform(),
        "settings": dict(settings),
        "ci": {"method": CI_METHOD, "level": CI_LEVEL, "resamples": BOOTSTRAP_RESAMPLES, "rng_seed": BOOTSTRAP_SEED},
        "normalised_score": NORMALISED_SCORE,
        "results": [s.to_dict() for s in scores],
    }


_NUMBER_OR_NULL = {"type": ["number", "null"]}
_CI = {"type": ["array", "null"], "items": {"type": "number"}, "minItems": 2, "maxItems": 2}
_INTS = {"type": "array", "items": {"type": "integer"}}


def _obj(properties: dict[str, Any], optional: tuple[str, ...] = ()) -> dict[str, Any]:
    required = [name for name in properties if name not in optional]
    return {"type": "object", "properties": properties, "required": required, "additionalProperties": False}


#: JSON Schema (2020-12) of ``results.json``; every listed property is required but a result's
#: ``no_bounds`` (only where it has no bounds) and ``word_in_view_fraction`` (added later:
#: results written before it lack it).
RESULTS_SCHEMA: dict[str, Any] = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "title": "meta_explore_envs score results",
    **_obj({
        "schema_version": {"const": SCHEMA_VERSION},
        "created": {"type": "string", "pattern": r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$"},
        "command": {"type": "string"},
        "versions": _obj({name: {"type": "string"} for name in ("meta_explore_envs", "python", "gymnasium", "numpy")}
                         | {"torch": {"type": ["string", "null"]}}),
        "platform": {"type": "string"},
        "settings": _obj({"split": {"enum": ["test", "train"]}, "trials": {"type": "integer", "minimum": 1},
                          "seeds": {**_INTS, "minItems": 1}, "num_exploit_episodes": {"type": "integer", "minimum": 1},
                          "checkpoint": {"type": ["string", "null"]}, "record": {"type": "integer", "minimum": 0},
                          "env_trials": {"type": "object", "additionalProperties": {"type": "integer", "minimum": 1}}},
                         optional=("env_trials",)),
        "ci": _obj({"method": {"type": "string"}, "level": {"const": CI_LEVEL},
                    "resamples": {"type": "integer", "minimum": 1}, "rng_seed": {"type": "integer"}}),
        "normalised_score": {"const": NORMALISED_SCORE},
        "results": {"type": "array", "items": _obj({
            "env_id": {"type": "string"},
            "env_kwargs": {"type": "object", "required": ["split", "num_exploit_episodes"]},
            "agent": _obj({
                "module": {"type": ["string", "null"]}, "name": {"type": "string"}, "privileged": {"type": "boolean"},
                "checkpoints": {"type": "array", "items": _obj({
                    "path": {"type": "string"}, "sha256": {"type": ["string", "null"], "pattern": "^[0-9a-f]{64}$"},
                    "seeds": _INTS})},
            }),
            "seeds": _INTS, "trials_per_seed": _INTS, "num_trials": {"type": "integer", "minimum": 1},
            "bounds": {"type": ["object", "null"], "required": [*Bounds.NAMES, "method"],
                       "properties": {**{name: {"type": "number"} for name in Bounds.NAMES},
                                      "method": {"type": "string"}}},
            "no_bounds": {"type": "string"},
            "mean_return": {"type": "number"}, "return_ci": _CI,
            "normalised": _NUMBER_OR_NULL, "normalised_ci": _CI,
            "exploration_score": _NUMBER_OR_NULL, "exploration_score_ci": _CI,
            "exploitation_efficiency": _NUMBER_OR_NULL,
            "sign_seen_fraction": {"type": ["number", "null"], "minimum": 0, "maximum": 1},
            "word_in_view_fraction": {"type": ["number", "null"], "minimum": 0, "maximum": 1},
            "seed_means": {"type": "array", "items": {"type": "number"}},
            "success_rate": {"type": "number", "minimum": 0, "maximum": 1}, "seconds": {"type": "number"},
            "runs": {"type": "array", "minItems": 1, "items": _obj({
                "seed": {"type": "integer"}, "checkpoint": {"type": ["string", "null"]}, "seconds": {"type": "number"},
                "steps": {"type": "integer"}, "problem_ids": _INTS,
                "instructions": {"type": "array", "items": {"type": "array", "items": {"type": "string"}}},
                "episode_returns": {"type": "array", "items": {"type": "array", "items": {"type": "number"}}},
                "episode_lengths": {"type": "array", "items": _INTS},
                "episode_successes": {"type": "array", "items": {"type": "array", "items": {"type": "boolean"}}},
                "exploit_returns": {"type": "array", "items": {"type": "number"}},
            })},
        }, optional=("no_bounds", "word_in_view_fraction"))},
    }),
}


def _label(s: Score) -> str:
    return f"{s.agent} (privileged)" if s.privileged else s.agent


def _fmt(value: float | None, ci: tuple[float, float] | None = None) -> str:
    if value is None:
        return "n/a"
    return f"{value:+.3f}" if ci is None else f"{value:+.3f} [{ci[0]:+.3f}, {ci[1]:+.3f}]"


COLUMNS = ("env", "agent", "return [95% CI]", "optimal", "no exploration", "Thompson", "random",
           "normalised [95% CI]", "exploration [95% CI]", "efficiency", "success", "trials", "seconds")


def table_rows(scores: Sequence[Score]) -> list[list[str]]:
    rows = []
    for s in scores:
        b = s.bounds
        rows.append([
            s.env_id, _label(s), _fmt(s.mean_return, s.return_ci),
            *(_fmt(None if b is None else getattr(b, name)) for name in Bounds.NAMES),
            "no bounds" if s.no_bounds else _fmt(s.normalised, s.normalised_ci),
            _fmt(s.exploration_score, s.exploration_score_ci),
            "n/a" if s.exploitation_efficiency is None else f"{s.exploitation_efficiency:.3f}",
            f"{s.success_rate:.2f}", str(s.num_trials), f"{s.seconds:.1f}",
        ])
    return rows


def rich_table(scores: Sequence[Score], title: str):
    from rich.table import Table

    table = Table(title=title)
    for column in COLUMNS:
        table.add_column(column, justify="left" if column in ("env", "agent") else "right")
    for row in table_rows(scores):
        table.add_row(*row)
    return table


def markdown(scores: Sequence[Score], title: str, notes: Sequence[str] = ()) -> str:
    lines = [f"# {title}", "", "| " + " | ".join(COLUMNS) + " |", "|" + "---|" * len(COLUMNS)]
    lines += ["| " + " | ".join(row) + " |" for row in table_rows(scores)]
    if notes:
        lines += [""] + [f"- {note}" for note in notes]
    return "\n".join(lines) + "\n"


#: Colour and line style of each bound's line in the plots (here and in evaluation.compare).
BOUND_STYLES = {"optimal": ("green", "-"), "no_exploration": ("black", "--"), "thompson": ("purple", ":"),
                "random": ("grey", "-.")}


def bar_chart(scores: Sequence[Score], path: Path, title: str) -> None:
    """Exploitation return of each agent per env (95% CI error bars) with the bounds as lines."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    env_ids = list(dict.fromkeys(s.env_id for s in scores))
    agents = list(dict.fromkeys(_label(s) for s in scores))
    legend_width = 1.7  # inches on the right for the bounds' legend
    width = 1.0 + (2.2 + 0.45 * len(agents)) * len(env_ids) + legend_width
    fig, axes = plt.subplots(1, len(env_ids), figsize=(width, 4.4), squeeze=False)
    colours = plt.rcParams["axes.prop_cycle"].by_key()["color"]
    for ax, env_id in zip(axes[0], env_ids):
        env_scores = {_label(s): s for s in scores if s.env_id == env_id}
        xs = np.arange(len(agents))
        for x, name in zip(xs, agents):
            s = env_scores.get(name)
            if s is not None:
                yerr = None if s.return_ci is None else [[s.mean_return - s.return_ci[0]],
                                                         [s.return_ci[1] - s.mean_return]]
                ax.bar(x, s.mean_return, yerr=yerr, capsize=4,
                       color=colours[agents.index(name) % len(colours)], hatch="//" if s.privileged else None)
                up = s.mean_return >= 0  # label beyond the bar's end and its error bar
                end = s.mean_return if s.return_ci is None else s.return_ci[1 if up else 0]
                ax.annotate(f"{s.mean_return:+.2f}", (x, end), xytext=(0, 3 if up else -3), textcoords="offset points",
                            ha="center", va="bottom" if up else "top", fontsize=7)
        bounds = next((s.bounds for s in env_scores.values() if s.bounds is not None), None)
        if bounds is not None:
            for name, (colour, style) in BOUND_STYLES.items():
                ax.axhline(getattr(bounds, name), color=colour, linestyle=style, linewidth=1.2,
                           label=name.replace("_", " "))
        ax.axhline(0, color="black", linewidth=0.5)
        ax.set_xticks(xs, agents, rotation=30, ha="right")
        ax.set_title(env_id, fontsize=10)
        ax.set_ylabel("exploitation return")
    handles, labels = axes[0][0].get_legend_handles_labels()
    right = 1 - legend_width / width
    if handles:
        fig.legend(handles, labels, loc="center left", bbox_to_anchor=(right + 0.01, 0.5), fontsize=8,
                   title="bounds", title_fontsize=8)
    fig.suptitle(f"{title}\nmean over trials, 95% bootstrap CI; hatched: privileged", fontsize=10)
    fig.tight_layout(rect=(0, 0, right, 1))
    with atomic_path(path, suffix=".png") as tmp:
        fig.savefig(tmp, dpi=110)
    plt.close(fig)


def trial_gif(episodes: list[list[np.ndarray]], path: Path, fps: float = 3.0, hold: int = 4) -> None:
    """A GIF of one trial: its episodes side by side (exploration left), played together;
    each panel holds its last frame once its episode is over."""
    from meta_explore_envs.rendering import save_gif, side_by_side

    length = max(len(frames) for frames in episodes)
    frames = [side_by_side([ep[min(t, len(ep) - 1)] for ep in episodes]) for t in range(length)]
    path.parent.mkdir(parents=True, exist_ok=True)
    save_gif(path, frames + [frames[-1]] * hold, fps=fps)


__all__ = ["BOOTSTRAP_RESAMPLES", "BOOTSTRAP_SEED", "BOUND_STYLES", "CI_LEVEL", "RESULTS_SCHEMA", "SCHEMA_VERSION",
           "Score", "bar_chart", "bootstrap_means", "file_sha256", "markdown", "percentile_ci", "results_document",
           "rich_table", "score", "trial_gif", "versions"]
