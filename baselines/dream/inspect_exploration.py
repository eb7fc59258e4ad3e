"""What a DREAM checkpoint's explorer does: its most common exploration episodes, on any grid env.

``python -m baselines.dream.inspect_exploration --env MetaDistractingBus-v0 [--checkpoint RUN/final.pt]
[--trials 200] [--seed 0] [--top 10]``

Plays test-split trials through the harness (one at a time, so that each recorded exploration
episode lines up with the harness's result for that trial) and lists the most common
exploration episodes as action strings, one character per action (:func:`action_letters`:
for the grid's actions ``L U R D`` moves, ``N`` noop, ``.`` ride bus, ``E`` end episode,
``P``/``Q`` pick up/drop; the table's caption spells out the env's own action names). Each
row gives how many trials explored so, how many of their exploitation episodes failed and
their mean exploitation return. E.g. the shipped MetaDistractingBus-v0 checkpoint's
``R..UL..DD.E``: ride the right bus there and back, two steps to the top bus, and so on.
This separates the two ways the agent can fail: exploring too little (an episode that
cannot hold what the task needs), or not using what it explored (failures after a good one).
"""

from __future__ import annotations

import string
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

#: The grid engine's actions (``meta_explore_envs.grid.world.ACTION_NAMES``) and their letters.
GRID_LETTERS = {"left": "L", "up": "U", "right": "R", "down": "D", "noop": "N", "ride bus": ".",
                "end episode": "E", "pick up": "P", "drop": "Q"}


@dataclass
class InspectCommand:
    env: str
    """Registered trial env id the checkpoint was trained on (a grid env)."""
    checkpoint: str | None = None
    """A DREAM policy checkpoint (``final.pt``); default: the env's shipped one."""
    trials: int = 200
    seed: int = 0
    top: int = 10
    """How many of the most common exploration episodes to list."""


def action_letters(names: Sequence[str]) -> str:
    """One distinct character per action name, in action order: :data:`GRID_LETTERS` where it
    has the name, else the name's first character (upper case) not taken yet, else a digit."""
    letters: list[str] = []
    for name in names:
        candidates = [GRID_LETTERS.get(name, ""), *name.upper(), *string.digits]
        letters.append(next(c for c in candidates if c.strip() and c not in letters))
    return "".join(letters)


class _Recorder:
    """Wraps an agent as a one-trial-at-a-time agent and records each trial's exploration
    actions (one string of ``letters`` per trial; the harness calls ``reset`` before each)."""

    def __init__(self, agent: Any, letters: str):
        self.agent = agent
        self.letters = letters
        self.actions: list[str] = []

    def reset(self) -> None:
        self.agent.reset()
        self.actions.append("")

    def act(self, observation: dict[str, Any]) -> int:
        action = self.agent.act(observation)
        if int(observation["episode"]) == 0:
            self.actions[-1] += self.letters[action]
        return action


def inspect(env_id: str, checkpoint: str | None = None, trials: int = 200, seed: int = 0
            ) -> tuple[dict[str, list[int]], Any, tuple[str, ...]]:
    """``(explorations, results, action_names)``: ``explorations[actions]`` lists the trials
    (indices into the harness's ``results``) whose exploration episode was that action string
    (letters of :func:`action_letters` of the env's ``action_names``). ``checkpoint=None``:
    the shipped one."""
    import gymnasium as gym

    from baselines.dream.agent import load_agent
    from evaluation.harness import run_trials

    env = gym.make(env_id)
    names = tuple(env.unwrapped.episode_env.action_names)
    env.close()
    recorder = _Recorder(load_agent(env_id, checkpoint=checkpoint), action_letters(names))
    results = run_trials(recorder, env_id, num_trials=trials, seed=seed)
    explorations: dict[str, list[int]] = defaultdict(list)
    for k, actions in enumerate(recorder.actions):
        explorations[actions].append(k)
    return dict(explorations), results, names


def main(command: InspectCommand) -> None:
    from rich.console import Console
    from rich.table import Table

    explorations, results, names = inspect(command.env, command.checkpoint, command.trials, command.seed)
    letters = action_letters(names)
    failed = ~results.episode_successes[:, 1:]
    table = Table(title=f"{command.env}, {command.checkpoint or 'shipped checkpoint'}: {command.trials} test trials, "
                        f"mean exploitation return {results.exploit_returns.mean():+.3f}; most common exploration "
                        f"episodes", caption=", ".join(f"{letter} {name}" for letter, name in zip(letters, names)))
    for column in ("trials", "exploration", "failed exploitation episodes", "mean exploitation return"):
        table.add_column(column, justify="left" if column == "exploration" else "right")
    ranked = sorted(explorations.items(), key=lambda item: (-len(item[1]), item[0]))
    for actions, index in ranked[: command.top]:
        table.add_row(str(len(index)), actions, str(int(failed[index].sum())),
                      f"{np.mean(results.exploit_returns[index]):+.3f}")
    Console().print(table)


if __name__ == "__main__":
    import tyro

    main(tyro.cli(InspectCommand))
