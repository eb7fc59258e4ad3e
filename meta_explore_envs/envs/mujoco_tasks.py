"""The MuJoCo meta-RL tasks of MAML, ProMP and MAME as trial envs (``MetaHalfCheetahVel-v0``, ...).

A thin engine, :class:`MujocoTaskEnv`, plays one 200-step episode of one of Gymnasium's MuJoCo
v5 robots; each task below only says which robot, what varies with the problem and the
forward term of its reward. Importing this module needs numpy and gymnasium only: the
``mujoco`` package (extra ``[mujoco]``) is imported when an env is made.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Hashable, Sequence
from typing import Any, ClassVar

import numpy as np
from gymnasium import spaces

from meta_explore_envs.core import EpisodeEnv, OneInstruction, check_box_action
from meta_explore_envs.optional import require

HORIZON = 200  #: steps per episode (the papers use 100 or 200)
NUM_TRAIN, NUM_TEST = 40, 10  #: problems of the continuous task sets: IDs 0-39 train, 40-49 test
#: Gymnasium's reward terms besides the forward one (each robot reports those it has in ``info``).
OTHER_TERMS = ("reward_ctrl", "reward_contact", "reward_survive")
FRAME_WIDTH, FRAME_HEIGHT = 480, 360  #: the MuJoCo camera's image under the text panel


def make_robot(robot: str, kwargs: dict[str, Any]):
    """The unwrapped Gymnasium MuJoCo env ``robot`` (``"HalfCheetah-v5"``) made with ``kwargs``,
    drawing ``rgb_array`` frames offscreen (through EGL on Linux unless ``MUJOCO_GL`` says
    otherwise). ``DependencyNotInstalled`` naming the ``[mujoco]`` extra without mujoco."""
    if sys.platform.startswith("linux"):
        os.environ.setdefault("MUJOCO_GL", "egl")  # headless; read when the first frame is drawn
    mujoco = require("mujoco", "mujoco")
    import gymnasium as gym

    # mujoco 4 warns on stderr, at every compile, that Gymnasium's half_cheetah.xml uses the
    # deprecated (still working) settotalmass; other warnings go on as before.
    previous = mujoco.get_mju_user_warning()

    def warn(message: str) -> None:
        if "settotalmass" not in message:
            previous(message) if previous is not None else print(f"WARNING: {message}", file=sys.stderr)

    mujoco.set_mju_user_warning(warn)
    try:
        return gym.make(robot, render_mode="rgb_array", width=FRAME_WIDTH, height=FRAME_HEIGHT, **kwargs).unwrapped
    finally:
        mujoco.set_mju_user_warning(previous)


class MujocoTaskEnv(OneInstruction, EpisodeEnv):
    """One episode of a MuJoCo meta-RL task (the engine; ``docs/envs.md`` describes the six tasks).

    ## Description
    One of Gymnasium's MuJoCo v5 robots (:attr:`robot`, made with :attr:`robot_kwargs`). The
    problem (an ID of a fixed task set, drawn from a fixed seed, never from the user's seed)
    sets what the task asks (a target velocity, a direction) or the robot's dynamics; the
    agent does not see it: only rewards (or the dynamics) tell problems apart.

    ## Action space
    The robot's ``Box(-1, 1, (n,), float32)`` (HalfCheetah and Walker2d 6, Ant 8, Hopper 3
    torques). Out-of-bound policy as in Gymnasium's MuJoCo envs: the action goes to MuJoCo
    unchanged, which clamps each control to [-1, 1], and the control cost is computed on the
    action as given (so a large action costs more without doing more). Any finite action of
    shape (n,) is valid (integers too); a wrong shape, a non-numeric dtype or a non-finite
    value raises ``ValueError``/``TypeError`` naming it, before any state changes.

    ## Observation space
    The robot's own observation, ``Box(-inf, inf, (d,), float64)``: HalfCheetah and Walker2d
    17 (positions without x, velocities; Walker2d clips velocities to [-10, 10]), Hopper 11
    (likewise), Ant 105 (positions without x, y; velocities; contact forces of the 13 bodies
    but the world, clipped to [-1, 1]).

    ## Instruction space
    ``Discrete(1)`` (0: the task, e.g. "run at the target velocity"), observed as
    ``Discrete(2)`` with 1 meaning "no instruction". The only trial setting is
    ``"standard"``, where it is never observed: the task is inferred from rewards.

    ## Rewards
    Per step, the task's forward term of the robot's forward velocity ``v`` (Gymnasium's
    ``x_velocity``: the x displacement over the step, divided by ``dt``) plus the robot's other
    Gymnasium terms: the control cost (on the action as given), Ant's contact cost and the
    healthy bonus of Ant, Walker2d and Hopper. Floats (not hundredths). Without an
    instruction (single-episode use with ``instruction=None``) every step pays 0.

    ## Episode end
    After 200 steps (a truncation in single-episode use), or earlier when the Gymnasium env
    terminates (Ant, Walker2d and Hopper once unhealthy: fallen or flipped), a termination.
    In a trial, a termination ends that episode only: the next episode starts from a fresh
    reset of the robot (the trial ends after the last exploitation episode), and the episode
    is simply shorter, with no reward after it. ``success`` is always False (no goal).

    ## Arguments
    ``split="train" | "test"``, ``render_mode=None | "rgb_array" | "human"``: MuJoCo's camera
    following the robot (480 x 360, offscreen through EGL on Linux: ``MUJOCO_GL=egl`` unless
    set) under a text panel. Use ``gymnasium.make("MetaHalfCheetahVel-v0", ...)`` for trials;
    ``setting="imrl"`` is refused (:attr:`unsupported_settings` says why).

    Envs hold a live MuJoCo simulation: they cannot be pickled or copied (make a new one).

    ## Version history
    * v0: initial release.
    """

    # Set by each task.
    robot: ClassVar[str]  #: the Gymnasium id of the robot, e.g. "HalfCheetah-v5"
    robot_kwargs: ClassVar[dict[str, Any]] = {}  #: its ``gymnasium.make`` kwargs
    action_dim: ClassVar[int]  #: its number of actuators
    task_seed: ClassVar[int] = 0  #: seeds the fixed task set (one generator per problem)

    num_problems = NUM_TRAIN + NUM_TEST
    max_episode_steps = HORIZON
    action_names = ()
    reward_scale = 1
    default_setting = "standard"
    unsupported_settings = {
        "imrl": "the task (a target velocity or direction) shows only in the rewards, and IMRL's exploration "
                "episode is unrewarded and its single instruction names no task: use setting='standard', the "
                "setting of MAML, ProMP and MAME",
    }
    no_bounds_reason = (
        "continuous-control MuJoCo task: its optimal, no-exploration and Thompson returns have no closed form, and "
        "no per-task expert has been trained and shipped to estimate them; compare raw returns (docs/envs.md)")

    def __init__(self, split: str = "train", render_mode: str | None = None):
        super().__init__(split=split, render_mode=render_mode)
        self.sim = make_robot(self.robot, self.robot_kwargs)
        if self.sim.action_space != self.action_space:  # the class's space, needed without a simulation
            raise RuntimeError(f"{self.robot}'s action space is {self.sim.action_space}, not {self.action_space}")
        self.state_space = self.sim.observation_space
        self.instruction_space = spaces.Discrete(1)
        self.observation_space = spaces.Dict({"observation": self.state_space, "instruction": spaces.Discrete(2)})
        self._observation_now = np.zeros(self.state_space.shape)
        self._steps = 0
        self._terminated = False
        #: The forward velocity of the last step (Gymnasium's ``x_velocity``; 0 at an episode's start).
        self.forward_velocity = 0.0

    @classmethod
    def make_action_space(cls) -> spaces.Box:
        return spaces.Box(-1.0, 1.0, (cls.action_dim,), np.float32)

    # ------------------------------------------------------------------ problems
    @classmethod
    def split_problem_ids(cls, split: str) -> list[int]:
        return list(range(NUM_TRAIN)) if split == "train" else list(range(NUM_TRAIN, cls.num_problems))

    @classmethod
    def describe_split(cls, split: str) -> str:
        return (f"{len(cls.split_problem_ids(split))} IDs of [0, {cls.num_problems}) "
                f"(train 0-{NUM_TRAIN - 1}, test {NUM_TRAIN}-{cls.num_problems - 1})")

    @classmethod
    def task_generator(cls, problem_id: int) -> np.random.Generator:
        """The generator that draws problem ``problem_id``'s task: fixed by the task set's seed,
        independent of the user's seed and of the other problems."""
        return np.random.default_rng((cls.task_seed, problem_id))

    def set_problem(self, problem_id: int) -> None:
        self.problem_id = problem_id

    def forward_reward(self, velocity: float) -> float:
        """The task's forward term of the reward at forward velocity ``velocity``."""
        raise NotImplementedError

    def describe_task(self) -> str:
        """The current problem's task in words (rendered frames; it is never observed)."""
        raise NotImplementedError

    # ------------------------------------------------------------------ actions
    def check_action(self, action: Any) -> np.ndarray:
        return check_box_action(action, (self.action_dim,), f"expected a finite action of shape ({self.action_dim},) "
                                "(MuJoCo clamps each control to [-1, 1])")

    def action_observation(self, action: np.ndarray) -> np.ndarray:
        return np.clip(action, -1.0, 1.0).astype(np.float32)

    def action_text(self, action: np.ndarray) -> str:
        return f"action of norm {float(np.linalg.norm(action)):.2f}:"

    # ------------------------------------------------------------------ dynamics
    def begin_episode(self, instruction: Hashable | None) -> None:
        self.instruction = instruction
        self.sim.np_random = self.np_random  # the robot's reset noise comes from the env's (trial's) generator
        self._observation_now, _ = self.sim.reset()
        self._steps = 0
        self._terminated = False
        self.forward_velocity = 0.0

    def transition(self, action: np.ndarray) -> tuple[float, bool, bool]:
        self._observation_now, _, terminated, _, info = self.sim.step(action)
        self._steps += 1
        self._terminated = bool(terminated)
        self.forward_velocity = velocity = float(info["x_velocity"])
        reward = 0.0
        if self.instruction is not None:
            reward = self.forward_reward(velocity) + sum(float(info[key]) for key in OTHER_TERMS if key in info)
        return reward, self._terminated or self._steps >= HORIZON, False

    def ended_by_rules(self, action: Any, success: bool) -> bool:
        return self._terminated  # the robot fell (Gymnasium's termination); else only the step limit

    def state_observation(self) -> np.ndarray:
        return self._observation_now.copy()

    @property
    def state(self) -> tuple[float, ...]:
        """``(*qpos, *qvel, steps)``: the simulation's positions and velocities, and the step count."""
        data = self.sim.data
        return (*data.qpos.tolist(), *data.qvel.tolist(), self._steps)

    @state.setter
    def state(self, value: Sequence[float]) -> None:
        nq, nv = self.sim.model.nq, self.sim.model.nv
        if len(value) != nq + nv + 1:
            raise ValueError(f"state has {len(value)} values: expected {nq + nv + 1} (qpos, qvel, steps)")
        self.sim.set_state(np.array(value[:nq], dtype=float), np.array(value[nq:nq + nv], dtype=float))
        import mujoco

        mujoco.mj_rnePostConstraint(self.sim.model, self.sim.data)  # Ant's contact forces, as after a step
        self._steps = int(value[-1])
        self._terminated = False
        self._observation_now = self.sim._get_obs()

    @property
    def steps_taken(self) -> int:
        return self._steps

    # ------------------------------------------------------------------ rendering
    def render_frame(self, lines: Sequence[str] = ()) -> np.ndarray:
        from meta_explore_envs.rendering import Canvas, panel_height

        task = "call reset() to start" if self.problem_id is None else self.describe_task()
        lines = [*lines, f"{task}   velocity {self.forward_velocity:+.2f}"]
        image = self.sim.render()
        top = panel_height(len(lines))
        canvas = Canvas(image.shape[1], top + image.shape[0])
        canvas.blit_array(image, 0, top)
        canvas.panel(lines, top)
        return canvas.to_array()

    def close(self):
        super().close()
        self.sim.close()

    def __getstate__(self):
        raise TypeError(f"{type(self).__name__} holds a live MuJoCo simulation and cannot be pickled or copied: "
                        "make a new env with gymnasium.make")


