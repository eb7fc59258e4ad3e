"""Score agents on the registered envs: ``python -m evaluation.score --agent MODULE [MODULE ...]``.

    python -m evaluation.score --agent MODULE [MODULE ...] [--env ID ...] [--split test]
        [--trials 100] [--seeds 0 1 2] [--checkpoint PATH] [--num-exploit-episodes N]
        [--out DIR] [--record N]

For every agent and env: ``--trials`` trials on the ``--split`` split for each of ``--seeds``
(the seed fixes the trials and is passed to ``load_agent``), then a table of the
exploitation return with its 95% bootstrap CI over trials and seeds (percentile bootstrap
stratified by seed, see :mod:`evaluation.report`), the bounds (optimal, no exploration,
Thompson, random) and the normalised score with its CI; an env whose family has no bounds
(the MuJoCo tasks) gets its raw return and CI, "no bounds" in the normalised column and a note
saying why (``no_bounds`` in results.json). Writes ``results.json`` (schema in
:mod:`evaluation.report`: versions, command, env kwargs, seeds, agent module, checkpoint and
its SHA-256, bounds, every trial's returns), ``results.md`` and ``results.png`` (bars with
CIs, bounds as lines) to ``--out`` (alias ``--out-dir``; default ``results/``), and with
``--record N`` GIFs of the first N trials of the first seed (exploration and exploitation
episodes side by side, instruction and returns on the frames) under ``gifs/``. Privileged
agents (the oracle) are marked "(privileged)".

A problem with an agent (module missing, no ``load_agent``, ``load_agent`` raising, an
invalid action, ``act`` raising) or a bad option stops the CLI with a one-line message
naming the module and the problem, and exit status 2 (from Python: ``AgentError`` /
``ValueError``).
"""

from __future__ import annotations

import contextlib
import functools
import importlib
import shlex
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated

from evaluation.bounds import bounds_entry, get_bounds, no_bounds_reason
from evaluation.diagnosis import diagnose
from evaluation.harness import default_setting, run_trials
from evaluation.protocol import AgentError, import_agent_module, load_agent_module, module_env_ids
from evaluation.report import (
    CI_METHOD,
    bar_chart,
    markdown,
    results_document,
    rich_table,
    score,
    trial_gif,
)
from meta_explore_envs import registry
from meta_explore_envs.core import SPLITS, check_choice, check_int
from meta_explore_envs.files import write_json_atomic, write_text_atomic
from meta_explore_envs.optional import require
from meta_explore_envs.registry import env_family

# The command line and its tables come with the [report] extra.
tyro = require("tyro", "report")
Console = require("rich.console", "report").Console
escape = require("rich.markup", "report").escape

#: Names of the files written to ``--out``.
RESULTS_JSON, RESULTS_MD, RESULTS_PNG, GIF_DIR = "results.json", "results.md", "results.png", "gifs"


@dataclass
class ScoreConfig:
    """Score agents against the bounds of the benchmark."""

    agent: tuple[str, ...]
    """Agent modules (each exposes load_agent), e.g. baselines.oracle baselines.random, or the
    path of a .py file (path/to/my_agent.py)."""
    register: tuple[str, ...] = ()
    """Modules imported first: ones that register families of your own
    (``meta_explore_envs.register_family``), so that ``--env`` can name their ids."""
    env: tuple[str, ...] = ()
    """Env ids (default: every registered env the agent modules can play: their ``ENV_IDS``, or
    for ``baselines.sb3`` the envs the --checkpoint model fits)."""
    split: str = "test"
    """test (scored) or train."""
    trials: int = 100
    """Trials per seed."""
    env_trials: dict[str, int] = field(default_factory=dict)
    """Trials per seed for the envs named here instead of ``--trials``, e.g.
    ``--env-trials MetaSign3D-v0 50`` (``make demo``: the 3D env's trials cost ~100x a grid's)."""
    seeds: tuple[int, ...] = (0, 1, 2)
    """Each seed fixes its trials (the same for every agent) and is passed to load_agent."""
    checkpoint: str | None = None
    """Passed to every agent's load_agent; recorded in results.json with its SHA-256."""
    num_exploit_episodes: int = 1
    """Exploitation episodes per trial (the return is their mean)."""
    out_dir: Annotated[Path, tyro.conf.arg(aliases=("--out",))] = Path("results")
    """--out DIR (or --out-dir DIR): folder for results.json, results.md, results.png and gifs/."""
    record: int = 0
    """GIFs of the first N trials of the first seed, per agent and env."""
    num_envs: int = 16
    """Trial slots for batched agents."""
    progress: bool = True
    title: str | None = None
    """Report title (default: says the split)."""
    notes: list[str] = field(default_factory=list)


def _every_run(diagnoses: list, flag: str) -> list | None:
    """Each run's per-trial ``flag`` array of its :class:`~evaluation.diagnosis.Diagnosis`
    (e.g. ``"sign_seen"``), or None unless every run has one."""
    flags = [None if d is None else getattr(d, flag) for d in diagnoses]
    return flags if flags and all(f is not None for f in flags) else None


