"""Run an agent on trials of a registered env: :func:`run_trials`.

The trials of a ``seed`` (problem IDs, instructions, reset seeds) are drawn from
``np.random.default_rng(seed)`` before any agent acts, so every agent meets exactly the same
trials for the same seed. Problems are uniform over the split (with replacement) and
instructions follow each problem's instruction distribution, as in the bounds.

The harness gives agents observations only (see :mod:`evaluation.protocol`); batched agents
(``act_batch``) play ``num_envs`` trials at once; privileged agents get the live env. An
invalid action, or an exception raised by the agent, stops the run with an
:class:`~evaluation.protocol.AgentError` naming the agent (module), the env, seed, trial,
episode and step, and for an action the value and the valid range.
Importing this module does not import torch.
"""

from __future__ import annotations

import copy
import time
from collections.abc import Hashable
from dataclasses import dataclass, field
from typing import Any

import gymnasium as gym
import numpy as np

import meta_explore_envs  # noqa: F401  (registers the env ids)
from evaluation.protocol import AgentError, agent_name, check_agent, is_batched, is_privileged
from meta_explore_envs.core import SPLITS, check_choice, check_int, check_num_exploit_episodes
from meta_explore_envs.progress import progress_counter
from meta_explore_envs.registry import env_family, family_class
from meta_explore_envs.trial import SETTINGS, TrialEnv


@dataclass(frozen=True)
class TrialSpec:
    """One trial, fixed before any agent acts."""

    problem_id: int
    instructions: tuple[Hashable, ...]  #: one per exploitation episode
    reset_seed: int  #: seed of ``env.reset`` (a family's random start, e.g. MetaSign3D's)


def default_setting(env_id: str) -> str:
    """The setting ``gymnasium.make(env_id)`` plays without a ``setting`` kwarg (the family's
    ``default_setting``: "imrl" for all but MetaPointCorner, which is "standard" only)."""
    return family_class(env_family(env_id)).default_setting


def trial_specs(env_id: str, split: str = "test", num_trials: int = 100, seed: int = 0,
                num_exploit_episodes: int = 1, setting: str | None = None) -> list[TrialSpec]:
    """The trials of ``seed``: problems uniform over the split, instructions from each problem's
    distribution (one per exploitation episode in IMRL, one per trial in "standard"; default:
    the env's default setting)."""
    setting = default_setting(env_id) if setting is None else setting
    episode_env = family_class(env_family(env_id))(split=split)
    rng = np.random.default_rng(seed)
    specs = []
    for _ in range(num_trials):
        problem = int(episode_env.problem_ids[int(rng.integers(len(episode_env.problem_ids)))])
        episode_env.set_problem(problem)
        if setting == "imrl":
            instructions = tuple(episode_env.sample_instruction(rng) for _ in range(num_exploit_episodes))
        else:
            instructions = (episode_env.sample_instruction(rng),) * num_exploit_episodes
        specs.append(TrialSpec(problem, instructions, int(rng.integers(2**31 - 1))))
    return specs


