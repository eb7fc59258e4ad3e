"""The MetaSign3D world as plain numbers (no OpenGL): rooms, objects, sign, start, actions.

Coordinates are MiniWorld's: x to the east, z to the south, y up, in metres. A heading of
0 faces east (+x) and 90 degrees faces north (-z); turning left adds 45 degrees. Used by
the env, the MiniWorld world, the top-down map and the planner, so that the layout is
written once.
"""

from __future__ import annotations

import math
from typing import NamedTuple

from meta_explore_envs.envs.sign3d_textures import SIGN_WORDS

#: Colour names, indexed by problem ID (the colour the sign names) and by object colour.
COLOUR_NAMES = ("blue", "red", "green")
#: Object shapes, indexed by instruction.
SHAPE_NAMES = ("box", "key")
BOX, KEY = 0, 1

#: Rooms as (min_x, max_x, min_z, max_z): the top room (10 x 6.5) and, behind a 0.25 m
#: barrier, the bottom-left and bottom-right rooms.
BARRIER_Z = (6.5, 6.75)
ROOMS = ((0.0, 10.0, 0.0, 6.5), (0.0, 6.0, 6.75, 13.0), (6.0, 10.0, 6.75, 13.0))
#: The gap in the barrier, from the top room into the bottom-left room (x range).
TOP_LEFT_OPENING = (2.5, 4.5)
#: The opening between the bottom-left and bottom-right rooms (z range of the wall x = 6),
#: at the far end, so that the sign is out of sight until the agent is deep in the bottom rooms.
BOTTOM_OPENING = (10.5, 13.0)


class PlacedObject(NamedTuple):
    shape: int  # BOX or KEY
    colour: int  # index into COLOUR_NAMES
    x: float
    z: float
    facing: float  # radians; only the looks


#: The six objects at fixed places (the positions of MiniWorld's ``Sign`` env).
OBJECTS = (
    PlacedObject(BOX, 0, 1.0, 1.0, 0.0),
    PlacedObject(BOX, 1, 9.0, 1.0, 0.0),
    PlacedObject(BOX, 2, 9.0, 5.0, 0.0),
    PlacedObject(KEY, 0, 5.0, 1.0, math.pi / 2),
    PlacedObject(KEY, 1, 1.0, 5.0, 0.0),
    PlacedObject(KEY, 2, 1.0, 9.0, 0.0),
)

#: The sign: centred on the east wall of the bottom-right room, facing west (into the room).
SIGN_POS = (10.0, 1.4, 9.875)
SIGN_DIR = math.pi
SIGN_WIDTH = 4.4  # metres; the height follows the texture's aspect (1.56 m)

#: The start region and heading range (uniform).
START_X = (4.0, 5.0)
START_Z = (4.0, 6.0)
START_HEADING = (-math.pi, math.pi)

#: Actions.
TURN_LEFT, TURN_RIGHT, FORWARD, END_EPISODE = 0, 1, 2, 3
ACTION_NAMES = ("turn left", "turn right", "forward", "end episode")
TURN_DEGREES = 45
TURN = math.radians(TURN_DEGREES)
HEADINGS = 360 // TURN_DEGREES  # turns are counted modulo 8
FORWARD_STEP = 0.7
MAX_STEPS = 20

#: Observation size (width x height).
OBS_WIDTH, OBS_HEIGHT = 80, 60

__all__ = [
    "BARRIER_Z", "BOX", "COLOUR_NAMES", "END_EPISODE", "FORWARD", "FORWARD_STEP", "HEADINGS", "KEY", "MAX_STEPS",
    "OBJECTS", "OBS_HEIGHT", "OBS_WIDTH", "PlacedObject", "ROOMS", "SHAPE_NAMES", "SIGN_DIR", "SIGN_POS",
    "SIGN_WIDTH", "SIGN_WORDS", "START_HEADING", "START_X", "START_Z", "TOP_LEFT_OPENING", "TURN", "TURN_DEGREES",
    "TURN_LEFT", "TURN_RIGHT", "ACTION_NAMES",
]
