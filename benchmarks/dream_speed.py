"""Wall-clock profile of DREAM training: env steps/s and updates/s.

    python benchmarks/dream_speed.py                       # all sections, MetaDistractingBus-v0 (its preset)
    python benchmarks/dream_speed.py --env MetaCooking-v0 --sections collect update
    python benchmarks/dream_speed.py --py-spy              # also sample the training loop with py-spy

Sections:
* ``collect``: env steps/s of the lockstep trial waves alone (batched network calls,
  epsilon-greedy), for several numbers of trials per wave;
* ``update``: gradient updates/s at the configured batch size, split into sampling, forward
  (all four components and both target networks), backward and optimiser step;
* ``train``: env steps/s of the whole training loop (collection + updates at the configured
  replay ratio) over a short budget;
* ``--py-spy``: samples the ``train`` section with py-spy (``pip install py-spy``, in the
  ``test`` extra) and prints the functions where the wall-clock time goes.

Every section uses ``DreamConfig.for_env(env)``: the defaults and the env's ``ENV_PRESETS`` row,
what ``python -m baselines.dream.train --env ENV`` trains with, including its torch thread
count (MetaCooking-v0: 2; ``--threads N`` overrides it).

The machine load (``os.getloadavg``) is printed with every figure: on a shared machine the
numbers are only comparable at similar load. For scale: the paper's original code trains at
50-65 env steps/s on this 2-core machine.
"""

from __future__ import annotations

import argparse
import collections
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from baselines.common.recurrent_q.qlearning import epsilon_greedy  # noqa: E402
from baselines.dream.config import DreamConfig  # noqa: E402
from baselines.dream.train import Trainer  # noqa: E402


def load() -> str:
    return "load {:.2f} {:.2f} {:.2f}".format(*os.getloadavg())


def bench_collect(env_id: str, sizes: list[int], seconds: float) -> None:
    print(f"\n## collect: lockstep waves of whole trials ({env_id}, epsilon 0.5, untrained networks)")
    for n in sizes:
        trainer = Trainer(DreamConfig.for_env(env_id, num_envs=n, progress=False))
        tabulate = getattr(trainer.envs.envs, "tabulate_all", None)  # the grids' native vector envs
        if tabulate is not None:
            tabulate()  # the one-time tabulation of the episode kinds, untimed
        choose = epsilon_greedy(0.5, trainer.rng)
        steps, start = 0, time.perf_counter()
        while time.perf_counter() - start < seconds:
            _, stats = trainer.envs.run_wave(trainer.actor, trainer.rng.integers(2**31, size=n), choose)
            steps += stats["steps"]
        dt = time.perf_counter() - start
        print(f"  {n:4d} trials/wave: {steps / dt:9.0f} env steps/s   ({load()})")


def bench_update(env_id: str, cfg_kwargs: dict, seconds: float) -> None:
    cfg = DreamConfig.for_env(env_id, progress=False, **cfg_kwargs)
    trainer = Trainer(cfg)
    while len(trainer.buffer) < 20 * cfg.batch_size:
        trainer.collect()
    print(f"\n## update: batch of {cfg.batch_size} whole trials, hidden {cfg.hidden} ({env_id})")
    times = collections.defaultdict(float)
    count, start = 0, time.perf_counter()
    while time.perf_counter() - start < seconds:
        t0 = time.perf_counter()
        batch = trainer.buffer.sample(cfg.batch_size, trainer.rng)
        t1 = time.perf_counter()
        losses = trainer.compute_losses(batch)
        t2 = time.perf_counter()
        trainer.optimizer.zero_grad(set_to_none=True)
        losses["total"].backward()
        t3 = time.perf_counter()
        torch.nn.utils.clip_grad_norm_(trainer.nets.parameters(), cfg.max_grad_norm)
        trainer.optimizer.step()
        t4 = time.perf_counter()
        for key, dt in (("sample", t1 - t0), ("forward", t2 - t1), ("backward", t3 - t2), ("optimiser", t4 - t3)):
            times[key] += dt
        count += 1
    total = sum(times.values())
    print(f"  {count / total:7.1f} updates/s, {1000 * total / count:6.1f} ms/update   ({load()})")
    for key, dt in times.items():
        print(f"    {key:10s} {1000 * dt / count:6.2f} ms  ({100 * dt / total:4.1f}%)")


