"""The single-episode environment interface shared by every problem family.

A *family* (bus grid, kitchen, 3D sign world) defines one episode of one problem: the
layout, the dynamics, the instructions and the reward. :class:`EpisodeEnv` is that
definition. It is a complete Gymnasium env on its own (``reset`` starts one episode of one
problem, ``step`` plays it), and it is the building block that
:class:`meta_explore_envs.trial.TrialEnv` strings together into trials.

Besides the Gymnasium API, an :class:`EpisodeEnv` exposes the small "rules" interface that
the trial env, the exact bounds and the planners use, so that the rules are written once:

* :meth:`set_problem` / :attr:`problem_id` choose the problem (no randomness);
* :meth:`instruction_distribution` / :meth:`sample_instruction` / :meth:`check_instruction`;
* :meth:`begin_episode` puts the agent at the start with an instruction (or none);
* :meth:`transition` applies one action and returns ``(reward, episode_over, success)``,
  the reward in units of ``1 / reward_scale`` (integer hundredths for the grid families, so
  that returns add up exactly; plain floats for continuous families);
* :meth:`state_observation` encodes the state (the ``observation`` key);
* :attr:`state` gets/sets the full hashable episode state (for planners and bounds).

Two optional declarations let exact planners work on far smaller tables:

* :attr:`EpisodeEnv.time_homogeneous` with :attr:`core_state`, a writable
  :attr:`steps_taken` and :meth:`end_episode_charge`: transitions do not depend on the step
  count, so a planner tabulates each core state once instead of once per step;
* :meth:`equivalent_task`: a representative (problem, instruction) with the same return
  for every sequence of actions (MetaCooking: ingredients relabelled), so per-problem
  values (optimal, random) are computed once per class; :meth:`equivalent_state` maps any
  state to the representative's.
"""

from __future__ import annotations

import numbers
from collections.abc import Hashable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any, ClassVar

import gymnasium as gym
import numpy as np
from gymnasium import spaces

from meta_explore_envs.rendering import FrameRenderMixin

SPLITS = ("train", "test")

#: Rules compute rewards as integers in hundredths (-0.1 is -10), so that returns are exact
#: sums: a scripted path worth 0.3 returns ``0.3``, not ``0.29999999999999993``.
REWARD_SCALE = 100

#: Instruction value meaning "no instruction": a goal-free episode (IMRL exploration).
NO_INSTRUCTION = None


def check_choice(name: str, value: Any, choices: Sequence[Any]) -> Any:
    """Return ``value`` if it is one of ``choices``, else raise a ``ValueError`` naming both."""
    if not isinstance(value, str) or value not in choices:
        raise ValueError(f"{name}={value!r} is not valid: expected one of {list(choices)}")
    return value


def check_options(options: Any, valid: Sequence[str]) -> dict[str, Any]:
    """``options`` of ``reset`` as a dict; raise if it is not one or has keys outside ``valid``."""
    if options is None:
        return {}
    if not isinstance(options, dict):
        raise TypeError(f"options must be a dict or None, got {type(options).__name__}")
    unknown = set(options) - set(valid)
    if unknown:
        raise ValueError(f"unknown reset option(s) {sorted(unknown)}: valid options are {sorted(valid)}")
    return options


def check_int(name: str, value: Any, low: int | None = None) -> int:
    """Return ``value`` if it is a Python int (not a bool or float) and at least ``low``, else
    raise a ``ValueError`` naming it and the valid range (``name`` may be a flag: ``--trials``)."""
    if type(value) is not int or (low is not None and value < low):
        expected = "an int" if low is None else f"an int >= {low}"
        raise ValueError(f"{name}={value!r} is not valid: expected {expected}")
    return value


def check_num_exploit_episodes(value: Any) -> int:
    """Return ``value`` if it is a valid number of exploitation episodes per trial (an int >= 1)."""
    return check_int("num_exploit_episodes", value, 1)


