"""Trials: one Gymnasium episode = one exploration episode + N exploitation episodes.

:class:`TrialEnv` turns any :class:`~meta_explore_envs.core.EpisodeEnv` into the trial env
of the benchmark spec (section 3). Every registered ``Meta*-v0`` id is a ``TrialEnv``.
"""

from __future__ import annotations

from collections.abc import Hashable
from typing import Any, ClassVar

import gymnasium as gym
import numpy as np
from gymnasium import spaces

from meta_explore_envs.core import EpisodeEnv, check_choice, check_num_exploit_episodes, check_options
from meta_explore_envs.registry import FAMILIES, family_class
from meta_explore_envs.rendering import FrameRenderMixin

SETTINGS = ("imrl", "standard")

class TrialEnv(FrameRenderMixin, gym.Env):
    """A trial: an exploration episode then ``num_exploit_episodes`` exploitation episodes.

    All episodes of a trial are in the same problem. One Gymnasium episode is one trial,
    so recurrent agents (RL², sb3-contrib ``RecurrentPPO``) work unchanged.

    ## Observation space
    A flat ``Dict``:

    * ``observation``: the family's state (see the family's docstring);
    * ``instruction``: the current instruction, or the family's "no instruction" value
      (always in the exploration episode of ``setting="imrl"``; always in ``"standard"``);
    * ``episode``: ``Discrete(num_exploit_episodes + 1)``, 0 = exploration episode;
    * ``prev_action``: ``Discrete(n_actions + 1)``; ``n_actions`` on an episode's first step.
      Families with ``Box`` actions (MetaPointCorner): a ``Box`` of the action's shape holding
      the action as applied (clipped to the action space), zeros on an episode's first step
      (no flag: a new episode shows in the ``episode`` key, a new trial is a reset);
    * ``prev_reward``: ``Box(-inf, inf, (1,), float32)``; 0 on an episode's first step.

    ## Settings
    * ``"imrl"`` (instruction-based meta-RL, default): the exploration episode has no
      instruction (nothing completes it; it ends by ``end episode`` or the step limit) and,
      unless ``exploration_rewards=True``, zero reward. Each exploitation episode gets a
      fresh instruction, observed.
    * ``"standard"``: one instruction per trial, never observed, applying to every episode
      including exploration; rewards are observed in every episode (``exploration_rewards``
      defaults to True), so the task must be inferred from rewards.

    With ``exploration_rewards=True`` in IMRL the exploration episode pays the goal-free part
    of the reward: -0.1 per step and the ``end episode`` charge.

    ## Step and info
    When an episode ends inside the trial, the returned observation is the first one of the
    next episode and ``info`` holds ``episode_done=True``, ``episode_return``,
    ``episode_length``, ``episode_success`` and ``final_observation`` (the finished episode's
    last observation). The trial ends with ``terminated=True`` after the last exploitation
    episode; a trial has at most ``max_trial_steps = (num_exploit_episodes + 1) * 20`` steps,
    so no ``TimeLimit`` is needed (none is registered). ``info`` always holds
    ``instruction_text`` ("" when there is none; the hidden instruction in ``"standard"``) and
    ``episode_done``; it holds ``problem_id`` only on the train split (privileged
    meta-training information, see :class:`ProblemIdObservation`).

    ## Reset options
    ``problem_id`` (an ID of the split) and ``instructions`` (one per exploitation episode;
    in ``"standard"`` all equal). Anything else raises ``ValueError``.

    ## Arguments
    ``episode_env``: a family name (``"distracting_bus"``, ``"map"``, ``"cooking"``, ...) or an
    :class:`EpisodeEnv` instance; ``split`` ("train"/"test", only with a family name);
    ``num_exploit_episodes`` (int >= 1, default 1); ``setting`` (default: the family's
    ``default_setting``, "imrl" for all but MetaPointCorner); ``exploration_rewards``
    (bool, default: False for IMRL, True for standard); ``render_mode``.
    """

    metadata: ClassVar[dict[str, Any]] = {"render_modes": ["rgb_array", "human"], "render_fps": 4}

    def __init__(
        self,
        episode_env: EpisodeEnv | str,
        *,
        split: str | None = None,
        num_exploit_episodes: int = 1,
        setting: str | None = None,
        exploration_rewards: bool | None = None,
        render_mode: str | None = None,
    ):
        if isinstance(episode_env, str):
            episode_env = family_class(episode_env)(split="train" if split is None else split)
        elif not isinstance(episode_env, EpisodeEnv):
            raise TypeError(f"episode_env must be a family name or an EpisodeEnv, got {episode_env!r}")
        elif split is not None:
            raise ValueError("split is only accepted with a family name; an EpisodeEnv instance has its own")
        check_num_exploit_episodes(num_exploit_episodes)
        if setting is None:
            setting = episode_env.default_setting
        self.setting = check_choice("setting", setting, SETTINGS)
        if setting in episode_env.unsupported_settings:
            raise ValueError(f"setting={setting!r} is not supported by {episode_env.family}: "
                             f"{episode_env.unsupported_settings[setting]}")
        if exploration_rewards is None:
            exploration_rewards = setting == "standard"
        if not isinstance(exploration_rewards, bool):
            raise ValueError(f"exploration_rewards={exploration_rewards!r} is not valid: expected True or False")
        if render_mode is not None:
            check_choice("render_mode", render_mode, self.metadata["render_modes"])

        self.episode_env = episode_env
        episode_env.record_trail = episode_env.record_trail or render_mode is not None
        self.num_exploit_episodes = num_exploit_episodes
        self.exploration_rewards = exploration_rewards
        self.render_mode = render_mode
        self.split = episode_env.split
        self.max_trial_steps = (num_exploit_episodes + 1) * episode_env.max_episode_steps
        self._n_actions = len(episode_env.action_names)
        self._reward_scale = episode_env.reward_scale
        self.action_space = episode_env.action_space
        if isinstance(self.action_space, spaces.Discrete):
            prev_action_space = spaces.Discrete(self._n_actions + 1)
            self._no_action = self._n_actions
        else:  # Box actions: the applied action, zeros on an episode's first step
            prev_action_space = spaces.Box(self.action_space.low, self.action_space.high,
                                           self.action_space.shape, self.action_space.dtype)
            self._no_action = np.zeros(self.action_space.shape, self.action_space.dtype)
        self.observation_space = spaces.Dict(
            {
                "observation": episode_env.state_space,
                "instruction": episode_env.observation_space["instruction"],
                "episode": spaces.Discrete(num_exploit_episodes + 1),
                "prev_action": prev_action_space,
                "prev_reward": spaces.Box(-np.inf, np.inf, (1,), np.float32),
            }
        )
        self._privileged = self.split == "train"
        # Trial state, set by reset().
        self.problem_id: int | None = None
        self.instructions: list[Hashable] = []
        self.episode = 0
        self._trial_over = True
        self._observed_instruction: Hashable | None = None
        self._instruction_text = ""
        self._rewarded = True
        self._episode_return = 0  # hundredths
        self._trial_return = 0
        self._prev_action = self._no_action
        self._prev_reward = 0.0

    # ------------------------------------------------------------------ reset
    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None):
        super().reset(seed=seed)
        ep = self.episode_env
        # Families with a random start (MetaSign3D) draw it in begin_episode from the episode
        # env's np_random: share the trial's generator so that reset(seed=...) fixes the trial.
        ep.np_random = self.np_random
        options = check_options(options, ("instructions", "problem_id"))
        problem_id = ep.choose_problem(options, self.np_random)
        with ep.trying_problem(problem_id):
            if "instructions" in options:
                instructions = self._check_instructions(options["instructions"])
            elif self.setting == "imrl":
                instructions = [ep.sample_instruction(self.np_random) for _ in range(self.num_exploit_episodes)]
            else:
                instructions = [ep.sample_instruction(self.np_random)] * self.num_exploit_episodes

        self.problem_id = problem_id
        self.instructions = instructions
        self.episode = 0
        self._trial_return = 0
        self._trial_over = False
        self._begin_episode()
        if self.render_mode == "human":
            self.render()
        info = {"instruction_text": self._instruction_text, "episode_done": False}
        if self._privileged:
            info["problem_id"] = problem_id
        return self._observation(), info

    def _check_instructions(self, instructions: Any) -> list[Hashable]:
        n = self.num_exploit_episodes
        if isinstance(instructions, (str, bytes, dict)) or not hasattr(instructions, "__len__"):
            raise TypeError(
                f"options['instructions'] must be a list of {n} instruction(s), one per exploitation "
                f"episode; got {instructions!r}"
            )
        if len(instructions) != n:
            raise ValueError(
                f"options['instructions'] has {len(instructions)} instruction(s); expected {n}, one per "
                f"exploitation episode (num_exploit_episodes={n})"
            )
        checked = [self.episode_env.check_instruction(instruction) for instruction in instructions]
        if self.setting == "standard" and len(set(checked)) > 1:
            raise ValueError(
                f"options['instructions']={checked} differ, but setting='standard' has one instruction "
                "per trial: pass the same instruction for every exploitation episode"
            )
        return checked

    def _begin_episode(self) -> None:
        """Start episode ``self.episode`` of the trial (0 = exploration)."""
        ep = self.episode_env
        if self.episode == 0:
            instruction = None if self.setting == "imrl" else self.instructions[0]
            self._rewarded = self.exploration_rewards
        else:
            instruction = self.instructions[self.episode - 1]
            self._rewarded = True
        ep.begin_episode(instruction)
        self._observed_instruction = instruction if self.setting == "imrl" else None
        self._instruction_text = ep.instruction_text(instruction)
        self._episode_return = 0
        self._prev_action = self._no_action
        self._prev_reward = 0.0

    def _observation(self) -> dict[str, Any]:
        return {
            "observation": self.episode_env.state_observation(),
            "instruction": self.episode_env.instruction_observation(self._observed_instruction),
            "episode": self.episode,
            "prev_action": self._prev_action.copy() if isinstance(self._prev_action, np.ndarray)
            else self._prev_action,
            "prev_reward": np.array((self._prev_reward,), dtype=np.float32),
        }

    # ------------------------------------------------------------------ step
    def step(self, action: Any):
        if type(action) is not int or not 0 <= action < self._n_actions:
            action = self.episode_env.check_action(action)
        if self._trial_over:
            raise gym.error.ResetNeeded(
                "the trial is over (or reset() was never called): call reset() before step()"
            )
        ep = self.episode_env
        reward, episode_over, success = ep.transition(action)
        if not self._rewarded:
            reward = 0
        self._episode_return += reward
        self._trial_return += reward
        self._prev_action = ep.action_observation(action)
        self._prev_reward = reward = reward / self._reward_scale
        info: dict[str, Any] = {"instruction_text": self._instruction_text, "episode_done": episode_over}
        if self._privileged:
            info["problem_id"] = self.problem_id
        if not episode_over:
            observation = self._observation()
            terminated = False
        else:
            final_observation = self._observation()
            info["final_observation"] = final_observation
            info["episode_return"] = self._episode_return / self._reward_scale
            info["episode_length"] = ep.steps_taken
            info["episode_success"] = success
            info["episode_index"] = self.episode
            terminated = self.episode == self.num_exploit_episodes
            if terminated:
                self._trial_over = True
                observation = {
                    key: value.copy() if isinstance(value, np.ndarray) else value
                    for key, value in final_observation.items()
                }
            else:
                self.episode += 1
                self._begin_episode()
                info["instruction_text"] = self._instruction_text
                observation = self._observation()
        if self.render_mode == "human":
            self.render()
        return observation, reward, terminated, False, info

    # ------------------------------------------------------------------ rendering
    def render_lines(self) -> list[str]:
        """The text the rendered frames show: env, problem, episode, instruction, return."""
        ep, scale = self.episode_env, self._reward_scale
        env_id = self.window_title()
        if self.problem_id is None:
            return [env_id, "call reset() to start a trial"]
        if self.episode == 0:
            label = "exploration episode"
            task = "no instruction: explore" if self._observed_instruction is None and self.setting == "imrl" else ""
        else:
            label = f"exploitation episode {self.episode}/{self.num_exploit_episodes}"
            task = ""
        text = self._instruction_text
        if text:
            task = text if self.setting == "imrl" else f"{text} (hidden)"
        last = "" if ep.steps_taken == 0 else f"   last: {ep.action_text(self._prev_action)} {self._prev_reward:+.2f}"
        return [
            f"{env_id} [{self.setting}]  problem {self.problem_id}",
            f"{label}: {task}",
            f"step {ep.steps_taken}/{ep.max_episode_steps}{last}   return {self._episode_return / scale:+.2f}"
            f"   trial {self._trial_return / scale:+.2f}",
        ]

    def current_frame(self) -> np.ndarray:
        return self.episode_env.render_frame(self.render_lines())

    def window_title(self) -> str:
        """The family's main registered id (its family name if it is not registered)."""
        family = self.episode_env.family
        return FAMILIES[family].main_env_id if family in FAMILIES else family

    def close(self):
        self.close_window()
        self.episode_env.close()


class ProblemIdObservation(gym.ObservationWrapper):
    """Adds the current ``problem_id`` as an observation key (``Discrete(num_problems)``).

    For agents that condition on the problem during meta-training (e.g. IMPORT). It works on
    either split; evaluating an agent with it on the test split is cheating, which is why
    the scoring harness never uses it.
    """

    def __init__(self, env: gym.Env):
        super().__init__(env)
        trial = env.unwrapped
        if not isinstance(trial, TrialEnv):
            raise TypeError(f"ProblemIdObservation wraps a TrialEnv, got {type(trial).__name__}")
        self.observation_space = spaces.Dict(
            {**env.observation_space.spaces, "problem_id": spaces.Discrete(trial.episode_env.num_problems)}
        )

    def observation(self, observation: dict[str, Any]) -> dict[str, Any]:
        return {**observation, "problem_id": self.env.unwrapped.problem_id}

    def step(self, action: Any):
        observation, reward, terminated, truncated, info = super().step(action)
        if "final_observation" in info:  # keep the finished episode's observation consistent
            info["final_observation"] = self.observation(info["final_observation"])
        return observation, reward, terminated, truncated, info


__all__ = ["ProblemIdObservation", "SETTINGS", "TrialEnv"]
