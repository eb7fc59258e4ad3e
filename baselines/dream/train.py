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

Outputs under ``--out``: ``config.json``, ``progress.csv`` (also TensorBoard events),
``checkpoint.pt`` (everything, for ``--resume``), ``final.pt`` (the small policy checkpoint
``load_agent`` reads) and ``result.json`` (the final test-split evaluation).
"""

from __future__ import annotations

import argparse
import copy
import csv
import dataclasses
import json
import shlex
import subprocess
import sys
import time
from collections import deque
from pathlib import Path
from typing import Any

import numpy as np
import torch

from baselines.dream.agent import DreamActor, DreamAgent, policy_checkpoint
from baselines.dream.buffer import TrialBuffer
from baselines.dream.collect import TrialBatch, epsilon_greedy
from baselines.dream.config import DreamConfig
from baselines.dream.networks import (
    DreamNetworks,
    bottleneck_penalty,
    double_dqn_loss,
    information_gain_rewards,
    sequence_mask,
)
from evaluation.bounds import Bounds, cached_bounds, get_bounds, normalised_score
from evaluation.harness import run_trials
from meta_explore_envs.core import check_int
from meta_explore_envs.files import atomic_path, write_json_atomic
from meta_explore_envs.grid.world import END_ACTION

TRAIN_FORMAT = "dream-train-v1"
CSV_FIELDS = (
    "env_steps", "updates", "trials", "wall_s", "steps_per_s", "updates_per_s", "epsilon", "explore_epsilon",
    "train_return", "train_return_encoder_z", "train_return_decoder_z", "exploration_length",
    "exploration_reward", "loss_explore_q", "loss_task_q", "loss_decoder", "decoder_error_final",
    "f_norm_sq", "test_return", "test_ci95", "test_normalised", "test_normalised_ci95",
)


def git_commit() -> str:
    try:
        out = subprocess.run(["git", "rev-parse", "HEAD"], capture_output=True, text=True, check=True,
                             cwd=Path(__file__).resolve().parent)
        dirty = subprocess.run(["git", "status", "--porcelain", "--", "baselines/dream"], capture_output=True,
                               text=True, cwd=Path(__file__).resolve().parents[2]).stdout.strip()
        return out.stdout.strip() + ("-dirty" if dirty else "")
    except (OSError, subprocess.CalledProcessError):
        return "unknown"


def mean_ci95(values: np.ndarray) -> tuple[float, float]:
    """Mean and the half-width of its normal 95% confidence interval."""
    values = np.asarray(values, dtype=float)
    if len(values) < 2:
        return float(values.mean()) if len(values) else float("nan"), float("nan")
    return float(values.mean()), float(1.96 * values.std(ddof=1) / np.sqrt(len(values)))


# ---------------------------------------------------------------------------- evaluation
def bounds_for(env_id: str, split: str = "test", compute: bool = True) -> Bounds | None:
    """The harness's bounds of ``env_id`` (:func:`evaluation.bounds.get_bounds`).

    With ``compute=False`` only bounds known without computing are used, else None
    (computing the exact bounds of a family the first time can take minutes).
    """
    return get_bounds(env_id, split) if compute else cached_bounds(env_id, split)


def evaluate(nets: DreamNetworks, env_id: str, num_trials: int, seed: int) -> np.ndarray:
    """Mean exploitation return of each of ``num_trials`` test-split trials of the greedy
    agent, played by the harness (``evaluation.harness.run_trials``). Leaves the torch
    generator and the networks' train/eval mode as they were."""
    was_training = nets.training
    torch_state = torch.get_rng_state()
    try:
        agent = DreamAgent(nets, env_id)
        return np.asarray(run_trials(agent, env_id, split="test", num_trials=num_trials, seed=seed).exploit_returns)
    finally:
        torch.set_rng_state(torch_state)
        nets.train(was_training)


