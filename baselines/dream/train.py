"""Meta-train DREAM on a grid trial env.

    python -m baselines.dream.train --env MetaDistractingBus-v0 --seed 0 --out runs/dream-bus-0
    python -m baselines.dream.train --env MetaDistractingBus-v0 --no-bottleneck --out runs/nobn
    python -m baselines.dream.train --out runs/dream-bus-0 --resume   # continue a killed run

The loop (Algorithm 1 of the paper, batched): every *wave* plays ``num_envs`` meta-training
trials in lockstep (problem IDs from ``info``, train split). In each trial the exploration
policy (epsilon-greedy) explores; the first exploitation episode then conditions on
z ~ F(z | mu) or, for ``decoder_z_fraction`` of the trials, on the decoder's z = g(tau_exp);
the exploitation policy acts. Whole trials go to the replay buffer. Then
``wave_steps / env_steps_per_update`` gradient updates, each on ``batch_size`` whole trials:

* decoder: ||g(tau_{:t}) - f(mu)||^2 on every prefix (f held fixed);
* exploration Q (double DQN): rewards = information gain under the current decoder;
* exploitation Q (double DQN) on z = f(mu) + rho * eps (gradients reach the encoder), plus
  the bottleneck lambda * ||f(mu)||^2 on the encoder.

DREAM is a method on the shared learner (:mod:`baselines.common.recurrent_q`): this module
is its networks' set-up, its wave hooks and its losses; the loop, the replay, collection,
double DQN, checkpoints, logging and evaluation are the shared learner's. Outputs under
``--out``: ``config.json``, ``progress.csv`` (also TensorBoard events),
``checkpoint.pt`` (everything, for ``--resume``), ``final.pt`` (the small policy checkpoint
``load_agent`` reads) and ``result.json`` (the final test-split evaluation).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

from baselines.common.recurrent_q import loop
from baselines.common.recurrent_q.collect import TrialBatch
from baselines.common.recurrent_q.loop import RecurrentQTrainer
from baselines.common.recurrent_q.networks import random_shift
from baselines.common.recurrent_q.novelty import FrameHashCounter, position_codes
from baselines.common.recurrent_q.qlearning import ActionChooser, with_exploration_prefixes
from baselines.common.runs import KEEP_SAVED, parse_cli, resumed_config
from baselines.dream.agent import DreamActor, DreamAgent, policy_checkpoint
from baselines.dream.config import DreamConfig
from baselines.dream.networks import (
    DreamNetworks,
    bottleneck_penalty,
    decoder_loss,
    double_dqn_loss,
    encoding_spread,
    information_gain_rewards,
    spread_over_versions,
    with_step_cost,
)

TRAIN_FORMAT = "dream-train-v1"


def evaluate(nets: DreamNetworks, env_id: str, num_trials: int, seed: int) -> np.ndarray:
    """Mean exploitation return of each of ``num_trials`` test-split trials of the greedy
    agent (see :func:`baselines.common.recurrent_q.loop.evaluate`)."""
    return loop.evaluate(lambda: DreamAgent(nets, env_id), nets, env_id, num_trials, seed)


# ---------------------------------------------------------------------------- trainer
def first_told_apart(real: np.ndarray, others: np.ndarray) -> np.ndarray:
    """``(n, k)`` int64: for each trial's ``k`` counterfactual versions of its exploration
    episode, the first step whose view is told apart from the real episode's
    (``planning.sign3d.views_told_apart``), or the number of steps ``T`` if none is.
    ``real (n, T, H, W, C)`` and ``others (n, k, T', H, W, C)`` uint8 (``T' >= T``; steps past
    an episode's end are zero in both)."""
    from meta_explore_envs.planning.sign3d import views_told_apart

    steps = real.shape[1]
    # 32 trials at a time: the comparison's int16 copies of a whole resumed replay would hold
    # ~8 GB at once (3,000 trials, two counterfactual versions each).
    told = np.concatenate([views_told_apart(real[i:i + 32, None], others[i:i + 32, :, :steps])
                           for i in range(0, max(len(real), 1), 32)])
    return np.where(told.any(axis=2), told.argmax(axis=2), steps).astype(np.int64)


def returns_archive(state: dict[str, torch.Tensor]) -> dict[int, tuple[int, int, np.ndarray]]:
    """The returns archive (:attr:`Trainer.returns`: code -> ``(step t, seed, the t actions)``)
    from its checkpoint form (``checkpoint.pt``'s ``"returns"``)."""
    return {code: (t, seed, actions[:t].copy()) for code, t, seed, actions in
            zip(state["codes"].tolist(), state["steps"].tolist(), state["seeds"].tolist(), state["actions"].numpy(),
                strict=True)}


class Trainer(RecurrentQTrainer):
    """DREAM on the shared learner: its networks, its wave set-up (which trials act on the
    encoder's z) and its losses; every other piece of training state and every other step is
    :class:`~baselines.common.recurrent_q.loop.RecurrentQTrainer`'s."""

    method = "DREAM"
    train_format = TRAIN_FORMAT
    cli = "baselines.dream.train"
    recent_columns = {"train_return": "return", "train_return_encoder_z": "return_enc",
                      "train_return_decoder_z": "return_dec", "exploration_length": "exp_len",
                      "exploration_sign_seen": "sign_seen"}
    metric_columns = ("exploration_reward", "loss_explore_q", "loss_task_q", "loss_decoder", "decoder_error_final",
                      "f_norm_sq")
    cfg: DreamConfig
    nets: DreamNetworks
    actor: DreamActor

    def __init__(self, cfg: DreamConfig):
        super().__init__(cfg)
        if cfg.decoder_shift and not self.spec.frame_shape:
            raise ValueError(f"decoder_shift={cfg.decoder_shift} shifts frames; {cfg.env} has no pixel observations")
        if cfg.information_rewards == "collection" and not self.spec.frame_shape:
            raise ValueError(f"information_rewards='collection' stores the rewards with the frames; {cfg.env} has "
                             "no pixel observations (use 'replay')")
        #: Visit counts of the exploration steps' novelty codes (``cfg.novelty_bonus > 0``).
        self.novelty: FrameHashCounter | None = None
        if cfg.novelty_bonus > 0:
            if not self.spec.frame_shape:
                raise ValueError(f"novelty_bonus={cfg.novelty_bonus} needs pixel observations; {cfg.env} has none")
            if cfg.novelty_source != "frames" and self.envs.native:
                raise ValueError(f"novelty_source={cfg.novelty_source!r} reads the agent's pose from single envs "
                                 f"(MetaSign3D); {cfg.env} runs on a vector env")
            self.novelty = FrameHashCounter(self.spec.frame_shape, cfg.novelty_bits, seed=cfg.seed)
        #: The replay's decoder sampling probabilities (``cfg.decoder_priority``), cached until
        #: the next wave changes the counts and the replay.
        self._decoder_probabilities: np.ndarray | None = None
        #: ``cfg.return_fraction``: for each novelty code reached so far, the earliest
        #: exploration step that reached it, ``(step t, trial seed, the t actions before it)``.
        self.returns: dict[int, tuple[int, int, np.ndarray]] = {}

    # ------------------------------------------------------------------ returns (Go-Explore)
    def steer_wave(self, seeds: np.ndarray, choose: ActionChooser) -> tuple[np.ndarray, ActionChooser]:
        """With ``cfg.return_fraction``: each trial returns with that probability, to a code
        drawn by 1 / sqrt(count) from :attr:`returns` (its seed replaced, its first
        exploration actions forced)."""
        if not self.cfg.return_fraction or not self.returns:  # (no draws: earlier runs replay exactly)
            return seeds, choose
        returning = self.rng.random(len(seeds)) < self.cfg.return_fraction
        codes = np.fromiter(sorted(self.returns), dtype=np.int64, count=len(self.returns))
        weights = self.novelty.novelty(codes).astype(np.float64)
        targets = self.rng.choice(codes, size=int(returning.sum()), p=weights / weights.sum())
        seeds = seeds.copy()
        prefixes = [np.zeros(0, np.int64)] * len(seeds)
        for slot, code in zip(np.flatnonzero(returning), targets.tolist(), strict=True):
            _, seeds[slot], prefixes[slot] = self.returns[code]
        return seeds, with_exploration_prefixes(choose, prefixes)

    def archive_returns(self, trials: dict[str, np.ndarray]) -> None:
        """Keep, for each novelty code the wave's exploration episodes reached, the earliest step
        that reached it (ties: the earlier trial)."""
        for i, length in enumerate(trials["exp_len"].tolist()):
            for t, code in enumerate(trials["exp_codes"][i, :length].tolist()):
                if code not in self.returns or t < self.returns[code][0]:
                    self.returns[code] = (t, int(trials["seed"][i]), trials["exp_act"][i, :t].copy())

    # ------------------------------------------------------------------ counterfactuals
    def extra_trial_fields(self) -> dict[str, tuple[tuple[int, ...], type]]:
        """With ``decoder_counterfactuals``: each trial's exploration episode in the split's
        other problems (``counterfactual_frames``) and those problems."""
        if not self.cfg.decoder_counterfactuals:
            return {}
        if not self.spec.frame_shape or self.envs.native:
            raise ValueError(f"decoder_counterfactuals renders exploration episodes again on single pixel envs; "
                             f"{self.cfg.env} has none")
        others = len(self.envs.split_problem_ids) - 1
        return {"counterfactual_frames": ((others, self.spec.max_episode_steps, *self.spec.frame_shape), np.uint8),
                "counterfactual_problem": ((others,), np.int64),
                "counterfactual_told_apart": ((others,), np.int64)}

    @property
    def gives_problems(self) -> bool:  # type: ignore[override]
        return self.cfg.decoder_counterfactuals

    def add_counterfactuals(self, trials: dict[str, np.ndarray]) -> None:
        """Fill ``trials``' counterfactual fields: each exploration episode's actions played
        from its start in every other problem of the split, in the split's order."""
        split = np.asarray(self.envs.split_problem_ids)
        others = np.stack([split[split != p] for p in trials["problem_id"]])  # (n, P - 1)
        n, k = others.shape
        # Into the trials' own array where they have one (a resumed replay's: no second copy).
        out = trials.get("counterfactual_frames")
        if out is not None:
            out = out.view()
            out.shape = (n * k, *out.shape[2:])  # raises rather than copy: the frames must land in the trials' array
        frames = self.envs.render_explorations(np.repeat(trials["seed"], k), others.reshape(-1),
                                               np.repeat(trials["exp_act"], k, axis=0),
                                               np.repeat(trials["exp_len"], k),
                                               out=out)
        trials["counterfactual_problem"] = others
        trials["counterfactual_frames"] = frames.reshape(n, k, *frames.shape[1:])
        trials["counterfactual_told_apart"] = first_told_apart(trials["exp_frames"], trials["counterfactual_frames"])

    def render_frames(self, trials: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        frames = super().render_frames(trials)
        if self.cfg.decoder_counterfactuals:
            again = {key: trials[key] for key in ("problem_id", "seed", "exp_act", "exp_len", "counterfactual_frames")}
            again["exp_frames"] = frames["exp_frames"]
            self.add_counterfactuals(again)
            frames["counterfactual_frames"] = again["counterfactual_frames"]
        return frames

    # ------------------------------------------------------------------ networks
    def make_networks(self) -> DreamNetworks:
        cfg = self.cfg
        if not cfg.explore_can_end and self.envs.end_action is None:
            raise ValueError(f"explore_can_end=False masks the exploration policy's end-episode action; {cfg.env} "
                             "has none")
        return DreamNetworks(self.spec, cfg.hidden, cfg.z_dim, cfg.encoder_init_std, cfg.memory, cfg.dueling,
                             cfg.id_encoding, None if cfg.explore_can_end else self.envs.end_action)

    def q_networks(self) -> dict[str, torch.nn.Module]:
        return {"explore_target": self.nets.explore_q, "task_target": self.nets.task_q}

    @property
    def explore_target(self) -> torch.nn.Module:
        return self.targets["explore_target"]

    @property
    def task_target(self) -> torch.nn.Module:
        return self.targets["task_target"]

    def make_optimizer(self) -> torch.optim.Optimizer:
        # One AdamW: the encoder's group carries the bottleneck as decoupled weight decay
        # (see before_step()); every other group has none.
        # With ``decoder_lr`` the decoder has a third group (only then, so that the optimiser
        # state of runs without it keeps its form).
        encoder = self.nets.encoder.bottleneck_parameters()
        decoder = list(self.nets.decoder.parameters()) if self.cfg.decoder_lr else []
        apart = {id(p) for p in encoder + decoder}
        others = [p for p in self.nets.parameters() if id(p) not in apart]
        groups = [{"params": others, "weight_decay": 0.0}, {"params": encoder, "weight_decay": 0.0}]
        if decoder:
            groups.append({"params": decoder, "weight_decay": 0.0, "lr": self.cfg.decoder_lr})
        return torch.optim.AdamW(groups, lr=self.cfg.lr)

    def make_actor(self) -> DreamActor:
        return DreamActor(self.nets, self.cfg.num_envs)

    def make_agent(self) -> DreamAgent:
        return DreamAgent(self.nets, self.cfg.env)

    # ------------------------------------------------------------------ collection
    def begin_wave(self, n: int) -> np.ndarray:
        """Choose the trials whose exploitation episodes act on the decoder's z."""
        cfg = self.cfg
        use_decoder = self.rng.random(n) < cfg.decoder_z_fraction
        # z ~ F(z | mu) for the other trials; the problem IDs are only known after reset,
        # so the actor takes the encoder's z through a lookup at the switch to exploitation.
        self.actor.use_override = ~use_decoder
        noise = torch.randn(n, cfg.z_dim) * cfg.rho
        self.actor.z_override = _EncoderZ(self.nets, self.envs, noise)
        return use_decoder

    def end_wave(self, use_decoder: np.ndarray, trials: dict[str, np.ndarray], stats: dict) -> None:
        self.actor.z_override = None
        self._decoder_probabilities = None  # the counts and the replay change now
        if self.novelty is not None:  # code and count what the exploration episodes saw
            seen = _steps_taken(trials["exp_len"], trials["exp_codes"].shape[1])
            if self.cfg.novelty_source == "frames":
                trials["exp_codes"] = self.novelty.codes(trials["exp_frames"]) * seen
            else:  # one state per stored exploration step (collect.EnvList)
                headings = 8 if self.cfg.novelty_source == "pose" else 0
                for i, states in enumerate(stats["exploration_states"]):
                    trials["exp_codes"][i, : len(states)] = position_codes(states, self.cfg.novelty_cell, headings)
            self.novelty.add(trials["exp_codes"][seen])
            if self.cfg.return_fraction:
                self.archive_returns(trials)
            if self.cfg.novelty_window:  # the trials this wave will overwrite leave the counts
                a = self.buffer.arrays
                gone = self.buffer.overwritten_by(len(trials["exp_len"]))
                self.novelty.remove(a["exp_codes"][gone][_steps_taken(a["exp_len"][gone], a["exp_codes"].shape[1])])
        if self.cfg.decoder_counterfactuals:
            self.add_counterfactuals(trials)
        if self.cfg.information_rewards == "collection":
            trials["exp_info"] = self.collection_information_rewards(trials)
        self.recent["return_enc"].extend(stats["exploit_return"][~use_decoder].tolist())
        self.recent["return_dec"].extend(stats["exploit_return"][use_decoder].tolist())

    # ------------------------------------------------------------------ updates
    def compute_losses(self, b: dict[str, torch.Tensor], partner: dict[str, torch.Tensor] | None = None,
                       decoder_b: dict[str, torch.Tensor] | None = None,
                       decoder_partner: dict[str, torch.Tensor] | None = None) -> dict[str, torch.Tensor]:
        """DREAM's losses on a batch of whole trials (see the module docstring).

        ``partner``: for each trial, another trial of the same problem; the decoder also
        learns to estimate f from the facts of both exploration episodes together.
        ``decoder_b``, ``decoder_partner``: the decoder's own trials and their partners
        (``cfg.decoder_priority``); else it learns from the batch's first ``decoder_trials``.
        """
        cfg, nets = self.cfg, self.nets
        f = nets.encoder(b["problem_id"])  # (B, z)

        # Decoder on the exploration episodes (every prefix, or each whole episode: decoder_prefixes);
        # f is its fixed target.
        exp_frames = b.get("exp_frames")  # pixel observations only
        exp_len = b["exp_len"]
        k = cfg.decoder_trials or len(f)  # the decoder learns from the batch's first k trials
        # Whole batches are passed as they are: the Q-networks' converted frames are cached by
        # tensor identity (networks._conv_input), and a slice would be a new tensor.
        f_decoder = f[:k]
        if decoder_b is not None:  # its own trials
            decoder_batch, f_decoder = decoder_b, nets.encoder(decoder_b["problem_id"])
        elif k < len(f):
            decoder_batch = {key: v[:k] for key, v in b.items()}
            decoder_partner = None if partner is None else {key: v[:k] for key, v in partner.items()}
        else:
            decoder_batch, decoder_partner = b, partner
        if cfg.decoder_shift:  # the decoder's frames only; the Q-networks see them unshifted
            decoder_batch = dict(decoder_batch)
            decoder_partner = None if decoder_partner is None else dict(decoder_partner)
            decoder_batch["exp_frames"] = random_shift(decoder_batch["exp_frames"], cfg.decoder_shift, self.rng)
            if decoder_partner is not None:
                decoder_partner["exp_frames"] = random_shift(decoder_partner["exp_frames"], cfg.decoder_shift,
                                                             self.rng)
        decoder, g, dist = decoder_loss(nets.decoder, f_decoder, decoder_batch, decoder_partner,
                                        cfg.decoder_union_weight, cfg.decoder_prefixes)
        if cfg.decoder_counterfactuals:  # the same episodes in the other problems
            counterfactual, f_cf, g_cf = self.counterfactual_loss(decoder_batch)
            decoder = decoder + counterfactual

        # Exploration Q on the information gain under the current decoder.
        if cfg.information_rewards == "collection":  # computed by end_wave() before any training on them
            gain = b["exp_info"]
        elif cfg.information_centred:  # on f and g less their means over each episode's versions
            versions = 1 + f_cf.shape[1]
            # x - mean x written as the differences from the real version, so that versions that
            # are the same give exactly 0 (a mean of equal floats need not equal them).
            f_centred = -(f_cf - f.unsqueeze(1)).sum(1).detach() / versions  # (B, z)
            g_centred = -(g_cf - g.unsqueeze(1)).sum(1).detach() / versions  # (B, T, z)
            scale = (spread_over_versions(torch.cat([f.unsqueeze(1), f_cf], 1)).detach().clamp(min=1e-6)
                     if cfg.normalise_information else 1.0)
            gain = information_gain_rewards(f_centred, g_centred, exp_len, 0.0, scale)
        else:
            gain = information_gain_rewards(f.detach(), g.detach(), exp_len, 0.0, self.information_scale(f.detach()))
        if cfg.information_floor:
            gain = gain.clamp(min=0.0)
        r_exp = with_step_cost(gain, exp_len, cfg.exploration_step_cost)
        beta = cfg.novelty_weight(self.env_steps)
        if self.novelty is not None and beta > 0:
            r_exp = r_exp + beta * self.novelty_rewards(b["exp_codes"], exp_len)
        beta_read = cfg.reading_bonus * cfg.bonus_fraction(self.env_steps)
        if beta_read > 0:
            r_exp = r_exp + beta_read * self.reading_rewards(b, f.detach())
        q_e, _ = nets.explore_q(b["exp_ints"], b["exp_rew"], frames=exp_frames)
        q_e = nets.explore_mask(q_e)  # (the greedy action of the targets is never a masked one)
        with torch.no_grad():
            q_e_target, _ = self.explore_target(b["exp_ints"], b["exp_rew"], frames=exp_frames)
        explore_q = double_dqn_loss(q_e, q_e_target, b["exp_act"], r_exp, exp_len, cfg.explore_gamma, cfg.td_lambda)

        # Exploitation Q on z ~ F(z | mu).
        batch, kk = b["task_len"].shape
        z = (f.unsqueeze(1) + cfg.rho * torch.randn(batch, kk, cfg.z_dim)).reshape(batch * kk, -1)
        # One uniform draw per exploitation episode, unused: it decided which episodes learned
        # on the decoder's z (a removed experiment); kept so that the generator, and with it
        # every replay batch and every run, stays exactly as before.
        self.rng.random((batch, kk))
        tt = b["task_ints"].shape[2]
        t_ints = b["task_ints"].reshape(batch * kk, tt, -1)
        t_rew_in = b["task_rew_in"].reshape(batch * kk, tt)
        t_frames = b["task_frames"].flatten(0, 1) if "task_frames" in b else None
        q_t, _ = nets.task_q(t_ints, t_rew_in, z, frames=t_frames)
        with torch.no_grad():
            q_t_target, _ = self.task_target(t_ints, t_rew_in, z.detach(), frames=t_frames)
        task_q = double_dqn_loss(q_t, q_t_target, b["task_act"].reshape(batch * kk, tt),
                                 b["task_rew"].reshape(batch * kk, tt), b["task_len"].reshape(-1), cfg.gamma,
                                 cfg.td_lambda)
        bottleneck = bottleneck_penalty(f)
        lam = cfg.bottleneck_lambda(self.env_steps)
        total = explore_q + task_q + decoder
        return {
            "total": total,  # what backward() sees; the bottleneck's gradient is applied decoupled
            "objective": total + lam * bottleneck,
            "explore_q": explore_q, "task_q": task_q, "decoder": decoder, "bottleneck": bottleneck,
            "decoder_error_final": dist.detach()[torch.arange(len(dist)), decoder_batch["exp_len"] - 1].mean(),
            "exploration_reward": r_exp.sum(1).mean(),
        }

    def reading_rewards(self, b: dict[str, torch.Tensor], f: torch.Tensor) -> torch.Tensor:
        """``(B, T)``: DREAM's information gain of each exploration action of batch ``b`` under
        the decoder that knows which problems the episode's views rule out
        (``cfg.reading_bonus``): after step t, g is the mean of f over the real problem and the
        counterfactual problems none of whose views up to t is told apart from the real one's
        (``planning.sign3d.views_told_apart``); divided by f's spread over the problems.
        ``f (B, z)``: the batch's f(mu); the steps come from the replay's
        ``counterfactual_told_apart`` (:func:`first_told_apart`, at collection)."""
        steps = torch.arange(b["exp_frames"].shape[1])
        ruled_out = steps[None, :, None] >= b["counterfactual_told_apart"][:, None, :]  # (B, T, P - 1)
        f_cf = self.nets.encoder(b["counterfactual_problem"].reshape(-1)).detach().reshape(*ruled_out.shape[::2], -1)
        kept = (~ruled_out).float()  # which counterfactual problems are still possible after step t
        g = (f.unsqueeze(1) + torch.einsum("btk,bkz->btz", kept, f_cf)) / (1 + kept.sum(2, keepdim=True))
        spread = spread_over_versions(torch.cat([f.unsqueeze(1), f_cf], 1)).clamp(min=1e-6)
        return information_gain_rewards(f, g, b["exp_len"], 0.0, spread)

    def counterfactual_loss(self, b: dict[str, torch.Tensor]) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """The decoder's loss on the counterfactual episodes of batch ``b``'s trials (each in
        every other problem; the same actions, lengths and instruction, so the same integer
        inputs), with those problems' f as targets; and those f ``(B, P - 1, z)`` and the
        decoder's outputs ``(B, P - 1, T, z)`` on the episodes."""
        frames = b["counterfactual_frames"]  # (B, P - 1, T_max, H, W, C), cut below
        n, k = frames.shape[:2]
        t = b["exp_ints"].shape[1]
        episodes = {"exp_ints": b["exp_ints"].repeat_interleave(k, 0), "exp_rew": b["exp_rew"].repeat_interleave(k, 0),
                    "exp_len": b["exp_len"].repeat_interleave(k, 0), "exp_frames": frames[:, :, :t].flatten(0, 1)}
        f = self.nets.encoder(b["counterfactual_problem"].reshape(-1))
        loss, g, _ = decoder_loss(self.nets.decoder, f, episodes, prefixes=self.cfg.decoder_prefixes)
        return loss, f.reshape(n, k, -1), g.reshape(n, k, *g.shape[1:])

    @torch.no_grad()
    def collection_information_rewards(self, trials: dict[str, np.ndarray]) -> np.ndarray:
        """``(n, T)`` float32: the information gain (step cost left out) of each exploration
        action of a freshly collected wave, under the current decoder and encoder, normalised
        as in :meth:`compute_losses` (by the wave's spread of f)."""
        nets = self.nets
        b = {key: torch.from_numpy(trials[key]) for key in ("problem_id", "exp_rew", "exp_len", "exp_frames")}
        b["exp_ints"] = torch.from_numpy(trials["exp_ints"].astype(np.int64))
        f = nets.encoder(b["problem_id"])
        _, g, _ = decoder_loss(nets.decoder, f, b)
        return information_gain_rewards(f, g, b["exp_len"], 0.0, self.information_scale(f)).numpy().astype(np.float32)

    def information_scale(self, f: torch.Tensor) -> float | torch.Tensor:
        """What the information terms are divided by: the spread of the encodings ``f`` of a
        batch's (or wave's) trials with ``normalise_information``, else 1."""
        return encoding_spread(f).clamp(min=1e-6) if self.cfg.normalise_information else 1.0

    def novelty_rewards(self, codes: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        """``(B, T)``: for action t, the novelty ``1 / sqrt(count)`` of step t + 1's code (its
        outcome); 0 for the last action (its outcome is the next episode's) and past the end."""
        novelty = torch.from_numpy(self.novelty.novelty(codes.numpy()))
        out = torch.zeros_like(novelty)
        out[:, :-1] = novelty[:, 1:]
        steps = torch.arange(out.shape[1]).unsqueeze(0)
        return torch.where(steps < (lengths - 1).unsqueeze(1), out, torch.zeros_like(out))

    def state_dict(self) -> dict[str, Any]:
        state = super().state_dict()
        if self.novelty is not None:
            state["novelty"] = self.novelty.state_dict()
        if self.cfg.return_fraction:
            codes = sorted(self.returns)
            actions = np.zeros((len(codes), self.spec.max_episode_steps), np.int64)
            for row, code in enumerate(codes):
                t, _, prefix = self.returns[code]
                actions[row, :t] = prefix
            state["returns"] = {"codes": torch.tensor(codes, dtype=torch.int64),
                                "steps": torch.tensor([self.returns[c][0] for c in codes], dtype=torch.int64),
                                "seeds": torch.tensor([self.returns[c][1] for c in codes], dtype=torch.int64),
                                "actions": torch.from_numpy(actions)}
        return state

    def load_state_dict(self, state: dict[str, Any]) -> None:
        super().load_state_dict(state)
        if self.cfg.return_fraction:
            self.returns = returns_archive(state["returns"])
        if self.novelty is not None:
            self.novelty.load_state_dict(state["novelty"])
            if "exp_codes" not in state["buffer"]["arrays"]:  # saved when codes were hashed at each update
                a, n = self.buffer.arrays, len(self.buffer)
                seen = _steps_taken(a["exp_len"][:n], a["exp_codes"].shape[1])
                a["exp_codes"][:n] = self.novelty.codes(a["exp_frames"][:n]) * seen

    def sample_batch(self) -> tuple[dict[str, torch.Tensor], ...]:
        """The Q-batch and its partners, and with ``decoder_priority`` the decoder's own trials
        and theirs."""
        batch = self.buffer.sample_with_partners(self.cfg.batch_size, self.rng)
        if not self.cfg.decoder_priority:
            return batch
        index = self.rng.choice(len(self.buffer), size=self.cfg.decoder_trials, p=self.decoder_probabilities())
        return (*batch, self.buffer.gather(index), self.buffer.gather(self.buffer.same_problem(index, self.rng)))

    def decoder_probabilities(self) -> np.ndarray:
        """``(len(replay),)``: each stored trial's chance to be one of the decoder's draws,
        proportional to ``(1 / m) ** decoder_priority`` with ``m`` the fewest meta-training
        visits of any novelty code its exploration episode reached (``cfg.decoder_priority``)."""
        if self._decoder_probabilities is None:
            a, n = self.buffer.arrays, len(self.buffer)
            seen = _steps_taken(a["exp_len"][:n], a["exp_codes"].shape[1])
            # novelty = 1 / sqrt(count), so the rarest code's is the largest
            rarest = np.where(seen, self.novelty.novelty(a["exp_codes"][:n]), 0.0).max(1).astype(np.float64)
            weights = rarest ** (2.0 * self.cfg.decoder_priority)
            self._decoder_probabilities = weights / weights.sum()
        return self._decoder_probabilities

    def before_step(self) -> None:
        """The bottleneck lambda * ||f(mu)||^2 is minimised by a plain gradient step decoupled
        from Adam's normalisation (AdamW's weight decay 2 lambda on the encoder):
        ``f <- f - lr * 2 lambda * f``. Through Adam, an l2 penalty on an embedding row whose
        Q-gradient is still tiny shrinks it at the full learning rate whatever lambda is,
        which erased z before the exploitation policy had learned to read it.
        """
        self.optimizer.param_groups[1]["weight_decay"] = 2.0 * self.cfg.bottleneck_lambda(self.env_steps)

    def update_metrics(self, losses: dict[str, torch.Tensor]) -> dict[str, float]:
        return {
            "loss_explore_q": losses["explore_q"].item(), "loss_task_q": losses["task_q"].item(),
            "loss_decoder": losses["decoder"].item(), "f_norm_sq": losses["bottleneck"].item(),
            "decoder_error_final": losses["decoder_error_final"].item(),
            "exploration_reward": losses["exploration_reward"].item(),
        }

    # ------------------------------------------------------------------ outputs
    def make_policy_checkpoint(self, meta: dict[str, Any]) -> dict[str, Any]:
        return policy_checkpoint(self.nets, self.cfg.env, self.cfg.to_dict(), meta)

    def summary_fields(self) -> dict[str, Any]:
        return {"bottleneck": self.cfg.bottleneck}


def _steps_taken(lengths: np.ndarray, steps: int) -> np.ndarray:
    """``(len(lengths), steps)`` bool: which stored exploration steps each episode took."""
    return np.arange(steps) < lengths[:, None]


class _EncoderZ:
    """Lazily gives f(mu) + rho * eps for slots at the switch to exploitation (the problem
    IDs come from the envs' ``info``, kept in the wave's trials; here read off the envs)."""

    def __init__(self, nets: DreamNetworks, envs: TrialBatch, noise: torch.Tensor):
        self.nets, self.envs, self.noise = nets, envs, noise

    def __getitem__(self, slots: torch.Tensor) -> torch.Tensor:
        pid = torch.as_tensor(self.envs.problem_ids[slots.numpy()], dtype=torch.long)
        with torch.no_grad():
            return self.nets.encoder(pid) + self.noise[slots]


#: ``progress.csv``'s columns.
CSV_FIELDS = Trainer.csv_columns()


def train(cfg: DreamConfig) -> dict[str, Any]:
    """Run (or resume) a training run; returns the final evaluation summary.

    With ``cfg.resume`` the saved run's settings win except ``total_steps`` and ``threads``
    (new values, or :data:`KEEP_SAVED`) and ``progress`` (see
    :func:`baselines.common.recurrent_q.loop.train`)."""
    return loop.train(cfg, Trainer)


def main(argv: list[str] | None = None) -> None:
    import json

    # The env's preset (config.ENV_PRESETS) is the base; flags on the command line win.
    cfg = parse_cli(DreamConfig, argv, description="Train DREAM on a Meta*-v0 trial env "
                    "(defaults: config.DreamConfig + ENV_PRESETS[env]).")
    summary = train(cfg)
    print(json.dumps(summary, indent=2))


__all__ = ["CSV_FIELDS", "KEEP_SAVED", "TRAIN_FORMAT", "Trainer", "evaluate", "main", "resumed_config", "train"]


if __name__ == "__main__":
    main()
