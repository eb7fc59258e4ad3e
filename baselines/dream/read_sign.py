"""Does a DREAM decoder read MetaSign3D's sign? Its guesses on the oracle explorer's episodes.

    python -m baselines.dream.read_sign --checkpoint runs/dream-sign3d/checkpoint.pt [--starts 8]

DREAM's exploration reward is the information its decoder g(tau) recovers about the problem
(the sign's colour), so an explorer can only learn to read the sign once g tells the colours
apart from episodes that look at it. This plays the privileged oracle explorer's episodes
(:func:`baselines.sign3d.explore_action`: the shortest path to where the sign is legible)
from ``--starts`` start poses (reset seeds 100, 101, ...) in each of the three problems,
and prints how often the nearest problem encoding f(mu) to g after the episode is the right
one (chance: 1/3) and the fraction of f's spread that g explains there (0: it guesses f's
mean). It reads a run's ``checkpoint.pt`` (the training state: the policy checkpoint
``final.pt`` leaves the encoder f out). ``tests/test_dream_sign3d.py`` trains a decoder on
such episodes with the same helpers.

With ``--fetch-waves K`` it also plays K waves of the run's trials greedily with the
exploitation policy handed the encoder's z (the problem given, as in meta-training) and
prints its return and how often it touched the right object, a wrong one or none: the other
half of what DREAM needs (an exploitation policy that fetches once it knows the colour).

With ``--replay-trials N`` it plays the replay's last N exploration episodes again and prints
the decoder's information gain per episode on them (what the replay-time rewards pay).

With ``--route-values`` it prints the exploration policy's Q-values along the oracle's
episodes, step by step: the oracle action's, the largest, and how often the oracle action
is the greedy one. An explorer that has learned the way to the sign prefers the oracle's
actions from the start on and values them at about the reading reward discounted by the
steps still to go.

With ``--visits`` it prints where the explorer went: for each 1 m square of the world, how
many of the replay's trials (the last ``buffer_trials``) visited it in their exploration
episode, from the position codes a ``--novelty-source position`` (or ``pose``) run stores.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass

import gymnasium as gym
import numpy as np
import torch

import meta_explore_envs  # noqa: F401  (registers the ids)
from baselines.common.recurrent_q.networks import ObsSpec
from baselines.dream.networks import Decoder, decoder_loss, encoding_spread
from meta_explore_envs.envs.sign3d_layout import END_EPISODE

ENV_ID = "MetaSign3D-v0"
NUM_PROBLEMS = 3


def oracle_script(env: gym.Env, seed: int) -> list[int]:
    """The oracle explorer's actions from the start pose of reset ``seed`` (the path to a
    legible view of the sign does not depend on what the sign says)."""
    from baselines.sign3d import explore_action

    env.reset(seed=seed, options={"problem_id": 0})
    trial = env.unwrapped
    actions: list[int] = []
    while not actions or actions[-1] != END_EPISODE:
        actions.append(explore_action(trial.episode_env, 0))
        env.step(actions[-1])
    return actions


def episodes(env: gym.Env, spec: ObsSpec, starts: Iterable[int], script_of: Callable[[int], list[int]],
             problems_of: Callable[[int], Iterable[int]] | None = None) -> dict[str, torch.Tensor]:
    """Exploration episodes in the replay's fields (``exp_ints``, ``exp_rew``, ``exp_frames``:
    the observation each action was chosen at; ``exp_act``; ``exp_len``: actions; ``problem_id``), every
    start pose of ``starts`` (reset seeds) in every problem (or in ``problems_of(seed)``),
    playing ``script_of(seed)``."""
    rows = []
    for seed in starts:
        script = script_of(seed)
        for problem in range(NUM_PROBLEMS) if problems_of is None else problems_of(seed):
            obs, _ = env.reset(seed=seed, options={"problem_id": problem})
            ints, rewards, frames = [], [], []
            for action in script:
                batch = {key: np.asarray(value)[None] for key, value in obs.items()}
                i, r = spec.encode_batch(batch)
                ints.append(i[0]), rewards.append(r[0]), frames.append(spec.encode_frames(batch)[0])
                obs, *_ = env.step(action)
            rows.append((problem, np.stack(ints), np.array(rewards, np.float32), np.stack(frames), script))
    longest = max(len(r[1]) for r in rows)
    b = {"problem_id": torch.tensor([r[0] for r in rows]), "exp_len": torch.tensor([len(r[1]) for r in rows]),
         "exp_ints": torch.zeros(len(rows), longest, spec.num_ints, dtype=torch.long),
         "exp_rew": torch.zeros(len(rows), longest),
         "exp_frames": torch.zeros(len(rows), longest, *spec.frame_shape, dtype=torch.uint8),
         "exp_act": torch.zeros(len(rows), longest, dtype=torch.long)}
    for k, (_, ints, rewards, frames, script) in enumerate(rows):
        n = len(ints)
        b["exp_act"][k, :n] = torch.tensor(script)
        b["exp_ints"][k, :n], b["exp_rew"][k, :n] = torch.from_numpy(ints), torch.from_numpy(rewards)
        b["exp_frames"][k, :n] = torch.from_numpy(frames)
    return b


@torch.no_grad()
def read_colours(decoder: Decoder, f: torch.Tensor, b: dict[str, torch.Tensor]) -> tuple[float, float]:
    """Accuracy of the nearest f(mu) to g(tau) after the whole episode, and the fraction of
    f's spread the decoder explains there (1 - error / spread). ``f (3, z_dim)``."""
    _, g, dist = decoder_loss(decoder, f[b["problem_id"]], b)
    final = g[torch.arange(len(g)), b["exp_len"] - 1]
    guess = torch.cdist(final, f).argmin(1)
    spread = encoding_spread(f)
    error = dist[torch.arange(len(g)), b["exp_len"] - 1].mean()
    return (guess == b["problem_id"]).float().mean().item(), (1 - error / spread).item()


