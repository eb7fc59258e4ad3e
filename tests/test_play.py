"""The keyboard play mode and the demo (headless: SDL's dummy video driver)."""

from __future__ import annotations

import gymnasium as gym
import imageio.v3 as iio
import pygame

import meta_explore_envs  # noqa: F401
from meta_explore_envs import demo, play
from tests.conftest import GRID_IDS


def test_keys_drive_the_trial():
    env = gym.make("MetaCooking-v0", render_mode="rgb_array")
    player = play.Player(env, seed=0, problem_id=36)
    trial = env.unwrapped
    assert player.press("e") and trial.episode == 1  # end the exploration episode
    assert player.press("right") and player.press("p")
    assert trial.episode_env.inventory == 1  # green, from the fridge at (2, 1)
    assert player.press("x")  # unbound keys are ignored
    assert trial.episode_env.steps_taken == 2
    assert player.press("e") and player.trial_over
    steps = trial.episode_env.steps_taken
    assert player.press("left") and trial.episode_env.steps_taken == steps  # no steps after the trial
    assert player.press("r") and not player.trial_over and trial.problem_id == 36
    assert not player.press("q")
    assert any("exploration episode" in line for line in player.log)


def test_frame_shows_the_controls_below_the_render():
    env = gym.make("MetaDistractingBus-v0", render_mode="rgb_array")
    player = play.Player(env, seed=1)
    frame = player.frame()
    assert frame.shape[1] == env.render().shape[1] and frame.shape[0] > env.render().shape[0]
    assert any("space: ride bus" in line for line in player.controls())


def test_main_loop_plays_until_quit(monkeypatch):
    script = [[pygame.event.Event(pygame.KEYDOWN, key=pygame.K_e)],
              [pygame.event.Event(pygame.KEYDOWN, key=pygame.K_UP)],
              [pygame.event.Event(pygame.QUIT)]]
    monkeypatch.setattr(pygame.event, "get", lambda: script.pop(0) if script else [pygame.event.Event(pygame.QUIT)])
    play.main(play.PlayConfig(env_id="MetaMap-v0", seed=0, fps=1000))
    assert not script


def test_demo_writes_a_gif_per_env(tmp_path):
    demo.main(demo.DemoConfig(out_dir=tmp_path, env_ids=tuple(GRID_IDS), hold_frames=2))
    for env_id in GRID_IDS:
        frames = iio.imread(tmp_path / f"{env_id}.gif")
        assert frames.ndim == 4 and len(frames) >= 3
