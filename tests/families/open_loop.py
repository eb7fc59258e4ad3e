"""A tiny trainable agent for the sweep tests: random search over open-loop action sequences.

Training draws ``CANDIDATES`` action sequences from the seed, plays each for a few train-split
trials and keeps the one with the best mean return; the agent then repeats that sequence in
every episode. It learns little, but it is a real, seeded, resumable training CLI that takes
the flags ``evaluation.sweep`` passes (``--env --seed --out --total-steps --threads --resume
--no-progress``), in seconds and without torch.

For the failure and resume tests: ``OPEN_LOOP_FAIL_SEEDS=1,2`` makes training of those seeds
exit with status 3;
``OPEN_LOOP_STOP_AFTER=K`` stops it (status 4) after K candidates, as a kill would, with its
progress saved in ``checkpoint.json``.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path
from typing import Any

import gymnasium as gym
import numpy as np

from evaluation.protocol import Training
from meta_explore_envs.files import write_json_atomic

CANDIDATES, LENGTH, TRIALS_PER_CANDIDATE = 8, 6, 3
TRAINING = Training(cli="families.open_loop", checkpoint="final.json", resume_from="checkpoint.json")


def _play(env: gym.Env, actions: list[int], seed: int) -> tuple[float, int]:
    """Mean exploitation return of one trial played with ``actions`` repeated, and its steps."""
    observation, _ = env.reset(seed=seed)
    total, steps, episode, t, done = 0.0, 0, 0, 0, False
    while not done:
        if int(observation["episode"]) != episode:
            episode, t = int(observation["episode"]), 0
        observation, reward, terminated, truncated, _ = env.step(actions[t % len(actions)])
        total += float(reward) if episode > 0 else 0.0
        steps, t, done = steps + 1, t + 1, terminated or truncated
    return total, steps


def train(env_id: str, seed: int, out: Path, total_steps: int, resume: bool) -> None:
    out.mkdir(parents=True, exist_ok=True)
    env = gym.make(env_id, split="train")
    rng = np.random.default_rng(seed)
    candidates = rng.integers(env.action_space.n, size=(CANDIDATES, LENGTH)).tolist()
    state: dict[str, Any] = {"next": 0, "best": None, "best_return": -np.inf, "env_steps": 0}
    if resume and (out / "checkpoint.json").exists():
        state = json.loads((out / "checkpoint.json").read_text())
    stop_after = int(os.environ.get("OPEN_LOOP_STOP_AFTER", "-1"))
    while state["next"] < CANDIDATES and state["env_steps"] < total_steps:
        k = state["next"]
        played = [_play(env, candidates[k], seed=10_000 * seed + TRIALS_PER_CANDIDATE * k + i)
                  for i in range(TRIALS_PER_CANDIDATE)]
        mean = float(np.mean([r for r, _ in played]))
        if mean > state["best_return"]:
            state["best"], state["best_return"] = candidates[k], mean
        state["next"], state["env_steps"] = k + 1, state["env_steps"] + sum(s for _, s in played)
        write_json_atomic(out / "checkpoint.json", state)
        if state["next"] == stop_after:
            sys.exit(4)
    write_json_atomic(out / "final.json", {"actions": state["best"], "env_steps": state["env_steps"]})


class OpenLoopAgent:
    name = "open_loop"

    def __init__(self, actions: list[int]):
        self.actions, self.episode, self.t = actions, 0, 0

    def reset(self) -> None:
        self.episode, self.t = 0, 0

    def act(self, observation: dict[str, Any]) -> int:
        if int(observation["episode"]) != self.episode:
            self.episode, self.t = int(observation["episode"]), 0
        self.t += 1
        return int(self.actions[(self.t - 1) % len(self.actions)])


def load_agent(env_id: str, checkpoint: str | None = None, **kwargs: Any) -> OpenLoopAgent:
    if checkpoint is None:
        raise ValueError("families.open_loop needs a checkpoint (final.json of a training run)")
    return OpenLoopAgent(json.loads(Path(checkpoint).read_text())["actions"])


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--env", required=True)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--total-steps", type=int, default=10_000)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--resume", action="store_true")
    parser.add_argument("--no-progress", action="store_true")
    args = parser.parse_args(argv)
    if str(args.seed) in os.environ.get("OPEN_LOOP_FAIL_SEEDS", "").split(","):
        print(f"open_loop: seed {args.seed} fails on purpose (OPEN_LOOP_FAIL_SEEDS)", file=sys.stderr)
        sys.exit(3)
    train(args.env, args.seed, args.out, args.total_steps, args.resume)


if __name__ == "__main__":
    main()