@dataclass
class Args:
    checkpoint: str
    """A DREAM MetaSign3D run's ``checkpoint.pt``."""
    starts: int = 8
    """Start poses (reset seeds 100, 101, ...), each played in the three problems."""
    fetch_waves: int = 0
    """Waves of the run's ``num_envs`` trials played with the encoder's z (0: skip)."""
    visits: bool = False
    """Print the replay's exploration visits per 1 m square (position-novelty runs)."""
    route_values: bool = False
    """Print the exploration policy's Q-values along the oracle's episodes, step by step."""
    replay_trials: int = 0
    """Play the replay's last N trials' exploration episodes again (frames rendered from their
    seeds and actions) and print the decoder's information gain per episode on them and, for
    ``--decoder-counterfactuals`` runs, whether it gives their counterfactuals the same
    outputs (0: skip)."""


@torch.no_grad()
def route_values(nets, b: dict[str, torch.Tensor]) -> list[tuple[int, int, float, float, float]]:
    """The exploration Q-values along the oracle's episodes ``b`` (from :func:`episodes`):
    for each step t that some episode reaches, ``(t, episodes, mean Q(oracle action), mean
    max_a Q, fraction whose greedy action is the oracle's)``; the explorer's masked action
    (``--no-explore-can-end``) is left out of the max and the argmax."""
    q, _ = nets.explore_q(b["exp_ints"], b["exp_rew"], frames=b["exp_frames"])
    q = nets.explore_mask(q)
    actions = b["exp_act"]
    chosen = q.gather(-1, actions.unsqueeze(-1)).squeeze(-1)
    rows = []
    for t in range(q.shape[1]):
        live = (b["exp_len"] > t) & (actions[:, t] != END_EPISODE)  # the oracle's end action is not a move
        if live.any():
            rows.append((t, int(live.sum()), chosen[live, t].mean().item(), q[live, t].max(-1).values.mean().item(),
                         (q[live, t].argmax(-1) == actions[live, t]).float().mean().item()))
    return rows


def square_visits(state: dict) -> np.ndarray:
    """``(rows z, columns x)`` int: how many of the replay's trials visited each 1 m square
    of the world in their exploration episode, decoded from the stored position codes
    (``recurrent_q.novelty.position_codes``; the run must count positions in 1 m squares)."""
    from baselines.common.recurrent_q.novelty import position_cells
    from meta_explore_envs.envs.sign3d_layout import ROOMS

    cfg = state["config"]
    if cfg.get("novelty_bonus", 0) <= 0 or cfg.get("novelty_source") not in ("position", "pose") \
            or cfg.get("novelty_cell") != 1.0:
        raise ValueError("--visits reads the position codes of a run with --novelty-source position (or pose) and "
                         f"--novelty-cell 1; this run has novelty_bonus={cfg.get('novelty_bonus')}, novelty_source="
                         f"{cfg.get('novelty_source')!r}, novelty_cell={cfg.get('novelty_cell')}")
    arrays = state["buffer"]["arrays"]
    codes, lengths = arrays["exp_codes"].numpy(), arrays["exp_len"].numpy()
    depth, width = max(room[3] for room in ROOMS), max(room[1] for room in ROOMS)  # (x0, x1, z0, z1) rooms
    grid = np.zeros((int(np.ceil(depth)), int(np.ceil(width))), dtype=np.int64)
    for trial_codes, n in zip(codes, lengths):
        x, z = position_cells(trial_codes[:n])
        inside = (0 <= z) & (z < grid.shape[0]) & (0 <= x) & (x < grid.shape[1])
        for row, column in set(zip(z[inside].tolist(), x[inside].tolist())):  # each square once per trial
            grid[row, column] += 1
    return grid


