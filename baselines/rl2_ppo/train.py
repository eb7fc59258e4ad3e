"""Meta-train RL² with an on-policy learner: sb3-contrib's RecurrentPPO on whole trials.

    python -m baselines.rl2_ppo.train --env MetaMap-v0 --seed 0 --total-steps 1000000 --out runs/rl2-map-0
    python -m baselines.rl2_ppo.train --out runs/rl2-map-0 --resume   # continue a killed run

The policy (``MultiInputLstmPolicy``) sees a whole trial as one episode: the trial
observation already carries the previous action, the previous reward and the episode index,
and the LSTM state runs on across the exploration and exploitation episodes (reset only
between trials), which is RL² (Duan et al. 2016) with PPO as the learner. The compat kwargs
for torch >= 2.13 (:mod:`meta_explore_envs.sb3_compat`) are applied. Training envs:
``baselines.sb3.training.make_trial_vec_env`` (SB3's ``make_vec_env`` on the train split).

Outputs under ``--out``:

* ``config.json``: the settings (a resumed run keeps them, except ``--total-steps``/``--threads``);
* ``progress.csv``: one row per test-split evaluation (every ``--eval-every`` env steps and at
  the end): ``env_steps``, ``wall_s``, ``steps_per_s``, ``trials``, ``train_trial_return``
  (SB3's ``ep_rew_mean``: whole trials), ``train_return`` (the mean exploitation return per
  trial, what the harness scores), ``exploration_length``, ``test_return``, ``test_ci95``,
  ``test_normalised``, ``test_normalised_ci95`` (harness: ``evaluation.harness.run_trials``,
  normalised with ``evaluation.bounds``);
* ``tb/``: TensorBoard (SB3's ``rollout/``, ``train/`` and ``rollout/exploit_return_mean``
  from :class:`~baselines.sb3.training.ExploitationReturnCallback`, ``eval/`` rows);
* ``checkpoint.zip``: ``model.save`` every ``--checkpoint-every`` env steps (``--resume``);
* ``final.zip``: the trained model (SB3 zip, written atomically last: its presence means
  done), scored by ``python -m evaluation.score --agent baselines.rl2_ppo --checkpoint final.zip``;
* ``result.json``: the final evaluation.

**Resume** restores the weights, the optimiser state and the env-step count from
``checkpoint.zip`` and trains on to the budget. It is not bit-exact: SB3 does not save the
envs' trials in progress, the rollout buffer or the random generators, so the resumed run
starts fresh trials (envs seeded ``seed + env_steps + i``) and differs from an uninterrupted
one after the checkpoint, like any SB3 ``load`` + ``learn(reset_num_timesteps=False)``.
"""

from __future__ import annotations

import csv
import json
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
import torch

from baselines.common.runs import bounds_for, drop_rows_after, git_commit, mean_ci95, parse_cli, resumed_config
from baselines.rl2_ppo.config import Rl2PPOConfig
from baselines.sb3.agent import SB3Agent
from baselines.sb3.training import ExploitationReturnCallback, make_trial_vec_env
from evaluation.bounds import normalised_score
from evaluation.harness import run_trials
from meta_explore_envs.core import check_int
from meta_explore_envs.files import atomic_path, write_json_atomic
from meta_explore_envs.optional import require

require("sb3_contrib", "agents")

from sb3_contrib import RecurrentPPO  # noqa: E402
from stable_baselines3.common.callbacks import BaseCallback, CallbackList  # noqa: E402
from stable_baselines3.common.logger import configure  # noqa: E402

from meta_explore_envs.sb3_compat import recurrent_policy_kwargs  # noqa: E402

CSV_COLUMNS = ("env_steps", "wall_s", "steps_per_s", "trials", "train_trial_return", "train_return",
               "exploration_length", "test_return", "test_ci95", "test_normalised", "test_normalised_ci95")
CHECKPOINT, FINAL = "checkpoint.zip", "final.zip"


def save_model(model: RecurrentPPO, path: Path) -> None:
    """``model.save`` to ``path`` atomically (the temporary file ends in .zip, or SB3 appends one)."""
    with atomic_path(path, suffix=".zip") as tmp:
        model.save(tmp)


