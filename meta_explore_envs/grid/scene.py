"""What the grid renderer draws: the small, documented drawing interface of grid families.

A :class:`~meta_explore_envs.grid.world.GridEpisodeEnv` describes its current state as a
:class:`GridScene` (:meth:`~meta_explore_envs.grid.world.GridEpisodeEnv.scene`); the
renderer (:mod:`meta_explore_envs.grid.render`) reads only that, never the env itself. A
family with more to show (a goal cell, an inventory, a pot's contents) fills the optional
fields in its own ``scene()``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from meta_explore_envs.grid.objects import EMPTY, WorldObject


@dataclass(frozen=True)
class GridScene:
    """One grid frame's content. Coordinates are ``(x, y)`` cells, y up."""

    width: int
    height: int
    agent: tuple[int, int]
    """The agent's cell."""
    objects: Mapping[tuple[int, int], WorldObject]
    """The objects on the grid by cell."""
    trail: tuple[tuple[int, int], ...] = ()
    """Cells visited this episode, in order (empty unless the env records its trail)."""
    goal: tuple[int, int] | None = None
    """The instructed goal cell, if the family has one and the episode has an instruction."""
    held: int = EMPTY
    """Ingredient code the agent holds (``EMPTY``: nothing), drawn beside the agent."""
    pot: tuple[int, ...] = ()
    """Ingredient codes in the pot's slots (``EMPTY``: a free slot), drawn on the pot."""


__all__ = ["GridScene"]
