"""Draws a MetaSign3D episode for people: first-person view beside a top-down map.

The view is rendered at 400 x 300 with the agent's actual 80 x 60 observation inset
(top-left, shown at 2x). The map shows the rooms and barrier, the start region, the six
objects (the instructed one ringed in gold), the sign in its colour with its word, the
agent's path this episode and the agent with its field of view.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any, Protocol

import numpy as np

from meta_explore_envs.envs import sign3d_layout as layout
from meta_explore_envs.envs.sign3d_world import VIEW_HEIGHT as VIEW_H
from meta_explore_envs.envs.sign3d_world import VIEW_WIDTH as VIEW_W
from meta_explore_envs.rendering import COLOURS, Canvas, panel_height


class Sign3DScene(Protocol):
    """What the renderer reads of a MetaSign3D episode (the drawing interface; the env
    :class:`~meta_explore_envs.envs.sign3d.Sign3DEnv` provides it)."""

    problem_id: int | None
    """The sign's colour index (``None`` before the first reset; drawn as problem 0)."""
    instruction: int | None
    """The instructed shape (``None``: no instruction)."""
    touched: int | None
    """Index into ``layout.OBJECTS`` of the object touched this episode, if any."""
    trail: list[tuple[float, float]]
    """The agent's (x, z) positions this episode, in metres."""


    @property
    def position(self) -> tuple[float, float]:
        """The agent's (x, z) in metres."""

    @property
    def heading(self) -> float:
        """The agent's heading in radians."""

    @property
    def world(self) -> Any:
        """The :class:`~meta_explore_envs.envs.sign3d_world.SignWorld` (walls, large views)."""

    def state_observation(self) -> np.ndarray:
        """The agent's 80x60 RGB observation."""


INSET_SCALE = 2
MAP_SCALE = 24.0  # pixels per metre
MARGIN = 8
PANEL_LINES = 4
WALL = (70, 70, 75)
PATH = (90, 90, 200)
TARGET = (255, 190, 0)
#: Half the horizontal field of view (60 degrees vertical at 4:3).
HALF_FOV = math.atan(math.tan(math.radians(30)) * layout.OBS_WIDTH / layout.OBS_HEIGHT)

_MIN_X = min(r[0] for r in layout.ROOMS)
_MAX_X = max(r[1] for r in layout.ROOMS)
_MIN_Z = min(r[2] for r in layout.ROOMS)
_MAX_Z = max(r[3] for r in layout.ROOMS)
MAP_W = round((_MAX_X - _MIN_X) * MAP_SCALE) + 2 * MARGIN
MAP_H = round((_MAX_Z - _MIN_Z) * MAP_SCALE) + 2 * MARGIN


