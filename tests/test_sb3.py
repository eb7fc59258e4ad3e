"""Stable-Baselines3 models as harness agents (baselines.sb3) and RL²-PPO (baselines.rl2_ppo):
scoring saved models through the CLI, the LSTM state across a trial, clear errors for bad
files, the exploitation-return callback, the training CLI, its resume, and sweep planning."""

from __future__ import annotations

import csv
import json
import os
import subprocess
import sys
import zipfile
from pathlib import Path

import gymnasium as gym
import numpy as np
import pytest

import meta_explore_envs  # noqa: F401
from evaluation.protocol import AgentError, import_agent_module, load_agent_module

ROOT = Path(__file__).resolve().parents[1]
ENV = "MetaMap-v0"


def cli(*args: str, cwd: Path = ROOT) -> subprocess.CompletedProcess:
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONPATH": str(ROOT)}
    return subprocess.run([sys.executable, *args], capture_output=True, text=True, cwd=cwd, env=env, timeout=120)


@pytest.fixture(scope="module")
def models(tmp_path_factory) -> dict[str, Path]:
    """A tiny PPO (MultiInputPolicy) and a tiny RecurrentPPO, trained a few steps on MetaMap."""
    import torch
    from sb3_contrib import RecurrentPPO
    from stable_baselines3 import PPO

    from meta_explore_envs.sb3_compat import recurrent_policy_kwargs

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    folder = tmp_path_factory.mktemp("sb3")
    ppo = PPO("MultiInputPolicy", gym.make(ENV), n_steps=64, batch_size=64, n_epochs=1, seed=0, device="cpu")
    ppo.learn(128)
    ppo.save(folder / "ppo.zip")
    rppo = RecurrentPPO("MultiInputLstmPolicy", gym.make(ENV), n_steps=64, batch_size=64, n_epochs=1, seed=0,
                        device="cpu", policy_kwargs=recurrent_policy_kwargs(lstm_hidden_size=16))
    rppo.learn(128)
    rppo.save(folder / "rppo.zip")
    torch.set_num_threads(threads)
    return {"ppo": folder / "ppo.zip", "rppo": folder / "rppo.zip", "folder": folder}


def test_the_score_cli_plays_a_ppo_and_a_recurrent_ppo_model(models, tmp_path):
    out = tmp_path / "ppo"
    result = cli("-m", "evaluation.score", "--agent", "baselines.sb3", "--checkpoint", str(models["ppo"]), "--env",
                 ENV, "--trials", "4", "--seeds", "0", "--out", str(out), "--no-progress")
    assert result.returncode == 0, result.stderr + result.stdout
    scored = json.loads((out / "results.json").read_text())["results"]
    assert [(r["env_id"], r["agent"]["name"], r["num_trials"]) for r in scored] == [(ENV, "sb3-PPO", 4)]
    assert scored[0]["agent"]["checkpoints"][0]["sha256"]
    # Without --env: only the envs whose spaces the model fits (MetaMap alone), not every env.
    out = tmp_path / "rppo"
    result = cli("-m", "evaluation.score", "--agent", "baselines.sb3", "--checkpoint", str(models["rppo"]),
                 "--trials", "4", "--seeds", "0", "--out", str(out), "--no-progress")
    assert result.returncode == 0, result.stderr + result.stdout
    scored = json.loads((out / "results.json").read_text())["results"]
    assert [(r["env_id"], r["agent"]["name"]) for r in scored] == [(ENV, "sb3-RecurrentPPO")]


def _hidden(state):
    return np.concatenate([np.asarray(s).reshape(-1) for s in state])


