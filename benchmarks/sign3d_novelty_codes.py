"""Do MetaSign3D's novelty codes tell places apart? SimHash of frames versus 1 m squares.

    python benchmarks/sign3d_novelty_codes.py [--walks 1500] [--paths 4]

DREAM's novelty bonus on MetaSign3D (``baselines.common.recurrent_q.novelty``) is only
useful if the codes of the places an explorer keeps visiting (the start room) are counted
often while those of the places it has not reached (past the barrier, the sign's room) are
not. This script counts the codes of ``--walks`` exploration episodes of uniform walks that
never end early (turn left, turn right, forward: they do not reach the sign's room), then
prints, per code setting, how many distinct codes those frames had, their median count, and
the counts of the codes along ``--paths`` oracle walks to the sign (``baselines.sign3d``'s
planner): a useful code has large counts at the start of a walk and 0 at its end.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import gymnasium as gym
import numpy as np
import tyro

import meta_explore_envs  # noqa: F401  (registers the ids)
from baselines.common.recurrent_q.novelty import FrameHashCounter, position_codes
from baselines.sign3d import explore_action


@dataclass
class Args:
    walks: int = 1500
    """Uniform exploration walks whose codes are counted."""
    paths: int = 4
    """Oracle walks to the sign whose codes' counts are printed (seeds 0, 1, ...)."""
    seed: int = 0
    """Seed of the walks' actions (their trials use seeds 10,000 + i)."""


def episode(env, seed: int, act) -> tuple[np.ndarray, list]:
    """Frames and states of one exploration episode, ``act(trial) -> action``."""
    obs, _ = env.reset(seed=seed)
    trial = env.unwrapped
    frames, states = [obs["observation"]], [trial.episode_env.state]
    while True:
        obs, _, _, _, info = env.step(act(trial))
        if info["episode_done"]:
            return np.stack(frames), states
        frames.append(obs["observation"])
        states.append(trial.episode_env.state)


def main(args: Args) -> None:
    env = gym.make("MetaSign3D-v0")
    rng = np.random.default_rng(args.seed)
    start = time.perf_counter()
    walks = [episode(env, 10_000 + i, lambda trial: int(rng.integers(3))) for i in range(args.walks)]
    frames = np.concatenate([f for f, _ in walks])
    states = [s for _, walk in walks for s in walk]
    print(f"{args.walks} uniform walks: {len(frames)} frames ({time.perf_counter() - start:.0f} s)")
    paths = [episode(env, seed, lambda trial: explore_action(trial.episode_env, trial.problem_id))
             for seed in range(args.paths)]
    env.close()

    def report(name: str, code, walk_codes: np.ndarray) -> None:
        values, counts = np.unique(walk_codes, return_counts=True)
        count_of = dict(zip(values.tolist(), counts.tolist(), strict=True))
        print(f"{name}: {len(values)} distinct codes, median count {np.median(counts):.0f}")
        for path in paths:
            print("    oracle walk:", [count_of.get(int(c), 0) for c in code(path)])

    for bits in (12, 16, 24, 32):
        for pool in (5, 20):
            counter = FrameHashCounter((60, 80, 3), bits, pool=pool, seed=0)
            report(f"SimHash {bits} bits, {pool}x{pool} blocks", lambda p, c=counter: c.codes(p[0]),
                   counter.codes(frames))
    report("position, 1 m squares", lambda p: position_codes(p[1], 1.0), position_codes(states, 1.0))


if __name__ == "__main__":
    main(tyro.cli(Args))
