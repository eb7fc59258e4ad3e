"""What the trial vector envs share (the grid families' :class:`~.trials.TrialVectorEnv` and
MetaPointCorner's :class:`~.point_corner.PointCornerVectorEnv`): per-sub-env reset options and
Gymnasium 1.x vector infos (a dict of arrays, each key with a boolean ``_key`` mask;
``final_observation`` a dict of arrays with its own mask)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
from gymnasium.vector.utils import batch_space

from meta_explore_envs.core import check_options
from meta_explore_envs.trial import TrialEnv


class TrialVectorBase:
    """Reset options per sub-env, the trial bookkeeping of a step and the step infos of a trial
    vector env: a subclass provides ``num_envs``, ``_reset_infos(envs)`` (the infos a reset of
    ``envs``, default all, returns), ``_observations(envs)``, ``_begin_episode(envs)``,
    ``_begin_trials(envs, checked)`` and the arrays ``_episode``, ``_steps``, ``_return``,
    ``_needs_reset``."""

    num_envs: int

    def _reset_infos(self, envs: np.ndarray | None) -> dict[str, Any]:
        raise NotImplementedError

    def _adopt_single(self, single: TrialEnv, num_envs: int) -> None:
        """Take the spaces and settings of ``single`` (one trial env: its spaces, the validation
        of reset options and the texts are the vector env's own) for ``num_envs`` sub-envs."""
        self.single = single
        self.num_envs = num_envs
        self.spec = None
        self.single_observation_space = single.observation_space
        self.single_action_space = single.action_space
        self.observation_space = batch_space(self.single_observation_space, num_envs)
        self.action_space = batch_space(self.single_action_space, num_envs)
        self.setting = single.setting
        self.num_exploit_episodes = single.num_exploit_episodes
        self.exploration_rewards = single.exploration_rewards
        self.problem_ids = np.array(single.episode_env.problem_ids, np.int64)
        self._privileged = single.split == "train"

    def _seeds(self, seed: int | list[int | None] | None) -> list[int | None]:
        """Each sub-env's seed of ``reset(seed=...)``: ``seed + i``, a list's entries, or None."""
        if seed is None:
            return [None] * self.num_envs
        seeds = [seed + i for i in range(self.num_envs)] if isinstance(seed, int) else list(seed)
        if len(seeds) != self.num_envs:
            raise ValueError(f"seed has {len(seeds)} entries; expected {self.num_envs}, one per sub-env")
        return seeds

    def _check_reset_options(self, options: dict[str, Any] | None, convert: Callable[[list], list] = list
                             ) -> tuple[list[tuple[int | None, list | None]], list[Any]]:
        """Validate ``reset(options=...)`` for every sub-env before any draw (so that bad input
        changes nothing; errors name the sub-env): ``[(problem or None, convert(checked
        instructions) or None)]`` per sub-env, and the instructions as given."""
        options = check_options(options, ("instructions", "problem_id"))
        given_problems = self._per_env(options, "problem_id")
        given_instructions = self._per_env(options, "instructions")
        checked: list[tuple[int | None, list | None]] = []
        ep = self.single.episode_env
        for i in range(self.num_envs):
            problem, instructions = given_problems[i], given_instructions[i]
            try:
                if problem is not None:
                    problem = ep.check_problem_id(problem)
                if instructions is not None:
                    if problem is None:
                        raise ValueError("options['instructions'] needs options['problem_id'] for the same sub-env "
                                         "(an instruction is valid only in some problems)")
                    with ep.trying_problem(problem):
                        instructions = convert(self.single._check_instructions(instructions))
            except (TypeError, ValueError) as error:
                raise type(error)(f"sub-env {i}: {error}") from error
            checked.append((problem, instructions))
        return checked, given_instructions

    def _per_env(self, options: dict[str, Any], key: str) -> list[Any]:
        if key not in options:
            return [None] * self.num_envs
        values = options[key]
        if isinstance(values, (str, bytes, dict)) or not hasattr(values, "__len__") or len(values) != self.num_envs:
            raise ValueError(f"options[{key!r}] must hold one entry per sub-env ({self.num_envs}; None: drawn), "
                             f"got {values!r}")
        return list(values)

    def _end_step(self, over: np.ndarray, success: np.ndarray, restart: np.ndarray, reward_scale: int
                  ) -> tuple[dict[str, np.ndarray], np.ndarray, dict[str, Any]]:
        """The trial bookkeeping after a step's dynamics (the subclass has stepped the state and
        updated ``_steps``, ``_return`` (in ``reward_scale`` units), ``_prev_action`` and
        ``_prev_reward``): end the episodes that are ``over``, start the next episode or end the
        trial, restart the sub-envs in ``restart`` (ended last step: NEXT_STEP autoreset) with a
        new trial. Returns the observations, ``terminated`` and the infos."""
        terminated = np.zeros(self.num_envs, bool)
        done = np.flatnonzero(over)
        ended = finished = last = None
        if len(done):
            episode = self._episode[done]
            ended = {"final_observation": self._observations(done),
                     "episode_return": self._return[done] / reward_scale, "episode_length": self._steps[done].copy(),
                     "episode_success": success[done], "episode_index": episode}
            last = episode == self.num_exploit_episodes
            finished = done[last]
            terminated[finished] = True
            self._needs_reset[finished] = True
            going_on = done[~last]
            self._episode[going_on] += 1
            self._begin_episode(going_on)
        observations = self._observations()
        if finished is not None and len(finished):
            # A finished trial's observation is its final one (the single env returns it again).
            for key, value in observations.items():
                value[finished] = ended["final_observation"][key][last]
        infos = self._step_infos(over, done, ended)
        if len(restart):
            self._begin_trials(restart, None)
            fresh = self._observations(restart)
            for key, value in observations.items():
                value[restart] = fresh[key]
            self._merge(infos, self._reset_infos(restart), restart)
        return observations, terminated, infos

    def _step_infos(self, over: np.ndarray, done: np.ndarray, ended: dict[str, Any] | None) -> dict[str, Any]:
        infos = self._reset_infos(None)
        infos["episode_done"] = over
        if ended is None:
            return infos
        n = self.num_envs
        mask = np.zeros(n, bool)
        mask[done] = True
        for key, value in ended.items():
            if key == "final_observation":
                batched = {}
                for name, part in value.items():
                    array = np.zeros((n, *part.shape[1:]), part.dtype)
                    array[done] = part
                    batched[name], batched[f"_{name}"] = array, mask.copy()
                infos[key] = batched
            else:
                array = np.zeros(n, value.dtype)
                array[done] = value
                infos[key] = array
            infos[f"_{key}"] = mask.copy()
        return infos

    @staticmethod
    def _merge(infos: dict[str, Any], extra: dict[str, Any], envs: np.ndarray) -> None:
        """Overwrite ``infos`` at ``envs`` with ``extra`` (the restarted sub-envs' reset infos)."""
        for key, value in list(infos.items()):
            if key.startswith("_"):
                continue
            mask = infos[f"_{key}"]
            if key in extra:
                if isinstance(value, dict):
                    continue
                value[envs] = extra[key][envs]
                mask[envs] = True
            else:
                mask[envs] = False
                if isinstance(value, dict):
                    for name in list(value):
                        if name.startswith("_"):
                            value[name][envs] = False


__all__ = ["TrialVectorBase"]
