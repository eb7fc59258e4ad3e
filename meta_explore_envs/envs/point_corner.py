"""MetaPointCorner: ProMP's 2-D point env with the goal in one of four corners (continuous actions)."""

from __future__ import annotations

from collections.abc import Hashable, Sequence
from typing import Any

import numpy as np
from gymnasium import spaces

from meta_explore_envs.core import EpisodeEnv, OneInstruction, check_box_action

#: The goal corners, indexed by problem ID (ProMP's order).
CORNERS = np.array(((-2.0, -2.0), (2.0, -2.0), (-2.0, 2.0), (2.0, 2.0)))
CORNER_NAMES = ("bottom-left", "bottom-right", "top-left", "top-right")
MAX_STEP = 0.2  #: each coordinate of an action is clipped to [-MAX_STEP, MAX_STEP]
START_HALF_WIDTH = 0.2  #: the start is uniform in [-0.2, 0.2]^2
ZONE_L1 = 0.5  #: no reward while the next position's L1 norm is below this
MAX_STEPS = 100
#: No position of an episode leaves [-BOUND, BOUND]^2 (start + 100 full steps).
BOUND = START_HALF_WIDTH + MAX_STEPS * MAX_STEP


def move(position: np.ndarray, action: np.ndarray) -> np.ndarray:
    """The next position(s): ``position + clip(action, -0.2, 0.2)`` per coordinate (shape ``(..., 2)``)."""
    return position + np.clip(action, -MAX_STEP, MAX_STEP)


def corner_reward(position: np.ndarray, next_position: np.ndarray, corner: np.ndarray) -> np.ndarray | float:
    """The sparse reward of moving ``position`` -> ``next_position`` with the goal at ``corner``
    (arrays of shape ``(..., 2)``, broadcast): the progress ``|position - corner| -
    |next_position - corner|`` (Euclidean) where the corner is a nearest corner of
    ``next_position`` (its closed quadrant: both corners of an axis tie) and ``next_position``
    has L1 norm at least 0.5; else 0."""
    nearest = np.all(next_position * corner >= 0, axis=-1)
    paid = nearest & (np.abs(next_position).sum(axis=-1) >= ZONE_L1)
    progress = np.linalg.norm(position - corner, axis=-1) - np.linalg.norm(next_position - corner, axis=-1)
    return np.where(paid, progress, 0.0)