class Sign3DRenderer:
    """Renders a :class:`~meta_explore_envs.envs.sign3d.Sign3DEnv` (any :class:`Sign3DScene`) into a
    fixed-size frame."""

    def __init__(self):
        self.top = panel_height(PANEL_LINES)
        body = max(VIEW_H, MAP_H)
        self.view_x = MARGIN
        self.map_x = MARGIN + VIEW_W + MARGIN
        self.body_y = self.top + MARGIN
        self.canvas = Canvas(self.map_x + MAP_W + MARGIN, self.body_y + body + MARGIN)

    # ------------------------------------------------------------------ coordinates
    def to_px(self, x: float, z: float) -> tuple[float, float]:
        return (self.map_x + MARGIN + (x - _MIN_X) * MAP_SCALE, self.body_y + MARGIN + (z - _MIN_Z) * MAP_SCALE)

    def rect_m(self, colour, x0: float, x1: float, z0: float, z1: float, width: int = 0) -> None:
        px, py = self.to_px(x0, z0)
        self.canvas.rect(colour, px, py, (x1 - x0) * MAP_SCALE, (z1 - z0) * MAP_SCALE, width)

    # ------------------------------------------------------------------ drawing
    def render(self, env: Sign3DScene, lines: Sequence[str]) -> np.ndarray:
        c = self.canvas
        c.fill("background")
        problem = env.problem_id if env.problem_id is not None else 0
        word = layout.SIGN_WORDS[problem]
        colour = layout.COLOUR_NAMES[problem]
        if env.instruction is None:
            task = "no instruction"
        else:
            shape = layout.SHAPE_NAMES[env.instruction]
            task = f"instruction: {shape}  ->  target: {colour} {shape}"
        c.panel(list(lines)[: PANEL_LINES - 1] + [f"sign says {word}   {task}"], self.top)
        self.draw_view(env, problem)
        self.draw_map(env, problem)
        return c.to_array()

    def draw_view(self, env: Sign3DScene, problem: int) -> None:
        c = self.canvas
        x, z = env.position
        view = env.world.large_view(problem, x, z, env.heading)
        c.blit_array(view, self.view_x, self.body_y)
        obs = env.state_observation()
        inset = np.kron(obs, np.ones((INSET_SCALE, INSET_SCALE, 1), dtype=np.uint8))
        c.rect("white", self.view_x, self.body_y, inset.shape[1] + 4, inset.shape[0] + 4)
        c.blit_array(inset, self.view_x + 2, self.body_y + 2)
        c.rect("text", self.view_x, self.body_y + inset.shape[0] + 4, inset.shape[1] + 4, 18)
        c.text("agent's 80x60 view", self.view_x + 4, self.body_y + inset.shape[0] + 6, size=16, colour="white")

    def draw_map(self, env: Sign3DScene, problem: int) -> None:
        c = self.canvas
        c.rect(WALL, self.map_x, self.body_y, MAP_W, MAP_H)
        for x0, x1, z0, z1 in layout.ROOMS:
            self.rect_m("floor", x0, x1, z0, z1)
        self.rect_m("floor", *layout.TOP_LEFT_OPENING, *layout.BARRIER_Z)
        for (ax, _, az), (bx, _, bz) in env.world.wall_segs:  # walls, incl. between the bottom rooms
            c.line(WALL, self.to_px(ax, az), self.to_px(bx, bz), 4)
        self.rect_m("grid", *layout.START_X, *layout.START_Z, width=1)
        # The sign on the east wall, in the colour it names, with its word beside it.
        sx, _, sz = layout.SIGN_POS
        half = layout.SIGN_WIDTH / 2
        colour = layout.COLOUR_NAMES[problem]
        self.rect_m(colour, sx - 0.25, sx, sz - half, sz + half)
        tx, tz = self.to_px(sx - 1.3, sz)
        c.text(layout.SIGN_WORDS[problem], tx, tz, size=22, colour=colour, center=True)
        for index, obj in enumerate(layout.OBJECTS):
            self.draw_object(obj, target=env.instruction == obj.shape and obj.colour == problem,
                             touched=env.touched == index)
        self.draw_trail(env)
        self.draw_agent(env)

    def draw_object(self, obj: layout.PlacedObject, target: bool, touched: bool) -> None:
        c = self.canvas
        px, py = self.to_px(obj.x, obj.z)
        colour = COLOURS[layout.COLOUR_NAMES[obj.colour]]
        if target:
            c.circle(TARGET, px, py, 0.75 * MAP_SCALE, width=3)
        if touched:
            c.circle("text", px, py, 0.95 * MAP_SCALE, width=2)
        if obj.shape == layout.BOX:
            half = 0.4 * MAP_SCALE
            c.rect(colour, px - half, py - half, 2 * half, 2 * half)
        else:  # a key: ring, shaft and two teeth
            r = 0.18 * MAP_SCALE
            c.circle(colour, px - 0.25 * MAP_SCALE, py, r, width=3)
            c.line(colour, (px - 0.25 * MAP_SCALE + r, py), (px + 0.4 * MAP_SCALE, py), 3)
            for dx in (0.2, 0.35):
                c.line(colour, (px + dx * MAP_SCALE, py), (px + dx * MAP_SCALE, py + 0.15 * MAP_SCALE), 3)

    def draw_trail(self, env: Sign3DScene) -> None:
        points = [self.to_px(x, z) for x, z in env.trail]
        if len(points) >= 2:
            self.canvas.pygame.draw.lines(self.canvas.surface, PATH, False, points, 2)
        for p in points:
            self.canvas.circle(PATH, p[0], p[1], 2.5)

    def draw_agent(self, env: Sign3DScene) -> None:
        c = self.canvas
        x, z = env.position
        h = env.heading

        def ahead(angle: float, dist: float) -> tuple[float, float]:
            return self.to_px(x + dist * math.cos(angle), z - dist * math.sin(angle))

        for side in (-1, 1):  # field of view
            c.line("grey", self.to_px(x, z), ahead(h + side * HALF_FOV, 1.6), 1)
        c.circle("agent", *self.to_px(x, z), 0.4 * MAP_SCALE, width=1)  # the agent's body
        c.polygon("agent", [ahead(h, 0.5), ahead(h + 2.5, 0.35), ahead(h - 2.5, 0.35)])


__all__ = ["Sign3DRenderer"]
