"""What a DREAM checkpoint does on MetaDistractingBus-v0: which buses it explores, per goal.

``python -m baselines.dream.inspect_bus --checkpoint RUN/final.pt [--trials 200] [--seed 0]``

Plays test-split trials through the harness (one at a time, so that each recorded path lines
up with the harness's result for that trial) and prints, grouped by the number of coloured
buses ridden in the exploration episode and by the goal, how many trials there were, how
many exploitation episodes failed (did not reach the goal) and their mean length. Three
coloured buses are enough (the fourth destination follows). This separates the two ways
the agent can fail: exploring too little, or not using what it explored. A second table
lists the most common exploration episodes as action strings (``L U R D`` moves, ``.`` ride,
``N`` noop, ``E`` end episode, ``P``/``Q`` pick up/drop), e.g. the shipped checkpoint's
``R..UL..DD.E``: ride the right bus there and back, two steps to the top bus, and so on.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass
from typing import Any

import numpy as np
import tyro
from rich.console import Console
from rich.table import Table

from meta_explore_envs.envs.bus_grid import COLOURED_SOURCES
from meta_explore_envs.envs.distracting_bus import GREY_SOURCES
from meta_explore_envs.grid.world import ACTION_NAMES

ENV_ID = "MetaDistractingBus-v0"
GOAL_NAMES = ("bottom-left", "top-right", "top-left", "bottom-right")
#: One letter per action, in the env's action order (``ACTION_NAMES``).
ACTION_LETTERS = "LURDN.EPQ"
assert len(ACTION_LETTERS) == len(ACTION_NAMES)


@dataclass
class InspectCommand:
    checkpoint: str | None = None
    """A DREAM policy checkpoint (``final.pt``); default: the shipped one."""
    trials: int = 200
    seed: int = 0


class _Recorder:
    """Wraps an agent as a one-trial-at-a-time agent and records each trial's exploration path."""

    def __init__(self, agent: Any):
        self.agent = agent
        self.paths: list[list[tuple[int, int]]] = []
        self.actions: list[str] = []  # each trial's exploration actions (ACTION_LETTERS)
        self.goals: list[int] = []

    def reset(self) -> None:
        self.agent.reset()

    def act(self, observation: dict[str, Any]) -> int:
        episode = int(observation["episode"])
        cell = (int(observation["observation"][0]), int(observation["observation"][1]))
        if episode == 0 and int(observation["prev_action"]) == self.agent.nets.spec.n_actions:
            self.paths.append([])  # a trial's first step (no previous action)
            self.actions.append("")
        if episode == 0:
            self.paths[-1].append(cell)
        elif len(self.goals) < len(self.paths):
            self.goals.append(int(observation["instruction"]))
        action = self.agent.act(observation)
        if episode == 0:
            self.actions[-1] += ACTION_LETTERS[action]
        return action


def rides(path: list[tuple[int, int]], sources) -> set[tuple[int, int]]:
    """Bus cells of ``sources`` the path left by riding (a jump of more than one cell)."""
    return {a for a, b in zip(path, path[1:]) if a in sources and abs(a[0] - b[0]) + abs(a[1] - b[1]) > 1}


def inspect(checkpoint: str | None, trials: int = 200, seed: int = 0) -> tuple[dict, Any, int, Counter]:
    """``(groups, results, grey, explorations)``: ``groups[(coloured buses ridden, goal)]``
    lists each such trial's (exploitation success, length); ``results`` the harness's;
    ``grey`` the number of trials that rode a grey bus; ``explorations`` counts the
    exploration episodes' action strings. ``checkpoint=None``: the shipped one."""
    from baselines.dream.agent import load_agent
    from evaluation.harness import run_trials

    recorder = _Recorder(load_agent(ENV_ID, checkpoint=checkpoint))
    results = run_trials(recorder, ENV_ID, num_trials=trials, seed=seed)
    groups: dict[tuple[int, int], list[tuple[bool, int]]] = defaultdict(list)
    grey = 0
    for k, (path, goal) in enumerate(zip(recorder.paths, recorder.goals)):
        grey += bool(rides(path, GREY_SOURCES))
        groups[len(rides(path, COLOURED_SOURCES)), goal].append(
            (bool(results.episode_successes[k, 1]), int(results.episode_lengths[k, 1])))
    return dict(groups), results, grey, Counter(recorder.actions)


def main(command: InspectCommand) -> None:
    groups, results, grey, explorations = inspect(command.checkpoint, command.trials, command.seed)
    table = Table(title=f"{command.checkpoint}: {command.trials} test trials, mean exploitation return "
                        f"{results.exploit_returns.mean():+.3f}; {grey} rode a grey bus")
    for column in ("coloured buses ridden", "goal", "trials", "failed", "mean length"):
        table.add_column(column, justify="right")
    for (ridden, goal), outcomes in sorted(groups.items()):
        failed = sum(not ok for ok, _ in outcomes)
        table.add_row(str(ridden), GOAL_NAMES[goal], str(len(outcomes)), str(failed),
                      f"{np.mean([n for _, n in outcomes]):.1f}")
    console = Console()
    console.print(table)
    paths = Table(title="most common exploration episodes",
                  caption=", ".join(f"{letter} {name}" for letter, name in zip(ACTION_LETTERS, ACTION_NAMES)))
    paths.add_column("trials", justify="right")
    paths.add_column("actions")
    for actions, count in explorations.most_common(6):
        paths.add_row(str(count), actions)
    console.print(paths)


if __name__ == "__main__":
    main(tyro.cli(InspectCommand))