class PointCornerEnv(OneInstruction, EpisodeEnv):
    """One episode of ProMP's 2-D point env with corner goals (registered as a trial:
    ``MetaPointCorner-v0``).

    ## Description
    A point on an unbounded plane (no walls) starts uniformly in [-0.2, 0.2]^2; the goal is
    one of the four corners (-2, -2), (2, -2), (-2, 2), (2, 2): that is the problem. The
    agent does not see the goal; only the sparse reward tells it apart, and only once the
    point has left the diamond |x| + |y| < 0.5 around the origin into the goal's quadrant.

    ## Action space
    ``Box(-0.2, 0.2, (2,), float32)``: the displacement (dx, dy). Out-of-bound policy (like
    Gymnasium's MuJoCo envs, whose actuators clip to their control range): each finite
    coordinate is clipped to [-0.2, 0.2] as part of the dynamics, so any finite action of
    shape (2,) is valid (integers too). A wrong shape, a non-numeric dtype (strings, bools,
    objects, complex) or a non-finite value raises ``ValueError``/``TypeError`` naming it,
    before any state changes; shapes are never coerced.

    ## Observation space
    ``Box(-20.2, 20.2, (2,), float32)``: the position (x, y). No position of an episode
    leaves that box (start + 100 full steps). The position is kept in float64; the
    observation is its float32 rounding.

    ## Instruction space
    ``Discrete(1)`` (0: go to the goal corner), observed as ``Discrete(2)`` with 1 meaning
    "no instruction". The trial's only setting is ``"standard"``, where it is never
    observed: the goal is inferred from rewards.

    ## Problem space
    4 problems: the goal corner, in ProMP's order 0 (-2, -2), 1 (2, -2), 2 (-2, 2), 3 (2, 2).
    Both splits hold all four (there are only four); generalisation is over start positions.

    ## Rewards
    ProMP's ``sparse`` reward. Moving s -> s' pays the progress |s - g| - |s' - g|
    (Euclidean, g the goal) when g is a nearest corner of s' (s' in g's closed quadrant:
    on an axis both adjacent corners count) and |x'| + |y'| >= 0.5; otherwise 0. Progress can
    be negative (moving away from g inside its quadrant). Rewards are floats (not hundredths).
    Stepping out of the zone towards g and back pays every other step (up to 0.2 sqrt 2 each),
    about 14 per episode against about 2.5 for walking to the corner; ProMP's reward allows
    it too (``docs/envs.md`` gives the bound it implies).
    Without an instruction (single-episode use with ``instruction=None``) every step pays 0.

    ## Episode end
    After 100 steps (a truncation in single-episode use; nothing ends an episode earlier).
    ``success`` is True when the episode ends within one step (0.2 per coordinate) of the goal.

    ## Arguments
    ``split="train" | "test"`` (the same problems), ``render_mode=None | "rgb_array" |
    "human"``: a top-down view of the plane with the four corners (the goal filled), the
    zone without reward, the episode's path and the point. Use
    ``gymnasium.make("MetaPointCorner-v0", ...)`` for trials (see ``TrialEnv``); its
    ``setting`` is ``"standard"``; ``"imrl"`` is refused (no instruction exists, and a
    reward-free exploration episode carries no information about the goal).

    ## Relation to ProMP
    ``MetaPointEnvCorner`` of ProMP (Rothfuss et al., ICLR 2019; ``meta_policy_search``) with
    ``reward_type="sparse"`` and its default ``sparse_reward_radius=0.5``: the same corners,
    start distribution, clipped dynamics, zone and progress reward, 100-step episodes (its
    ``max_path_length``). Differences: the goal is chosen by ``reset`` (seeded through
    ``np_random``) rather than ``set_task``; ProMP compares floating-point distances to the
    corners, here the quadrant test decides nearness (the same except where two corners'
    distances round equal); the observation is float32.

    ## Version history
    * v0: initial release.
    """

    family = "point_corner"
    task_text = "go to the goal corner"
    num_problems = len(CORNERS)
    max_episode_steps = MAX_STEPS
    action_names = ()
    reward_scale = 1
    default_setting = "standard"
    unsupported_settings = {
        "imrl": "MetaPointCorner has no instruction to observe, and an unrewarded exploration episode carries "
                "no information about the goal corner (only rewards reveal it): use setting='standard'",
    }
    record_trail = True

    def __init__(self, split: str = "train", render_mode: str | None = None):
        super().__init__(split=split, render_mode=render_mode)
        self.state_space = spaces.Box(-BOUND, BOUND, (2,), np.float32)
        self.instruction_space = spaces.Discrete(1)
        self.observation_space = spaces.Dict({"observation": self.state_space, "instruction": spaces.Discrete(2)})
        self.position = np.zeros(2)
        self._steps = 0
        self.trail: list[np.ndarray] = []

    @classmethod
    def make_action_space(cls) -> spaces.Box:
        return spaces.Box(-MAX_STEP, MAX_STEP, (2,), np.float32)

    # ------------------------------------------------------------------ problems
    @classmethod
    def split_problem_ids(cls, split: str) -> list[int]:
        return list(range(cls.num_problems))

    @classmethod
    def describe_split(cls, split: str) -> str:
        names = ", ".join(f"{i} {tuple(int(v) for v in corner)}" for i, corner in enumerate(CORNERS))
        return f"{cls.num_problems} IDs in [0, {cls.num_problems}) ({names}; both splits)"

    def set_problem(self, problem_id: int) -> None:
        self.problem_id = problem_id

    @property
    def goal(self) -> np.ndarray:
        """The goal corner of the current problem."""
        return CORNERS[self.problem_id]

    # ------------------------------------------------------------------ actions
    def check_action(self, action: Any) -> np.ndarray:
        return check_box_action(action, (2,), "expected a finite (dx, dy) of shape (2,), each clipped to [-0.2, 0.2]")

    def action_observation(self, action: np.ndarray) -> np.ndarray:
        return np.clip(action, -MAX_STEP, MAX_STEP).astype(np.float32)

    def action_text(self, action: np.ndarray) -> str:
        return f"move ({action[0]:+.2f}, {action[1]:+.2f})"

    # ------------------------------------------------------------------ dynamics
    def begin_episode(self, instruction: Hashable | None) -> None:
        self.instruction = instruction
        self.state = (*self.np_random.uniform(-START_HALF_WIDTH, START_HALF_WIDTH, size=2), 0)

    def transition(self, action: np.ndarray) -> tuple[float, bool, bool]:
        position = self.position
        self.position = move(position, action)
        self._steps += 1
        if self.record_trail:
            self.trail.append(self.position)
        reward = 0.0 if self.instruction is None else float(corner_reward(position, self.position, self.goal))
        over = self._steps >= MAX_STEPS
        success = over and bool(np.abs(self.position - self.goal).max() <= MAX_STEP)
        return reward, over, success

    def ended_by_rules(self, action: Any, success: bool) -> bool:
        return False  # only the step limit ends an episode

    def state_observation(self) -> np.ndarray:
        return self.position.astype(np.float32)

    @property
    def state(self) -> tuple[float, float, int]:
        """``(x, y, steps)``."""
        return (float(self.position[0]), float(self.position[1]), self._steps)

    @state.setter
    def state(self, value: tuple[float, float, int]) -> None:
        x, y, steps = value
        self.position = np.array((x, y), dtype=np.float64)
        self._steps = int(steps)
        self.trail = [self.position]

    @property
    def steps_taken(self) -> int:
        return self._steps

    # ------------------------------------------------------------------ rendering
    def render_frame(self, lines: Sequence[str] = ()) -> np.ndarray:
        from meta_explore_envs.rendering import Canvas, panel_height

        size, margin, top = 420, 20, panel_height(max(len(lines), 3))
        scale = (size - 2 * margin) / 5.2  # pixels per unit: [-2.6, 2.6]^2

        def pixel(point) -> tuple[float, float]:
            x, y = np.clip(point, -2.6, 2.6)
            return size / 2 + x * scale, top + size / 2 - y * scale

        canvas = Canvas(size, top + size)
        canvas.fill("background")
        canvas.rect("floor", margin, top + margin, size - 2 * margin, size - 2 * margin)
        canvas.line("grid", pixel((-2.6, 0)), pixel((2.6, 0)))
        canvas.line("grid", pixel((0, -2.6)), pixel((0, 2.6)))
        canvas.polygon("map", [pixel(p) for p in ((ZONE_L1, 0), (0, ZONE_L1), (-ZONE_L1, 0), (0, -ZONE_L1))])
        for k, corner in enumerate(CORNERS):
            goal = k == self.problem_id
            canvas.circle("goal" if goal else "grey", *pixel(corner), 12, 0 if goal else 3)
        for a, b in zip(self.trail, self.trail[1:]):
            canvas.line("trail", pixel(a), pixel(b), 2)
        canvas.circle("agent", *pixel(self.position), 6)
        canvas.panel(lines, top)
        return canvas.to_array()


__all__ = ["CORNERS", "MAX_STEP", "MAX_STEPS", "PointCornerEnv", "ZONE_L1", "corner_reward", "move"]
