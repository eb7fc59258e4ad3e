"""A small grid-world engine: actions, objects, episode dynamics and rendering."""

from meta_explore_envs.grid.objects import (
    EMPTY,
    INGREDIENT_NAMES,
    STATUS_BUS,
    STATUS_FRIDGE,
    STATUS_NONE,
    STATUS_POT,
    Bus,
    Fridge,
    MapSheet,
    Pot,
    WorldObject,
)
from meta_explore_envs.grid.world import ACTION_NAMES, STEP_COST, Action, GridEpisodeEnv

__all__ = [
    "ACTION_NAMES", "Action", "Bus", "EMPTY", "Fridge", "GridEpisodeEnv", "INGREDIENT_NAMES", "MapSheet",
    "Pot", "STATUS_BUS", "STATUS_FRIDGE", "STATUS_NONE", "STATUS_POT", "STEP_COST", "WorldObject",
]