def make_model(cfg: Rl2PPOConfig, envs: Any) -> RecurrentPPO:
    """A new RecurrentPPO with ``cfg``'s settings on ``envs``."""
    kwargs = recurrent_policy_kwargs(lstm_hidden_size=cfg.lstm_hidden_size,
                                     net_arch={"pi": [cfg.hidden, cfg.hidden], "vf": [cfg.hidden, cfg.hidden]})
    return RecurrentPPO("MultiInputLstmPolicy", envs, learning_rate=cfg.lr, n_steps=cfg.n_steps,
                        batch_size=cfg.batch_size, n_epochs=cfg.n_epochs, gamma=cfg.gamma, gae_lambda=cfg.gae_lambda,
                        clip_range=cfg.clip_range, ent_coef=cfg.ent_coef, vf_coef=cfg.vf_coef,
                        max_grad_norm=cfg.max_grad_norm, policy_kwargs=kwargs, seed=cfg.seed, device="cpu", verbose=0)


def evaluate(model: RecurrentPPO, cfg: Rl2PPOConfig, bounds: Any) -> dict[str, float]:
    """Test-split evaluation of the deterministic policy through the harness."""
    returns = run_trials(SB3Agent(model, name="rl2_ppo"), cfg.env, split="test", num_trials=cfg.eval_trials,
                         seed=cfg.seed).exploit_returns
    mean_return, ci = mean_ci95(returns)
    result = {"test_return": mean_return, "test_ci95": ci}
    if bounds is not None:
        result["test_normalised"], result["test_normalised_ci95"] = mean_ci95(normalised_score(returns, bounds))
    return result


