"""The MetaSign3D sign textures: BLUE, RED, GREEN in bold block letters, black on white.

MiniWorld's own ``TextFrame`` glyphs are thin handwriting that is unreadable at 80x60, so
the signs use a 5x7 block font drawn here. The PNGs shipped in ``textures/`` are exactly
what :func:`sign_image` draws (a test checks it); regenerate them with::

    python -m meta_explore_envs.envs.sign3d_textures

All three signs have the same size and border, and the letters the same size, so only the
word tells the problems apart (a wider sign for GREEN would give the colour away from afar).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

#: Sign word of each problem (problem ID = index).
SIGN_WORDS = ("BLUE", "RED", "GREEN")

#: 5x7 block glyphs of the letters the signs need ('#' = ink).
GLYPHS: dict[str, tuple[str, ...]] = {
    "B": ("####.", "#...#", "#...#", "####.", "#...#", "#...#", "####."),
    "L": ("#....", "#....", "#....", "#....", "#....", "#....", "#####"),
    "U": ("#...#", "#...#", "#...#", "#...#", "#...#", "#...#", ".###."),
    "E": ("#####", "#....", "#....", "####.", "#....", "#....", "#####"),
    "R": ("####.", "#...#", "#...#", "####.", "#.#..", "#..#.", "#...#"),
    "D": ("####.", "#...#", "#...#", "#...#", "#...#", "#...#", "####."),
    "G": (".###.", "#...#", "#....", "#.###", "#...#", "#...#", ".###."),
    "N": ("#...#", "##..#", "#.#.#", "#..##", "#...#", "#...#", "#...#"),
}
GLYPH_W, GLYPH_H = 5, 7

#: The sign is a grid of square cells: the longest word (GREEN: 5 glyphs + 4 gaps = 29
#: cells) plus a one-cell margin each side, and the glyph height plus two cells above and below.
SIGN_COLS = 31
SIGN_ROWS = 11
CELL_PIXELS = 16
BORDER_PIXELS = 4
INK = (0, 0, 0)
PAPER = (255, 255, 255)
BORDER = (60, 60, 60)

TEXTURE_DIR = Path(__file__).with_name("textures")


def sign_image(word: str) -> np.ndarray:
    """The sign showing ``word`` as an (H, W, 3) uint8 image (H = 11 cells, W = 31 cells)."""
    cols = len(word) * (GLYPH_W + 1) - 1
    if cols > SIGN_COLS - 2:
        raise ValueError(f"word={word!r} is too long for the sign: at most 5 letters")
    cells = np.zeros((SIGN_ROWS, SIGN_COLS), dtype=bool)
    left = (SIGN_COLS - cols) // 2
    top = (SIGN_ROWS - GLYPH_H) // 2
    for i, letter in enumerate(word):
        glyph = GLYPHS[letter]
        for row, line in enumerate(glyph):
            for col, ch in enumerate(line):
                if ch == "#":
                    cells[top + row, left + i * (GLYPH_W + 1) + col] = True
    ink = np.kron(cells, np.ones((CELL_PIXELS, CELL_PIXELS), dtype=bool))
    image = np.empty(ink.shape + (3,), dtype=np.uint8)
    image[...] = PAPER
    image[ink] = INK
    b = BORDER_PIXELS
    image[:b], image[-b:], image[:, :b], image[:, -b:] = BORDER, BORDER, BORDER, BORDER
    return image


def texture_path(problem_id: int) -> Path:
    """Path of the shipped PNG of problem ``problem_id``'s sign."""
    return TEXTURE_DIR / f"sign_{SIGN_WORDS[problem_id].lower()}.png"


def write_textures() -> list[Path]:
    """(Re)write the shipped sign PNGs from :func:`sign_image`."""
    import imageio.v3 as iio

    TEXTURE_DIR.mkdir(exist_ok=True)
    paths = []
    for problem_id, word in enumerate(SIGN_WORDS):
        path = texture_path(problem_id)
        iio.imwrite(path, sign_image(word))
        paths.append(path)
    return paths


if __name__ == "__main__":
    for written in write_textures():
        print(written)
