"""Shared test set-up: headless pygame, registered ids, small helpers."""

from __future__ import annotations

import os

# pygame windows (render_mode="human", gymnasium's check_env) open on SDL's dummy driver.
os.environ.setdefault("SDL_VIDEODRIVER", "dummy")
os.environ.setdefault("SDL_AUDIODRIVER", "dummy")
os.environ.setdefault("PYGAME_HIDE_SUPPORT_PROMPT", "1")

import gymnasium as gym  # noqa: E402
import pytest  # noqa: E402

import meta_explore_envs  # noqa: E402
from meta_explore_envs.grid import GridEpisodeEnv  # noqa: E402

ALL_IDS = meta_explore_envs.env_ids()
GRID_IDS = [
    env_id for env_id in ALL_IDS
    if issubclass(meta_explore_envs.family_class(meta_explore_envs.env_family(env_id)), GridEpisodeEnv)
]


@pytest.fixture
def one_torch_thread():
    """Small networks: one torch thread is fastest and avoids oversubscribing the CPU under
    pytest-xdist (the previous setting is restored)."""
    import torch

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def play(env: gym.Env, actions, **reset_kwargs):
    """Reset ``env`` and play ``actions``; return the list of (obs, reward, terminated, info)."""
    obs, info = env.reset(**reset_kwargs)
    out = [(obs, 0.0, False, info)]
    for action in actions:
        obs, reward, terminated, truncated, info = env.step(action)
        assert not truncated
        out.append((obs, reward, terminated, info))
    return out


@pytest.fixture(params=GRID_IDS)
def grid_id(request) -> str:
    return request.param


@pytest.fixture
def make_trial():
    """Factory: ``make_trial(env_id, problem_id=..., instructions=..., seed=0, **make_kwargs)``
    returns a reset ``gymnasium.make`` env; closes them all afterwards."""
    envs = []

    def make(env_id: str, problem_id=None, instructions=None, seed: int = 0, **kwargs):
        env = gym.make(env_id, **kwargs)
        options = {}
        if problem_id is not None:
            options["problem_id"] = problem_id
        if instructions is not None:
            options["instructions"] = instructions
        env.reset(seed=seed, options=options)
        envs.append(env)
        return env

    yield make
    for env in envs:
        env.close()


@pytest.fixture
def bounds_cache(tmp_path, monkeypatch):
    """Computed bounds go to a fresh cache folder (the shipped table is still read)."""
    monkeypatch.setenv("META_EXPLORE_ENVS_CACHE", str(tmp_path))