# ---------------------------------------------------------------------------- trainer
class Trainer:
    """All training state: networks, targets, optimiser, replay, generators, counters."""

    def __init__(self, cfg: DreamConfig):
        self.cfg = cfg
        torch.manual_seed(cfg.seed)
        self.rng = np.random.default_rng(cfg.seed)
        self.envs = TrialBatch(cfg.env, cfg.num_envs, split="train", num_exploit_episodes=cfg.num_exploit_episodes)
        self.spec = self.envs.spec
        self.nets = DreamNetworks(self.spec, cfg.hidden, cfg.z_dim, cfg.encoder_init_std, cfg.memory, cfg.dueling,
                                  cfg.id_encoding)
        self.explore_target = copy.deepcopy(self.nets.explore_q).requires_grad_(False)
        self.task_target = copy.deepcopy(self.nets.task_q).requires_grad_(False)
        # One AdamW: the encoder's group carries the bottleneck as decoupled weight decay
        # (see update()); every other group has none.
        encoder = self.nets.encoder.bottleneck_parameters()
        decayed = {id(p) for p in encoder}
        others = [p for p in self.nets.parameters() if id(p) not in decayed]
        self.optimizer = torch.optim.AdamW(
            [{"params": others, "weight_decay": 0.0}, {"params": encoder, "weight_decay": 0.0}], lr=cfg.lr
        )
        self.buffer = TrialBuffer(cfg.buffer_trials, cfg.num_exploit_episodes, self.spec.max_episode_steps,
                                  self.spec.num_ints)
        self.actor = DreamActor(self.nets, cfg.num_envs)
        self.env_steps = 0
        self.updates = 0
        self.trials = 0
        self.wall_s = 0.0  # training time, summed over resumed sessions
        self.next_log = cfg.log_every
        self.next_eval = cfg.eval_every if cfg.eval_every > 0 else None
        self.next_checkpoint = cfg.checkpoint_every
        self.recent: dict[str, deque] = {
            key: deque(maxlen=1000)
            for key in ("return", "return_enc", "return_dec", "exp_len")
        }
        self.metric_sums: dict[str, float] = {}
        self.metric_count = 0
        self.last_test: dict[str, float] = {}

    # ------------------------------------------------------------------ schedule
    def epsilon(self, explore: bool = False) -> float:
        """Epsilon of the exploitation (or, with ``explore``, the exploration) policy now."""
        cfg = self.cfg
        end, steps = ((cfg.explore_epsilon_end, cfg.explore_epsilon_decay_steps) if explore
                      else (cfg.epsilon_end, cfg.epsilon_decay_steps))
        frac = min(1.0, self.env_steps / max(1, steps))
        return cfg.epsilon_start + frac * (end - cfg.epsilon_start)

    # ------------------------------------------------------------------ collection
    def collect(self) -> int:
        """One wave of meta-training trials into the buffer; returns its env steps."""
        cfg, n = self.cfg, self.cfg.num_envs
        seeds = self.rng.integers(2**31, size=n)
        use_decoder = self.rng.random(n) < cfg.decoder_z_fraction
        # z ~ F(z | mu) for the other trials; the problem IDs are only known after reset,
        # so the actor takes the encoder's z through a lookup at the switch to exploitation.
        self.actor.use_override = ~use_decoder
        noise = torch.randn(n, cfg.z_dim) * cfg.rho
        self.actor.z_override = _EncoderZ(self.nets, self.envs, noise)
        no_end = None
        if cfg.explore_no_end_fraction > 0:  # (no draw otherwise: earlier runs replay exactly)
            no_end = self.rng.random(n) < cfg.explore_no_end_fraction
        choose = epsilon_greedy(self.epsilon(), self.rng, explore_epsilon=self.epsilon(explore=True),
                                no_end_slots=no_end, end_action=END_ACTION)
        trials, stats = self.envs.run_wave(self.actor, seeds, choose)
        self.actor.z_override = None
        self.buffer.add(trials)
        self.env_steps += stats["steps"]
        self.trials += n
        self.recent["return"].extend(stats["exploit_return"].tolist())
        self.recent["return_enc"].extend(stats["exploit_return"][~use_decoder].tolist())
        self.recent["return_dec"].extend(stats["exploit_return"][use_decoder].tolist())
        self.recent["exp_len"].extend(stats["exp_len"].tolist())
        return stats["steps"]

    # ------------------------------------------------------------------ updates
    def compute_losses(self, b: dict[str, torch.Tensor],
                       partner: dict[str, torch.Tensor] | None = None) -> dict[str, torch.Tensor]:
        """DREAM's losses on a batch of whole trials (see the module docstring).

        ``partner``: for each trial, another trial of the same problem; the decoder also
        learns to estimate f from the facts of both exploration episodes together.
        """
        cfg, nets = self.cfg, self.nets
        f = nets.encoder(b["problem_id"])  # (B, z)

        # Decoder on every prefix of the exploration episodes; f is its fixed target.
        g = nets.decoder(b["exp_ints"], b["exp_rew"])  # (B, Te, z)
        exp_len = b["exp_len"]
        mask_e = sequence_mask(exp_len, g.shape[1])
        dist = ((g - f.detach().unsqueeze(1)) ** 2).sum(-1)
        decoder = (dist * mask_e).sum() / mask_e.sum()
        if partner is not None and cfg.decoder_union_weight > 0:
            facts = nets.decoder.facts(partner["exp_ints"], partner["exp_rew"])
            known = facts[torch.arange(len(facts)), partner["exp_len"] - 1]
            g_union = nets.decoder(b["exp_ints"], b["exp_rew"], h0=known)
            dist_union = ((g_union - f.detach().unsqueeze(1)) ** 2).sum(-1)
            decoder = decoder + cfg.decoder_union_weight * (dist_union * mask_e).sum() / mask_e.sum()

        # Exploration Q on the information gain under the current decoder.
        scale = 1.0
        if cfg.normalise_information:  # mean ||f - mean f||^2 over the batch's problems
            fd = f.detach()
            scale = ((fd - fd.mean(0)) ** 2).sum(-1).mean().clamp(min=1e-6)
        r_exp = information_gain_rewards(f.detach(), g.detach(), exp_len, cfg.exploration_step_cost, scale)
        q_e, _ = nets.explore_q(b["exp_ints"], b["exp_rew"])
        with torch.no_grad():
            q_e_target, _ = self.explore_target(b["exp_ints"], b["exp_rew"])
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
        q_t, _ = nets.task_q(t_ints, t_rew_in, z)
        with torch.no_grad():
            q_t_target, _ = self.task_target(t_ints, t_rew_in, z.detach())
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
            "decoder_error_final": dist.detach()[torch.arange(batch), exp_len - 1].mean(),
            "exploration_reward": r_exp.sum(1).mean(),
        }

    def update(self) -> dict[str, float]:
        """One gradient step of all four components on a batch of whole trials.

        The bottleneck lambda * ||f(mu)||^2 is minimised by a plain gradient step decoupled
        from Adam's normalisation (AdamW's weight decay 2 lambda on the encoder):
        ``f <- f - lr * 2 lambda * f``. Through Adam, an l2 penalty on an embedding row whose
        Q-gradient is still tiny shrinks it at the full learning rate whatever lambda is,
        which erased z before the exploitation policy had learned to read it.
        """
        cfg, nets = self.cfg, self.nets
        losses = self.compute_losses(*self.buffer.sample_with_partners(cfg.batch_size, self.rng))
        self.optimizer.param_groups[1]["weight_decay"] = 2.0 * cfg.bottleneck_lambda(self.env_steps)
        self.optimizer.zero_grad(set_to_none=True)
        losses["total"].backward()
        torch.nn.utils.clip_grad_norm_(nets.parameters(), cfg.max_grad_norm)
        self.optimizer.step()
        with torch.no_grad():
            for target, online in ((self.explore_target, nets.explore_q), (self.task_target, nets.task_q)):
                torch._foreach_lerp_(list(target.parameters()), list(online.parameters()), cfg.target_tau)
        self.updates += 1
        return {
            "loss_explore_q": losses["explore_q"].item(), "loss_task_q": losses["task_q"].item(),
            "loss_decoder": losses["decoder"].item(), "f_norm_sq": losses["bottleneck"].item(),
            "decoder_error_final": losses["decoder_error_final"].item(),
            "exploration_reward": losses["exploration_reward"].item(),
        }

    # ------------------------------------------------------------------ checkpoints
    def state_dict(self) -> dict[str, Any]:
        return {
            "format": TRAIN_FORMAT,
            "config": self.cfg.to_dict(),
            "nets": self.nets.state_dict(),
            "explore_target": self.explore_target.state_dict(),
            "task_target": self.task_target.state_dict(),
            "optimizer": self.optimizer.state_dict(),
            "buffer": self.buffer.state_dict(),
            "rng": {"numpy": json.dumps(self.rng.bit_generator.state), "torch": torch.get_rng_state()},
            "counters": {
                "env_steps": self.env_steps, "updates": self.updates, "trials": self.trials, "wall_s": self.wall_s,
                "next_log": self.next_log, "next_eval": -1 if self.next_eval is None else self.next_eval,
                "next_checkpoint": self.next_checkpoint,
            },
            "recent": {k: list(v) for k, v in self.recent.items()},
            "metric_sums": dict(self.metric_sums), "metric_count": self.metric_count,
            "last_test": dict(self.last_test),
            "policy_checkpoint": self.policy_checkpoint(),
        }

    def load_state_dict(self, state: dict[str, Any]) -> None:
        if state.get("format") != TRAIN_FORMAT:
            raise ValueError(f"not a DREAM training checkpoint (format {state.get('format')!r})")
        self.nets.load_state_dict(state["nets"])
        self.explore_target.load_state_dict(state["explore_target"])
        self.task_target.load_state_dict(state["task_target"])
        self.optimizer.load_state_dict(state["optimizer"])
        self.buffer.load_state_dict(state["buffer"])
        self.rng.bit_generator.state = json.loads(state["rng"]["numpy"])
        torch.set_rng_state(state["rng"]["torch"])
        c = state["counters"]
        self.env_steps, self.updates, self.trials = int(c["env_steps"]), int(c["updates"]), int(c["trials"])
        self.wall_s = float(c["wall_s"])
        self.next_log, self.next_checkpoint = int(c["next_log"]), int(c["next_checkpoint"])
        self.next_eval = None if int(c["next_eval"]) < 0 else int(c["next_eval"])
        for k, values in state["recent"].items():
            self.recent[k].clear()
            self.recent[k].extend(values)
        self.metric_sums = dict(state["metric_sums"])
        self.metric_count = int(state["metric_count"])
        self.last_test = dict(state["last_test"])

    def policy_checkpoint(self, extra_meta: dict[str, Any] | None = None) -> dict[str, Any]:
        meta = {
            "command": " ".join(shlex.quote(a) for a in ["python", "-m", "baselines.dream.train", *sys.argv[1:]])
            if Path(sys.argv[0]).name == "train.py" or sys.argv[0].endswith("baselines.dream.train") else "",
            "seed": self.cfg.seed, "git_commit": git_commit(), "env_steps": self.env_steps, "updates": self.updates,
            "wall_s": round(self.wall_s, 1), **(extra_meta or {}),
        }
        return policy_checkpoint(self.nets, self.cfg.env, self.cfg.to_dict(), meta)

    # ------------------------------------------------------------------ one chunk of training
    def train_wave(self) -> None:
        """Collect one wave, then the updates it pays for."""
        self.collect()
        cfg = self.cfg
        if self.env_steps < cfg.learning_starts:
            return
        due = int((self.env_steps - cfg.learning_starts) / cfg.env_steps_per_update) + 1 - self.updates
        for _ in range(max(0, due)):
            metrics = self.update()
            for k, v in metrics.items():
                self.metric_sums[k] = self.metric_sums.get(k, 0.0) + v
            self.metric_count += 1

    def done(self) -> bool:
        """Stop before a wave could overrun the step budget."""
        cfg = self.cfg
        return self.env_steps + cfg.num_envs * self.envs.max_trial_steps > cfg.total_steps

    def log_row(self, steps_per_s: float, updates_per_s: float) -> dict[str, Any]:
        row: dict[str, Any] = {
            "env_steps": self.env_steps, "updates": self.updates, "trials": self.trials,
            "wall_s": round(self.wall_s, 2), "steps_per_s": round(steps_per_s, 1),
            "updates_per_s": round(updates_per_s, 2), "epsilon": round(self.epsilon(), 4),
            "explore_epsilon": round(self.epsilon(explore=True), 4),
            "train_return": _mean(self.recent["return"]), "train_return_encoder_z": _mean(self.recent["return_enc"]),
            "train_return_decoder_z": _mean(self.recent["return_dec"]),
            "exploration_length": _mean(self.recent["exp_len"]),
        }
        for k, v in self.metric_sums.items():
            row[k] = v / max(1, self.metric_count)
        self.metric_sums, self.metric_count = {}, 0
        return row