@pytest.mark.usefixtures("one_torch_thread")
def test_the_lstm_state_runs_through_the_trial_and_restarts_at_reset(models):
    from baselines.sb3 import load_agent, load_model

    agent = load_agent(ENV, str(models["rppo"]))
    assert agent.recurrent
    model = load_model(models["rppo"])  # SB3's own stepping, the reference
    env = gym.make(ENV, split="test")
    state, boundary_checked = None, False
    for trial in range(2):
        obs, _ = env.reset(seed=trial)
        agent.reset()
        start, per_episode_state, terminated = True, None, False
        while not terminated:
            batched = {k: np.asarray(v)[None] for k, v in obs.items()}
            ref, state = model.predict(batched, state=state, episode_start=np.array([start]), deterministic=True)
            # A wrong reference: the state restarted at every episode of the trial.
            _, per_episode_state = model.predict(batched, state=per_episode_state,
                                                 episode_start=np.array([start or obs["prev_action"] == 9]),
                                                 deterministic=True)
            action = agent.act(obs)
            assert action == int(ref[0])
            np.testing.assert_allclose(_hidden(agent._state), _hidden(state), rtol=0, atol=1e-6)
            if obs["episode"] == 1 and obs["prev_action"] == 9:  # the first step of the exploitation episode
                assert not np.allclose(_hidden(state), _hidden(per_episode_state))  # the check can tell
                boundary_checked = True
            obs, _, terminated, _, _ = env.step(action)
            start = False
    assert boundary_checked


@pytest.mark.usefixtures("one_torch_thread")
def test_act_batch_resets_only_the_slots_that_start_a_trial(models):
    from baselines.sb3 import load_agent, load_model

    agent = load_agent(ENV, str(models["rppo"]))
    model = load_model(models["rppo"])
    envs = [gym.make(ENV, split="test") for _ in range(2)]
    obs = [envs[i].reset(seed=10 + i)[0] for i in range(2)]
    refs, starts = [None, None], [True, True]
    agent.reset()
    for step in range(30):
        if step == 7:  # slot 1 starts a new trial mid-way; slot 0 goes on
            obs[1] = envs[1].reset(seed=99)[0]
            starts[1] = True
        stacked = {k: np.stack([o[k] for o in obs]) for k in obs[0]}
        actions = agent.act_batch(stacked, np.array(starts))
        for i in range(2):
            ref, refs[i] = model.predict({k: np.asarray(v)[None] for k, v in obs[i].items()}, state=refs[i],
                                         episode_start=np.array([starts[i]]), deterministic=True)
            assert actions[i] == int(ref[0]), (step, i)
            np.testing.assert_allclose(agent._state[0][:, i], refs[i][0][:, 0], atol=1e-6)
        starts = [False, False]
        for i in range(2):
            obs[i], _, terminated, _, _ = envs[i].step(int(actions[i]))
            if terminated:
                obs[i], starts[i] = envs[i].reset()[0], True


def test_clear_errors_for_bad_files_and_mismatched_models(models, tmp_path):
    from baselines.sb3 import SB3ModelError, load_agent

    corrupt = tmp_path / "corrupt.zip"
    corrupt.write_bytes(models["rppo"].read_bytes()[:500])
    with pytest.raises(SB3ModelError, match="corrupt.zip is not a Stable-Baselines3 model: not a valid zip"):
        load_agent(ENV, str(corrupt))
    other = tmp_path / "other.zip"
    with zipfile.ZipFile(other, "w") as archive:
        archive.writestr("readme.txt", "hello")
    with pytest.raises(SB3ModelError, match="is a zip file but not a Stable-Baselines3 model"):
        load_agent(ENV, str(other))
    with pytest.raises(SB3ModelError, match="no such file"):
        load_agent(ENV, str(tmp_path / "missing.zip"))
    with pytest.raises(SB3ModelError, match="needs the model file"):
        load_agent(ENV)
    with pytest.raises(SB3ModelError, match=r"does not fit MetaCooking-v0: observation space .*keys that differ: "
                                            r"instruction, observation\)\. It fits MetaMap-v0"):
        load_agent("MetaCooking-v0", str(models["rppo"]))
    # Through the CLI: one line, exit status 2, before any work.
    result = cli("-m", "evaluation.score", "--agent", "baselines.sb3", "--checkpoint", str(models["ppo"]), "--env",
                 "MetaCooking-v0", "--trials", "2", "--seeds", "0", "--out", str(tmp_path / "r"), "--no-progress")
    assert result.returncode == 2 and "It fits MetaMap-v0" in result.stderr and "Traceback" not in result.stderr
    result = cli("-m", "evaluation.score", "--agent", "baselines.sb3", "--checkpoint", str(corrupt), "--trials", "2",
                 "--out", str(tmp_path / "r"), "--no-progress")
    assert result.returncode == 2 and "not a valid zip" in result.stderr and "Traceback" not in result.stderr
    assert not (tmp_path / "r" / "results.json").exists()


