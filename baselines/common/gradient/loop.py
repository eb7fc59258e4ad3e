"""The training loop every gradient-based method shares: :class:`GradientTrainer` and :func:`train`.

:class:`GradientTrainer` holds a run's state (the native vector env of ``meta_batch`` trials,
the meta-policy, the Adam optimiser, the NumPy and torch generators, counters) and plays one
iteration the same way for every method: a batch of trials (:func:`~.rollout.collect_trials`),
then the method's :meth:`~GradientTrainer.update`. A method subclasses it with
:meth:`~GradientTrainer.make_policy` and :meth:`~GradientTrainer.update`.

:func:`train` runs (or resumes) a run: the step budget, the progress bar, ``progress.csv`` and
TensorBoard rows every iteration, an evaluation on the test split through the harness
(``evaluation.harness.run_trials``, normalised with ``evaluation.bounds``) every
``eval_every`` iterations and at the end, ``checkpoint.pt`` every ``checkpoint_every``
iterations (everything, incl. the generators' states, for an exact ``--resume``), and the
final ``final.pt`` (the policy checkpoint ``load_agent`` reads) and ``result.json``, all
written atomically.
"""

from __future__ import annotations

import copy
import json
import shlex
import sys
import time
from pathlib import Path
from typing import Any

import gymnasium as gym
import numpy as np
import torch

from baselines.common.gradient.agent import GradientAgent, policy_checkpoint
from baselines.common.gradient.config import GradientConfig
from baselines.common.gradient.estimators import LinearFeatureBaseline, discounted_returns, gae, normalise
from baselines.common.gradient.meta_policy import MetaPolicy
from baselines.common.gradient.rollout import Episodes, TrialRollout, collect_trials
from baselines.common.runs import RunLog, bounds_for, finish_run, git_commit, mean_ci95, save_torch_atomic, start_run
from evaluation.bounds import normalised_score
from evaluation.harness import run_trials
from meta_explore_envs.core import check_int

HEAD_COLUMNS = ("iteration", "env_steps", "wall_s", "steps_per_s", "explore_return", "exploit_return")
TEST_COLUMNS = ("test_return", "test_ci95", "test_normalised", "test_normalised_ci95")


