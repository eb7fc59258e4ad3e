"""A small grid engine: the agent, the 9 actions, objects on cells, observation encoding.

Coordinates are ``(x, y)`` with x to the right and y up; moving off the grid leaves the agent
in place. Every action costs one step. A family subclasses :class:`GridEpisodeEnv`, lays out
its objects per problem (:meth:`GridEpisodeEnv.layout`) and defines the reward
(:meth:`GridEpisodeEnv.reward`); the engine does the rest.
"""

from __future__ import annotations

from collections.abc import Hashable, Sequence
from enum import IntEnum
from typing import Any, ClassVar

import numpy as np

from meta_explore_envs.core import EpisodeEnv
from meta_explore_envs.grid.objects import Bus, Fridge, Pot, WorldObject
from meta_explore_envs.grid.scene import GridScene


class Action(IntEnum):
    """The 9 grid actions (``Discrete(9)``)."""

    LEFT = 0
    UP = 1
    RIGHT = 2
    DOWN = 3
    NOOP = 4
    RIDE = 5
    END_EPISODE = 6
    PICK_UP = 7
    DROP = 8


# The actions as plain ints, for the hot paths (transition, rewards): comparing with an
# IntEnum member costs an enum attribute lookup (~90 ns) per comparison.
RIDE_ACTION, END_ACTION, PICK_UP_ACTION, DROP_ACTION = (
    int(Action.RIDE), int(Action.END_EPISODE), int(Action.PICK_UP), int(Action.DROP))

ACTION_NAMES = ("left", "up", "right", "down", "noop", "ride bus", "end episode", "pick up", "drop")
#: (dx, dy) of the four moves, indexed by action.
MOVES = ((-1, 0), (0, 1), (1, 0), (0, -1))

#: Reward of an ordinary step, in hundredths (see ``core.REWARD_SCALE``).
STEP_COST = -10


class GridEpisodeEnv(EpisodeEnv):
    """One episode on a grid. Subclasses define the layout, observation and reward.

    State: the agent's cell, the step count and whatever the family adds (inventory, pot).
    """

    width: ClassVar[int]
    height: ClassVar[int]
    start: ClassVar[tuple[int, int]]
    action_names = ACTION_NAMES
    end_episode_action = Action.END_EPISODE
    time_homogeneous = True
    tabular = True
    play_keys = {
        "left": Action.LEFT, "up": Action.UP, "right": Action.RIGHT, "down": Action.DOWN,
        "n": Action.NOOP, "space": Action.RIDE, "e": Action.END_EPISODE, "p": Action.PICK_UP, "d": Action.DROP,
    }

    #: Per class: problem_id -> list of objects indexed by cell (``y * width + x``).
    _layout_cache: ClassVar[dict[int, list[WorldObject | None]]]

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        cls._layout_cache = {}

    def __init__(self, split: str = "train", render_mode: str | None = None):
        super().__init__(split=split, render_mode=render_mode)
        self.x, self.y = self.start
        self._steps = 0
        self._objects: list[WorldObject | None] = [None] * (self.width * self.height)
        #: Cells visited in the current episode, in order (only while ``record_trail``).
        self.trail: list[tuple[int, int]] = []
        self._renderer = None

    # ------------------------------------------------------------------ family hooks
    def layout(self, problem_id: int) -> dict[tuple[int, int], WorldObject]:
        """Objects of problem ``problem_id`` by cell."""
        raise NotImplementedError

    def reward(self, action: int) -> tuple[int, bool]:
        """Reward (hundredths) and success of the step just taken, from the new state."""
        raise NotImplementedError

    def pick_up(self, obj: WorldObject | None) -> None:
        """Effect of ``pick up`` on the agent's cell (nothing, unless the family says so)."""

    def drop(self, obj: WorldObject | None) -> None:
        """Effect of ``drop`` on the agent's cell (nothing, unless the family says so)."""

    # ------------------------------------------------------------------ engine
    def objects_of(self, problem_id: int) -> list[WorldObject | None]:
        """Objects of a problem indexed by cell, built once per class and problem."""
        cells = self._layout_cache.get(problem_id)
        if cells is None:
            cells = [None] * (self.width * self.height)
            for (x, y), obj in self.layout(problem_id).items():
                cells[y * self.width + x] = obj
            self._layout_cache[problem_id] = cells
        return cells

    def set_problem(self, problem_id: int) -> None:
        self.problem_id = problem_id
        self._objects = self.objects_of(problem_id)

    def object_at(self, x: int, y: int) -> WorldObject | None:
        return self._objects[y * self.width + x]

    def begin_episode(self, instruction: Hashable | None) -> None:
        self.instruction = instruction
        self.x, self.y = self.start
        self._steps = 0
        self.trail = [self.start] if self.record_trail else []

    @property
    def steps_taken(self) -> int:
        return self._steps

    @steps_taken.setter
    def steps_taken(self, value: int) -> None:
        self._steps = value

    def end_episode_charge(self, remaining: int) -> int:
        # Ending early costs what idling until the time limit would have cost.
        return STEP_COST * remaining

    def transition(self, action: int) -> tuple[int, bool, bool]:
        self._steps += 1
        if action < 4:
            dx, dy = MOVES[action]
            x, y = self.x + dx, self.y + dy
            if 0 <= x < self.width and 0 <= y < self.height:
                self.x, self.y = x, y
        elif action == RIDE_ACTION:
            obj = self._objects[self.y * self.width + self.x]
            if isinstance(obj, Bus):
                self.x, self.y = obj.destination
        elif action == PICK_UP_ACTION:
            self.pick_up(self._objects[self.y * self.width + self.x])
        elif action == DROP_ACTION:
            self.drop(self._objects[self.y * self.width + self.x])
        if self.record_trail:
            self.trail.append((self.x, self.y))
        reward, success = self.reward(action)
        remaining = self.max_episode_steps - self._steps
        if action == END_ACTION:
            return reward + self.end_episode_charge(remaining), True, success
        return reward, success or remaining <= 0, success

    def status_at(self, x: int, y: int) -> int:
        obj = self._objects[y * self.width + x]
        return 0 if obj is None else obj.status

    # ------------------------------------------------------------------ rendering
    def scene(self) -> GridScene:
        """What a frame shows now (the renderer reads nothing else). Families that show more
        (a goal, an inventory, a pot) extend it with ``dataclasses.replace``."""
        cells = self._objects
        return GridScene(
            width=self.width, height=self.height, agent=(self.x, self.y),
            objects={(i % self.width, i // self.width): obj for i, obj in enumerate(cells) if obj is not None},
            trail=tuple(self.trail),
        )

    def render_frame(self, lines: Sequence[str] = ()) -> np.ndarray:
        if self._renderer is None:
            from meta_explore_envs.grid.render import GridRenderer

            self._renderer = GridRenderer(self.width, self.height)
        return self._renderer.render(self.scene(), lines)

    def __getstate__(self):
        state = super().__getstate__()
        state["_renderer"] = None  # pygame surfaces do not pickle
        return state


__all__ = ["Action", "ACTION_NAMES", "Bus", "DROP_ACTION", "END_ACTION", "Fridge", "GridEpisodeEnv", "MOVES",
           "PICK_UP_ACTION", "Pot", "RIDE_ACTION", "STEP_COST"]
