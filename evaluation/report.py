"""Scores of agents against the bounds: aggregation, tables (rich, Markdown), bar chart, GIFs."""

from __future__ import annotations

import math
import os
import tempfile
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Sequence

import numpy as np

from evaluation.bounds import Bounds, normalised_score, write_json_atomic
from evaluation.harness import TrialResults

#: Two-sided 95% quantile of the normal distribution (the CIs use the normal approximation).
Z95 = 1.959963984540054


@dataclass
class Score:
    """One agent on one env: exploitation return over all trials of all seeds."""

    agent: str
    env_id: str
    split: str
    privileged: bool
    seeds: list[int]
    num_trials: int  #: trials over all seeds
    mean_return: float  #: mean exploitation-episode return per trial
    ci95: float  #: half-width of the 95% CI of ``mean_return`` (normal approximation over trials)
    seed_means: list[float]  #: mean return of each seed
    success_rate: float  #: fraction of exploitation episodes that succeeded
    seconds: float  #: harness wall time over all seeds
    bounds: Bounds | None  #: None when the env's family has no registered bounds
    normalised: float | None = None  #: (return - no_exploration) / (optimal - no_exploration)
    normalised_ci95: float | None = None

    def to_dict(self) -> dict:
        data = asdict(self)
        data["bounds"] = None if self.bounds is None else self.bounds.as_dict()
        return data


def score(results: Sequence[TrialResults], bounds: Bounds | None) -> Score:
    """Aggregate the runs of one agent on one env (one :class:`TrialResults` per seed)."""
    if not results:
        raise ValueError("score() needs at least one TrialResults")
    first = results[0]
    returns = np.concatenate([r.exploit_returns for r in results])
    n = len(returns)
    ci = Z95 * float(returns.std(ddof=1)) / math.sqrt(n) if n > 1 else float("nan")
    successes = np.concatenate([r.episode_successes[:, 1:].ravel() for r in results])
    s = Score(
        agent=first.agent, env_id=first.env_id, split=first.split, privileged=first.privileged,
        seeds=[r.seed for r in results], num_trials=n, mean_return=float(returns.mean()), ci95=ci,
        seed_means=[float(r.exploit_returns.mean()) for r in results], success_rate=float(successes.mean()),
        seconds=float(sum(r.seconds for r in results)), bounds=bounds,
    )
    if bounds is not None and bounds.optimal > bounds.no_exploration:
        s.normalised = float(normalised_score(s.mean_return, bounds))
        s.normalised_ci95 = ci / (bounds.optimal - bounds.no_exploration)
    return s


def _label(s: Score) -> str:
    return f"{s.agent} (privileged)" if s.privileged else s.agent


def _fmt(value: float | None, ci: float | None = None) -> str:
    if value is None:
        return "n/a"
    return f"{value:+.3f}" if ci is None or math.isnan(ci) else f"{value:+.3f} ± {ci:.3f}"


COLUMNS = ("env", "agent", "return ± 95% CI", "optimal", "no exploration", "Thompson", "random",
           "normalised ± 95% CI", "success", "trials", "seconds")


def table_rows(scores: Sequence[Score]) -> list[list[str]]:
    rows = []
    for s in scores:
        b = s.bounds
        rows.append([
            s.env_id, _label(s), _fmt(s.mean_return, s.ci95),
            *(_fmt(None if b is None else getattr(b, name)) for name in Bounds.NAMES),
            _fmt(s.normalised, s.normalised_ci95), f"{s.success_rate:.2f}", str(s.num_trials), f"{s.seconds:.1f}",
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


def _atomic_path(path: Path, suffix: str) -> str:
    """A temporary file next to ``path`` with a normal file's mode (for ``os.replace``)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=suffix)
    os.close(fd)
    umask = os.umask(0)
    os.umask(umask)
    os.chmod(tmp, 0o666 & ~umask)
    return tmp


def write_text_atomic(path: Path, text: str) -> None:
    tmp = _atomic_path(path, ".tmp")
    with open(tmp, "w") as f:
        f.write(text)
    os.replace(tmp, path)


def bar_chart(scores: Sequence[Score], path: Path, title: str) -> None:
    """Exploitation return of each agent per env (95% CI error bars) with the bounds as lines."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    env_ids = list(dict.fromkeys(s.env_id for s in scores))
    agents = list(dict.fromkeys(_label(s) for s in scores))
    fig, axes = plt.subplots(1, len(env_ids), figsize=(1.2 + 2.6 * len(env_ids) + 0.4 * len(agents), 4.2),
                             squeeze=False)
    colours = plt.rcParams["axes.prop_cycle"].by_key()["color"]
    bound_styles = {"optimal": ("green", "-"), "no_exploration": ("black", "--"), "thompson": ("purple", ":"),
                    "random": ("grey", "-.")}
    for ax, env_id in zip(axes[0], env_ids):
        env_scores = {_label(s): s for s in scores if s.env_id == env_id}
        xs = np.arange(len(agents))
        for x, name in zip(xs, agents):
            s = env_scores.get(name)
            if s is not None:
                ax.bar(x, s.mean_return, yerr=0 if math.isnan(s.ci95) else s.ci95, capsize=4,
                       color=colours[agents.index(name) % len(colours)], hatch="//" if s.privileged else None)
        bounds = next((s.bounds for s in env_scores.values() if s.bounds is not None), None)
        if bounds is not None:
            for name, (colour, style) in bound_styles.items():
                ax.axhline(getattr(bounds, name), color=colour, linestyle=style, linewidth=1.2,
                           label=name.replace("_", " "))
        ax.axhline(0, color="black", linewidth=0.5)
        ax.set_xticks(xs, agents, rotation=30, ha="right")
        ax.set_title(env_id, fontsize=10)
        ax.set_ylabel("exploitation return")
    handles, labels = axes[0][0].get_legend_handles_labels()
    if handles:
        fig.legend(handles, labels, loc="upper right", fontsize=8)
    fig.suptitle(title, fontsize=11)
    fig.tight_layout(rect=(0, 0, 0.88, 0.95))
    tmp = _atomic_path(path, ".png")
    fig.savefig(tmp, dpi=110)
    plt.close(fig)
    os.replace(tmp, path)


def trial_gif(episodes: list[list[np.ndarray]], path: Path, fps: float = 3.0, hold: int = 4) -> None:
    """A GIF of one trial: its episodes side by side (exploration left), played together;
    each panel holds its last frame once its episode is over."""
    from meta_explore_envs.rendering import save_gif, side_by_side

    length = max(len(frames) for frames in episodes)
    frames = [side_by_side([ep[min(t, len(ep) - 1)] for ep in episodes]) for t in range(length)]
    path.parent.mkdir(parents=True, exist_ok=True)
    save_gif(path, frames + [frames[-1]] * hold, fps=fps)


__all__ = ["Score", "bar_chart", "markdown", "rich_table", "score", "trial_gif", "write_json_atomic",
           "write_text_atomic"]
