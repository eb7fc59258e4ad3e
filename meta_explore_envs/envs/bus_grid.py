"""What MetaDistractingBus and MetaMap share: the 9x9 bus grid, its goals and its reward."""

from __future__ import annotations

import dataclasses
import itertools
from collections.abc import Hashable
from typing import Any, ClassVar

import numpy as np
from gymnasium import spaces

from meta_explore_envs.core import as_index
from meta_explore_envs.grid.objects import NUM_STATUSES, Bus, WorldObject
from meta_explore_envs.grid.scene import GridScene
from meta_explore_envs.grid.world import STEP_COST, GridEpisodeEnv

#: The 24 permutations of four destinations, in ``itertools.permutations`` order.
PERMUTATIONS: tuple[tuple[int, ...], ...] = tuple(itertools.permutations(range(4)))

COLOURED_SOURCES = ((4, 5), (5, 4), (3, 4), (4, 3))
COLOURED_DESTINATIONS = ((0, 1), (0, 7), (8, 1), (8, 7))
#: Rendering colour of the bus pair leaving each coloured source.
BUS_COLOURS = ("red", "blue", "orange", "purple")

#: Goal corner of each instruction, and its English name.
GOALS = ((0, 0), (8, 8), (0, 8), (8, 0))
GOAL_NAMES = ("bottom-left", "top-right", "top-left", "bottom-right")
GOAL_REWARD = 100  # hundredths: reaching the goal gives +1 instead of the step cost


def bus_pairs(sources, destinations, permutation, colour) -> dict[tuple[int, int], WorldObject]:
    """Buses from ``sources[i]`` to ``destinations[permutation[i]]``, each with a return bus."""
    objects: dict[tuple[int, int], WorldObject] = {}
    for i, source in enumerate(sources):
        destination = destinations[permutation[i]]
        name = colour[i] if isinstance(colour, tuple) else colour
        objects[source] = Bus(destination, name)
        objects[destination] = Bus(source, name)
    return objects


def coloured_buses(permutation: int) -> dict[tuple[int, int], WorldObject]:
    """The four coloured bus pairs of permutation ``permutation`` (0..23) of the destinations."""
    return bus_pairs(COLOURED_SOURCES, COLOURED_DESTINATIONS, PERMUTATIONS[permutation], BUS_COLOURS)


class BusGridEnv(GridEpisodeEnv):
    """Base of the bus grids: layout of the coloured buses, goal-corner instructions, reward.

    Subclasses add objects (grey buses, the map) and say how problem IDs map to layouts.
    """

    width = height = 9
    start = (4, 4)
    #: Extra observation entries after ``[x, y, status]`` (the map value in MetaMap).
    extra_observation_nvec: ClassVar[tuple[int, ...]] = ()
    #: Per class: problem_id -> observation array of each cell (copied on every step).
    _cell_observation_cache: ClassVar[dict[int, list[np.ndarray]]]

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        cls._cell_observation_cache = {}

    def __init__(self, split: str = "train", render_mode: str | None = None):
        super().__init__(split=split, render_mode=render_mode)
        nvec = (self.width, self.height, NUM_STATUSES, *self.extra_observation_nvec)
        self.state_space = spaces.MultiDiscrete(nvec)
        self.instruction_space = spaces.Discrete(len(GOALS))
        self.observation_space = spaces.Dict(
            {"observation": self.state_space, "instruction": spaces.Discrete(len(GOALS) + 1)}
        )
        self._cell_observations: list[np.ndarray] = []
        self._goal: tuple[int, int] | None = None

    # ------------------------------------------------------------------ problems
    def extra_observation(self, x: int, y: int) -> tuple[int, ...]:
        """Entries after ``[x, y, status]`` at cell ``(x, y)`` of the current problem."""
        return ()

    def set_problem(self, problem_id: int) -> None:
        super().set_problem(problem_id)
        table = self._cell_observation_cache.get(problem_id)
        if table is None:
            table = [
                np.array((x, y, self.status_at(x, y), *self.extra_observation(x, y)), dtype=np.int64)
                for y in range(self.height)
                for x in range(self.width)
            ]
            self._cell_observation_cache[problem_id] = table
        self._cell_observations = table

    # ------------------------------------------------------------------ instructions
    def instruction_distribution(self) -> dict[Hashable, float]:
        return {goal: 1 / len(GOALS) for goal in range(len(GOALS))}

    instruction_draws = (len(GOALS),)

    def instruction_from_draws(self, draws: tuple[int, ...]) -> int:
        return draws[0]

    def check_instruction(self, instruction: Any) -> int:
        names = ", ".join(f"{i} {name} {GOALS[i]}" for i, name in enumerate(GOAL_NAMES))
        return as_index("instruction", instruction, len(GOALS), f" ({names})")

    def instruction_text(self, instruction: Hashable | None) -> str:
        return "" if instruction is None else f"go to the {GOAL_NAMES[instruction]} corner"

    @property
    def instruction_sentinel(self) -> int:
        return len(GOALS)

    def instruction_observation(self, instruction: Hashable | None) -> int:
        return len(GOALS) if instruction is None else instruction

    # ------------------------------------------------------------------ dynamics
    def begin_episode(self, instruction: Hashable | None) -> None:
        super().begin_episode(instruction)
        self._goal = None if instruction is None else GOALS[instruction]

    def scene(self) -> GridScene:
        return dataclasses.replace(super().scene(), goal=self._goal)

    def reward(self, action: int) -> tuple[int, bool]:
        if self._goal is not None and self._goal[0] == self.x and self._goal[1] == self.y:
            return GOAL_REWARD, True
        return STEP_COST, False

    def state_observation(self) -> np.ndarray:
        return self._cell_observations[self.y * self.width + self.x].copy()

    @property
    def state(self) -> tuple[int, int, int]:
        return (self.x, self.y, self._steps)

    @state.setter
    def state(self, value: tuple[int, int, int]) -> None:
        self.x, self.y, self._steps = value

    @property
    def core_state(self) -> tuple[int, int]:
        return (self.x, self.y)

    @core_state.setter
    def core_state(self, value: tuple[int, int]) -> None:
        self.x, self.y = value
