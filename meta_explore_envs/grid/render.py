"""Draws a grid episode for people: cells, objects, goal, agent, inventory, pot, text panel."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from meta_explore_envs.grid.objects import EMPTY, INGREDIENT_NAMES, Bus, Fridge, MapSheet, Pot
from meta_explore_envs.grid.scene import GridScene
from meta_explore_envs.rendering import Canvas, panel_height

GRID_PIXELS = 450  # side of the square grid area
MARGIN = 15
PANEL_LINES = 3


class GridRenderer:
    """Renders a :class:`~meta_explore_envs.grid.scene.GridScene` into a fixed-size RGB frame."""

    def __init__(self, width: int, height: int):
        self.cols, self.rows = width, height
        self.cell = GRID_PIXELS // max(width, height)
        self.top = panel_height(PANEL_LINES)
        self.canvas = Canvas(2 * MARGIN + self.cell * width, self.top + 2 * MARGIN + self.cell * height)

    def cell_rect(self, x: int, y: int) -> tuple[float, float, float, float]:
        """Pixel rectangle of grid cell (x, y); y grows upwards in the world, downwards on screen."""
        return (MARGIN + x * self.cell, self.top + MARGIN + (self.rows - 1 - y) * self.cell, self.cell, self.cell)

    def render(self, scene: GridScene, lines: Sequence[str]) -> np.ndarray:
        c = self.canvas
        c.fill("background")
        c.panel(list(lines)[:PANEL_LINES], self.top)
        goal = scene.goal
        for y in range(self.rows):
            for x in range(self.cols):
                px, py, w, h = self.cell_rect(x, y)
                c.rect("goal" if goal == (x, y) else "floor", px + 1, py + 1, w - 2, h - 2)
                if goal == (x, y):
                    c.text("GOAL", px + w / 2, py + h / 2, size=max(14, self.cell // 3), colour="white", center=True)
        self.draw_trail(scene.trail)  # under the objects, so that they stay readable
        for (x, y), obj in scene.objects.items():
            self.draw_object(scene, obj, *self.cell_rect(x, y)[:2])
        self.draw_agent(scene)
        return c.to_array()

    def centre(self, cell: tuple[int, int]) -> tuple[float, float]:
        px, py, w, h = self.cell_rect(*cell)
        return px + w / 2, py + h / 2

    def draw_trail(self, trail: Sequence[tuple[int, int]]) -> None:
        """The episode's path: walks as lines between cells, bus rides as long jumps."""
        c = self.canvas
        for a, b in zip(trail, trail[1:]):
            if a != b:
                c.line("trail", self.centre(a), self.centre(b), 3)
        for cell in set(trail):
            c.circle("trail", *self.centre(cell), 5)

    def draw_object(self, scene: GridScene, obj, px: float, py: float) -> None:
        c, s = self.canvas, self.cell
        if isinstance(obj, Bus):
            c.rect(obj.colour, px + s * 0.12, py + s * 0.22, s * 0.76, s * 0.5, radius=max(2, s // 8))
            for i in range(3):  # windows
                c.rect("white", px + s * (0.2 + 0.2 * i), py + s * 0.3, s * 0.14, s * 0.16)
            c.circle("agent", px + s * 0.3, py + s * 0.74, s * 0.07)
            c.circle("agent", px + s * 0.7, py + s * 0.74, s * 0.07)
        elif isinstance(obj, MapSheet):
            c.rect("map", px + s * 0.15, py + s * 0.15, s * 0.7, s * 0.7, radius=3)
            c.text("MAP", px + s / 2, py + s / 2, size=max(14, s // 3), center=True)
        elif isinstance(obj, Fridge):
            c.rect("white", px + s * 0.2, py + s * 0.08, s * 0.6, s * 0.84, radius=max(2, s // 12))
            c.rect("grid", px + s * 0.2, py + s * 0.08, s * 0.6, s * 0.84, width=2, radius=max(2, s // 12))
            c.circle(INGREDIENT_NAMES[obj.ingredient], px + s * 0.5, py + s * 0.5, s * 0.16)
            c.text("fridge", px + s / 2, py + s * 0.82, size=max(12, s // 6), center=True)
        elif isinstance(obj, Pot):
            c.circle("pot", px + s / 2, py + s / 2, s * 0.4)
            for i, ingredient in enumerate(scene.pot):
                cx = px + s * (0.28 + 0.22 * i)
                if ingredient == EMPTY:
                    c.circle("grid", cx, py + s / 2, s * 0.08, width=2)
                else:
                    c.circle(INGREDIENT_NAMES[ingredient], cx, py + s / 2, s * 0.09)

    def draw_agent(self, scene: GridScene) -> None:
        c, s = self.canvas, self.cell
        px, py, _, _ = self.cell_rect(*scene.agent)
        cx, cy = px + s / 2, py + s / 2
        # A ring, so that the object under the agent (bus, pot, fridge) stays visible.
        c.circle("agent", cx, cy, s * 0.42, width=max(3, s // 14))
        if scene.held != EMPTY:
            c.circle("agent", cx + s * 0.3, cy - s * 0.3, s * 0.13)
            c.circle(INGREDIENT_NAMES[scene.held], cx + s * 0.3, cy - s * 0.3, s * 0.1)