def check_config(config: ScoreConfig) -> list[str]:
    """Validate the CLI values; return the env ids to score."""
    if not config.agent:
        raise ValueError("--agent needs at least one agent module, e.g. --agent baselines.random")
    check_choice("split", config.split, SPLITS)
    for name, low in (("trials", 1), ("num_exploit_episodes", 1), ("num_envs", 1), ("record", 0)):
        check_int(f"--{name.replace('_', '-')}", getattr(config, name), low)
    for env_id, trials in config.env_trials.items():
        check_int(f"--env-trials {env_id}", trials, 1)
    if not config.seeds:
        raise ValueError("--seeds needs at least one seed")
    for module in config.register:
        try:
            importlib.import_module(module)
        except ImportError as error:
            raise ValueError(f"--register {module}: cannot import it ({error})") from error
    for module in config.agent:  # fail before any work, naming the module
        import_agent_module(module)
    if config.env:
        env_ids = list(config.env)
        for env_id in env_ids:
            env_family(env_id)
    else:
        env_ids = [e for e in registry.env_ids() if any(_plays(module, e, config) for module in config.agent)]
        if not env_ids:
            raise ValueError(f"no registered env to score {', '.join(config.agent)} on (see their ENV_IDS); "
                             "name the envs with --env")
    for env_id in config.env_trials:
        if env_id not in env_ids:
            raise ValueError(f"--env-trials {env_id}: not among the envs scored ({', '.join(env_ids)})")
    return env_ids


def _plays(module: str, env_id: str, config: ScoreConfig) -> bool:
    """Whether ``module`` is scored on ``env_id``: always for an explicit ``--env``, otherwise
    when the envs the module can play (its ``checkpoint_env_ids(--checkpoint)`` or ``ENV_IDS``,
    see :func:`evaluation.protocol.module_env_ids`), if it says, include it."""
    if config.env:
        return True
    env_ids = _module_env_ids(module, config.checkpoint)
    return env_ids is None or env_id in env_ids


@functools.lru_cache(maxsize=64)
def _module_env_ids(module: str, checkpoint: str | None) -> tuple[str, ...] | None:
    """:func:`~evaluation.protocol.module_env_ids`, once per module and checkpoint (it may read the file)."""
    env_ids = module_env_ids(module, checkpoint)
    return None if env_ids is None else tuple(env_ids)


def command_line(config: ScoreConfig) -> str:
    """A command that reproduces ``config`` (recorded in results.json when run() is called from Python)."""
    parts = ["python", "-m", "evaluation.score", "--agent", *config.agent]
    if config.register:
        parts += ["--register", *config.register]
    if config.env:
        parts += ["--env", *config.env]
    parts += ["--split", config.split, "--trials", str(config.trials), "--seeds", *map(str, config.seeds)]
    if config.env_trials:
        parts += ["--env-trials", *(str(x) for item in config.env_trials.items() for x in item)]
    if config.checkpoint is not None:
        parts += ["--checkpoint", config.checkpoint]
    parts += ["--num-exploit-episodes", str(config.num_exploit_episodes), "--out", str(config.out_dir)]
    if config.record:
        parts += ["--record", str(config.record)]
    if config.num_envs != ScoreConfig.num_envs:
        parts += ["--num-envs", str(config.num_envs)]
    return shlex.join(parts)