@pytest.mark.usefixtures("one_torch_thread")
def test_the_callback_logs_the_exploitation_return_not_the_trial_s(tmp_path):
    from stable_baselines3 import PPO
    from stable_baselines3.common.logger import configure

    from baselines.sb3.training import ExploitationReturnCallback, make_trial_vec_env

    class Check(ExploitationReturnCallback):
        """Also records, per finished trial, SB3's trial return (Monitor) and the exploration return."""

        def __init__(self):
            super().__init__(window=10_000)
            self.exploration: dict[int, float] = {}
            self.trials_seen: list[tuple[float, float, float]] = []

        def _on_step(self) -> bool:
            infos, dones = self.locals["infos"], self.locals["dones"]
            for i, info in enumerate(infos):
                if info.get("episode_done") and info["episode_index"] == 0:
                    self.exploration[i] = info["episode_return"]
            before = len(self.returns)
            super()._on_step()
            logged = list(self.returns)[before:]
            finished = [i for i in range(len(infos)) if dones[i]]
            assert len(logged) == len(finished)
            for i, exploit in zip(finished, logged):
                self.trials_seen.append((infos[i]["episode"]["r"], self.exploration[i], exploit))
            return True

    envs = make_trial_vec_env(ENV, n_envs=2, seed=0, exploration_rewards=True)
    model = PPO("MultiInputPolicy", envs, n_steps=128, batch_size=64, n_epochs=1, seed=0, device="cpu")
    model.set_logger(configure(str(tmp_path), ["csv"]))
    callback = Check()
    model.learn(512, callback=callback)
    assert callback.trials >= 10 and len(callback.trials_seen) == callback.trials
    for trial_return, exploration, exploit in callback.trials_seen:
        # SB3's trial return = the exploration episode's (its step costs here) + the exploitation episode's.
        assert trial_return == pytest.approx(exploration + exploit, abs=1e-5)
        assert exploration < 0
    with open(tmp_path / "progress.csv", newline="") as f:
        rows = list(csv.DictReader(f))
    assert float(rows[-1]["rollout/exploit_return_mean"]) == pytest.approx(np.mean(callback.returns))
    assert float(rows[-1]["rollout/ep_rew_mean"]) < float(rows[-1]["rollout/exploit_return_mean"])


def test_an_agent_given_as_a_file_path_is_imported_from_it(tmp_path):
    (tmp_path / "helper_of_my_agent.py").write_text("NAME = 'helped'\n")
    path = tmp_path / "my_agent.py"
    path.write_text("from baselines.random import RandomAgent\nimport helper_of_my_agent\n\n"
                    "def load_agent(env_id, checkpoint=None, **kwargs):\n"
                    "    agent = RandomAgent(9, 0)\n    agent.name = helper_of_my_agent.NAME\n    return agent\n")
    agent = load_agent_module(str(path), ENV)
    assert agent.name == "helped"
    assert import_agent_module(str(path)) is import_agent_module(str(path))  # imported once
    with pytest.raises(AgentError, match="no such file .*put its folder on PYTHONPATH and pass the module name"):
        import_agent_module(str(tmp_path / "nope.py"))
    with pytest.raises(AgentError, match="not a Python file"):
        import_agent_module(str(tmp_path / "folder/agent"))
    result = cli("-m", "evaluation.score", "--agent", str(path), "--env", ENV, "--trials", "2", "--seeds", "0",
                 "--out", str(tmp_path / "r"), "--no-progress")
    assert result.returncode == 0, result.stderr + result.stdout


def _rows(path: Path) -> list[dict[str, str]]:
    with open(path, newline="") as f:
        return list(csv.DictReader(f))


TINY = ["--num-envs", "4", "--n-steps", "256", "--batch-size", "256", "--n-epochs", "1", "--lstm-hidden-size", "16",
        "--hidden", "16", "--eval-every", "1024", "--checkpoint-every", "1024", "--eval-trials", "5", "--no-progress"]


