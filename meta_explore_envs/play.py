"""Play a trial with the keyboard: ``python -m meta_explore_envs.play MetaCooking-v0``.

Grid envs: arrows move, space rides a bus, p picks up, d drops, e ends the episode, n waits.
Every env: r starts a new trial, q or Esc quits. The window shows the rendered trial with the
controls underneath; each finished episode's return is printed to the terminal.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Literal

import gymnasium as gym
import numpy as np
import tyro

import meta_explore_envs  # noqa: F401  (registers the ids)
from meta_explore_envs.rendering import Canvas, Window, panel_height

CONTROL_FONT_SIZE = 17


@dataclass
class PlayConfig:
    """Play a meta_explore_envs trial with the keyboard."""

    env_id: tyro.conf.Positional[str] = "MetaCooking-v0"
    """Registered id, e.g. MetaDistractingBus-v0, MetaMap-v0, MetaCooking-v0."""
    seed: int | None = None
    """Seed of the first trial (later trials continue the env's random stream)."""
    problem_id: int | None = None
    """Play this problem instead of a random one of the split."""
    split: Literal["train", "test"] = "train"
    setting: Literal["imrl", "standard"] = "imrl"
    num_exploit_episodes: int = 1
    fps: int = 30
    """Window refresh rate."""


class Player:
    """Turns key names into env steps and frames; independent of the window for testing."""

    def __init__(self, env: gym.Env, seed: int | None = None, problem_id: int | None = None):
        self.env = env
        self.trial = env.unwrapped
        self.keys: dict[str, int] = dict(self.trial.episode_env.play_keys)
        self.problem_id = problem_id
        self.trial_over = False
        self.log: list[str] = []
        self.new_trial(seed)

    def new_trial(self, seed: int | None = None) -> None:
        options = None if self.problem_id is None else {"problem_id": self.problem_id}
        self.env.reset(seed=seed, options=options)
        self.trial_over = False
        self.log.append(f"new trial: problem {self.trial.problem_id}")

    def press(self, key: str) -> bool:
        """Handle one key; return False when the player wants to quit."""
        if key in ("q", "escape"):
            return False
        if key == "r":
            self.new_trial()
        elif key in self.keys and not self.trial_over:
            _, reward, terminated, _, info = self.env.step(self.keys[key])
            if info["episode_done"]:
                kind = "exploration" if info["episode_index"] == 0 else f"exploitation {info['episode_index']}"
                self.log.append(f"{kind} episode: return {info['episode_return']:+.2f} "
                                f"in {info['episode_length']} steps, success={info['episode_success']}")
            self.trial_over = terminated
        return True

    def controls(self) -> list[str]:
        """``key: action`` labels of every control."""
        names = self.trial.episode_env.action_names
        return [f"{key}: {names[action]}" for key, action in self.keys.items()] + ["r: new trial", "q: quit"]

    def frame(self) -> np.ndarray:
        frame = self.env.render()
        width = frame.shape[1]
        probe = Canvas(1, 1)
        lines = wrap(self.controls(), lambda text: probe.font(CONTROL_FONT_SIZE).size(text)[0], width - 16)
        if self.trial_over:
            lines.insert(0, "trial over: press r for a new trial, q to quit")
        canvas = Canvas(width, frame.shape[0] + panel_height(len(lines)))
        canvas.fill("panel")
        canvas.blit_array(frame, 0, 0)
        for i, line in enumerate(lines):
            canvas.text(line, 8, frame.shape[0] + 6 + 22 * i, size=CONTROL_FONT_SIZE)
        return canvas.to_array()


def wrap(items: list[str], measure, width: int, separator: str = "   ") -> list[str]:
    """Join ``items`` into lines no wider than ``width`` pixels (as ``measure`` says)."""
    lines: list[str] = []
    for item in items:
        if lines and measure(lines[-1] + separator + item) <= width:
            lines[-1] += separator + item
        else:
            lines.append(item)
    return lines


def main(config: PlayConfig) -> None:
    os.environ.setdefault("PYGAME_HIDE_SUPPORT_PROMPT", "1")
    import pygame

    env = gym.make(config.env_id, render_mode="rgb_array", split=config.split, setting=config.setting,
                   num_exploit_episodes=config.num_exploit_episodes)
    player = Player(env, seed=config.seed, problem_id=config.problem_id)
    window = Window(f"{config.env_id}: play", config.fps)
    printed = 0
    running = True
    while running:
        window.show(player.frame())
        for event in pygame.event.get():
            if event.type == pygame.QUIT:
                running = False
            elif event.type == pygame.KEYDOWN:
                running = player.press(pygame.key.name(event.key)) and running
        for line in player.log[printed:]:
            print(line)
        printed = len(player.log)
    window.close()
    env.close()


if __name__ == "__main__":
    main(tyro.cli(PlayConfig))
