"""The shared learner's training loop: :class:`RecurrentQTrainer` and :func:`train`.

:class:`RecurrentQTrainer` holds every piece of training state a method shares (the envs,
the networks and their target copies, the optimiser, the replay, the random generators,
counters, recent returns and metric sums) and does what every method does the same way:
collect a wave of trials with epsilon-greedy actions, pay for it with gradient updates
(double DQN targets, clipping, Polyak targets), save and restore everything for an exact
resume, build log rows and the small policy checkpoint's metadata. A method subclasses it
and fills in its hooks (see the package docstring, :mod:`baselines.common.recurrent_q`).

:func:`train` runs (or resumes) a run with a method's trainer: the step budget, the
progress bar, ``progress.csv`` and TensorBoard rows, periodic test-split evaluation through
the harness, periodic ``checkpoint.pt`` and the final outputs (``final.pt``,
``result.json``), on the run machinery of :mod:`baselines.common.runs`.
"""

from __future__ import annotations

import copy
import json
import shlex
import sys
import time
from collections import deque
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from baselines.common.recurrent_q.collect import Actor, TrialBatch
from baselines.common.recurrent_q.config import RecurrentQConfig
from baselines.common.recurrent_q.networks import frame_channels_alive
from baselines.common.recurrent_q.qlearning import ActionChooser, epsilon_greedy, linear_epsilon, soft_update
from baselines.common.recurrent_q.replay import TrialBuffer
from baselines.common.runs import RunLog, bounds_for, finish_run, git_commit, mean_ci95, save_torch_atomic, start_run
from evaluation.bounds import normalised_score
from evaluation.harness import run_trials

#: The columns every method's ``progress.csv`` starts with, and the test columns it ends with.
HEAD_COLUMNS = ("env_steps", "updates", "trials", "wall_s", "steps_per_s", "updates_per_s", "epsilon",
                "explore_epsilon")
TEST_COLUMNS = ("test_return", "test_ci95", "test_normalised", "test_normalised_ci95")


def mean(values) -> float:
    return float(np.mean(values)) if len(values) else float("nan")


# ---------------------------------------------------------------------------- evaluation
def evaluate(make_agent: Callable[[], Any], nets: nn.Module, env_id: str, num_trials: int, seed: int) -> np.ndarray:
    """Mean exploitation return of each of ``num_trials`` test-split trials of the greedy
    agent ``make_agent()`` (acting with ``nets``), played by the harness
    (``evaluation.harness.run_trials``). Leaves the torch generator and the networks'
    train/eval mode as they were."""
    was_training = nets.training
    torch_state = torch.get_rng_state()
    try:
        agent = make_agent()
        return np.asarray(run_trials(agent, env_id, split="test", num_trials=num_trials, seed=seed).exploit_returns)
    finally:
        torch.set_rng_state(torch_state)
        nets.train(was_training)


