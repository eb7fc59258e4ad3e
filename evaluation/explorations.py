"""What an agent explores: ``python -m evaluation.explorations --agent MODULE --env ID``.

    python -m evaluation.explorations --agent MODULE --env ID [--checkpoint PATH] [--split test]
        [--trials 200] [--seed 0] [--top 10] [--out DIR]

Loads the agent as :mod:`evaluation.score` does (a module name or a ``.py`` path, IMRL, one
exploitation episode per trial), plays ``--trials`` trials of ``--seed`` through
:func:`evaluation.harness.run_trials` and lists the most common **exploration episodes** as
action strings, one character per action (:func:`action_letters`: for the grid's actions
``L U R D`` moves, ``N`` noop, ``.`` ride bus, ``E`` end episode, ``P``/``Q`` pick up/drop;
the legend spells out the env's own action names). The harness records every trial's
exploration actions itself, so batched and privileged agents are inspected like any other.

Each row: how many trials explored so, the action string, how many of those trials'
exploitation episodes failed, their mean exploitation return and their **exploration score**
(their mean exploration value, normalised like the return: :mod:`evaluation.diagnosis`). The
summary line gives the agent's mean exploitation return (95% CI), normalised score,
exploration score and exploitation efficiency over these trials, computed by
:func:`evaluation.report.score` exactly as ``evaluation.score`` computes them for one seed,
and the no-exploration and optimal bounds. Privileged agents (the oracle) and families
without a diagnosis get ``n/a`` for the exploration score and efficiency.

This separates the two ways an agent fails: exploring too little (a common string with a
low exploration score) or not using what it explored (a high exploration score, but failed
exploitation episodes and a return below what the exploration allows).

``--out DIR`` writes ``explorations.json`` (:func:`inspection_document`: the command, the agent,
the settings, the summary figures, the bounds and the rows) and ``explorations.md`` (the summary
line, the table and the legend, for the docs), both atomically.

A bad option, an agent module that cannot be loaded or an unknown env stops the CLI with a
one-line message and exit status 2, as ``evaluation.score`` does.
"""

from __future__ import annotations

import dataclasses
import os
import shlex
import string
import sys
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from evaluation.bounds import Bounds, bounds_entry, get_bounds, normalised_score
from evaluation.diagnosis import diagnose
from evaluation.harness import TrialResults, run_trials
from evaluation.protocol import AgentError, import_agent_module, load_agent_module
from evaluation.report import Score, _fmt, score
from evaluation.score import exit_on
from meta_explore_envs.core import SPLITS, check_choice, check_int
from meta_explore_envs.files import write_json_atomic, write_text_atomic
from meta_explore_envs.optional import require
from meta_explore_envs.registry import env_family, family_class

# The command line and its table come with the [report] extra.
tyro = require("tyro", "report")
Console = require("rich.console", "report").Console
escape = require("rich.markup", "report").escape

#: Names of the files written to ``--out``.
EXPLORATIONS_JSON, EXPLORATIONS_MD = "explorations.json", "explorations.md"

#: The grid engine's actions (``meta_explore_envs.grid.world.ACTION_NAMES``) and their letters.
GRID_LETTERS = {"left": "L", "up": "U", "right": "R", "down": "D", "noop": "N", "ride bus": ".",
                "end episode": "E", "pick up": "P", "drop": "Q"}

#: Columns of the table (rich and Markdown), in order.
COLUMNS = ("trials", "exploration episode", "failed exploitation episodes", "mean exploitation return",
           "exploration score")


@dataclass
class InspectConfig:
    """List the most common exploration episodes of an agent on one env."""

    agent: str
    """Agent module (exposes load_agent), e.g. baselines.dream or baselines.thompson, or the path of a
    .py file (path/to/my_agent.py)."""
    env: str
    """Registered trial env id, e.g. MetaDistractingBus-v0."""
    checkpoint: str | None = None
    """Passed to the agent's load_agent (default: the agent's own, e.g. DREAM's shipped checkpoint)."""
    split: str = "test"
    """test (scored) or train."""
    trials: int = 200
    """Trials to play (one exploitation episode each)."""
    seed: int = 0
    """Fixes the trials (the same for every agent) and is passed to load_agent, as in evaluation.score."""
    top: int = 10
    """How many of the most common exploration episodes to list (the rest are summed in one row)."""
    out: Path | None = None
    """Folder for explorations.json and explorations.md (default: print only)."""
    num_envs: int = 16
    """Trial slots for batched agents (as evaluation.score; the figures do not depend on it for
    deterministic agents)."""
    progress: bool = True