class GradientTrainer:
    """A run's state and one iteration (see the module docstring). Subclasses set ``method``
    (the module name under ``baselines``), ``train_format``, ``metric_columns`` and implement
    :meth:`make_policy` and :meth:`update`."""

    method = "gradient"
    train_format = "gradient-train-v1"
    metric_columns: tuple[str, ...] = ()

    def __init__(self, cfg: GradientConfig):
        self.cfg = cfg
        torch.manual_seed(cfg.seed)
        self.rng = np.random.default_rng(cfg.seed)
        self.envs = gym.make_vec(cfg.env, num_envs=check_int("meta_batch", cfg.meta_batch, 1),
                                 vectorization_mode="vector_entry_point", split="train",
                                 num_exploit_episodes=cfg.num_exploit_episodes)
        if cfg.meta_batch % check_int("episodes_per_task", cfg.episodes_per_task, 1):
            raise ValueError(f"meta_batch={cfg.meta_batch} must be a multiple of episodes_per_task="
                             f"{cfg.episodes_per_task} (it counts trials)")
        self.episode_length = self.envs.single.episode_env.max_episode_steps
        self.obs_dim = int(np.prod(self.envs.single_observation_space["observation"].shape))
        self.act_dim = int(np.prod(self.envs.single_action_space.shape))
        self.policy = self.make_policy()
        self.optimizer = torch.optim.Adam(self.policy.parameters(), lr=cfg.lr)
        self.iteration = self.env_steps = 0
        self.wall_s = 0.0
        self.last_test: dict[str, float] = {}

    # ------------------------------------------------------------------ hooks
    def make_policy(self) -> MetaPolicy:
        raise NotImplementedError

    def update(self, rollout: TrialRollout) -> dict[str, float]:
        """The outer step(s) on one batch of trials; returns metrics for ``metric_columns``."""
        raise NotImplementedError

    # ------------------------------------------------------------------ shared pieces
    @property
    def steps_per_iteration(self) -> int:
        return self.cfg.meta_batch * (self.cfg.num_exploit_episodes + 1) * self.episode_length

    def outer_advantages(self, episodes: Episodes, normalise_batch: bool = True) -> torch.Tensor:
        """``(N, k T)`` GAE advantages of the exploitation episodes (each episode on its own),
        on a linear feature baseline fitted to this batch (ProMP), normalised over the batch."""
        n, total = episodes.rewards.shape
        k, length = total // self.episode_length, self.episode_length
        obs = episodes.obs.reshape(n * k, length, -1)
        rewards = episodes.rewards.reshape(n * k, length)
        baseline = LinearFeatureBaseline(obs.shape[-1])
        baseline.fit(obs, discounted_returns(rewards, self.cfg.gamma))
        advantages = gae(rewards, baseline.predict(obs), self.cfg.gamma, self.cfg.gae_lambda)
        if normalise_batch:
            advantages = normalise(advantages)
        return torch.as_tensor(advantages.reshape(n, total), dtype=torch.float32)

    def step_optimizer(self, loss: torch.Tensor) -> float:
        """One Adam step on ``loss`` (gradient-norm clip ``grad_clip`` when > 0); returns the norm."""
        self.optimizer.zero_grad()
        loss.backward()
        params = [p for p in self.policy.parameters() if p.grad is not None]
        if self.cfg.grad_clip > 0:
            norm = torch.nn.utils.clip_grad_norm_(params, self.cfg.grad_clip)
        else:
            norm = torch.linalg.vector_norm(torch.stack([p.grad.norm() for p in params]))
        self.optimizer.step()
        return float(norm)

    def train_iteration(self) -> dict[str, float]:
        """Collect a batch of trials and update; returns the log row's statistics."""
        seed = int(self.rng.integers(2**31))
        self.policy.train()
        rollout = collect_trials(self.envs, self.policy, seed, episodes_per_task=self.cfg.episodes_per_task)
        metrics = self.update(rollout)
        self.iteration += 1
        self.env_steps += self.steps_per_iteration
        k = self.cfg.num_exploit_episodes
        return {"explore_return": float(rollout.explore.rewards.sum(1).mean()),
                "exploit_return": float(rollout.exploit.rewards.sum(1).mean() / k), **metrics}

    def done(self) -> bool:
        return self.env_steps + self.steps_per_iteration > self.cfg.total_steps

    def make_agent(self) -> GradientAgent:
        """The harness agent of a copy of the current policy (seeded with the run's seed)."""
        return GradientAgent(copy.deepcopy(self.policy), seed=self.cfg.seed, name=self.method,
                             episode_length=self.episode_length)

    # ------------------------------------------------------------------ checkpoints
    def state_dict(self) -> dict[str, Any]:
        return {"format": self.train_format, "config": self.cfg.to_dict(), "policy": self.policy.state_dict(),
                "optimizer": self.optimizer.state_dict(),
                "rng": {"numpy": json.dumps(self.rng.bit_generator.state), "torch": torch.get_rng_state()},
                "counters": {"iteration": self.iteration, "env_steps": self.env_steps, "wall_s": self.wall_s},
                "last_test": dict(self.last_test), "policy_checkpoint": self.policy_checkpoint()}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        if state.get("format") != self.train_format:
            raise ValueError(f"not a {self.method} training checkpoint (format {state.get('format')!r})")
        self.policy.load_state_dict(state["policy"])
        self.optimizer.load_state_dict(state["optimizer"])
        self.rng.bit_generator.state = json.loads(state["rng"]["numpy"])
        torch.set_rng_state(state["rng"]["torch"])
        counters = state["counters"]
        self.iteration, self.env_steps = int(counters["iteration"]), int(counters["env_steps"])
        self.wall_s = float(counters["wall_s"])
        self.last_test = dict(state["last_test"])

    def git_commit(self) -> str:
        return git_commit(f"baselines/{self.method}", "baselines/common/gradient")

    def policy_checkpoint(self, extra_meta: dict[str, Any] | None = None) -> dict[str, Any]:
        cli = f"baselines.{self.method}.train"
        by_cli = Path(sys.argv[0]).name == "train.py" or sys.argv[0].endswith(cli)
        meta = {"command": " ".join(shlex.quote(a) for a in ["python", "-m", cli, *sys.argv[1:]]) if by_cli else "",
                "seed": self.cfg.seed, "git_commit": self.git_commit(), "env_steps": self.env_steps,
                "iterations": self.iteration, "wall_s": round(self.wall_s, 1), "config": self.cfg.to_dict(),
                **(extra_meta or {})}
        return policy_checkpoint(self.policy, self.method, self.cfg.env, meta)


