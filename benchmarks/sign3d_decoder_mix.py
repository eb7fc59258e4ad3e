"""Can DREAM's decoder learn to read MetaSign3D's sign when few replayed episodes show it?

    python benchmarks/sign3d_decoder_mix.py [--prefixes final] [--lr 1e-3] [--shift 0] [--batch 16]

In meta-training the explorer first sees the sign in a few percent of its episodes, and then
usually in one frame, its last. This trains DREAM's decoder alone, with DREAM's decoder loss
(:func:`baselines.dream.networks.decoder_loss`), on a replay like that: the privileged oracle
explorer's episodes from ``--oracle-starts`` start poses (each walks to where the sign is
legible and ends) among uniformly random walks over the three moves from ``--walk-starts``
starts (cut where they touch an object; they almost never see the sign), each start in one
problem drawn uniformly, against fixed random problem encodings f. Every ``--eval-every`` updates of
``--batch`` episodes drawn uniformly it prints how often the decoder names the colour of
oracle episodes from held-out starts (chance 33%) and of its training oracle episodes, and
the fraction of f's spread it explains after held-out oracle episodes and after its own
training walks (above 0 there: it memorises walks that show nothing).

Building the episodes takes about 3 minutes on a free core (``--cache FILE`` keeps them); each
update of 16 episodes about 35 ms.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

import gymnasium as gym
import numpy as np
import torch
import tyro

import meta_explore_envs  # noqa: F401  (registers the ids)
from baselines.common.recurrent_q.networks import ObsSpec, random_shift
from baselines.dream.networks import Decoder, ProblemEncoder, decoder_loss
from baselines.dream.read_sign import ENV_ID, NUM_PROBLEMS, episodes, oracle_script, read_colours
from meta_explore_envs.envs.sign3d_layout import FORWARD, MAX_STEPS


@dataclass
class Args:
    prefixes: str = "final"
    """The decoder loss's ``prefixes``: "all", "final" or "both" (DreamConfig.decoder_prefixes)."""
    lr: float = 1e-3
    """Adam's learning rate."""
    weight_decay: float = 0.0
    """AdamW's decoupled weight decay (0: plain Adam)."""
    shift: int = 0
    """Random-shift augmentation of the frames, pixels (DreamConfig.decoder_shift)."""
    batch: int = 16
    """Episodes per update, drawn uniformly from the replay."""
    union_weight: float = 0.0
    """DREAM's second decoder loss on each episode's facts joined with those of another
    episode of the same problem (DreamConfig.decoder_union_weight; its default is 1)."""
    updates: int = 4000
    eval_every: int = 500
    oracle_starts: int = 120
    """Start poses (reset seeds 0, 1, ...) of the oracle's episodes, each in one problem."""
    walk_starts: int = 2880
    """Start poses (reset seeds 1000, ...) of the random walks, each in one problem."""
    each_start_in_all_problems: bool = False
    """Play every training start in all three problems (then no decoder can memorise which
    problem a start pose had, and it never does), instead of in one."""
    held_out_starts: int = 8
    """Start poses (reset seeds 100, ...) of the held-out oracle episodes."""
    hidden: int = 64
    """The decoder's width (DREAM's MetaSign3D preset: 64)."""
    z_dim: int = 16
    f_std: float = 0.4
    """Std of the fixed random encodings f (squared norms of about 2.5, as f in meta-training)."""
    seed: int = 0
    cache: str = ""
    """File to keep the episodes in between runs (built if missing)."""


def random_walk(env: gym.Env, seed: int, rng: np.random.Generator) -> list[int]:
    """Uniformly random moves (turn left, turn right, forward) from reset ``seed`` until the
    exploration episode ends (20 steps, or touching an object)."""
    env.reset(seed=seed, options={"problem_id": 0})
    actions: list[int] = []
    for action in rng.integers(0, FORWARD + 1, size=MAX_STEPS):
        actions.append(int(action))
        _, _, terminated, truncated, info = env.step(int(action))
        if terminated or truncated or info.get("episode_index", 0) != 0:
            break
    return actions


def concatenate(parts: list[dict[str, torch.Tensor]]) -> dict[str, torch.Tensor]:
    """Batches of :func:`read_sign.episodes` as one, padded to the longest episode."""
    longest = max(p["exp_frames"].shape[1] for p in parts)

    def padded(v: torch.Tensor) -> torch.Tensor:
        if v.dim() < 2 or v.shape[1] == longest:
            return v
        return torch.cat((v, v.new_zeros(v.shape[0], longest - v.shape[1], *v.shape[2:])), 1)

    return {key: torch.cat([padded(p[key]) for p in parts]) for key in parts[0]}