def action_letters(names: Sequence[str]) -> str:
    """One distinct character per action name, in action order: :data:`GRID_LETTERS` where it
    has the name, else the name's first character (upper case) not taken yet, else a digit."""
    letters: list[str] = []
    for name in names:
        candidates = [GRID_LETTERS.get(name, ""), *name.upper(), *string.digits]
        letters.append(next(c for c in candidates if c.strip() and c not in letters))
    return "".join(letters)


@dataclass(frozen=True)
class ExplorationRow:
    """The trials whose exploration episode was one action string (or the rest, ``actions=None``)."""

    actions: str | None  #: the action string (letters of :func:`action_letters`); None: every other string
    trials: int  #: how many trials explored so
    distinct: int  #: how many distinct action strings the row covers (1 unless it sums the rest)
    failed_exploitation_episodes: int  #: over those trials
    mean_exploitation_return: float  #: reward units per exploitation episode
    #: Mean exploration value of those trials, normalised like the return; None without a diagnosis.
    exploration_score: float | None

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


@dataclass
class Inspection:
    """An agent's trials on one env and what its exploration episodes were."""

    module: str  #: the agent module (or file path) it was loaded from
    checkpoint: str | None  #: the file the agent loaded (its ``checkpoint_path``), else ``--checkpoint``
    action_names: tuple[str, ...]  #: the env's actions, in action order
    results: TrialResults
    #: (num_trials,) exploration value of each trial (reward units per exploitation episode);
    #: None where the diagnosis does not apply (privileged agent, family without one).
    values: np.ndarray | None
    summary: Score  #: mean return, normalised, exploration score, efficiency (one seed)
    #: Action string -> the indices (into ``results``) of the trials that explored so.
    explorations: dict[str, list[int]] = field(default_factory=dict)

    @property
    def letters(self) -> str:
        """One character per action (:func:`action_letters`)."""
        return action_letters(self.action_names)

    @property
    def bounds(self) -> Bounds | None:
        return self.summary.bounds

    def row(self, actions: str | None, index: Sequence[int], distinct: int = 1) -> ExplorationRow:
        """The row of the trials ``index`` (indices into ``results``)."""
        index = np.asarray(index, dtype=np.int64)
        failed = ~self.results.episode_successes[index, 1:]
        exploration = None
        if self.values is not None and self.summary.exploration_score is not None:
            exploration = float(normalised_score(float(self.values[index].mean()), self.bounds))
        return ExplorationRow(actions, len(index), distinct, int(failed.sum()),
                              float(self.results.exploit_returns[index].mean()), exploration)

    def rows(self, top: int = 10) -> list[ExplorationRow]:
        """The ``top`` most common action strings (most trials first, ties alphabetical), then
        one row summing every other string when there are more."""
        ranked = sorted(self.explorations.items(), key=lambda item: (-len(item[1]), item[0]))
        rows = [self.row(actions, index) for actions, index in ranked[:top]]
        rest = ranked[top:]
        if rest:
            rows.append(self.row(None, [k for _, index in rest for k in index], distinct=len(rest)))
        return rows