def bench_train(env_id: str, cfg_kwargs: dict, steps: int) -> None:
    cfg = DreamConfig.for_env(env_id, progress=False, learning_starts=5_000, **cfg_kwargs)
    trainer = Trainer(cfg)
    while trainer.env_steps < cfg.learning_starts:
        trainer.train_wave()
    s0, u0, start = trainer.env_steps, trainer.updates, time.perf_counter()
    while trainer.env_steps - s0 < steps:
        trainer.train_wave()
    dt = time.perf_counter() - start
    print(f"\n## train: the whole loop, {cfg.num_envs} trials/wave, {cfg.env_steps_per_update:g} env steps/update "
          f"({env_id})")
    print(f"  {(trainer.env_steps - s0) / dt:7.0f} env steps/s, {(trainer.updates - u0) / dt:6.1f} updates/s"
          f"   -> {1e6 / ((trainer.env_steps - s0) / dt) / 60:5.1f} min per 1M env steps   ({load()})")


def py_spy_profile(env_id: str, steps: int, top: int, threads: int) -> None:
    print(f"\n## py-spy: where the wall-clock time of the training loop goes ({env_id}, {steps} env steps)")
    exe = Path(sys.executable).with_name("py-spy")
    py_spy = str(exe) if exe.exists() else (shutil.which("py-spy") or "py-spy")
    with tempfile.TemporaryDirectory() as tmp:
        raw = Path(tmp) / "profile.txt"
        command = [py_spy, "record", "--format", "raw", "--rate", "100", "--output", str(raw), "--",
                   sys.executable, __file__, "--env", env_id, "--sections", "train", "--train-steps", str(steps),
                   "--threads", str(threads)]
        try:
            subprocess.run(command, check=True, capture_output=True)
        except FileNotFoundError:
            print("  py-spy is not installed (pip install py-spy, or the project's `test` extra)")
            return
        except subprocess.CalledProcessError as error:
            print(f"  py-spy failed: {error.stderr.decode()[-500:]}")
            return
        self_time: collections.Counter = collections.Counter()
        inclusive: collections.Counter = collections.Counter()
        total = 0
        for line in raw.read_text().splitlines():
            stack, _, count = line.rpartition(" ")
            if "Trainer.train_wave" not in stack:
                continue  # start-up, imports, the learning_starts warm-up
            frames = [_short(f) for f in stack.split(";") if f]
            n = int(count)
            total += n
            self_time[frames[-1]] += n
            for frame in set(frames):
                inclusive[frame] += n
        if not total:
            print("  no samples of the training loop")
            return
        print(f"  {total} samples in Trainer.train_wave. Inclusive time of its parts:")
        parts = ["TrialBatch.run_wave", "DreamActor.q_values", "TrialVectorEnv.step", "TrialBuffer.add",
                 "Trainer.update", "TrialBuffer.sample_with_partners", "Trainer.compute_losses", "Tensor.backward",
                 "clip_grad_norm_", "AdamW.step", "Decoder.forward", "RecurrentQ.forward", "double_dqn_loss"]
        for part in parts:
            hits = sum(n for name, n in inclusive.items() if name.split(" (")[0] == part)
            if hits:
                print(f"    {100 * hits / total:5.1f}%  {part}")
        print("  Self time (top functions):")
        for name, n in self_time.most_common(top):
            print(f"    {100 * n / total:5.1f}%  {name}")


def _short(frame: str) -> str:
    # "function (path/to/file.py:123)" -> "function (file.py)"
    name, _, where = frame.partition(" (")
    return f"{name} ({Path(where.split(':')[0]).name})" if where else name


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--env", default="MetaDistractingBus-v0")
    parser.add_argument("--sections", nargs="+", default=["collect", "update", "train"],
                        choices=["collect", "update", "train"])
    parser.add_argument("--seconds", type=float, default=5.0, help="per collect/update measurement")
    parser.add_argument("--train-steps", type=int, default=50_000, help="env steps of the train section")
    parser.add_argument("--threads", type=int, default=None,
                        help="torch threads (default: the env's training config, DreamConfig.for_env(env).threads)")
    parser.add_argument("--py-spy", action="store_true")
    args = parser.parse_args()
    if args.threads is None:
        args.threads = DreamConfig.for_env(args.env).threads
    torch.set_num_threads(args.threads)
    defaults = DreamConfig()
    print(f"# DREAM speed, {args.env}: torch {torch.__version__}, {args.threads} thread(s), {os.cpu_count()} CPUs, "
          f"{load()}")
    if "collect" in args.sections:
        bench_collect(args.env, [16, defaults.num_envs, 256], args.seconds)
    if "update" in args.sections:
        bench_update(args.env, {}, args.seconds)
    if "train" in args.sections:
        bench_train(args.env, {}, args.train_steps)
    if args.py_spy:
        py_spy_profile(args.env, args.train_steps, top=15, threads=args.threads)


if __name__ == "__main__":
    main()
