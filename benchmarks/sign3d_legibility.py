"""Is MetaSign3D's sign legible wherever the training logs count it as *seen*?

    python benchmarks/sign3d_legibility.py [--poses 20000]

DREAM's training logs count an exploration episode as having seen the sign when, at one of
its poses, the whole word is in view and not behind a wall (``planning.sign3d.sign_seen``),
however far away. A decoder can only learn the colour from such episodes if the word is then
legible at 80 x 60 pixels. This draws ``--poses`` poses uniformly in the two bottom rooms
(0.3 m from the walls, the 8 headings the agent can face), keeps those from which the whole
word is visible, renders each in the three problems and prints, by distance to the sign, how
many pixels tell the two least different problems apart (a channel differing by more than
100 of 255): the privileged planner calls a view *legible* from 100 such pixels
(``Sign3DPlanner.legible``). About a minute on a free core.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import tyro

from meta_explore_envs.envs.sign3d import Sign3DEnv
from meta_explore_envs.envs.sign3d_layout import HEADINGS, ROOMS, SIGN_POS, TURN
from meta_explore_envs.planning.sign3d import word_fully_visible, world_walls

LEGIBLE_PIXELS = 100  # Sign3DPlanner.legible's default


@dataclass
class Args:
    poses: int = 20000
    """Poses drawn uniformly in the bottom rooms (seed ``seed``)."""
    seed: int = 0


def differing_pixels(views: list[np.ndarray]) -> int:
    """Pixels (some channel off by more than 100) between the two least different of ``views``."""
    pairs = [(a, b) for a in range(len(views)) for b in range(a + 1, len(views))]
    return min(int((np.abs(views[a] - views[b]).max(axis=2) > 100).sum()) for a, b in pairs)


def main(args: Args) -> None:
    walls, world = world_walls(), Sign3DEnv().world
    rng = np.random.default_rng(args.seed)
    rows = []  # (distance to the sign's wall, differing pixels)
    for _ in range(args.poses):
        x0, x1, z0, z1 = ROOMS[rng.integers(1, 3)]
        x, z = rng.uniform(x0 + 0.3, x1 - 0.3), rng.uniform(z0 + 0.3, z1 - 0.3)
        heading = int(rng.integers(0, HEADINGS)) * TURN
        if word_fully_visible(x, z, heading, walls):
            views = [world.observe(problem, x, z, heading).astype(np.int16) for problem in range(3)]
            rows.append((SIGN_POS[0] - x, differing_pixels(views)))
    table = np.array(rows, dtype=float).reshape(-1, 2)
    print(f"{len(table)} of {args.poses} poses in the bottom rooms see the whole word "
          f"({100 * len(table) / args.poses:.1f}%)")
    print(f"{'metres from the sign':>21} {'poses':>6} {'min pixels':>11} {'median':>7} {'legible':>8}")
    for metres in range(math.ceil(table[:, 0].max()) if len(table) else 0):
        pixels = table[(table[:, 0] >= metres) & (table[:, 0] < metres + 1), 1]
        if len(pixels):
            print(f"{f'{metres}-{metres + 1}':>21} {len(pixels):>6} {pixels.min():>11.0f} {np.median(pixels):>7.0f} "
                  f"{np.mean(pixels >= LEGIBLE_PIXELS):>8.0%}")


if __name__ == "__main__":
    main(tyro.cli(Args))