def returned_trials(state: dict) -> np.ndarray:
    """``(n,)`` bool over the replay's trials of a ``--return-fraction`` run: whether the trial
    was a return, i.e. its exploration episode starts with the (non-empty) actions the run's
    archive keeps for its seed (``Trainer.returns``). The trials those actions came from
    start like that too and are counted as returns: few, late in a run, since the archive
    keeps the earliest trial to reach each code."""
    from baselines.dream.train import returns_archive

    arrays = state["buffer"]["arrays"]
    prefixes: dict[int, list[np.ndarray]] = {}
    for t, seed, actions in returns_archive(state["returns"]).values():
        if t:
            prefixes.setdefault(seed, []).append(actions)
    seeds, acts = arrays["seed"].numpy(), arrays["exp_act"].numpy()
    return np.array([any(np.array_equal(acts[i, :len(p)], p) for p in prefixes.get(int(seeds[i]), []))
                     for i in range(len(seeds))], dtype=bool)


def fetch_returns(state: dict, waves: int, seed: int = 7) -> np.ndarray:
    """Exploitation returns of ``waves`` x ``num_envs`` trials (reset seeds from ``seed``) of
    the training state ``state`` acting greedily, every exploitation episode on the encoder's
    z ~ F(z | mu) of the trial's problem (no decoder, no novelty)."""
    import dataclasses

    from baselines.common.recurrent_q.qlearning import epsilon_greedy
    from baselines.dream.config import DreamConfig
    from baselines.dream.train import Trainer

    cfg = dataclasses.replace(DreamConfig.from_dict(state["config"]), decoder_z_fraction=0.0, novelty_bonus=0.0,
                              return_fraction=0.0, buffer_trials=1, resume=False, progress=False)
    trainer = Trainer(cfg)
    trainer.nets.load_state_dict(state["nets"])
    rng, returns = np.random.default_rng(seed), []
    for _ in range(waves):
        trainer.begin_wave(cfg.num_envs)
        seeds = rng.integers(2**31, size=cfg.num_envs)
        _, stats = trainer.envs.run_wave(trainer.actor, seeds, epsilon_greedy(0.0, rng))
        trainer.actor.z_override = None
        returns.append(stats["exploit_return"])
    trainer.envs.close()
    return np.concatenate(returns)


def replay_information(state: dict, nets, trials: int) -> str:
    """What the decoder of training state ``state`` makes of its replay's last ``trials``
    exploration episodes (played again from their seeds and actions): the information gain
    per episode ((d_0 - d_last) / f's spread, the step cost left out) and the distance of g
    after the episode from f's mean; with counterfactuals, the largest difference between g on
    an episode and on its first counterfactual (0 where the frames are the same)."""
    from baselines.common.recurrent_q.collect import TrialBatch
    from baselines.dream.networks import information_gain_rewards

    arrays, cfg = state["buffer"]["arrays"], state["config"]
    index = np.arange(len(arrays["exp_len"]))[-trials:]
    sub = {key: value[index].numpy() for key, value in arrays.items()}
    batch = TrialBatch(ENV_ID, 1, num_exploit_episodes=cfg["num_exploit_episodes"])
    n, steps = len(index), batch.max_steps
    sub["exp_frames"] = np.zeros((n, steps, *batch.spec.frame_shape), np.uint8)
    sub["task_frames"] = np.zeros((n, batch.num_exploit, steps, *batch.spec.frame_shape), np.uint8)
    frames = batch.render_frames(sub)["exp_frames"]
    b = {"exp_ints": torch.from_numpy(sub["exp_ints"].astype(np.int64)), "exp_rew": torch.from_numpy(sub["exp_rew"]),
         "exp_len": torch.from_numpy(sub["exp_len"]), "exp_frames": torch.from_numpy(frames)}
    with torch.no_grad():
        f_all = nets.encoder(torch.arange(NUM_PROBLEMS))
        f = f_all[torch.from_numpy(sub["problem_id"])]
        _, g, _ = decoder_loss(nets.decoder, f, b)
        spread = encoding_spread(f_all)
        gain = information_gain_rewards(f, g, b["exp_len"], 0.0, spread).sum(1).mean().item()
        final = g[torch.arange(n), b["exp_len"] - 1]
        off_mean = (((final - f_all.mean(0)) ** 2).sum(-1).mean() / spread).item()
        line = (f"on the replay's last {n} trials the decoder gains {gain:+.3f} of f's spread per exploration episode "
                f"(step cost left out); after the episode g is {off_mean:.3f} of f's spread from f's mean")
        if "counterfactual_problem" in sub:
            split = np.arange(NUM_PROBLEMS)
            others = np.array([split[split != p][0] for p in sub["problem_id"]])
            twin = dict(b, exp_frames=torch.from_numpy(
                batch.render_explorations(sub["seed"], others, sub["exp_act"], sub["exp_len"])))
            _, g_twin, _ = decoder_loss(nets.decoder, f, twin)
            line += f"; largest |g - g on the counterfactual|: {(g - g_twin).abs().max().item():.3g}"
    batch.close()
    return line