class _EncoderZ:
    """Lazily gives f(mu) + rho * eps for slots at the switch to exploitation (the problem
    IDs come from the envs' ``info``, kept in the wave's trials; here read off the envs)."""

    def __init__(self, nets: DreamNetworks, envs: TrialBatch, noise: torch.Tensor):
        self.nets, self.envs, self.noise = nets, envs, noise

    def __getitem__(self, slots: torch.Tensor) -> torch.Tensor:
        pid = torch.as_tensor(self.envs.envs.problem_id[slots.numpy()], dtype=torch.long)
        with torch.no_grad():
            return self.nets.encoder(pid) + self.noise[slots]


def _mean(values) -> float:
    return float(np.mean(values)) if len(values) else float("nan")


# ---------------------------------------------------------------------------- main loop
#: ``total_steps`` or ``threads`` value that, with ``resume``, keeps the saved run's (what the
#: CLI passes when ``--resume`` comes without ``--total-steps`` / ``--threads``); any other
#: value replaces it. Keeping the thread count keeps the resumed run identical to an
#: uninterrupted one (1 and 2 threads give different runs, see ``DreamConfig.threads``).
KEEP_SAVED = -1


def resumed_config(cfg: DreamConfig, saved: DreamConfig) -> DreamConfig:
    """The settings a resumed run continues with: the saved run's, except ``total_steps`` and
    ``threads`` where ``cfg`` gives new values (not :data:`KEEP_SAVED`), and ``progress``."""
    changeable = {name: getattr(saved, name) if getattr(cfg, name) == KEEP_SAVED else getattr(cfg, name)
                  for name in ("total_steps", "threads")}
    return DreamConfig(**{**saved.to_dict(), **changeable, "progress": cfg.progress, "out": cfg.out,
                          "resume": True})


