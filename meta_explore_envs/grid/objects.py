"""Objects that can stand on a grid cell, and the status code each one shows the agent."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

#: Status codes of the ``status`` observation entry (object at the agent's cell).
STATUS_NONE, STATUS_BUS, STATUS_POT, STATUS_FRIDGE = 0, 1, 2, 3
NUM_STATUSES = 4

#: Ingredient codes: 0..3 are ingredients, 4 means "nothing" (empty inventory or pot slot).
INGREDIENT_NAMES = ("red", "green", "blue", "yellow")
EMPTY = len(INGREDIENT_NAMES)


@dataclass(frozen=True)
class WorldObject:
    """Something at a cell. ``status`` is what the agent observes when standing on it."""

    status: ClassVar[int] = STATUS_NONE


@dataclass(frozen=True)
class Bus(WorldObject):
    """Riding it teleports the agent to ``destination``. ``colour`` only matters for rendering
    ("grey" marks the distractor buses)."""

    destination: tuple[int, int]
    colour: str
    status: ClassVar[int] = STATUS_BUS


@dataclass(frozen=True)
class Pot(WorldObject):
    """Dropping an ingredient here fills the pot's next free slot; picking up empties it."""

    status: ClassVar[int] = STATUS_POT


@dataclass(frozen=True)
class Fridge(WorldObject):
    """Picking up here fills the inventory with ``ingredient`` (0..3)."""

    ingredient: int
    status: ClassVar[int] = STATUS_FRIDGE


@dataclass(frozen=True)
class MapSheet(WorldObject):
    """The map of MetaMap: standing on it reveals the problem ID. Its status reads as none."""

    status: ClassVar[int] = STATUS_NONE
