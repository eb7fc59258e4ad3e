"""DREAM on MetaSign3D-v0: its decoder learns to read the sign colour from pixels.

DREAM's exploration reward is the information its decoder g(tau) recovers about the problem
(the sign's colour): an explorer can only be taught to read the sign if g learns to tell the
colours apart from exploration episodes that look at it. This trains DREAM's decoder, with
DREAM's decoder loss (:func:`baselines.dream.networks.decoder_loss`), on the oracle
explorer's episodes (the privileged planner's shortest path to where the sign is legible,
:func:`baselines.sign3d.explore_action`), and on episodes that end at once for contrast, and
classifies episodes from start poses it never saw by the nearest problem encoding f(mu).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

import gymnasium as gym
import numpy as np
import pytest
import torch

import meta_explore_envs  # noqa: F401
from baselines.common.recurrent_q.networks import ObsSpec
from baselines.dream.networks import Decoder, ProblemEncoder, decoder_loss
from meta_explore_envs.envs.sign3d_layout import END_EPISODE

ENV_ID = "MetaSign3D-v0"
NUM_PROBLEMS = 3
TRAIN_STARTS = range(12)  # reset seeds: each fixes a start pose, played in all three problems
HELD_OUT_STARTS = range(100, 106)


def _oracle_script(env, seed: int) -> list[int]:
    """The oracle explorer's actions from the start pose of ``seed`` (the path to a legible
    view of the sign does not depend on what the sign says)."""
    from baselines.sign3d import explore_action

    env.reset(seed=seed, options={"problem_id": 0})
    trial = env.unwrapped
    actions: list[int] = []
    while not actions or actions[-1] != END_EPISODE:
        actions.append(explore_action(trial.episode_env, 0))
        env.step(actions[-1])
    return actions


def _episodes(env, spec: ObsSpec, starts: Iterable[int], script_of: Callable[[int], list[int]]
              ) -> dict[str, torch.Tensor]:
    """Exploration episodes in the replay's fields (``exp_ints``, ``exp_rew``, ``exp_frames``:
    the observation each action was chosen at; ``exp_len``: actions), every start pose in
    every problem."""
    rows = []
    for seed in starts:
        script = script_of(seed)
        for problem in range(NUM_PROBLEMS):
            obs, _ = env.reset(seed=seed, options={"problem_id": problem})
            ints, rewards, frames = [], [], []
            for action in script:
                batch = {key: np.asarray(value)[None] for key, value in obs.items()}
                i, r = spec.encode_batch(batch)
                ints.append(i[0]), rewards.append(r[0]), frames.append(spec.encode_frames(batch)[0])
                obs, *_ = env.step(action)
            rows.append((problem, np.stack(ints), np.array(rewards, np.float32), np.stack(frames)))
    longest = max(len(r[1]) for r in rows)
    b = {"problem_id": torch.tensor([r[0] for r in rows]), "exp_len": torch.tensor([len(r[1]) for r in rows]),
         "exp_ints": torch.zeros(len(rows), longest, spec.num_ints, dtype=torch.long),
         "exp_rew": torch.zeros(len(rows), longest),
         "exp_frames": torch.zeros(len(rows), longest, *spec.frame_shape, dtype=torch.uint8)}
    for k, (_, ints, rewards, frames) in enumerate(rows):
        n = len(ints)
        b["exp_ints"][k, :n], b["exp_rew"][k, :n] = torch.from_numpy(ints), torch.from_numpy(rewards)
        b["exp_frames"][k, :n] = torch.from_numpy(frames)
    return b


def _train_decoder(spec: ObsSpec, f: torch.Tensor, train: dict[str, torch.Tensor], steps: int) -> Decoder:
    torch.manual_seed(0)
    decoder = Decoder(spec, hidden=32, z_dim=f.shape[1])
    optimiser = torch.optim.Adam(decoder.parameters(), lr=1e-3)
    for _ in range(steps):
        loss, _, _ = decoder_loss(decoder, f[train["problem_id"]], train)
        optimiser.zero_grad()
        loss.backward()
        optimiser.step()
    return decoder


@torch.no_grad()
def _read_colours(decoder: Decoder, f: torch.Tensor, b: dict[str, torch.Tensor]) -> tuple[float, float]:
    """Accuracy of the nearest f(mu) to g(tau) after the whole episode, and the fraction of
    f's spread the decoder explains there (1 - error / spread)."""
    _, g, dist = decoder_loss(decoder, f[b["problem_id"]], b)
    final = g[torch.arange(len(g)), b["exp_len"] - 1]
    guess = torch.cdist(final, f).argmin(1)
    spread = ((f - f.mean(0)) ** 2).sum(-1).mean()
    error = dist[torch.arange(len(g)), b["exp_len"] - 1].mean()
    return (guess == b["problem_id"]).float().mean().item(), (1 - error / spread).item()


@pytest.mark.slow
@pytest.mark.usefixtures("one_torch_thread")
def test_dream_decoder_reads_the_sign_colour_from_the_oracle_explorers_frames():
    env = gym.make(ENV_ID)
    spec = ObsSpec.from_env(env)
    torch.manual_seed(1)
    f = ProblemEncoder(NUM_PROBLEMS, 8, init_std=1.0)(torch.arange(NUM_PROBLEMS)).detach()  # fixed targets

    oracle = lambda seed: _oracle_script(env, seed)  # noqa: E731  (each start is planned once)
    at_once = lambda seed: [END_EPISODE]  # noqa: E731
    results = {}
    for name, script_of in (("oracle", oracle), ("end at once", at_once)):
        train = _episodes(env, spec, TRAIN_STARTS, script_of)
        held_out = _episodes(env, spec, HELD_OUT_STARTS, script_of)
        decoder = _train_decoder(spec, f, train, steps=500)
        results[name] = (_read_colours(decoder, f, train), _read_colours(decoder, f, held_out))
    env.close()
    (_, _), (oracle_accuracy, oracle_explained) = results["oracle"]
    (_, blind_train_explained), _ = results["end at once"]
    # From the oracle's frames the decoder names the colour of episodes from unseen starts,
    # at twice chance or better (measured: 16 of 18 with this seed; 16 and 15 of 18 with
    # decoder seeds 1 and 2, explaining 57-85% of f's spread after the episode).
    assert oracle_accuracy >= 2 / 3 and oracle_explained >= 0.4, results
    # From the start view alone nothing tells the colours apart, even on the training episodes
    # (each start pose comes in all three colours): the best the decoder can do is f's mean.
    assert blind_train_explained <= 0.1, results
