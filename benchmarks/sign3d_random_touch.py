"""How often does epsilon-greedy's random walk touch MetaSign3D's objects? With and without `end episode`.

    python benchmarks/sign3d_random_touch.py [--starts 16]

A learner's epsilon-greedy exploration only learns to fetch the instructed object if its
random walks touch it now and then. This prints, exactly over the privileged planner's pose
graph (``planning.sign3d``; probabilities propagated over every pose reachable in 20 steps,
a touch ends the episode) and averaged over ``--starts`` stratified starts, the probability
that a uniformly random policy touches each object within the episode: uniform over the 4
actions (``end episode`` included: the learners' default) and over the 3 moves (what
``--no-random-end-action`` draws). The instructed object is one of the six, uniformly, so
the chance of a rewarded episode is the mean over the objects. About 4 s per start on a free core.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np
import tyro

from meta_explore_envs.envs.sign3d_layout import COLOUR_NAMES, OBJECTS, SHAPE_NAMES
from meta_explore_envs.planning.sign3d import Sign3DPlanner, sample_starts


@dataclass
class Args:
    starts: int = 16
    """Start poses (``planning.sign3d.sample_starts``, seed 0) to average over."""


def main(args: Args) -> None:
    planner, began = Sign3DPlanner(), time.perf_counter()
    rows = {True: [], False: []}
    for start in sample_starts(args.starts, seed=0):
        graph = planner.full_search(start)
        for with_end in rows:
            rows[with_end].append(planner.random_touch_probabilities(graph, with_end=with_end))
    names = [f"{COLOUR_NAMES[obj.colour]} {SHAPE_NAMES[obj.shape]}" for obj in OBJECTS]
    print(f"P(touch within 20 steps), mean over {args.starts} starts ({time.perf_counter() - began:.0f} s)")
    print(f"{'random actions':<28}" + "".join(f"{n:>11}" for n in names) + f"{'any':>8}{'target':>8}")
    for with_end, label in ((True, "uniform over all 4 actions"), (False, "uniform over the 3 moves")):
        mean = np.mean(rows[with_end], axis=0)
        print(f"{label:<28}" + "".join(f"{p:>11.4f}" for p in mean) + f"{mean.sum():>8.4f}{mean.mean():>8.4f}")


if __name__ == "__main__":
    main(tyro.cli(Args))