# ---------------------------------------------------------------------------- the run
def evaluate(trainer: GradientTrainer, bounds) -> dict[str, float]:
    """Mean exploitation return of ``eval_trials`` test trials (seed: the run's) played by the
    harness with the current policy's agent; leaves the torch generator as it was."""
    torch_state = torch.get_rng_state()
    try:
        returns = np.asarray(run_trials(trainer.make_agent(), trainer.cfg.env, split="test",
                                        num_trials=trainer.cfg.eval_trials, seed=trainer.cfg.seed).exploit_returns)
    finally:
        torch.set_rng_state(torch_state)
    mean_return, ci = mean_ci95(returns)
    result = {"test_return": mean_return, "test_ci95": ci}
    if bounds is not None:
        result["test_normalised"], result["test_normalised_ci95"] = mean_ci95(normalised_score(returns, bounds))
    return result


def train(cfg: GradientConfig, trainer_class: type[GradientTrainer]) -> dict[str, Any]:
    """Run (or resume) a run of ``trainer_class``; returns the final evaluation summary. With
    ``cfg.resume`` the saved run's settings win except ``total_steps``, ``threads`` (new values
    or ``KEEP_SAVED``) and ``progress``."""
    cfg, trainer, ckpt_path = start_run(cfg, trainer_class)
    bounds = bounds_for(cfg.env, compute=False) if cfg.normalise else None
    with RunLog(Path(cfg.out), (*HEAD_COLUMNS, *trainer.metric_columns, *TEST_COLUMNS), total_steps=cfg.total_steps,
                initial_steps=trainer.env_steps, desc=f"{trainer.method} {cfg.env}", progress=cfg.progress) as log:
        while not trainer.done():
            start = time.perf_counter()
            stats = trainer.train_iteration()
            elapsed = time.perf_counter() - start
            trainer.wall_s += elapsed
            row = {"iteration": trainer.iteration, "env_steps": trainer.env_steps, "wall_s": round(trainer.wall_s, 2),
                   "steps_per_s": round(trainer.steps_per_iteration / max(elapsed, 1e-9), 1), **stats}
            if trainer.iteration % cfg.eval_every == 0:
                trainer.last_test = evaluate(trainer, bounds)
                row.update(trainer.last_test)
            log.write(row, trainer.env_steps)
            if log.bar is not None:
                log.bar.update(trainer.env_steps - log.bar.n)
                log.bar.set_postfix(ret=f"{stats['exploit_return']:.2f}",
                                    test=f"{trainer.last_test.get('test_return', float('nan')):.2f}", refresh=False)
            if trainer.iteration % cfg.checkpoint_every == 0:
                save_torch_atomic(trainer.state_dict(), ckpt_path)
        final = evaluate(trainer, bounds if bounds is not None or not cfg.normalise else bounds_for(cfg.env))
        trainer.last_test = final
        log.write({"iteration": trainer.iteration, "env_steps": trainer.env_steps,
                   "wall_s": round(trainer.wall_s, 2), **final}, trainer.env_steps)
    save_torch_atomic(trainer.state_dict(), ckpt_path)
    summary = {"env": cfg.env, "seed": cfg.seed, "method": trainer.method, "env_steps": trainer.env_steps,
               "iterations": trainer.iteration, "wall_s": round(trainer.wall_s, 1),
               "eval_trials": cfg.eval_trials, **final, "git_commit": trainer.git_commit()}
    return finish_run(Path(cfg.out), trainer.policy_checkpoint({"final_eval": final}), summary)


__all__ = ["GradientTrainer", "evaluate", "train"]