def train(cfg: DreamConfig) -> dict[str, Any]:
    """Run (or resume) a training run; returns the final evaluation summary.

    With ``cfg.resume`` the saved run's settings win except ``total_steps`` and ``threads``
    (new values, or :data:`KEEP_SAVED`) and ``progress``."""
    out = Path(cfg.out)
    ckpt_path = out / "checkpoint.pt"
    if cfg.resume:
        if not ckpt_path.is_file():
            raise FileNotFoundError(f"--resume: no checkpoint at {ckpt_path}")
        state = torch.load(ckpt_path, map_location="cpu", weights_only=True)
        cfg = resumed_config(cfg, DreamConfig.from_dict(state["config"], source=str(ckpt_path)))
        torch.set_num_threads(cfg.threads)
        trainer = Trainer(cfg)
        trainer.load_state_dict(state)
        del state
    else:
        if ckpt_path.exists():
            raise FileExistsError(f"{ckpt_path} exists: pass --resume to continue that run, or another --out")
        torch.set_num_threads(check_int("threads", cfg.threads, 1))
        out.mkdir(parents=True, exist_ok=True)
        trainer = Trainer(cfg)
    write_json_atomic(out / "config.json", cfg.to_dict())

    from torch.utils.tensorboard import SummaryWriter

    writer = SummaryWriter(str(out / "tb"))
    csv_path = out / "progress.csv"
    header = None  # a resumed run appends under its file's own header (older runs have other columns)
    if csv_path.exists():
        with open(csv_path, newline="") as f:
            header = next(csv.reader(f), None)
    csv_file = open(csv_path, "a", newline="")
    csv_writer = csv.DictWriter(csv_file, fieldnames=header or CSV_FIELDS, extrasaction="ignore")
    if header is None:
        csv_writer.writeheader()
    bounds = bounds_for(cfg.env, compute=False)

    bar = None
    if cfg.progress:
        from tqdm import tqdm

        bar = tqdm(total=cfg.total_steps, initial=trainer.env_steps, unit="step", unit_scale=True,
                   dynamic_ncols=True, desc=cfg.env)

    def run_eval() -> dict[str, float]:
        nonlocal bounds
        if bounds is None and cfg.normalise:
            bounds = bounds_for(cfg.env, compute=False)
        returns = evaluate(trainer.nets, cfg.env, cfg.eval_trials, seed=cfg.seed)
        mean, ci = mean_ci95(returns)
        result = {"test_return": mean, "test_ci95": ci}
        if bounds is not None:
            result["test_normalised"], result["test_normalised_ci95"] = mean_ci95(normalised_score(returns, bounds))
        return result

    last_t, last_steps, last_updates = time.perf_counter(), trainer.env_steps, trainer.updates
    session_start, session_wall0 = time.perf_counter(), trainer.wall_s
    try:
        while not trainer.done():
            trainer.train_wave()
            now = time.perf_counter()
            trainer.wall_s = session_wall0 + (now - session_start)
            if bar is not None:
                bar.update(trainer.env_steps - bar.n)
                bar.set_postfix(ret=f"{_mean(trainer.recent['return']):.2f}",
                                expl=f"{_mean(trainer.recent['exp_len']):.1f}",
                                test=f"{trainer.last_test.get('test_return', float('nan')):.2f}",
                                upd=trainer.updates, refresh=False)
            row = None
            if trainer.env_steps >= trainer.next_log:
                dt = max(now - last_t, 1e-9)
                row = trainer.log_row((trainer.env_steps - last_steps) / dt, (trainer.updates - last_updates) / dt)
                while trainer.next_log <= trainer.env_steps:
                    trainer.next_log += cfg.log_every
                last_t, last_steps, last_updates = now, trainer.env_steps, trainer.updates
            if trainer.next_eval is not None and trainer.env_steps >= trainer.next_eval:
                eval_start = time.perf_counter()
                trainer.last_test = run_eval()
                row = row if row is not None else trainer.log_row(float("nan"), float("nan"))
                row.update(trainer.last_test)
                while trainer.next_eval <= trainer.env_steps:
                    trainer.next_eval += cfg.eval_every
                session_start += time.perf_counter() - eval_start  # evaluation time is not training time
                last_t += time.perf_counter() - eval_start
            if row is not None:
                csv_writer.writerow(row)
                csv_file.flush()
                for k, v in row.items():
                    if k not in ("env_steps",) and isinstance(v, (int, float)) and np.isfinite(v):
                        writer.add_scalar(k, v, trainer.env_steps)
                if bar is not None:
                    bar.refresh()
            if trainer.env_steps >= trainer.next_checkpoint:
                while trainer.next_checkpoint <= trainer.env_steps:
                    trainer.next_checkpoint += cfg.checkpoint_every
                with atomic_path(ckpt_path) as tmp:
                    torch.save(trainer.state_dict(), tmp)
        # Final evaluation and outputs (the exact bounds are computed now if not cached yet).
        if bounds is None and cfg.normalise:
            bounds = bounds_for(cfg.env)
        final = run_eval()
        trainer.last_test = final
        row = trainer.log_row(float("nan"), float("nan"))
        row.update(final)
        csv_writer.writerow(row)
        with atomic_path(ckpt_path) as tmp:
            torch.save(trainer.state_dict(), tmp)
        summary = {"env": cfg.env, "seed": cfg.seed, "bottleneck": cfg.bottleneck, "env_steps": trainer.env_steps,
                   "updates": trainer.updates, "wall_s": round(trainer.wall_s, 1), "eval_trials": cfg.eval_trials,
                   **final, "git_commit": git_commit()}
        with atomic_path(out / "final.pt") as tmp:
            torch.save(trainer.policy_checkpoint({"final_eval": final}), tmp)
        write_json_atomic(out / "result.json", summary)
        return summary
    finally:
        if bar is not None:
            bar.close()
        csv_file.close()
        writer.close()


def main(argv: list[str] | None = None) -> None:
    import tyro

    argv = sys.argv[1:] if argv is None else list(argv)
    # The env's preset (config.ENV_PRESETS) is the base; flags on the command line win.
    peek = argparse.ArgumentParser(add_help=False)
    peek.add_argument("--env", default=DreamConfig.env)
    env = peek.parse_known_args(argv)[0].env
    cfg = tyro.cli(DreamConfig, args=argv, default=DreamConfig.for_env(env),
                   description="Train DREAM on a Meta*-v0 trial env (defaults: config.DreamConfig + ENV_PRESETS[env]).")
    if cfg.resume:  # resuming keeps the saved budget and thread count unless the flag is given
        given = {a.split("=")[0] for a in argv}
        cfg = dataclasses.replace(cfg, **{name: KEEP_SAVED for name in ("total_steps", "threads")
                                          if f"--{name.replace('_', '-')}" not in given})
    summary = train(cfg)
    print(json.dumps(summary, indent=2))


if __name__ == "__main__":
    main()