def test_rl2_ppo_trains_writes_its_curve_and_resumes(tmp_path):
    out = tmp_path / "run"
    result = cli("-m", "baselines.rl2_ppo.train", "--env", ENV, "--seed", "0", "--total-steps", "2048", "--out",
                 str(out), *TINY)
    assert result.returncode == 0, result.stderr + result.stdout
    rows = _rows(out / "progress.csv")
    assert [int(r["env_steps"]) for r in rows] == [1024, 2048]  # a periodic evaluation and the final one
    assert all(r["test_normalised"] and r["train_return"] for r in rows)
    assert (out / "final.zip").is_file() and (out / "checkpoint.zip").is_file()
    assert json.loads((out / "result.json").read_text())["env_steps"] == 2048
    # Resume what was saved: weights, optimiser and step count; settings from config.json.
    (out / "final.zip").unlink()
    with open(out / "progress.csv", "a", newline="") as f:  # a row written after the checkpoint, then killed
        f.write("99999" + "," * 10 + "\n")
    result = cli("-m", "baselines.rl2_ppo.train", "--out", str(out), "--total-steps", "3072", "--resume",
                 "--no-progress")
    assert result.returncode == 0, result.stderr + result.stdout
    rows = _rows(out / "progress.csv")
    assert [int(r["env_steps"]) for r in rows] == [1024, 2048, 3072]
    assert int(rows[-1]["trials"]) > int(rows[1]["trials"])  # counted over both sessions
    config = json.loads((out / "config.json").read_text())
    assert (config["num_envs"], config["total_steps"], config["lstm_hidden_size"]) == (4, 3072, 16)
    from baselines.sb3 import load_model

    assert load_model(out / "final.zip").num_timesteps == 3072
    # The refusals.
    result = cli("-m", "baselines.rl2_ppo.train", "--out", str(out), "--env", ENV, "--no-progress")
    assert result.returncode != 0 and "pass --resume" in result.stderr
    result = cli("-m", "baselines.rl2_ppo.train", "--out", str(tmp_path / "none"), "--resume", "--no-progress")
    assert result.returncode != 0 and "no checkpoint" in result.stderr
    # The final model scores through the harness as rl2_ppo.
    result = cli("-m", "evaluation.score", "--agent", "baselines.rl2_ppo", "--checkpoint", str(out / "final.zip"),
                 "--trials", "3", "--seeds", "0", "--out", str(tmp_path / "score"), "--no-progress")
    assert result.returncode == 0, result.stderr + result.stdout
    scored = json.loads((tmp_path / "score" / "results.json").read_text())["results"]
    assert [(r["env_id"], r["agent"]["name"]) for r in scored] == [(ENV, "rl2_ppo")]


def test_the_sweep_plans_rl2_ppo_with_flags_its_cli_takes(tmp_path):
    from baselines.common.runs import KEEP_SAVED, parse_cli
    from baselines.rl2_ppo.config import Rl2PPOConfig
    from evaluation.sweep import SweepConfig, plan_runs, train_command

    (spec,) = plan_runs(SweepConfig(agents=["rl2_ppo"], envs=[ENV], out=tmp_path, seeds=["3"], total_steps=5000))
    assert (spec.agent_module, spec.training["checkpoint"], spec.training["resume_from"]) == (
        "baselines.rl2_ppo", "final.zip", "checkpoint.zip")
    command = train_command(spec, resume=False)
    assert command[1:3] == ["-m", "baselines.rl2_ppo.train"]
    cfg = parse_cli(Rl2PPOConfig, command[3:])
    assert (cfg.env, cfg.seed, cfg.total_steps, cfg.threads, cfg.progress) == (ENV, 3, 5000, 1, False)
    assert cfg.out == str(Path(spec.directory) / "train")
    resumed = parse_cli(Rl2PPOConfig, [a for a in train_command(spec, resume=True)[3:]
                                       if a not in ("--total-steps", "5000")])
    assert resumed.resume and resumed.total_steps == KEEP_SAVED