def as_index(name: str, value: Any, n: int, what: str = "") -> int:
    """Return ``value`` as a Python int if it is an integer in ``[0, n)``.

    Accepts Python and NumPy integers and 0-d integer arrays. Floats (even ``1.0``), bools,
    strings and arrays of other shapes are rejected rather than coerced.
    """
    if type(value) is int:  # fast path: the common case on every step
        if 0 <= value < n:
            return value
    elif isinstance(value, (numbers.Integral, np.integer)) and not isinstance(value, (bool, np.bool_)):
        value = int(value)
        if 0 <= value < n:
            return value
    elif isinstance(value, np.ndarray) and value.shape == () and value.dtype.kind in "iu":
        return as_index(name, value.item(), n, what)
    else:
        raise TypeError(
            f"{name} must be an integer in [0, {n}){what}; got {value!r} of type {type(value).__name__}"
        )
    raise ValueError(f"{name}={value!r} is out of range: expected an integer in [0, {n}){what}")


def check_box_action(action: Any, shape: tuple[int, ...], valid: str) -> np.ndarray:
    """``action`` as a float64 array if it is finite, real and of ``shape`` (integers too), else
    raise ``TypeError``/``ValueError`` naming it, then ``valid`` (what is expected); shapes and
    dtypes are never coerced. For families with ``Box`` actions."""
    try:
        array = np.asarray(action)
    except (TypeError, ValueError) as error:  # ragged sequences
        raise TypeError(f"action={action!r} is not an array: {valid}") from error
    if array.dtype.kind not in "fiu":
        raise TypeError(f"action={action!r} has dtype {array.dtype}, not a real number: {valid}")
    if array.shape != shape:
        raise ValueError(f"action={action!r} has shape {array.shape}: {valid}")
    if not np.isfinite(array).all():
        raise ValueError(f"action={action!r} is not finite: {valid}")
    return array.astype(np.float64)


class OneInstruction:
    """The instruction methods of an :class:`EpisodeEnv` whose problems have one instruction, 0
    (:attr:`task_text`), observed as ``Discrete(2)`` with 1 meaning "no instruction": families
    played in the standard setting, where the task is learnt from rewards (MetaPointCorner,
    the MuJoCo tasks). List it before :class:`EpisodeEnv` among the bases."""

    #: The instruction's text ("go to the goal corner").
    task_text: ClassVar[str]

    def instruction_distribution(self) -> dict[Hashable, float]:
        return {0: 1.0}

    def instruction_from_draws(self, draws: tuple[int, ...]) -> int:
        return 0

    def check_instruction(self, instruction: Any) -> int:
        return as_index("instruction", instruction, 1, f" (0: {self.task_text})")

    def instruction_text(self, instruction: Hashable | None) -> str:
        return "" if instruction is None else self.task_text

    @property
    def instruction_sentinel(self) -> int:
        return 1

    def instruction_observation(self, instruction: Hashable | None) -> int:
        return 1 if instruction is None else 0