class ProgressCallback(BaseCallback):
    """Periodic harness evaluations (progress.csv rows, ``eval/`` in TensorBoard) and
    checkpoints, both between rollouts (after PPO's update)."""

    def __init__(self, cfg: Rl2PPOConfig, csv_writer: csv.DictWriter, csv_file: Any,
                 returns: ExploitationReturnCallback, wall_s: float, trials: int = 0):
        super().__init__()
        self.cfg, self.csv_writer, self.csv_file, self.returns = cfg, csv_writer, csv_file, returns
        self.wall0, self.bounds = wall_s, bounds_for(cfg.env, compute=False) if cfg.normalise else None
        self.last_test: dict[str, float] = {}
        self.trials0 = trials  # trials finished before this session

    @staticmethod
    def _next(steps: int, every: int) -> float:
        return (steps // every + 1) * every if every > 0 else float("inf")

    def _on_training_start(self) -> None:
        self.start, self.start_steps, self.eval_seconds = time.perf_counter(), self.num_timesteps, 0.0
        self.next_eval = self._next(self.num_timesteps, self.cfg.eval_every)
        self.next_checkpoint = self._next(self.num_timesteps, self.cfg.checkpoint_every)

    @property
    def wall_s(self) -> float:
        """Training wall time (evaluations excluded), over every session of the run."""
        return self.wall0 + time.perf_counter() - self.start - self.eval_seconds

    def _on_step(self) -> bool:
        return True

    def row(self) -> dict[str, Any]:
        """A progress.csv row: training statistics and a fresh test-split evaluation."""
        eval_start = time.perf_counter()
        test = evaluate(self.model, self.cfg, self.bounds)
        self.eval_seconds += time.perf_counter() - eval_start
        self.last_test = test
        for key, value in test.items():
            if np.isfinite(value):
                self.logger.record(f"eval/{key}", value)
        session = max(self.wall_s - self.wall0, 1e-9)
        ep_info = [e["r"] for e in self.model.ep_info_buffer or []]
        return {"env_steps": self.num_timesteps, "wall_s": round(self.wall_s, 1),
                "steps_per_s": round((self.num_timesteps - self.start_steps) / session, 1),
                "trials": self.trials0 + self.returns.trials,
                "train_trial_return": float(np.mean(ep_info)) if ep_info else float("nan"),
                "train_return": float(np.mean(self.returns.returns)) if self.returns.returns else float("nan"),
                "exploration_length": (float(np.mean(self.returns.exploration_lengths))
                                       if self.returns.exploration_lengths else float("nan")),
                **test}

    def write(self, row: dict[str, Any]) -> None:
        self.csv_writer.writerow(row)
        self.csv_file.flush()

    def _on_rollout_start(self) -> None:
        if self.num_timesteps >= self.next_eval:
            self.write(self.row())
            self.next_eval = self._next(self.num_timesteps, self.cfg.eval_every)
        if self.num_timesteps >= self.next_checkpoint:
            self.next_checkpoint = self._next(self.num_timesteps, self.cfg.checkpoint_every)
            self.save_checkpoint()

    def save_checkpoint(self) -> None:
        save_model(self.model, Path(self.cfg.out) / CHECKPOINT)
        write_json_atomic(Path(self.cfg.out) / "checkpoint.json", {"env_steps": self.num_timesteps,
                                                                   "wall_s": round(self.wall_s, 1),
                                                                   "trials": self.trials0 + self.returns.trials})


def train(cfg: Rl2PPOConfig) -> dict[str, Any]:
    """Run (or resume) an RL²-PPO training run; returns the final evaluation summary."""
    out = Path(cfg.out)
    ckpt_path = out / CHECKPOINT
    if cfg.resume:
        if not ckpt_path.is_file():
            raise FileNotFoundError(f"--resume: no checkpoint at {ckpt_path}")
        saved = Rl2PPOConfig.from_dict(json.loads((out / "config.json").read_text()), source=str(out / "config.json"))
        cfg = resumed_config(cfg, saved)
    elif ckpt_path.exists():
        raise FileExistsError(f"{ckpt_path} exists: pass --resume to continue that run, or another --out")
    torch.set_num_threads(check_int("threads", cfg.threads, 1))
    check_int("total_steps", cfg.total_steps, 1)
    out.mkdir(parents=True, exist_ok=True)
    write_json_atomic(out / "config.json", cfg.to_dict())

    wall_s, steps, trials = 0.0, 0, 0
    if cfg.resume:
        state = json.loads((out / "checkpoint.json").read_text()) if (out / "checkpoint.json").exists() else {}
        wall_s, steps, trials = float(state.get("wall_s", 0.0)), int(state.get("env_steps", 0)), state.get("trials", 0)
        drop_rows_after(out / "progress.csv", steps)
    envs = make_trial_vec_env(cfg.env, cfg.num_envs, cfg.seed + steps, split="train",
                              exploration_rewards=cfg.exploration_rewards)
    if cfg.resume:
        model = RecurrentPPO.load(ckpt_path, env=envs, device="cpu")
        model.set_random_seed(cfg.seed + model.num_timesteps)
    else:
        model = make_model(cfg, envs)
    model.set_logger(configure(str(out / "tb"), ["tensorboard"]))

    csv_path = out / "progress.csv"
    new_csv = not csv_path.exists()
    csv_file = open(csv_path, "a", newline="")
    try:
        csv_writer = csv.DictWriter(csv_file, fieldnames=CSV_COLUMNS, extrasaction="ignore")
        if new_csv:
            csv_writer.writeheader()
        returns = ExploitationReturnCallback()
        progress = ProgressCallback(cfg, csv_writer, csv_file, returns, wall_s, trials)
        remaining = cfg.total_steps - model.num_timesteps
        if remaining > 0:
            model.learn(remaining, callback=CallbackList([returns, progress]), reset_num_timesteps=not cfg.resume,
                        progress_bar=cfg.progress)
        else:  # a resumed run that had reached its budget: only the final outputs are missing
            progress.init_callback(model)
            progress.on_training_start(locals(), globals())
        if progress.bounds is None and cfg.normalise:
            progress.bounds = bounds_for(cfg.env)
        final = progress.row()
        progress.write(final)
        model.logger.dump(model.num_timesteps)
    finally:
        csv_file.close()
        envs.close()
    progress.save_checkpoint()
    test = {k: final[k] for k in CSV_COLUMNS if k.startswith("test_") and k in final}
    summary = {"env": cfg.env, "seed": cfg.seed, "env_steps": model.num_timesteps, "wall_s": final["wall_s"],
               "steps_per_s": round(model.num_timesteps / max(final["wall_s"], 1e-9), 1),
               "eval_trials": cfg.eval_trials, **test, "git_commit": git_commit("baselines/rl2_ppo", "baselines/sb3"),
               "command": " ".join(["python", "-m", "baselines.rl2_ppo.train", *sys.argv[1:]])}
    write_json_atomic(out / "result.json", summary)
    save_model(model, out / FINAL)
    return summary


def main(argv: list[str] | None = None) -> None:
    cfg = parse_cli(Rl2PPOConfig, argv, description=__doc__)
    summary = train(cfg)
    print(json.dumps({k: summary[k] for k in ("env", "seed", "env_steps", "wall_s", "steps_per_s") if k in summary}
                     | {k: v for k, v in summary.items() if k.startswith("test_")}))


if __name__ == "__main__":
    main()