def run(config: ScoreConfig, command: str | None = None) -> list:
    """Score every agent on every env; write the report; return the :class:`~evaluation.report.Score` list.

    ``command``: the command line recorded in results.json (default: :func:`command_line`).
    Raises ``ValueError`` for bad options (before any work) and
    :class:`~evaluation.protocol.AgentError` for an agent that fails (results.json, .md and
    .png are written at the end, so they are never partial).
    """
    env_ids = check_config(config)
    setting_names = "/".join(sorted({"IMRL" if default_setting(e) == "imrl" else default_setting(e) for e in env_ids}))
    title = config.title or f"Exploitation return per trial ({setting_names}, {config.split} split)"
    console = Console()
    if not console.is_terminal:  # logs: room for the whole table rather than 80 columns
        console = Console(width=180)
    scores = []
    for env_id in env_ids:
        bounds = None
        for module in config.agent:
            if not _plays(module, env_id, config):
                continue
            results, checkpoints, gifs = [], [], []
            setting = default_setting(env_id)  # IMRL, except MetaPointCorner (standard only)
            for seed in config.seeds:
                agent = load_agent_module(module, env_id, config.checkpoint, split=config.split, setting=setting,
                                          num_exploit_episodes=config.num_exploit_episodes, seed=seed)
                checkpoint = getattr(agent, "checkpoint_path", None) or config.checkpoint
                checkpoints.append(None if checkpoint is None else str(checkpoint))
                record = config.record if seed == config.seeds[0] else 0
                result = run_trials(agent, env_id, split=config.split, seed=seed,
                                    num_trials=config.env_trials.get(env_id, config.trials),
                                    num_exploit_episodes=config.num_exploit_episodes, num_envs=config.num_envs,
                                    env_kwargs={"setting": setting}, record=record, progress=config.progress,
                                    agent_module=module)
                gifs += [(f"{module}-{env_id}-seed{seed}-trial{k}.gif", episodes)
                         for k, episodes in enumerate(result.frames)]
                result.frames = []  # drawn below; not kept in memory with the scores
                results.append(result)
            # After an agent ran, so that a broken agent fails fast, before any long computation.
            if bounds is None and bounds_entry(env_family(env_id)) is not None:
                start = time.perf_counter()
                bounds = get_bounds(env_id, config.split, config.num_exploit_episodes, progress=config.progress)
                console.print(f"bounds of {env_id} ({config.split}): {time.perf_counter() - start:.1f} s")
            diagnoses = [diagnose(r) for r in results]
            diagnosed = all(d is not None for d in diagnoses)
            values = [d.values for d in diagnoses] if diagnosed else None
            s = score(results, bounds, checkpoints, values, _every_run(diagnoses, "sign_seen"),
                      no_bounds=no_bounds_reason(env_family(env_id)) if bounds is None else None,
                      word_in_view=_every_run(diagnoses, "word_in_view"))
            for name, episodes in gifs:
                trial_gif(episodes, config.out_dir / GIF_DIR / name)
            scores.append(s)
            ci = "" if s.return_ci is None else f" [{s.return_ci[0]:+.3f}, {s.return_ci[1]:+.3f}]"
            console.print(f"{s.agent} on {env_id}: {s.mean_return:+.3f}{ci} ({s.seconds:.1f} s)")
    other_trials = "".join(f" ({env_id}: {n})" for env_id, n in config.env_trials.items())
    notes = [f"{config.trials} trials{other_trials} x seeds {list(config.seeds)}; 95% CI: {CI_METHOD}.",
             "Normalised score = (return - no exploration) / (optimal - no exploration).",
             "Exploration: the exploration value (Bayes-optimal exploitation of what the exploration "
             "episode showed), normalised the same way; efficiency = return / exploration value.",
             "Privileged agents read the true problem: references, not results."] + list(config.notes)
    if any(s.sign_seen_fraction is not None for s in scores):
        notes.append("MetaSign3D: the exploration value is the optimal bound where the exploration episode saw the "
                     "whole sign, else the no-exploration bound, so its exploration score is the fraction of trials "
                     "that saw the sign (results.json: sign_seen_fraction; word_in_view_fraction counts the "
                     "trials that had some of the word in view, whole or not).")
    # Envs without bounds: raw returns only, and why (the table's normalised column says "no bounds").
    no_bounds = {s.env_id: s.no_bounds for s in scores if s.no_bounds}
    notes += [f"{env_id}: no bounds: {reason}." for env_id, reason in no_bounds.items()]
    console.print(rich_table(scores, title))
    for env_id, reason in no_bounds.items():
        console.print(f"{env_id}: no bounds: {reason}.", soft_wrap=True)
    settings = {"split": config.split, "trials": config.trials, "seeds": list(config.seeds),
                "num_exploit_episodes": config.num_exploit_episodes, "checkpoint": config.checkpoint,
                "record": config.record}
    if config.env_trials:
        settings["env_trials"] = dict(config.env_trials)
    document = results_document(scores, command=command or command_line(config), settings=settings)
    write_json_atomic(config.out_dir / RESULTS_JSON, document)
    write_text_atomic(config.out_dir / RESULTS_MD, markdown(scores, title, notes))
    bar_chart(scores, config.out_dir / RESULTS_PNG, title)
    console.print(f"wrote {config.out_dir}/{RESULTS_JSON}, {RESULTS_MD}, {RESULTS_PNG}"
                  + (f" and GIFs in {config.out_dir}/{GIF_DIR}" if config.record else ""))
    return scores


def _exit(error: Exception) -> None:
    Console(stderr=True).print(f"[red]error:[/red] {escape(str(error))}", soft_wrap=True)
    raise SystemExit(2) from None


@contextlib.contextmanager
def exit_on(errors: type[Exception] | tuple[type[Exception], ...]) -> Iterator[None]:
    """For CLIs: an exception of ``errors`` raised in the block ends the program with its
    message on one line of stderr and exit status 2 (others propagate with their traceback)."""
    try:
        yield
    except errors as error:
        _exit(error)


def main(args: list[str] | None = None) -> None:
    """The CLI: bad options and failing agents end with one line on stderr and exit status 2."""
    args = sys.argv[1:] if args is None else list(args)
    config = tyro.cli(ScoreConfig, args=args)
    with exit_on(ValueError):  # bad options and agent modules, before any work (AgentError included)
        check_config(config)
    with exit_on(AgentError):  # load_agent raising, an invalid action, act raising
        run(config, command=shlex.join(["python", "-m", "evaluation.score", *args]))


if __name__ == "__main__":
    main()
