"""Play one random-agent trial on each grid env, save it as a GIF and print a summary.

``python -m meta_explore_envs.demo [--out-dir demo_output] [--seed 0]``. The GIFs show the
exploration episode, then the exploitation episodes, with the instruction, step and return
written on every frame.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import gymnasium as gym
import numpy as np
import tyro
from rich.console import Console
from rich.table import Table

import meta_explore_envs
from meta_explore_envs.rendering import save_gif


@dataclass
class DemoConfig:
    """Random-agent trials on the grid envs, rendered to GIFs."""

    out_dir: Path = Path("demo_output")
    seed: int = 0
    env_ids: tuple[str, ...] = ("MetaDistractingBus-v0", "MetaMap-v0", "MetaCooking-v0")
    fps: float = 4.0
    hold_frames: int = 6
    """Extra copies of the last frame, so the end of the trial stays visible."""


def record_trial(env: gym.Env, policy, seed: int) -> tuple[list[np.ndarray], list[dict]]:
    """Play one trial with ``policy(observation) -> action``; return frames and episode infos."""
    obs, _ = env.reset(seed=seed)
    frames, episodes = [env.render()], []
    terminated = False
    while not terminated:
        obs, _, terminated, _, info = env.step(policy(obs))
        if info["episode_done"]:
            episodes.append(info)
        frames.append(env.render())
    return frames, episodes


def main(config: DemoConfig) -> None:
    console = Console()
    config.out_dir.mkdir(parents=True, exist_ok=True)
    table = Table(title="One random-agent trial per env (IMRL, 1 exploitation episode)")
    for column in ("env", "problem", "instruction", "exploration steps", "exploitation return", "GIF"):
        table.add_column(column)
    for env_id in config.env_ids:
        env = gym.make(env_id, render_mode="rgb_array")
        env.action_space.seed(config.seed)
        frames, episodes = record_trial(env, lambda _, space=env.action_space: space.sample(), config.seed)
        path = config.out_dir / f"{env_id}.gif"
        save_gif(path, frames + [frames[-1]] * config.hold_frames, fps=config.fps)
        trial = env.unwrapped
        exploitation = [info["episode_return"] for info in episodes[1:]]
        table.add_row(env_id, str(trial.problem_id), episodes[-1]["instruction_text"],
                      str(episodes[0]["episode_length"]), ", ".join(f"{r:+.2f}" for r in exploitation), str(path))
        env.close()
    console.print(table)
    console.print(f"meta_explore_envs {meta_explore_envs.__version__}: GIFs written to {config.out_dir}/")


if __name__ == "__main__":
    main(tyro.cli(DemoConfig))