# ---------------------------------------------------------------------- reward varies: velocity
class HalfCheetahVelEnv(MujocoTaskEnv):
    """HalfCheetah-Vel (``MetaHalfCheetahVel-v0``): run at a target velocity drawn from U(0, 3)
    per problem; reward ``-|v - target| - 0.05 |a|^2`` (ProMP's). :class:`MujocoTaskEnv` has the rest."""

    family = "half_cheetah_vel"
    robot = "HalfCheetah-v5"
    robot_kwargs = {"ctrl_cost_weight": 0.05}
    action_dim = 6
    task_text = "run at the target velocity"
    task_seed = 1801

    @classmethod
    def target_velocity(cls, problem_id: int) -> float:
        return float(cls.task_generator(problem_id).uniform(0.0, 3.0))

    def set_problem(self, problem_id: int) -> None:
        self.problem_id = problem_id
        self.target = self.target_velocity(problem_id)

    def forward_reward(self, velocity: float) -> float:
        return -abs(velocity - self.target)

    def describe_task(self) -> str:
        return f"target velocity {self.target:.2f}"


# ---------------------------------------------------------------------- reward varies: direction
DIRECTIONS = (1.0, -1.0)  #: by problem ID: 0 forward, 1 backward


class FwdBwdEnv(MujocoTaskEnv):
    """Fwd-Bwd: problem 0 runs forward, 1 backward (both in each split); reward
    ``direction * v`` plus the robot's other terms. :class:`MujocoTaskEnv` has the rest."""

    num_problems = len(DIRECTIONS)
    task_text = "run in the task's direction"

    @classmethod
    def split_problem_ids(cls, split: str) -> list[int]:
        return [0, 1]  # only two tasks: both splits hold both

    @classmethod
    def describe_split(cls, split: str) -> str:
        return "2 IDs in [0, 2) (0 forward, 1 backward; both splits)"

    def forward_reward(self, velocity: float) -> float:
        return DIRECTIONS[self.problem_id] * velocity

    def describe_task(self) -> str:
        return ("forward", "backward")[self.problem_id]


