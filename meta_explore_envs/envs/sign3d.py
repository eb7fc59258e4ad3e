"""MetaSign3D: read the sign behind the barrier, then fetch the object of its colour (3D)."""

from __future__ import annotations

from collections.abc import Hashable, Sequence
from typing import Any

import numpy as np
from gymnasium import spaces

from meta_explore_envs.core import REWARD_SCALE, EpisodeEnv, as_index
from meta_explore_envs.envs import sign3d_layout as layout
from meta_explore_envs.envs.sign3d_layout import (
    ACTION_NAMES,
    END_EPISODE,
    FORWARD,
    HEADINGS,
    MAX_STEPS,
    OBJECTS,
    SHAPE_NAMES,
    SIGN_WORDS,
    TURN,
    TURN_LEFT,
    TURN_RIGHT,
)

#: Reward (hundredths) for touching the instructed shape in the sign's colour / any other object.
TOUCH_RIGHT = REWARD_SCALE
TOUCH_WRONG = -REWARD_SCALE


class Sign3DEnv(EpisodeEnv):
    """One episode in the 3D sign world (registered as a trial: ``MetaSign3D-v0``).

    ## Description
    A MiniWorld scene seen in first person: a top room (10 m x 6.5 m) and, behind a 0.25 m
    barrier, a bottom-left room (6 m x 6.25 m) and a bottom-right room (4 m x 6.25 m). The
    barrier has one 2 m gap, at x in [2.5, 4.5], into the bottom-left room; the bottom rooms
    are open to each other only at their far end (z in [10.5, 13]). A box and a key in each
    of blue, red and green stand at fixed places: blue box (1, 1), red box (9, 1), green box
    (9, 5), blue key (5, 1), red key (1, 5), green key (1, 9) (x east, z south, metres). A
    sign on the east wall of the bottom-right room says BLUE, RED or GREEN: that is the
    problem. The agent starts in the top room at x in [4, 5], z in [4, 6] with a uniformly
    random heading; the sign is out of sight from the whole top room, so reading it means
    walking through the gap and down the bottom-left room (13 to 17 steps from most
    starts). The instruction says whether to fetch the box or the key of the sign's colour;
    every object can be touched within 20 steps from every start. Bounds per exploitation
    episode (privileged planner, see ``sign3d_planner``): Optimal 1.0, No exploration 0.180,
    Thompson sampling 0.180, Random -0.023.

    The start pose is drawn from the env's ``np_random`` (a trial shares its generator,
    so ``reset(seed=...)`` fixes every start of the trial). Objects do not move; walking
    into a wall or an object leaves the agent in place (MiniWorld's collision test, agent
    radius 0.4 m).

    ## Action space
    ``Discrete(4)``: 0 turn left 45 degrees, 1 turn right 45 degrees, 2 move forward 0.7 m,
    3 end episode (the agent does not move).

    ## Observation space
    ``Box(0, 255, (60, 80, 3), uint8)``: the agent's first-person RGB view, 80 x 60, HWC,
    60 degrees vertical field of view, camera 1.5 m above the floor. The sign's block
    letters are legible wherever the sign is in view.

    ## Instruction space
    ``Discrete(2)``: 0 box, 1 key, drawn uniformly. Observed as ``Discrete(3)`` with 2 meaning
    "no instruction".

    ## Problem space
    3 problems: the sign says BLUE (0), RED (1) or GREEN (2). Train and test splits are the
    same three problems.

    ## Rewards
    Touching an object (MiniWorld's ``near``: centre distance below the two radii plus
    1.1 x 0.7 m, checked after each forward move) ends the episode with +1 if it is the
    instructed shape in the sign's colour and -1 for any other object; otherwise every step
    pays 0. Without an instruction (IMRL exploration) touching ends the episode with 0.
    ``end episode`` pays 0: in the grid families it costs what idling to the time limit
    would cost, which here is nothing.

    ## Episode end
    An object is touched (success if it was the right one), ``end episode``, or 20 steps.

    ## Arguments
    ``split="train" | "test"`` (the same problems), ``render_mode=None | "rgb_array" |
    "human"``: the first-person view (400 x 300, with the 80 x 60 observation inset) beside
    a top-down map with the agent's path, the sign's colour and the instructed object.
    Use ``gymnasium.make("MetaSign3D-v0", ...)`` for trials (see ``TrialEnv``).

    ## System requirements
    OpenGL through pyglet 1.5 (EGL + Mesa without a display; see ``sign3d_world``). Nothing
    is loaded before the first episode; a missing GL stack raises
    ``OpenGLUnavailableError`` naming the packages to install. All envs of a process share
    one GL context: vector envs need the ``spawn`` or ``forkserver`` start method once a
    parent process has rendered.

    ## Relation to the paper
    The sparse-reward 3D visual navigation benchmark of Liu et al. (ICML 2021), Section 6.2
    and Figure 8, built on MiniWorld like its ``Sign`` env (same rooms, object places, 45
    degree turns, 0.7 m steps, 20-step episodes, +1/-1 touch rewards). Differences:

    * the sign uses bold block letters on a fixed-size panel: MiniWorld's handwritten glyphs
      are illegible at 80 x 60, and its panel width grows with the word;
    * the barrier's gap is 2 m wide (MiniWorld: the whole 6 m width of the bottom-left room)
      and the bottom rooms meet only at their far end (MiniWorld: open along their whole
      length). With a legible sign in MiniWorld's layout the last letters can be read from
      the top room through the wide opening, five steps from the start, and the privileged
      planner (``sign3d_planner``) then finds that an agent reads the sign and fetches the
      object within one episode (No-exploration bound = Optimal = 1): exploration would be
      pointless. The paper's premise, that the agent "must walk around the barrier to read
      the sign", holds here;
    * the problem comes from ``reset(options=...)``/the seed, not a constructor setter;
    * the start is drawn uniformly from exactly x in [4, 5], z in [4, 6] (MiniWorld widens the
      box by the agent's radius); objects face fixed directions;
    * ``end episode`` only ends the episode (in MiniWorld 2.1.0, action 3 is also
      ``move_back``, so the agent steps back 0.7 m and can touch an object while ending).

    ## Version history
    * v0: initial release.
    """

    family = "sign3d"
    num_problems = len(SIGN_WORDS)
    max_episode_steps = MAX_STEPS
    action_names = ACTION_NAMES
    end_episode_action = END_EPISODE
    play_keys = {"left": TURN_LEFT, "right": TURN_RIGHT, "up": FORWARD, "e": END_EPISODE}
    #: Keep the agent's path for the map (``EpisodeEnv`` sets it per instance when rendering).
    record_trail = True

    def __init__(self, split: str = "train", render_mode: str | None = None):
        super().__init__(split=split, render_mode=render_mode)
        self.state_space = spaces.Box(0, 255, (layout.OBS_HEIGHT, layout.OBS_WIDTH, 3), np.uint8)
        self.instruction_space = spaces.Discrete(len(SHAPE_NAMES))
        self.observation_space = spaces.Dict(
            {"observation": self.state_space, "instruction": spaces.Discrete(len(SHAPE_NAMES) + 1)}
        )
        self._world = None  # the MiniWorld scene, built on first use (loads OpenGL)
        self._renderer = None
        self._x, self._z, self._heading0 = 4.5, 5.0, 0.0
        self._turns = 0
        self._steps = 0
        self.touched: int | None = None  # index into layout.OBJECTS of the object touched
        self.trail: list[tuple[float, float]] = []
        self._obs_key: tuple | None = None
        self._obs: np.ndarray | None = None

    # ------------------------------------------------------------------ problems
    @classmethod
    def split_problem_ids(cls, split: str) -> list[int]:
        return list(range(cls.num_problems))

    @classmethod
    def describe_split(cls, split: str) -> str:
        names = ", ".join(f"{i} {word}" for i, word in enumerate(SIGN_WORDS))
        return f"{cls.num_problems} IDs in [0, {cls.num_problems}) ({names}; both splits)"

    def set_problem(self, problem_id: int) -> None:
        self.problem_id = problem_id

    # ------------------------------------------------------------------ instructions
    def instruction_distribution(self) -> dict[Hashable, float]:
        return {shape: 1 / len(SHAPE_NAMES) for shape in range(len(SHAPE_NAMES))}

    instruction_draws = (len(SHAPE_NAMES),)

    def instruction_from_draws(self, draws: tuple[int, ...]) -> int:
        return draws[0]

    def check_instruction(self, instruction: Any) -> int:
        names = ", ".join(f"{i} {name}" for i, name in enumerate(SHAPE_NAMES))
        return as_index("instruction", instruction, len(SHAPE_NAMES), f" ({names})")

    def instruction_text(self, instruction: Hashable | None) -> str:
        return "" if instruction is None else f"fetch the {SHAPE_NAMES[instruction]} of the sign's colour"

    @property
    def instruction_sentinel(self) -> int:
        return len(SHAPE_NAMES)

    def instruction_observation(self, instruction: Hashable | None) -> int:
        return len(SHAPE_NAMES) if instruction is None else instruction

    # ------------------------------------------------------------------ dynamics
    @property
    def world(self):
        """The MiniWorld scene (:class:`~meta_explore_envs.envs.sign3d_world.SignWorld`)."""
        if self._world is None:
            from meta_explore_envs.envs.sign3d_world import SignWorld

            self._world = SignWorld()
        return self._world

    @property
    def heading(self) -> float:
        """The agent's heading in radians (MiniWorld's ``dir``: 0 east, pi/2 north)."""
        return self._heading0 + self._turns * TURN

    @property
    def position(self) -> tuple[float, float]:
        """The agent's (x, z) in metres."""
        return (self._x, self._z)

    def sample_start(self, rng: np.random.Generator) -> tuple[float, float, float]:
        """A start pose ``(x, z, heading)``, uniform over the start region and headings."""
        x = float(rng.uniform(*layout.START_X))
        z = float(rng.uniform(*layout.START_Z))
        heading = float(rng.uniform(*layout.START_HEADING))
        return x, z, heading

    def begin_episode(self, instruction: Hashable | None) -> None:
        self.instruction = instruction
        x, z, heading = self.sample_start(self.np_random)
        self.state = (x, z, heading, 0, 0)

    def transition(self, action: int) -> tuple[int, bool, bool]:
        self._steps += 1
        reward, over, success = 0, False, False
        if action == FORWARD:
            world = self.world
            agent = world.agent
            agent.pos = np.array((self._x, 0.0, self._z))
            agent.dir = self.heading
            if world.move_agent(layout.FORWARD_STEP, 0.0):  # MiniWorld's move with collisions
                self._x, self._z = float(agent.pos[0]), float(agent.pos[2])
                if self.record_trail:
                    self.trail.append((self._x, self._z))
                touched = world.touched(self._x, self._z)
                if touched is not None:
                    self.touched = touched
                    over = True
                    if self.instruction is not None:
                        obj = OBJECTS[touched]
                        success = obj.shape == self.instruction and obj.colour == self.problem_id
                        reward = TOUCH_RIGHT if success else TOUCH_WRONG
        elif action == TURN_LEFT:
            self._turns = (self._turns + 1) % HEADINGS
        elif action == TURN_RIGHT:
            self._turns = (self._turns - 1) % HEADINGS
        else:  # END_EPISODE
            over = True
        return reward, over or self._steps >= MAX_STEPS, success

    def ended_by_rules(self, action: int, success: bool) -> bool:
        return super().ended_by_rules(action, success) or self.touched is not None

    def state_observation(self) -> np.ndarray:
        key = (self.problem_id, self._x, self._z, self._heading0, self._turns)
        if key != self._obs_key:
            self._obs = self.world.observe(self.problem_id, self._x, self._z, self.heading)
            self._obs_key = key
        return self._obs.copy()

    @property
    def state(self) -> tuple[float, float, float, int, int]:
        """``(x, z, start_heading, turns, steps)``: heading = start_heading + turns x 45 degrees."""
        return (self._x, self._z, self._heading0, self._turns, self._steps)

    @state.setter
    def state(self, value: tuple[float, float, float, int, int]) -> None:
        x, z, heading0, turns, steps = value
        self._x, self._z, self._heading0 = float(x), float(z), float(heading0)
        self._turns, self._steps = int(turns) % HEADINGS, int(steps)
        self.touched = None
        self.trail = [(self._x, self._z)] if self.record_trail else []

    @property
    def steps_taken(self) -> int:
        return self._steps

    # ------------------------------------------------------------------ rendering
    def render_frame(self, lines: Sequence[str] = ()) -> np.ndarray:
        if self._renderer is None:
            from meta_explore_envs.envs.sign3d_render import Sign3DRenderer

            self._renderer = Sign3DRenderer()
        return self._renderer.render(self, lines)

    def close(self):
        super().close()
        self._world = None  # GL resources are shared by the process (see sign3d_world)
        self._renderer = None

    def __getstate__(self):
        state = super().__getstate__()
        state["_world"] = None  # rebuilt on first use; GL objects do not pickle
        state["_renderer"] = None
        return state


__all__ = ["Sign3DEnv", "TOUCH_RIGHT", "TOUCH_WRONG"]