@dataclass
class TrialResults:
    """What happened in ``num_trials`` trials. Episode 0 is the exploration episode."""

    env_id: str
    split: str
    setting: str
    num_exploit_episodes: int
    seed: int
    agent: str  #: the agent's name
    privileged: bool  #: the agent read the live env (a cheating reference)
    env_kwargs: dict[str, Any]  #: every kwarg the env was made with (``gymnasium.make(env_id, **env_kwargs)``)
    problem_ids: np.ndarray  #: (num_trials,) int
    instructions: list[list[str]]  #: text of each exploitation episode's instruction
    episode_returns: np.ndarray  #: (num_trials, num_exploit_episodes + 1) float, reward units
    episode_lengths: np.ndarray  #: (num_trials, num_exploit_episodes + 1) int, steps
    episode_successes: np.ndarray  #: (num_trials, num_exploit_episodes + 1) bool
    exploit_returns: np.ndarray  #: (num_trials,) mean exploitation-episode return of each trial
    seconds: float  #: wall time of the run
    steps: int  #: env steps taken
    frames: list[list[list[np.ndarray]]] = field(default_factory=list, repr=False)
    """Recorded trials: per trial, per episode, RGB frames (H, W, 3) uint8."""
    agent_module: str | None = None  #: the module the agent was loaded from, when known
    #: Per trial: the actions of its exploration episode (ints; float arrays for Box actions) and
    #: the instruction of each exploitation episode (for the exploration diagnosis, :mod:`evaluation.diagnosis`).
    exploration_actions: list[list[Any]] = field(default_factory=list, repr=False)
    instruction_keys: list[tuple[Any, ...]] = field(default_factory=list, repr=False)
    #: Per trial: the episode env's ``state`` at every observation the agent got in the
    #: exploration episode: after the reset, then after each exploration step that did not end
    #: it (a step that ends the episode shows the exploitation start instead), so
    #: ``len(exploration_states[t]) == len(exploration_actions[t])``. MetaSign3D's states are
    #: ``(x, z, start_heading, turns, steps)`` (metres, radians, 45-degree turns): the poses the
    #: agent saw from (:func:`meta_explore_envs.planning.sign3d.sign_seen`).
    exploration_states: list[list[Hashable]] = field(default_factory=list, repr=False)

    @property
    def num_trials(self) -> int:
        return len(self.problem_ids)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready summary with every trial's returns (no frames)."""
        return {
            "env_id": self.env_id, "split": self.split, "setting": self.setting,
            "num_exploit_episodes": self.num_exploit_episodes, "seed": self.seed, "agent": self.agent,
            "agent_module": self.agent_module, "privileged": self.privileged, "env_kwargs": dict(self.env_kwargs),
            "seconds": self.seconds, "steps": self.steps,
            "problem_ids": self.problem_ids.tolist(), "instructions": self.instructions,
            "episode_returns": self.episode_returns.tolist(), "episode_lengths": self.episode_lengths.tolist(),
            "episode_successes": self.episode_successes.tolist(), "exploit_returns": self.exploit_returns.tolist(),
        }


class _Recorder:
    """Frames of one trial, each episode's last frame included (rendered from a copy of the
    episode env taken before the step that ends it)."""

    def __init__(self, trial: TrialEnv):
        self.trial = trial
        self.episodes: list[list[np.ndarray]] = [[trial.render()]]
        self._before: Any = None
        self._lines: list[str] = []

    def before_step(self) -> None:
        self._lines = self.trial.render_lines()
        try:
            self._before = copy.deepcopy(self.trial.episode_env)
        except Exception:  # an env that cannot be copied: its episodes end on the previous frame
            self._before = None

    def after_step(self, action: int, info: dict[str, Any]) -> None:
        if not info["episode_done"]:
            self.episodes[-1].append(self.trial.render())
            return
        if self._before is not None:
            self._before.transition(action)
            status = "success" if info["episode_success"] else "over"
            lines = self._lines[:2] + [f"step {info['episode_length']}/{self._before.max_episode_steps}   "
                                       f"return {info['episode_return']:+.2f}   episode {status}"]
            self.episodes[-1].append(self._before.render_frame(lines))
        if not self.trial._trial_over:
            self.episodes.append([self.trial.render()])


def _make_env(env_id: str, split: str, num_exploit_episodes: int, env_kwargs: dict[str, Any], record: bool):
    kwargs = dict(env_kwargs)
    if record:
        kwargs["render_mode"] = "rgb_array"
    return gym.make(env_id, split=split, num_exploit_episodes=num_exploit_episodes, **kwargs)