class HalfCheetahFwdBwdEnv(FwdBwdEnv):
    """HalfCheetah-Fwd-Bwd (``MetaHalfCheetahFwdBwd-v0``): control cost 0.05 |a|^2 (ProMP's)."""

    family = "half_cheetah_fwd_bwd"
    robot = "HalfCheetah-v5"
    robot_kwargs = {"ctrl_cost_weight": 0.05}
    action_dim = 6


class AntFwdBwdEnv(FwdBwdEnv):
    """Ant-Fwd-Bwd (``MetaAntFwdBwd-v0``): Gymnasium's Ant-v5 costs and healthy bonus (ProMP's weights)."""

    family = "ant_fwd_bwd"
    robot = "Ant-v5"
    action_dim = 8


class Walker2DFwdBwdEnv(FwdBwdEnv):
    """Walker2D-Fwd-Bwd (``MetaWalker2DFwdBwd-v0``): Walker2d-v5 with ProMP's frame skip 8 (dt 0.016)."""

    family = "walker2d_fwd_bwd"
    robot = "Walker2d-v5"
    robot_kwargs = {"frame_skip": 8}
    action_dim = 6


# ---------------------------------------------------------------------- dynamics vary
#: The model parameters that RandParams scales, each entry by ``base ** U(-3, 3)`` with this
#: base (ProMP's rand-params envs: 1.5, but 1.3 for the joints' damping), in draw order.
SCALE_BASES = {"body_mass": 1.5, "body_inertia": 1.5, "dof_damping": 1.3, "geom_friction": 1.5}
LOG_SCALE_LIMIT = 3.0


