"""Drawing helpers shared by the families: a pygame canvas, a window, frame layout and GIFs.

pygame draws off-screen without a display; only :class:`Window` (``render_mode="human"``)
opens one.
"""

from __future__ import annotations

import os
from collections.abc import Sequence

import numpy as np

from meta_explore_envs.files import atomic_path
from meta_explore_envs.optional import require

os.environ.setdefault("PYGAME_HIDE_SUPPORT_PROMPT", "1")

#: Named colours (RGB) used by every renderer, so that a colour means the same everywhere.
COLOURS: dict[str, tuple[int, int, int]] = {
    "background": (245, 245, 240),
    "floor": (228, 228, 220),
    "grid": (190, 190, 182),
    "text": (20, 20, 20),
    "panel": (255, 255, 255),
    "goal": (60, 180, 75),
    "agent": (25, 25, 25),
    "grey": (150, 150, 150),
    "red": (220, 50, 47),
    "green": (70, 170, 70),
    "blue": (38, 110, 210),
    "yellow": (235, 200, 30),
    "orange": (240, 140, 30),
    "purple": (140, 80, 180),
    "white": (255, 255, 255),
    "pot": (70, 70, 75),
    "map": (215, 190, 130),
    "trail": (90, 90, 200),
}

FONT_SIZE = 20
LINE_HEIGHT = 22


def _pygame():
    pygame = require("pygame", "render")

    if not pygame.font.get_init():
        pygame.font.init()
    return pygame


class Canvas:
    """An off-screen RGB drawing surface with a text panel on top."""

    def __init__(self, width: int, height: int):
        pygame = _pygame()
        self.pygame = pygame
        self.surface = pygame.Surface((width, height))
        self.width, self.height = width, height
        self._fonts: dict[int, object] = {}

    def font(self, size: int = FONT_SIZE):
        if size not in self._fonts:
            self._fonts[size] = self.pygame.font.Font(None, size)
        return self._fonts[size]

    def fill(self, colour: str | tuple[int, int, int]) -> None:
        self.surface.fill(COLOURS.get(colour, colour) if isinstance(colour, str) else colour)

    def rect(self, colour, x: float, y: float, w: float, h: float, width: int = 0, radius: int = 0) -> None:
        colour = COLOURS[colour] if isinstance(colour, str) else colour
        self.pygame.draw.rect(self.surface, colour, (round(x), round(y), round(w), round(h)), width,
                              border_radius=radius)

    def circle(self, colour, cx: float, cy: float, r: float, width: int = 0) -> None:
        colour = COLOURS[colour] if isinstance(colour, str) else colour
        self.pygame.draw.circle(self.surface, colour, (round(cx), round(cy)), round(r), width)

    def line(self, colour, start: tuple[float, float], end: tuple[float, float], width: int = 1) -> None:
        colour = COLOURS[colour] if isinstance(colour, str) else colour
        self.pygame.draw.line(self.surface, colour, start, end, width)

    def polygon(self, colour, points: Sequence[tuple[float, float]]) -> None:
        colour = COLOURS[colour] if isinstance(colour, str) else colour
        self.pygame.draw.polygon(self.surface, colour, points)

    def text(self, text: str, x: float, y: float, size: int = FONT_SIZE, colour="text", center: bool = False) -> None:
        colour = COLOURS[colour] if isinstance(colour, str) else colour
        image = self.font(size).render(text, True, colour)
        if center:
            x -= image.get_width() / 2
            y -= image.get_height() / 2
        self.surface.blit(image, (round(x), round(y)))

    def panel(self, lines: Sequence[str], height: int) -> None:
        """White text panel across the top of the canvas."""
        self.rect("panel", 0, 0, self.width, height)
        self.line("grid", (0, height - 1), (self.width, height - 1), 2)
        for i, line in enumerate(lines):
            self.text(line, 8, 6 + i * LINE_HEIGHT)

    def blit_array(self, frame: np.ndarray, x: int, y: int) -> None:
        """Draw an (H, W, 3) uint8 image at (x, y)."""
        image = self.pygame.surfarray.make_surface(np.ascontiguousarray(frame.swapaxes(0, 1)))
        self.surface.blit(image, (x, y))

    def to_array(self) -> np.ndarray:
        """The canvas as an (H, W, 3) uint8 array."""
        return np.ascontiguousarray(self.pygame.surfarray.pixels3d(self.surface).swapaxes(0, 1))


def panel_height(num_lines: int) -> int:
    return 10 + num_lines * LINE_HEIGHT


def side_by_side(frames: Sequence[np.ndarray], gap: int = 6) -> np.ndarray:
    """Frames of possibly different sizes next to each other on a white background."""
    height = max(f.shape[0] for f in frames)
    width = sum(f.shape[1] for f in frames) + gap * (len(frames) - 1)
    out = np.full((height, width, 3), 255, dtype=np.uint8)
    x = 0
    for frame in frames:
        out[: frame.shape[0], x : x + frame.shape[1]] = frame
        x += frame.shape[1] + gap
    return out


def save_gif(path: str | os.PathLike, frames: Sequence[np.ndarray], fps: float = 4) -> None:
    """Write frames (all the same size) as a looping GIF, atomically."""
    iio = require("imageio.v3", "render")
    with atomic_path(path, suffix=".gif") as tmp:
        iio.imwrite(tmp, np.stack(frames), duration=1000 / fps, loop=0)


class FrameRenderMixin:
    """``render()`` for envs that draw RGB frames: return them (``"rgb_array"``) or show them
    in a pygame window (``"human"``). Subclasses implement :meth:`current_frame`."""

    render_mode: str | None
    metadata: dict
    _window: Window | None = None

    def current_frame(self) -> np.ndarray:
        """The frame to render now, (H, W, 3) uint8."""
        raise NotImplementedError

    def window_title(self) -> str:
        return "meta_explore_envs"

    def render(self):
        if self.render_mode is None:
            import gymnasium as gym

            gym.logger.warn("render() called without a render_mode; pass render_mode='rgb_array' or 'human'")
            return None
        frame = self.current_frame()
        if self.render_mode == "rgb_array":
            return frame
        if self._window is None:
            self._window = Window(self.window_title(), self.metadata["render_fps"])
        self._window.show(frame)
        return None

    def close_window(self) -> None:
        if self._window is not None:
            self._window.close()
            self._window = None

    def __getstate__(self):
        state = self.__dict__.copy()
        state["_window"] = None  # pygame windows do not pickle
        return state


class Window:
    """A pygame window showing RGB frames (``render_mode="human"``)."""

    def __init__(self, title: str, fps: float):
        pygame = _pygame()
        pygame.display.init()
        pygame.display.set_caption(title)
        self.pygame = pygame
        self.fps = fps
        self.screen = None
        self.clock = pygame.time.Clock()

    def show(self, frame: np.ndarray) -> None:
        pygame = self.pygame
        size = (frame.shape[1], frame.shape[0])
        if self.screen is None or self.screen.get_size() != size:
            self.screen = pygame.display.set_mode(size)
        pygame.surfarray.blit_array(self.screen, np.ascontiguousarray(frame.swapaxes(0, 1)))
        pygame.event.pump()
        pygame.display.flip()
        self.clock.tick(self.fps)

    def close(self) -> None:
        self.pygame.display.quit()