def main(args: Args) -> None:
    from baselines.dream.config import DreamConfig
    from baselines.dream.networks import DreamNetworks

    torch.set_num_threads(1)
    state = torch.load(args.checkpoint, weights_only=True, map_location="cpu")
    if "nets" not in state:
        raise ValueError(f"{args.checkpoint} is not a DREAM training checkpoint (checkpoint.pt); a policy "
                         f"checkpoint (final.pt) has no encoder f to compare the decoder with")
    cfg = DreamConfig.from_dict(state["config"], source=args.checkpoint)
    if cfg.env != ENV_ID:
        raise ValueError(f"{args.checkpoint} was trained on {cfg.env}; this reads {ENV_ID}'s sign")
    env = gym.make(ENV_ID)
    spec = ObsSpec.from_env(env)
    nets = DreamNetworks(spec, cfg.hidden, cfg.z_dim, cfg.encoder_init_std, cfg.memory, cfg.dueling, cfg.id_encoding,
                         None if cfg.explore_can_end else END_EPISODE)
    nets.load_state_dict(state["nets"])
    b = episodes(env, spec, range(100, 100 + args.starts), lambda seed: oracle_script(env, seed))
    env.close()
    f = nets.encoder(torch.arange(NUM_PROBLEMS)).detach()
    accuracy, explained = read_colours(nets.decoder, f, b)
    print(f"{args.checkpoint} ({state['counters']['env_steps']:,} env steps): on {len(b['exp_len'])} oracle "
          f"exploration episodes the decoder names the sign's colour in {accuracy:.0%} (chance 33%) and explains "
          f"{explained:+.2f} of f's spread after the episode")
    if args.route_values:
        print("the exploration policy's Q-values along these oracle episodes (step: episodes, Q of the oracle's "
              "action, largest Q, share where the oracle's action is the greedy one):")
        for t, n, chosen, best, agree in route_values(nets, b):
            print(f"  t={t:<3} {n:>4}  {chosen:+.3f}  {best:+.3f}  {agree:.0%}")
    if args.visits:
        grid = square_visits(state)
        print(f"trials of the replay ({len(state['buffer']['arrays']['exp_len'])}) whose exploration episode visited "
              "each 1 m square (rows: z from 0, north; columns: x from 0, west):")
        print("     " + "".join(f"{x:>6}" for x in range(grid.shape[1])))
        for z, row in enumerate(grid):
            print(f"z={z:<3}" + "".join(f"{v:>6}" for v in row))
        if "returns" in state:  # the explorer's own trials and the returns apart
            from baselines.common.recurrent_q.novelty import position_cells
            from meta_explore_envs.envs.sign3d_layout import ROOMS

            x0, _, z0, _ = ROOMS[2]  # the bottom-right room, where the sign is
            arrays = state["buffer"]["arrays"]
            reached = np.array([((x >= x0) & (z >= z0)).any() for x, z in
                                (position_cells(c[:n]) for c, n in zip(arrays["exp_codes"].numpy(),
                                                                      arrays["exp_len"].numpy(), strict=True))])
            returned = returned_trials(state)
            for name, rows in (("the explorer's own trials", ~returned), ("returns", returned)):
                print(f"{name}: {int(rows.sum())}, of which {np.mean(reached[rows]) if rows.any() else 0:.1%} "
                      "reached the bottom-right room")
    if args.replay_trials:
        print(replay_information(state, nets, args.replay_trials))
    if args.fetch_waves:
        returns = fetch_returns(state, args.fetch_waves)
        print(f"handed the encoder's z, the greedy exploitation policy returns {returns.mean():+.3f} over "
              f"{len(returns)} trials: right object {np.mean(returns > 0):.0%}, wrong {np.mean(returns < 0):.0%}, "
              f"none {np.mean(returns == 0):.0%}")


if __name__ == "__main__":
    import tyro

    main(tyro.cli(Args))