def inspect(module: str, env_id: str, checkpoint: str | None = None, *, split: str = "test", trials: int = 200,
            seed: int = 0, num_envs: int = 16, progress: bool = False) -> Inspection:
    """Play ``trials`` trials of ``env_id`` (``seed``) with the agent of ``module`` and group
    them by exploration episode.

    Raises ``ValueError`` for bad arguments and :class:`~evaluation.protocol.AgentError` for an
    agent that fails (see :mod:`evaluation.protocol`).
    """
    family = env_family(env_id)  # names the valid ids when env_id is unknown
    agent = load_agent_module(module, env_id, checkpoint, split=split, setting="imrl", num_exploit_episodes=1,
                              seed=seed)
    loaded = getattr(agent, "checkpoint_path", None) or checkpoint
    results = run_trials(agent, env_id, split=split, num_trials=trials, seed=seed, num_exploit_episodes=1,
                         num_envs=num_envs, env_kwargs={"setting": "imrl"}, progress=progress,
                         agent_module=module)
    bounds = get_bounds(env_id, split, 1, progress=progress) if bounds_entry(family) is not None else None
    diagnosis = diagnose(results)
    values = None if diagnosis is None else diagnosis.values
    seen = None if diagnosis is None or diagnosis.sign_seen is None else [diagnosis.sign_seen]
    summary = score([results], bounds, [loaded], None if values is None else [values], seen)
    names = tuple(family_class(family).action_names)
    letters = action_letters(names)
    explorations: dict[str, list[int]] = defaultdict(list)
    # The harness's own record of each trial's exploration actions: right whatever the agent
    # plays through (act, act_batch on many slots, act_privileged), so no wrapper is needed.
    for k, actions in enumerate(results.exploration_actions):
        explorations["".join(letters[a] for a in actions)].append(k)
    return Inspection(module, None if loaded is None else str(loaded), names, results, values, summary,
                      dict(explorations))


def inspection_document(inspection: Inspection, *, command: str, top: int) -> dict[str, Any]:
    """The ``explorations.json`` document: what :func:`summary_line` and :func:`markdown` show."""
    s, results = inspection.summary, inspection.results
    return {
        "command": command,
        "env_id": results.env_id,
        "agent": {"module": inspection.module, "name": s.agent, "privileged": s.privileged,
                  "checkpoint": inspection.checkpoint},
        "settings": {"split": results.split, "trials": results.num_trials, "seed": results.seed, "top": top,
                     "num_exploit_episodes": results.num_exploit_episodes},
        "actions": [{"letter": letter, "name": name} for letter, name in zip(inspection.letters,
                                                                                inspection.action_names)],
        "mean_return": s.mean_return, "return_ci": None if s.return_ci is None else list(s.return_ci),
        "normalised": s.normalised, "exploration_score": s.exploration_score,
        "exploitation_efficiency": s.exploitation_efficiency, "success_rate": s.success_rate,
        "bounds": None if s.bounds is None else s.bounds.as_dict(),
        "distinct_explorations": len(inspection.explorations),
        "rows": [row.to_dict() for row in inspection.rows(top)],
    }


def _shown_path(path: str) -> str:
    """``path`` relative to the current folder when it lies inside it (shorter in the docs)."""
    relative = os.path.relpath(path)
    return path if relative.startswith("..") else relative


def summary_line(document: dict[str, Any]) -> str:
    """One line of the document's figures, as printed and as written to ``explorations.md``."""
    agent, settings, bounds = document["agent"], document["settings"], document["bounds"]
    name = agent["module"] + (" (privileged)" if agent["privileged"] else "")
    checkpoint = "" if agent["checkpoint"] is None else f", checkpoint {_shown_path(agent['checkpoint'])}"
    ci = document["return_ci"]
    efficiency = document["exploitation_efficiency"]
    bound_text = ("no bounds" if bounds is None else
                  f"no-exploration bound {_fmt(bounds['no_exploration'])}, optimal {_fmt(bounds['optimal'])}")
    return (f"{name} on {document['env_id']} ({settings['split']} split, {settings['trials']} trials, seed "
            f"{settings['seed']}{checkpoint}): mean exploitation return {_fmt(document['mean_return'], ci)}, "
            f"normalised {_fmt(document['normalised'])}, exploration score {_fmt(document['exploration_score'])}, "
            f"exploitation efficiency {'n/a' if efficiency is None else f'{efficiency:.3f}'}; {bound_text}; "
            f"{document['distinct_explorations']} distinct exploration episodes")


def legend(document: dict[str, Any]) -> str:
    """The letters of the action strings, e.g. ``L left, U up, ...``."""
    return ", ".join(f"{a['letter']} {a['name']}" for a in document["actions"])