# ---------------------------------------------------------------------------- trainer
class RecurrentQTrainer:
    """All training state of a run, and the steps every method takes the same way.

    A method subclasses it, sets the class attributes and implements the hooks
    :meth:`make_networks`, :meth:`q_networks`, :meth:`make_actor`, :meth:`make_agent`,
    :meth:`compute_losses` and :meth:`make_policy_checkpoint` (and, where it needs to,
    :meth:`make_optimizer`, :meth:`begin_wave`, :meth:`end_wave`, :meth:`sample_batch`,
    :meth:`before_step`, :meth:`update_metrics`, :meth:`summary_fields`).
    """

    #: The method's name in error messages.
    method = "recurrent Q"
    #: ``format`` of its ``checkpoint.pt``.
    train_format = "recurrent-q-train-v1"
    #: Its training CLI module (recorded in the policy checkpoint's command).
    cli = ""
    #: ``progress.csv`` column -> the recent-value window averaged there (``return``: mean
    #: exploitation return of the last 1000 trials, ``exp_len``: exploration lengths,
    #: ``sign_seen``: MetaSign3D only, whether the exploration episode saw the sign, from the
    #: privileged planner's test; blank elsewhere).
    recent_columns: Mapping[str, str] = {"train_return": "return", "exploration_length": "exp_len",
                                         "exploration_sign_seen": "sign_seen"}
    #: The columns of :meth:`update_metrics` (averaged over the updates since the last row).
    metric_columns: tuple[str, ...] = ()

    def __init__(self, cfg: RecurrentQConfig):
        self.cfg = cfg
        torch.manual_seed(cfg.seed)
        self.rng = np.random.default_rng(cfg.seed)
        self.envs = TrialBatch(cfg.env, cfg.num_envs, split="train", num_exploit_episodes=cfg.num_exploit_episodes)
        self.spec = self.envs.spec
        if cfg.problems_per_start > len(self.envs.split_problem_ids):
            raise ValueError(f"problems_per_start={cfg.problems_per_start}: {cfg.env}'s train split has only "
                             f"{len(self.envs.split_problem_ids)} problems")
        self.nets = self.make_networks()
        #: Target copies of :meth:`q_networks`, by the same names (Polyak-averaged after each update).
        self.targets: dict[str, nn.Module] = {
            name: copy.deepcopy(online).requires_grad_(False) for name, online in self.q_networks().items()
        }
        self.optimizer = self.make_optimizer()
        self.buffer = TrialBuffer(cfg.buffer_trials, cfg.num_exploit_episodes, self.spec.max_episode_steps,
                                  self.spec.num_ints, self.spec.frame_shape, self.extra_trial_fields())
        self.actor = self.make_actor()
        self.env_steps = 0
        self.updates = 0
        self.trials = 0
        self.wall_s = 0.0  # training time, summed over resumed sessions
        self.next_log = cfg.log_every
        self.next_eval = cfg.eval_every if cfg.eval_every > 0 else None
        self.next_checkpoint = cfg.checkpoint_every
        self.recent: dict[str, deque] = {key: deque(maxlen=1000) for key in self.recent_columns.values()}
        self.metric_sums: dict[str, float] = {}
        self.metric_count = 0
        self.last_test: dict[str, float] = {}

    # ------------------------------------------------------------------ hooks
    def make_networks(self) -> nn.Module:
        """Everything the method learns, one module (built after ``torch.manual_seed(cfg.seed)``)."""
        raise NotImplementedError

    def q_networks(self) -> dict[str, nn.Module]:
        """The online Q-networks that get target copies, by the target's name in the checkpoint."""
        raise NotImplementedError

    def make_optimizer(self) -> torch.optim.Optimizer:
        """Adam on every parameter at ``cfg.lr``."""
        return torch.optim.Adam(self.nets.parameters(), lr=self.cfg.lr)

    def make_actor(self) -> Actor:
        """The batched actor of ``cfg.num_envs`` trial slots that collection acts with."""
        raise NotImplementedError

    def make_agent(self) -> Any:
        """The greedy harness agent of the current networks (periodic and final evaluation)."""
        raise NotImplementedError

    def begin_wave(self, n: int) -> Any:
        """Before a wave of ``n`` trials is played (after its seeds are drawn): the method's
        own draws and actor set-up. Whatever it returns is passed to :meth:`end_wave`."""
        return None

    def end_wave(self, wave: Any, trials: dict[str, np.ndarray], stats: dict) -> None:
        """After the wave is played, before its trials go to the replay."""

    def steer_wave(self, seeds: np.ndarray, choose: ActionChooser) -> tuple[np.ndarray, ActionChooser]:
        """The wave's seeds and action chooser, as the method plays them (DREAM's returns
        replace some seeds and force the first exploration actions); unchanged here."""
        return seeds, choose

    def extra_trial_fields(self) -> dict[str, tuple[tuple[int, ...], type]]:
        """The method's own per-trial replay arrays (name -> (shape, dtype)), filled by
        :meth:`end_wave`; none here."""
        return {}

    #: Whether every meta-training trial's problem is drawn by the trainer and passed to the
    #: env's reset (else the trial's seed draws it): a method that plays a trial's start again
    #: in other problems needs it (the same seed with another problem gives the same start).
    gives_problems = False

    def render_frames(self, trials: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        """The rendered fields of stored ``trials`` played again (a checkpoint without frames),
        written into ``trials``' own arrays of those fields, which are returned."""
        return self.envs.render_frames(trials)

    def sample_batch(self) -> tuple:
        """The arguments of :meth:`compute_losses`: a batch of ``cfg.batch_size`` trials."""
        return (self.buffer.sample(self.cfg.batch_size, self.rng),)

    def compute_losses(self, *batch: Any) -> dict[str, torch.Tensor]:
        """The method's losses; ``"total"`` is what ``backward()`` sees."""
        raise NotImplementedError

    def before_step(self) -> None:
        """After the losses, before the gradient step (e.g. set a scheduled weight decay)."""

    def update_metrics(self, losses: dict[str, torch.Tensor]) -> dict[str, float]:
        """The logged numbers of one update (keys: :attr:`metric_columns`)."""
        return {key: losses[key].item() for key in self.metric_columns}

    def make_policy_checkpoint(self, meta: dict[str, Any]) -> dict[str, Any]:
        """The small checkpoint ``load_agent`` reads, with ``meta`` (command, seed, commit, ...)."""
        raise NotImplementedError

    def summary_fields(self) -> dict[str, Any]:
        """Settings ``result.json`` records after ``env`` and ``seed``."""
        return {}

    # ------------------------------------------------------------------ schedule
    def epsilon(self, explore: bool = False) -> float:
        """Epsilon of the exploitation (or, with ``explore``, the exploration) policy now."""
        cfg = self.cfg
        end, steps = ((cfg.explore_epsilon_end, cfg.explore_epsilon_decay_steps) if explore
                      else (cfg.epsilon_end, cfg.epsilon_decay_steps))
        return linear_epsilon(self.env_steps, cfg.epsilon_start, end, steps)

    # ------------------------------------------------------------------ collection
    def collect(self) -> int:
        """One wave of meta-training trials into the buffer; returns its env steps."""
        cfg, n, per_start = self.cfg, self.cfg.num_envs, self.cfg.problems_per_start
        groups = problem_ids = None
        if per_start == 1:
            seeds = self.rng.integers(2**31, size=n)
            if self.gives_problems:
                problem_ids = self.rng.choice(self.envs.split_problem_ids, n)
        else:  # each start in per_start problems, with the same random draws (see the config)
            groups = np.repeat(np.arange(n // per_start), per_start)
            seeds = self.rng.integers(2**31, size=n // per_start)[groups]
            problem_ids = np.concatenate([self.rng.choice(self.envs.split_problem_ids, per_start, replace=False)
                                          for _ in range(n // per_start)])
        wave = self.begin_wave(n)
        no_end = None
        if cfg.explore_no_end_fraction > 0:  # (no draw otherwise: earlier runs replay exactly)
            no_end = self.rng.random(n) < cfg.explore_no_end_fraction
            if groups is not None:
                no_end = no_end[groups * per_start]  # the group's first slot's draw
        choose = epsilon_greedy(self.epsilon(), self.rng, explore_epsilon=self.epsilon(explore=True),
                                no_end_slots=no_end, end_action=self.envs.end_action,
                                random_end=cfg.random_end_action, groups=groups)
        seeds, choose = self.steer_wave(seeds, choose)
        trials, stats = self.envs.run_wave(self.actor, seeds, choose, problem_ids)
        self.end_wave(wave, trials, stats)
        self.buffer.add(trials)
        self.env_steps += stats["steps"]
        self.trials += n
        self.recent["return"].extend(stats["exploit_return"].tolist())
        self.recent["exp_len"].extend(stats["exp_len"].tolist())
        if "sign_seen" in stats:
            self.recent["sign_seen"].extend(stats["sign_seen"].tolist())
        return stats["steps"]

    # ------------------------------------------------------------------ updates
    def update(self) -> dict[str, float]:
        """One gradient step on a batch of whole trials, then the Polyak target step."""
        cfg = self.cfg
        losses = self.compute_losses(*self.sample_batch())
        self.before_step()
        self.optimizer.zero_grad(set_to_none=True)
        losses["total"].backward()
        torch.nn.utils.clip_grad_norm_(self.nets.parameters(), cfg.max_grad_norm)
        self.optimizer.step()
        soft_update(((self.targets[name], online) for name, online in self.q_networks().items()), cfg.target_tau)
        self.updates += 1
        return self.update_metrics(losses)

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

    # ------------------------------------------------------------------ logging
    @classmethod
    def csv_columns(cls) -> tuple[str, ...]:
        return (*HEAD_COLUMNS, *cls.recent_columns, *cls.metric_columns, "frame_channels_alive", *TEST_COLUMNS)

    def log_row(self, steps_per_s: float, updates_per_s: float) -> dict[str, Any]:
        """A ``progress.csv`` row of training statistics (resets the metric sums)."""
        row: dict[str, Any] = {
            "env_steps": self.env_steps, "updates": self.updates, "trials": self.trials,
            "wall_s": round(self.wall_s, 2), "steps_per_s": round(steps_per_s, 1),
            "updates_per_s": round(updates_per_s, 2), "epsilon": round(self.epsilon(), 4),
            "explore_epsilon": round(self.epsilon(explore=True), 4),
        }
        for column, key in self.recent_columns.items():
            if self.recent[key]:  # (left blank where nothing fills it: sign_seen off MetaSign3D)
                row[column] = mean(self.recent[key])
        for k, v in self.metric_sums.items():
            row[k] = v / max(1, self.metric_count)
        alive = frame_channels_alive(self.nets)
        if alive == alive:  # (blank without frames)
            row["frame_channels_alive"] = round(alive, 4)
        self.metric_sums, self.metric_count = {}, 0
        return row

    # ------------------------------------------------------------------ checkpoints
    def state_dict(self) -> dict[str, Any]:
        return {
            "format": self.train_format,
            "config": self.cfg.to_dict(),
            "nets": self.nets.state_dict(),
            **{name: target.state_dict() for name, target in self.targets.items()},
            "optimizer": self.optimizer.state_dict(),
            "buffer": self.buffer.state_dict(frames=self.cfg.checkpoint_frames),
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
        if state.get("format") != self.train_format:
            raise ValueError(f"not a {self.method} training checkpoint (format {state.get('format')!r})")
        self.nets.load_state_dict(state["nets"])
        for name, target in self.targets.items():
            target.load_state_dict(state[name])
        self.optimizer.load_state_dict(state["optimizer"])
        self.buffer.load_state_dict(state["buffer"], render=self.render_frames)
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

    def git_commit(self) -> str:
        """The code's commit; ``-dirty`` when the method's package (that of :attr:`cli`) or the
        shared learner's has uncommitted changes."""
        return git_commit("/".join(self.cli.split(".")[:-1]) or "baselines", "baselines/common")

    def policy_checkpoint(self, extra_meta: dict[str, Any] | None = None) -> dict[str, Any]:
        """:meth:`make_policy_checkpoint` with the run's metadata: the command (when run as the
        method's CLI), seed, git commit, env steps, updates and wall-clock."""
        cli = self.cli
        by_cli = bool(cli) and (Path(sys.argv[0]).name == "train.py" or sys.argv[0].endswith(cli))
        meta = {
            "command": " ".join(shlex.quote(a) for a in ["python", "-m", cli, *sys.argv[1:]]) if by_cli else "",
            "seed": self.cfg.seed, "git_commit": self.git_commit(),
            "env_steps": self.env_steps, "updates": self.updates, "wall_s": round(self.wall_s, 1), **(extra_meta or {}),
        }
        return self.make_policy_checkpoint(meta)


# ---------------------------------------------------------------------------- the run
def train(cfg: RecurrentQConfig, trainer_class: type[RecurrentQTrainer]) -> dict[str, Any]:
    """Run (or resume) a training run of ``trainer_class``; returns the final evaluation summary.

    With ``cfg.resume`` the saved run's settings win except ``total_steps`` and ``threads``
    (new values, or :data:`KEEP_SAVED`) and ``progress``."""
    cfg, trainer, ckpt_path = start_run(cfg, trainer_class)
    bounds = bounds_for(cfg.env, compute=False)

    def run_eval() -> dict[str, float]:
        nonlocal bounds
        if bounds is None and cfg.normalise:
            bounds = bounds_for(cfg.env, compute=False)
        returns = evaluate(trainer.make_agent, trainer.nets, cfg.env, cfg.eval_trials, seed=cfg.seed)
        mean_return, ci = mean_ci95(returns)
        result = {"test_return": mean_return, "test_ci95": ci}
        if bounds is not None:
            result["test_normalised"], result["test_normalised_ci95"] = mean_ci95(normalised_score(returns, bounds))
        return result

    last_t, last_steps, last_updates = time.perf_counter(), trainer.env_steps, trainer.updates
    session_start, session_wall0 = time.perf_counter(), trainer.wall_s
    with RunLog(Path(cfg.out), trainer.csv_columns(), total_steps=cfg.total_steps, initial_steps=trainer.env_steps,
                desc=cfg.env, progress=cfg.progress) as log:
        bar = log.bar
        while not trainer.done():
            trainer.train_wave()
            now = time.perf_counter()
            trainer.wall_s = session_wall0 + (now - session_start)
            if bar is not None:
                bar.update(trainer.env_steps - bar.n)
                bar.set_postfix(ret=f"{mean(trainer.recent['return']):.2f}",
                                expl=f"{mean(trainer.recent['exp_len']):.1f}",
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
                log.write(row, trainer.env_steps)
                if bar is not None:
                    bar.refresh()
            if trainer.env_steps >= trainer.next_checkpoint:
                while trainer.next_checkpoint <= trainer.env_steps:
                    trainer.next_checkpoint += cfg.checkpoint_every
                save_torch_atomic(trainer.state_dict(), ckpt_path)
        # Final evaluation and outputs (the exact bounds are computed now if not cached yet).
        if bounds is None and cfg.normalise:
            bounds = bounds_for(cfg.env)
        final = run_eval()
        trainer.last_test = final
        row = trainer.log_row(float("nan"), float("nan"))
        row.update(final)
        log.write(row, trainer.env_steps)
    save_torch_atomic(trainer.state_dict(), ckpt_path)
    summary = {"env": cfg.env, "seed": cfg.seed, **trainer.summary_fields(), "env_steps": trainer.env_steps,
               "updates": trainer.updates, "wall_s": round(trainer.wall_s, 1), "eval_trials": cfg.eval_trials,
               **final, "git_commit": trainer.git_commit()}
    return finish_run(Path(cfg.out), trainer.policy_checkpoint({"final_eval": final}), summary)