def build(args: Args, env: gym.Env, spec: ObsSpec) -> dict[str, dict[str, torch.Tensor]]:
    if args.cache and Path(args.cache).exists():
        return torch.load(args.cache, weights_only=True)
    oracle = lambda seed: oracle_script(env, seed)  # noqa: E731
    rng = np.random.default_rng(args.seed)
    walks = {seed: random_walk(env, seed, rng) for seed in range(1000, 1000 + args.walk_starts)}
    # As in meta-training, each training start pose comes in one problem, drawn uniformly, so
    # that a decoder can memorise which: held-out starts come in all three.
    problem = {seed: [int(rng.integers(NUM_PROBLEMS))] for seed in [*range(args.oracle_starts), *walks]}
    if args.each_start_in_all_problems:
        problem = {seed: range(NUM_PROBLEMS) for seed in problem}
    data = {"oracle": episodes(env, spec, range(args.oracle_starts), oracle, problem.__getitem__),
            "held_out": episodes(env, spec, range(100, 100 + args.held_out_starts), oracle),
            "walks": episodes(env, spec, walks, walks.__getitem__, problem.__getitem__)}
    if args.cache:
        torch.save(data, args.cache)
    return data


def main(args: Args) -> None:
    torch.set_num_threads(1)
    env = gym.make(ENV_ID)
    spec = ObsSpec.from_env(env)
    began = time.perf_counter()
    data = build(args, env, spec)
    env.close()
    replay = concatenate([data["oracle"], data["walks"]])
    n, n_sign = len(replay["exp_len"]), len(data["oracle"]["exp_len"])
    print(f"replay: {n} episodes, {n_sign} of them the oracle's ({n_sign / n:.1%}); built in "
          f"{time.perf_counter() - began:.0f} s")
    torch.manual_seed(args.seed)
    rng = np.random.default_rng(args.seed)
    f = ProblemEncoder(NUM_PROBLEMS, args.z_dim, init_std=args.f_std)(torch.arange(NUM_PROBLEMS)).detach()
    decoder = Decoder(spec, args.hidden, args.z_dim)
    optimiser = (torch.optim.AdamW(decoder.parameters(), lr=args.lr, weight_decay=args.weight_decay)
                 if args.weight_decay else torch.optim.Adam(decoder.parameters(), lr=args.lr))
    walks = {key: v[:300] for key, v in data["walks"].items()}
    by_problem = [np.flatnonzero(replay["problem_id"].numpy() == p) for p in range(NUM_PROBLEMS)]
    print(f"prefixes={args.prefixes} lr={args.lr} weight_decay={args.weight_decay} shift={args.shift} "
          f"batch={args.batch} union_weight={args.union_weight}")
    print(f"{'updates':>8} {'seconds':>8} {'held-out named':>15} {'explained':>10} {'train named':>12} "
          f"{'walks explained':>16}")
    began = time.perf_counter()
    for update in range(1, args.updates + 1):
        rows = torch.from_numpy(rng.integers(0, n, size=args.batch))
        longest = int(replay["exp_len"][rows].max())
        b = {key: v[rows, :longest] if v.dim() >= 2 else v[rows] for key, v in replay.items()}
        partner = None
        if args.union_weight:  # another episode of the same problem for each
            mates = [rng.choice(by_problem[int(p)]) for p in replay["problem_id"][rows]]
            partner = {key: v[mates] for key, v in replay.items()}
        if args.shift:
            b["exp_frames"] = random_shift(b["exp_frames"], args.shift, rng)
            if partner is not None:
                partner["exp_frames"] = random_shift(partner["exp_frames"], args.shift, rng)
        loss, _, _ = decoder_loss(decoder, f[b["problem_id"]], b, partner, args.union_weight, args.prefixes)
        optimiser.zero_grad()
        loss.backward()
        optimiser.step()
        if update % args.eval_every == 0:
            held_named, held_explained = read_colours(decoder, f, data["held_out"])
            train_named, _ = read_colours(decoder, f, data["oracle"])
            _, walks_explained = read_colours(decoder, f, walks)
            print(f"{update:>8} {time.perf_counter() - began:>8.0f} {held_named:>15.0%} {held_explained:>+10.2f} "
                  f"{train_named:>12.0%} {walks_explained:>+16.2f}", flush=True)


if __name__ == "__main__":
    main(tyro.cli(Args))