class RandParamsEnv(MujocoTaskEnv):
    """Rand-Params: the problem scales the robot's masses, inertias, joint damping and
    frictions (:data:`SCALE_BASES`); the reward is the robot's own Gymnasium reward.
    :class:`MujocoTaskEnv` has the rest."""

    task_text = "run forward"
    unsupported_settings = {
        "imrl": "every problem has the same task (run forward) and only the dynamics differ, so there is no "
                "instruction for IMRL to give after a reward-free exploration episode: use setting='standard', "
                "the setting of MAML, ProMP and MAME",
    }

    def __init__(self, split: str = "train", render_mode: str | None = None):
        super().__init__(split=split, render_mode=render_mode)
        model = self.sim.model
        self.default_parameters = {name: getattr(model, name).copy() for name in SCALE_BASES}

    def scale_factors(self, problem_id: int) -> dict[str, np.ndarray]:
        """Problem ``problem_id``'s factor for every entry of each parameter of :data:`SCALE_BASES`."""
        rng = self.task_generator(problem_id)
        return {name: base ** rng.uniform(-LOG_SCALE_LIMIT, LOG_SCALE_LIMIT, self.default_parameters[name].shape)
                for name, base in SCALE_BASES.items()}

    def set_problem(self, problem_id: int) -> None:
        self.problem_id = problem_id
        model = self.sim.model
        for name, factors in self.scale_factors(problem_id).items():  # from the defaults: nothing carries over
            getattr(model, name)[:] = self.default_parameters[name] * factors

    def forward_reward(self, velocity: float) -> float:
        return velocity

    def describe_task(self) -> str:
        return f"dynamics {self.problem_id}: body mass {self.sim.model.body_mass.sum():.1f}"


class Walker2DRandParamsEnv(RandParamsEnv):
    """Walker2D-Rand-Params (``MetaWalker2DRandParams-v0``): Walker2d-v5 with frame skip 5 (dt 0.01)."""

    family = "walker2d_rand_params"
    robot = "Walker2d-v5"
    robot_kwargs = {"frame_skip": 5}
    action_dim = 6
    task_seed = 1805


class HopperRandParamsEnv(RandParamsEnv):
    """Hopper-Rand-Params (``MetaHopperRandParams-v0``): Hopper-v5 (frame skip 4, dt 0.008)."""

    family = "hopper_rand_params"
    robot = "Hopper-v5"
    action_dim = 3
    task_seed = 1806


__all__ = ["AntFwdBwdEnv", "DIRECTIONS", "FwdBwdEnv", "HORIZON", "HalfCheetahFwdBwdEnv", "HalfCheetahVelEnv",
           "HopperRandParamsEnv", "MujocoTaskEnv", "NUM_TEST", "NUM_TRAIN", "RandParamsEnv", "SCALE_BASES",
           "Walker2DFwdBwdEnv", "Walker2DRandParamsEnv"]