class EpisodeEnv(FrameRenderMixin, gym.Env):
    """One episode of one problem of a meta-RL problem family.

    Subclasses set the class attributes below and implement the "rules" methods. The
    Gymnasium ``reset``/``step`` here are thin: ``reset`` picks a problem from the split
    and an instruction (or takes them from ``options``), ``step`` calls :meth:`transition`.

    Observation (single-episode use): ``Dict(observation=state_space,
    instruction=instruction_space)`` where the instruction space has one extra value
    (:attr:`instruction_sentinel`) meaning "no instruction".
    """

    metadata: ClassVar[dict[str, Any]] = {"render_modes": ["rgb_array", "human"], "render_fps": 4}

    #: Short name of the family, used in registration and messages.
    family: ClassVar[str]
    #: Number of problems in the family; problem IDs are ``range(num_problems)``.
    num_problems: ClassVar[int]
    #: Steps per episode; the episode ends (is truncated) after this many steps.
    max_episode_steps: ClassVar[int] = 20
    #: Human-readable name of each action, indexed by action (empty for ``Box`` actions).
    action_names: ClassVar[tuple[str, ...]]
    #: True when the rules are deterministic given the problem and the episode's states are
    #: finite and hashable (:attr:`state`), so exact planning applies: the evaluation and
    #: baselines packages then give the family exact bounds and reference policies without
    #: anything registered for it (the grid families).
    tabular: ClassVar[bool] = False
    #: Keyboard controls of ``python -m meta_explore_envs.play``: pygame key name -> action.
    play_keys: ClassVar[dict[str, int]] = {}
    #: :meth:`transition` returns rewards in units of ``1 / reward_scale``: integer hundredths
    #: (:data:`REWARD_SCALE`) so that returns add up exactly, or 1 for float rewards.
    reward_scale: ClassVar[int] = REWARD_SCALE
    #: The trial setting of ``gymnasium.make`` without a ``setting`` kwarg.
    default_setting: ClassVar[str] = "imrl"
    #: Trial settings the family refuses, each with the reason given in the error.
    unsupported_settings: ClassVar[dict[str, str]] = {}
    #: Why the family has no reference bounds (optimal, no exploration, ...), which the scoring
    #: harness reports instead of a normalised score; "" for a family that has them or does not say.
    no_bounds_reason: ClassVar[str] = ""

    # Set by subclasses in __init__.
    state_space: spaces.Space
    instruction_space: spaces.Space
    problem_ids: tuple[int, ...]

    def __init__(self, split: str = "train", render_mode: str | None = None):
        self.split = check_choice("split", split, SPLITS)
        if render_mode is not None:
            check_choice("render_mode", render_mode, self.metadata["render_modes"])
        self.render_mode = render_mode
        self.problem_ids = tuple(self.split_problem_ids(split))
        self._problem_id_set = frozenset(self.problem_ids)
        self.action_space = self.make_action_space()
        self.problem_id: int | None = None
        self.instruction: Hashable | None = NO_INSTRUCTION
        #: Record the agent's path for rendering (set by renderers; costs nothing when False).
        self.record_trail = render_mode is not None

    @classmethod
    def make_action_space(cls) -> spaces.Space:
        """The action space: ``Discrete(len(action_names))`` unless the family says otherwise."""
        return spaces.Discrete(len(cls.action_names))

    # ------------------------------------------------------------------ rules interface
    @classmethod
    def split_problem_ids(cls, split: str) -> Sequence[int]:
        """Problem IDs of ``split`` ("train" or "test"), in increasing order."""
        raise NotImplementedError

    @classmethod
    def describe_split(cls, split: str) -> str:
        """One line describing a split, for error messages."""
        ids = cls.split_problem_ids(split)
        return f"{len(ids)} IDs in [0, {cls.num_problems})"

    def check_problem_id(self, problem_id: Any) -> int:
        """Return ``problem_id`` as an int if it belongs to this env's split, else raise."""
        pid = as_index("problem_id", problem_id, self.num_problems)
        if pid not in self._problem_id_set:
            raise ValueError(
                f"problem_id={pid} is not in the {self.split!r} split of {self.family}: "
                f"valid IDs are {self.describe_split(self.split)}"
            )
        return pid

    def set_problem(self, problem_id: int) -> None:
        """Make ``problem_id`` the current problem and set :attr:`problem_id` (no checks)."""
        raise NotImplementedError

    def choose_problem(self, options: dict[str, Any], rng: np.random.Generator) -> int:
        """``options["problem_id"]`` checked against the split, else a uniform draw from it."""
        if "problem_id" in options:
            return self.check_problem_id(options["problem_id"])
        return self.problem_ids[int(rng.integers(len(self.problem_ids)))]

    @contextmanager
    def trying_problem(self, problem_id: int) -> Iterator[None]:
        """Switch to ``problem_id`` for the block; switch back if it raises.

        Checks that depend on the problem (a recipe's ingredients) run inside the block, so
        that bad input leaves the env exactly as it was.
        """
        previous = self.problem_id
        self.set_problem(problem_id)
        try:
            yield
        except BaseException:
            if previous is None:
                self.problem_id = None
            else:
                self.set_problem(previous)
            raise

    def instruction_distribution(self) -> dict[Hashable, float]:
        """Probability of each instruction in the current problem (sums to 1)."""
        raise NotImplementedError

    #: The bounds of the integers :meth:`sample_instruction` draws, one ``rng.integers(bound)``
    #: each, in order; :meth:`instruction_from_draws` turns them into the instruction. Written
    #: this way, a vector env can replay the draws of many envs at once
    #: (:mod:`meta_explore_envs.vector`).
    instruction_draws: ClassVar[tuple[int, ...]] = ()

    def instruction_from_draws(self, draws: tuple[int, ...]) -> Hashable:
        """The instruction of the current problem that the draws of :attr:`instruction_draws` pick."""
        raise NotImplementedError

    def sample_instruction(self, rng: np.random.Generator) -> Hashable:
        """Draw an instruction for the current problem from :meth:`instruction_distribution`:
        by default one ``rng.integers(bound)`` per :attr:`instruction_draws`, mapped by
        :meth:`instruction_from_draws`."""
        return self.instruction_from_draws(tuple(int(rng.integers(bound)) for bound in self.instruction_draws))

    def check_instruction(self, instruction: Any) -> Hashable:
        """Return ``instruction`` in canonical (hashable) form if valid here, else raise."""
        raise NotImplementedError

    def instruction_text(self, instruction: Hashable | None) -> str:
        """Short English text of an instruction ("" for no instruction)."""
        raise NotImplementedError

    @property
    def instruction_sentinel(self) -> Any:
        """Observation value of the ``instruction`` key meaning "no instruction"."""
        raise NotImplementedError

    def instruction_observation(self, instruction: Hashable | None) -> Any:
        """Encode an instruction (or ``None``) as a value of the observed instruction space."""
        raise NotImplementedError

    def begin_episode(self, instruction: Hashable | None) -> None:
        """Put the agent at the start of an episode of the current problem.

        A family with a random start draws it from ``self.np_random`` (a :class:`TrialEnv`
        shares its own generator with its episode env, so the trial's seed fixes it).
        """
        raise NotImplementedError

    def transition(self, action: int) -> tuple[int, bool, bool]:
        """Apply a valid action; return ``(reward, episode_over, success)``.

        ``reward`` is in units of ``1 / reward_scale`` (an int in hundredths by default,
        see :data:`REWARD_SCALE`).
        """
        raise NotImplementedError

    #: When True, the outcome of :meth:`transition` (next :attr:`core_state`, reward, episode
    #: over, success, observation) does not depend on :attr:`steps_taken`, except that
    #: ``end episode`` adds :meth:`end_episode_charge` of the steps remaining after it and the
    #: episode is over once ``max_episode_steps`` steps are taken. The family then provides
    #: :attr:`core_state` and a :attr:`steps_taken` setter.
    time_homogeneous: ClassVar[bool] = False

    def end_episode_charge(self, remaining: int) -> int:
        """Reward (hundredths) that ``end episode`` adds when ``remaining`` steps are left after it."""
        return 0

    @property
    def core_state(self) -> Hashable:
        """:attr:`state` without the step count (families with :attr:`time_homogeneous`)."""
        raise NotImplementedError(f"{type(self).__name__} does not declare time_homogeneous")

    @core_state.setter
    def core_state(self, value: Hashable) -> None:
        raise NotImplementedError(f"{type(self).__name__} does not declare time_homogeneous")

    def equivalent_task(self, problem_id: int, instruction: Hashable) -> tuple[int, Hashable]:
        """A representative ``(problem_id, instruction)`` whose episode pays the same return as
        this one for every sequence of actions (an isomorphism of the two episodes).

        Planners compute per-problem values (optimal, random) once per representative. The
        default is the pair itself; it never changes which problems an observation rules out.
        """
        return problem_id, instruction

    def equivalent_state(self, problem_id: int, instruction: Hashable, core_state: Hashable) -> Hashable | None:
        """The :attr:`core_state` of :meth:`equivalent_task`'s representative from which every
        sequence of actions pays the same rewards and ends at the same steps as from
        ``core_state`` here, for any state, reachable from the start or not (families with
        :attr:`time_homogeneous`); ``None`` when the family does not say (the default).

        Planners use it where the correspondence along actions from the start does not reach:
        an explorer following another problem's policy meets states that problem cannot reach.
        """
        return None

    def ended_by_rules(self, action: int, success: bool) -> bool:
        """Whether the step just taken ended the episode by the family's rules rather than by
        the step limit (decides ``terminated`` vs ``truncated`` in single-episode use).

        The default covers success and ``end episode``; families with other endings (a wrong
        object touched) extend it.
        """
        return success or action == self.end_episode_action

    def state_observation(self) -> Any:
        """The current value of the ``observation`` key (a fresh object each call)."""
        raise NotImplementedError

    @property
    def state(self) -> Hashable:
        """Full episode state (including the step count) as a hashable value."""
        raise NotImplementedError

    @state.setter
    def state(self, value: Hashable) -> None:
        raise NotImplementedError

    @property
    def steps_taken(self) -> int:
        """Steps taken in the current episode."""
        raise NotImplementedError

    def render_frame(self, lines: Sequence[str] = ()) -> np.ndarray:
        """An RGB frame (H, W, 3) uint8 of the current state with ``lines`` of text."""
        raise NotImplementedError

    # ------------------------------------------------------------------ Gymnasium API
    def check_action(self, action: Any) -> int:
        """Return ``action`` as an int if valid, else raise naming the value and the range."""
        return as_index("action", action, len(self.action_names), self._action_help())

    def action_observation(self, action: Any) -> Any:
        """The value of a trial's ``prev_action`` key after the checked ``action`` (default: itself)."""
        return action

    def action_text(self, action: Any) -> str:
        """Short text of a checked action for rendered frames (default: its name)."""
        return self.action_names[action]

    def _action_help(self) -> str:
        names = ", ".join(f"{i} {name}" for i, name in enumerate(self.action_names))
        return f" ({names})"

    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None):
        """Start an episode. ``options`` may hold ``problem_id`` and ``instruction``.

        Without them the problem is drawn uniformly from the split and the instruction from
        :meth:`instruction_distribution`. ``instruction=None`` gives a goal-free episode.
        """
        super().reset(seed=seed)
        options = check_options(options, ("instruction", "problem_id"))
        with self.trying_problem(self.choose_problem(options, self.np_random)):
            if "instruction" in options:
                instruction = options["instruction"]
                if instruction is not None:
                    instruction = self.check_instruction(instruction)
            else:
                instruction = self.sample_instruction(self.np_random)
        self.begin_episode(instruction)
        if self.render_mode == "human":
            self.render()
        return self._observation(), self._info()

    def step(self, action: Any):
        action = self.check_action(action)
        if self.problem_id is None:
            raise gym.error.ResetNeeded("call reset() before step()")
        reward, over, success = self.transition(action)
        # Only running out of steps is a truncation; the family's own endings (the goal, a
        # touch, choosing to end) are terminations, even on the last step.
        truncated = over and not self.ended_by_rules(action, success) and self.steps_taken >= self.max_episode_steps
        info = self._info()
        info["success"] = success
        if self.render_mode == "human":
            self.render()
        return self._observation(), reward / self.reward_scale, over and not truncated, truncated, info

    #: The action that ends the episode early (both families have one).
    end_episode_action: ClassVar[int]

    def _observation(self) -> dict[str, Any]:
        return {
            "observation": self.state_observation(),
            "instruction": self.instruction_observation(self.instruction),
        }

    def _info(self) -> dict[str, Any]:
        return {"problem_id": self.problem_id, "instruction_text": self.instruction_text(self.instruction)}

    def current_frame(self) -> np.ndarray:
        lines = [self.instruction_text(self.instruction) or "(no instruction)",
                 f"step {self.steps_taken}/{self.max_episode_steps}"]
        return self.render_frame(lines)

    def window_title(self) -> str:
        return self.family

    def close(self):
        self.close_window()