def run_trials(agent: Any, env_id: str, *, split: str = "test", num_trials: int = 100, seed: int = 0,
               num_exploit_episodes: int = 1, env_kwargs: dict[str, Any] | None = None,
               num_envs: int | None = None, record: int = 0, progress: bool = False,
               agent_module: str | None = None) -> TrialResults:
    """Play ``num_trials`` trials of ``env_id`` with ``agent`` and collect their returns.

    Args:
        agent: an agent following :mod:`evaluation.protocol` (already loaded).
        env_id: a registered ``Meta*-v0`` id.
        split: "test" (scored) or "train".
        num_trials: trials to play (> 0).
        seed: fixes the trials (:func:`trial_specs`); same seed, same trials for every agent.
        num_exploit_episodes: exploitation episodes per trial (>= 1).
        env_kwargs: more ``gymnasium.make`` kwargs (``setting``, ``exploration_rewards``).
        num_envs: trial slots of a batched agent (default ``min(16, num_trials)``; ignored
            for agents without ``act_batch``).
        record: record the frames of the first ``record`` trials (``TrialResults.frames``).
        progress: show a progress bar.
        agent_module: the module the agent came from, named in errors and results.

    Returns:
        :class:`TrialResults`; ``exploit_returns`` has shape ``(num_trials,)``.

    Raises:
        AgentError: the agent returned an invalid action or raised (the message says where).
    """
    who = (f"agent module {agent_module!r}" if agent_module else
           f"agent {agent_name(agent)!r} ({type(agent).__module__}.{type(agent).__qualname__})")
    check_agent(agent, who)
    split = check_choice("split", split, SPLITS)
    env_family(env_id)  # names the valid ids when env_id is unknown
    check_int("num_trials", num_trials, 1)
    check_num_exploit_episodes(num_exploit_episodes)
    check_int("record", record, 0)
    check_int("seed", seed)
    env_kwargs = dict(env_kwargs or {})
    forbidden = {"split", "num_exploit_episodes", "render_mode"} & set(env_kwargs)
    if forbidden:
        raise ValueError(f"env_kwargs may not set {sorted(forbidden)}: use run_trials' own arguments")
    setting = check_choice("setting", env_kwargs.get("setting", default_setting(env_id)), SETTINGS)
    specs = trial_specs(env_id, split, num_trials, seed, num_exploit_episodes, setting)
    n_episodes = num_exploit_episodes + 1
    returns = np.zeros((num_trials, n_episodes))
    lengths = np.zeros((num_trials, n_episodes), np.int64)
    successes = np.zeros((num_trials, n_episodes), bool)
    texts: list[list[str]] = [[] for _ in range(num_trials)]
    exploration_actions: list[list[Any]] = [[] for _ in range(num_trials)]
    exploration_states: list[list[Hashable]] = [[] for _ in range(num_trials)]
    frames: list[list[list[np.ndarray]]] = [[] for _ in range(min(record, num_trials))]
    start = time.perf_counter()

    def failed(method: str, error: Exception, where: str) -> AgentError:
        return AgentError(f"{who}: {method} raised {type(error).__name__}: {error} ({where})")

    try:
        agent.reset()
    except Exception as error:  # noqa: BLE001  (reported with the agent's name)
        raise failed("reset()", error, f"{env_id}, seed {seed}, before trial 0") from error
    bar = progress_counter(num_trials, f"{agent_name(agent)} on {env_id}", progress)
    batched = is_batched(agent)
    slots = min(num_envs or 16, num_trials) if batched else 1
    check_int("num_envs", slots, 1)
    envs = [_make_env(env_id, split, num_exploit_episodes, env_kwargs, record > 0) for _ in range(slots)]
    made_with = {key: value for key, value in envs[0].spec.kwargs.items() if key != "render_mode"}
    action_space = envs[0].action_space
    n_actions = getattr(action_space, "n", 0)  # 0: Box actions, every one checked by the family
    steps = 0
    try:
        slot_trial = [-1] * slots
        observations: list[dict[str, Any]] = [{} for _ in range(slots)]
        recorders: list[_Recorder | None] = [None] * slots
        next_trial = 0

        def begin(slot: int) -> bool:
            nonlocal next_trial
            if next_trial >= num_trials:
                slot_trial[slot] = -1
                return False
            t = slot_trial[slot] = next_trial
            next_trial += 1
            spec = specs[t]
            env = envs[slot]
            observations[slot], _ = env.reset(seed=spec.reset_seed, options={
                "problem_id": spec.problem_id, "instructions": list(spec.instructions)})
            trial = env.unwrapped
            texts[t] = [trial.episode_env.instruction_text(i) for i in spec.instructions]
            exploration_states[t] = [trial.episode_env.state]
            recorders[slot] = _Recorder(trial) if t < record else None
            return True

        def where(slot: int) -> str:
            trial = envs[slot].unwrapped
            kind = "exploration" if trial.episode == 0 else "exploitation"
            return (f"{env_id}, seed {seed}, trial {slot_trial[slot]}, episode {trial.episode} ({kind}), "
                    f"step {trial.episode_env.steps_taken}")

        def step(slot: int, action: Any) -> bool:
            """Step one slot; return True when its trial is over."""
            nonlocal steps
            env, t, recorder = envs[slot], slot_trial[slot], recorders[slot]
            if type(action) is not int or not 0 <= action < n_actions:
                try:
                    action = env.unwrapped.episode_env.check_action(action)
                except (TypeError, ValueError) as error:
                    raise AgentError(f"{who} returned an invalid action ({where(slot)}): {error}") from error
            if recorder is not None:
                recorder.before_step()
            trial = env.unwrapped
            exploring = trial.episode == 0
            if exploring:
                exploration_actions[t].append(action if n_actions else action.copy())
            observations[slot], _, terminated, truncated, info = env.step(action)
            steps += 1
            if exploring and not info["episode_done"]:
                exploration_states[t].append(trial.episode_env.state)
            if recorder is not None:
                recorder.after_step(action, info)
            if info["episode_done"]:
                k = info["episode_index"]
                returns[t, k] = info["episode_return"]
                lengths[t, k] = info["episode_length"]
                successes[t, k] = info["episode_success"]
            if terminated or truncated:
                if recorder is not None:
                    frames[t] = recorder.episodes
                bar.update(1)
                return True
            return False

        if batched:
            new_trial = np.ones(slots, bool)
            for slot in range(slots):
                begin(slot)
            while any(t >= 0 for t in slot_trial):
                batch = {key: np.stack([np.asarray(o[key]) for o in observations]) for key in observations[0]}
                try:
                    actions = np.asarray(agent.act_batch(batch, new_trial.copy()))
                except Exception as error:  # noqa: BLE001  (reported with the agent's name)
                    active = [t for t in slot_trial if t >= 0]
                    raise failed("act_batch()", error, f"{env_id}, seed {seed}, trials {min(active)}-{max(active)}"
                                 ) from error
                if actions.shape != (slots, *action_space.shape):
                    raise AgentError(f"{who}: act_batch returned actions of shape {actions.shape}; expected "
                                     f"{(slots, *action_space.shape)} ({env_id}, seed {seed})")
                new_trial[:] = False
                for slot in range(slots):
                    if slot_trial[slot] >= 0 and step(slot, actions[slot].item() if n_actions else actions[slot]):
                        new_trial[slot] = begin(slot)
        else:
            privileged = is_privileged(agent)
            method = "act_privileged()" if privileged else "act()"
            while begin(0):
                env = envs[0]
                try:
                    if next_trial > 1:
                        agent.reset()
                except Exception as error:  # noqa: BLE001  (reported with the agent's name)
                    raise failed("reset()", error, f"{env_id}, seed {seed}, before trial {slot_trial[0]}") from error
                done = False
                while not done:
                    obs = observations[0]
                    try:
                        action = agent.act_privileged(obs, env.unwrapped) if privileged else agent.act(obs)
                    except Exception as error:  # noqa: BLE001  (reported with the agent's name)
                        raise failed(method, error, where(0)) from error
                    done = step(0, action)
    finally:
        bar.close()
        for env in envs:
            env.close()
    return TrialResults(
        env_id=env_id, split=split, setting=setting, num_exploit_episodes=num_exploit_episodes, seed=seed,
        agent=agent_name(agent), privileged=is_privileged(agent), env_kwargs=made_with,
        problem_ids=np.array([s.problem_id for s in specs]), instructions=texts,
        episode_returns=returns, episode_lengths=lengths, episode_successes=successes,
        exploit_returns=returns[:, 1:].mean(axis=1), seconds=time.perf_counter() - start, steps=steps,
        frames=frames, agent_module=agent_module, exploration_actions=exploration_actions,
        instruction_keys=[tuple(s.instructions) for s in specs], exploration_states=exploration_states,
    )


__all__ = ["TrialResults", "TrialSpec", "default_setting", "run_trials", "trial_specs"]