def table_rows(document: dict[str, Any], code: bool = False) -> list[list[str]]:
    """The table's cells (:data:`COLUMNS`), as strings; ``code``: action strings in backticks (Markdown)."""
    cells = []
    for row in document["rows"]:
        actions = row["actions"]
        shown = f"({row['distinct']} others)" if actions is None else f"`{actions}`" if code else actions
        cells.append([str(row["trials"]), shown,
                      str(row["failed_exploitation_episodes"]), _fmt(row["mean_exploitation_return"]),
                      _fmt(row["exploration_score"])])
    return cells


def markdown(document: dict[str, Any]) -> str:
    """``explorations.md``: the summary line, the table (action strings as code) and the legend."""
    lines = [summary_line(document), "", "| " + " | ".join(COLUMNS) + " |",
             "|---:|---|---:|---:|---:|"]
    lines += ["| " + " | ".join(cells) + " |" for cells in table_rows(document, code=True)]
    return "\n".join(lines + ["", f"Actions: {legend(document)}."]) + "\n"


def check_config(config: InspectConfig) -> None:
    """Validate the CLI values before any work (raises ``ValueError``, :class:`AgentError` included)."""
    check_choice("split", config.split, SPLITS)
    for name, low in (("trials", 1), ("top", 1), ("num_envs", 1)):
        check_int(f"--{name.replace('_', '-')}", getattr(config, name), low)
    check_int("--seed", config.seed)
    env_family(config.env)
    import_agent_module(config.agent)


def command_line(config: InspectConfig) -> str:
    """A command that reproduces ``config`` (recorded when :func:`run` is called from Python)."""
    parts = ["python", "-m", "evaluation.explorations", "--agent", config.agent, "--env", config.env]
    if config.checkpoint is not None:
        parts += ["--checkpoint", config.checkpoint]
    parts += ["--split", config.split, "--trials", str(config.trials), "--seed", str(config.seed),
              "--top", str(config.top)]
    if config.out is not None:
        parts += ["--out", str(config.out)]
    if config.num_envs != InspectConfig.num_envs:
        parts += ["--num-envs", str(config.num_envs)]
    return shlex.join(parts)


def run(config: InspectConfig, command: str | None = None) -> dict[str, Any]:
    """Inspect, print the summary line and the table, write ``--out``; return the document
    (:func:`inspection_document`)."""
    from rich.table import Table

    check_config(config)
    inspection = inspect(config.agent, config.env, config.checkpoint, split=config.split, trials=config.trials,
                         seed=config.seed, num_envs=config.num_envs, progress=config.progress)
    document = inspection_document(inspection, command=command or command_line(config), top=config.top)
    console = Console()
    if not console.is_terminal:  # logs: room for long action strings rather than 80 columns
        console = Console(width=180)
    console.print(escape(summary_line(document)), soft_wrap=True)
    table = Table(title=f"most common exploration episodes of {config.agent} on {config.env}",
                  caption=escape(legend(document)))
    for column in COLUMNS:
        table.add_column(column, justify="left" if column == "exploration episode" else "right")
    for cells in table_rows(document):
        table.add_row(*map(escape, cells))
    console.print(table)
    if config.out is not None:
        write_json_atomic(config.out / EXPLORATIONS_JSON, document)
        write_text_atomic(config.out / EXPLORATIONS_MD, markdown(document))
        console.print(f"wrote {config.out}/{EXPLORATIONS_JSON} and {EXPLORATIONS_MD}")
    return document


def main(args: list[str] | None = None) -> None:
    """The CLI: bad options, unknown envs and failing agents end with one line on stderr and exit status 2."""
    args = sys.argv[1:] if args is None else list(args)
    config = tyro.cli(InspectConfig, args=args)
    with exit_on(ValueError):  # bad options, env ids and agent modules, before any work (AgentError included)
        check_config(config)
    with exit_on(AgentError):  # load_agent raising, an invalid action, act raising
        run(config, command=shlex.join(["python", "-m", "evaluation.explorations", *args]))


__all__ = ["GRID_LETTERS", "ExplorationRow", "InspectConfig", "Inspection", "action_letters", "inspect",
           "inspection_document", "main", "markdown", "run", "summary_line"]


if __name__ == "__main__":
    main()
