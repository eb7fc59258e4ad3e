"""Score agents on the registered envs: ``python -m evaluation.score --agent MODULE [MODULE ...]``.

For every agent and env: ``--trials`` trials (default 100) on the test split for each of
``--seeds`` (default 0 1 2; the seed fixes the trials and is passed to ``load_agent``), then a
table of the exploitation return ± 95% CI, the bounds (optimal, no exploration, Thompson,
random) and the normalised score. Writes ``scores.json``, ``scores.md`` and ``scores.png``
to ``--out-dir`` (default ``results/``), and with ``--record N`` GIFs of the first N trials
of the first seed (exploration and exploitation episodes side by side) under ``gifs/``.
Privileged agents (the oracle) are marked "(privileged)".
"""

from __future__ import annotations

import importlib.util
import time
from dataclasses import dataclass, field
from pathlib import Path

import tyro
from rich.console import Console

import meta_explore_envs
from evaluation.bounds import BOUND_FAMILIES, env_family, get_bounds, write_json_atomic
from evaluation.harness import run_trials
from evaluation.protocol import load_agent_module
from evaluation.report import bar_chart, markdown, rich_table, score, trial_gif, write_text_atomic
from meta_explore_envs.core import SPLITS, check_choice


@dataclass
class ScoreConfig:
    """Score agents against the bounds of the benchmark."""

    agent: tuple[str, ...]
    """Agent modules (each exposes load_agent), e.g. baselines.oracle baselines.random."""
    env: tuple[str, ...] = ()
    """Env ids (default: every registered env)."""
    checkpoint: str | None = None
    """Passed to every agent's load_agent."""
    split: str = "test"
    trials: int = 100
    """Trials per seed."""
    seeds: tuple[int, ...] = (0, 1, 2)
    num_exploit_episodes: int = 1
    record: int = 0
    """GIFs of the first N trials of the first seed, per agent and env."""
    out_dir: Path = Path("results")
    num_envs: int = 16
    """Trial slots for batched agents."""
    progress: bool = True
    title: str | None = None
    """Report title (default: says the split)."""
    notes: list[str] = field(default_factory=list)


def check_config(config: ScoreConfig) -> list[str]:
    """Validate the CLI values; return the env ids to score."""
    if not config.agent:
        raise ValueError("--agent needs at least one agent module, e.g. --agent baselines.random")
    check_choice("split", config.split, SPLITS)
    for name in ("trials", "num_exploit_episodes", "num_envs"):
        value = getattr(config, name)
        if value < 1:
            raise ValueError(f"--{name.replace('_', '-')}={value} is not valid: expected an integer >= 1")
    if config.record < 0:
        raise ValueError(f"--record={config.record} is not valid: expected an integer >= 0")
    if not config.seeds:
        raise ValueError("--seeds needs at least one seed")
    env_ids = list(config.env) or sorted(meta_explore_envs.ENV_PRESETS)
    for env_id in env_ids:
        env_family(env_id)
    for module in config.agent:  # fail before any work, naming the module
        try:
            found = importlib.util.find_spec(module) is not None
        except (ImportError, ValueError):
            found = False
        if not found:
            raise ValueError(f"--agent {module!r} is not an importable module (e.g. baselines.random, "
                             "baselines.oracle, baselines.no_exploration, baselines.thompson, baselines.dream)")
    return env_ids


def run(config: ScoreConfig) -> list:
    """Score every agent on every env; write the report; return the :class:`~evaluation.report.Score` list."""
    env_ids = check_config(config)
    title = config.title or f"Exploitation return per trial (IMRL, {config.split} split)"
    console = Console()
    if not console.is_terminal:  # logs: room for the whole table rather than 80 columns
        console = Console(width=180)
    scores, runs = [], []
    for env_id in env_ids:
        bounds = None
        if env_family(env_id) in BOUND_FAMILIES:
            start = time.perf_counter()
            bounds = get_bounds(env_id, config.split, config.num_exploit_episodes, progress=config.progress)
            console.print(f"bounds of {env_id} ({config.split}): {time.perf_counter() - start:.1f} s")
        for module in config.agent:
            results = []
            for seed in config.seeds:
                agent = load_agent_module(module, env_id, config.checkpoint, split=config.split, setting="imrl",
                                          num_exploit_episodes=config.num_exploit_episodes, seed=seed)
                record = config.record if seed == config.seeds[0] else 0
                result = run_trials(agent, env_id, split=config.split, num_trials=config.trials, seed=seed,
                                    num_exploit_episodes=config.num_exploit_episodes, num_envs=config.num_envs,
                                    record=record, progress=config.progress)
                for k, episodes in enumerate(result.frames):
                    trial_gif(episodes, config.out_dir / "gifs" / f"{result.agent}-{env_id}-trial{k}.gif")
                results.append(result)
                runs.append(result.to_dict())
            s = score(results, bounds)
            scores.append(s)
            console.print(f"{s.agent} on {env_id}: {s.mean_return:+.3f} ± {s.ci95:.3f} ({s.seconds:.1f} s)")
    notes = [f"{config.trials} trials x seeds {list(config.seeds)}; CI: normal approximation over all trials.",
             "Normalised score = (return - no exploration) / (optimal - no exploration).",
             "Privileged agents read the true problem: references, not results."] + list(config.notes)
    console.print(rich_table(scores, title))
    write_json_atomic(config.out_dir / "scores.json", {"scores": [s.to_dict() for s in scores], "runs": runs})
    write_text_atomic(config.out_dir / "scores.md", markdown(scores, title, notes))
    bar_chart(scores, config.out_dir / "scores.png", title)
    console.print(f"wrote {config.out_dir}/scores.json, scores.md, scores.png"
                  + (f" and GIFs in {config.out_dir}/gifs" if config.record else ""))
    return scores


def main() -> None:
    config = tyro.cli(ScoreConfig)
    try:
        check_config(config)
    except ValueError as error:  # bad CLI values: say which and why, without a traceback
        Console(stderr=True).print(f"[red]error:[/red] {error}")
        raise SystemExit(2) from None
    run(config)


if __name__ == "__main__":
    main()
