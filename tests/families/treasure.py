"""MetaTreasure-v0: a toy family, the worked example of docs/adding-a-family.md.

A corridor of five cells; the agent starts in the middle and a treasure lies at one end. The
problem says which end; the instruction is always "fetch the treasure". An explorer walks to
one end and sees whether the treasure is there; without exploring, the agent must guess.
"""

from __future__ import annotations

from collections.abc import Hashable
from typing import Any

import numpy as np
from gymnasium import spaces

from meta_explore_envs import Family, register_family
from meta_explore_envs.core import as_index
from meta_explore_envs.grid import STEP_COST, GridEpisodeEnv

TREASURE_REWARD = 100  # hundredths: +1.0
ENDS = ((0, 0), (4, 0))


class TreasureEnv(GridEpisodeEnv):
    """Find the treasure at one end of a corridor (problem 0: left end, 1: right end).

    Observation ``MultiDiscrete([5, 2])``: ``[x, treasure here]``. Instruction ``Discrete(1)``
    (0: fetch the treasure; 1 means "no instruction"). Reward -0.1 per step, +1.0 instead on
    reaching the treasure (success) with an instruction. Episode end: the treasure, ``end
    episode`` or 20 steps.
    """

    family = "treasure"
    num_problems = 2
    width, height = 5, 1
    start = (2, 0)

    def __init__(self, split: str = "train", render_mode: str | None = None):
        super().__init__(split=split, render_mode=render_mode)
        self.state_space = spaces.MultiDiscrete((self.width, 2))
        self.instruction_space = spaces.Discrete(1)
        self.observation_space = spaces.Dict({"observation": self.state_space, "instruction": spaces.Discrete(2)})

    @classmethod
    def split_problem_ids(cls, split: str) -> list[int]:
        return [0, 1]  # both problems in both splits

    def layout(self, problem_id: int) -> dict:
        return {}  # nothing to draw: the treasure is part of the state observation

    def instruction_distribution(self) -> dict[Hashable, float]:
        return {0: 1.0}

    instruction_draws = ()  # one instruction: nothing to draw

    def instruction_from_draws(self, draws: tuple[int, ...]) -> int:
        return 0

    def check_instruction(self, instruction: Any) -> int:
        return as_index("instruction", instruction, 1, " (0 fetch the treasure)")

    def instruction_text(self, instruction: Hashable | None) -> str:
        return "" if instruction is None else "fetch the treasure"

    @property
    def instruction_sentinel(self) -> int:
        return 1

    def instruction_observation(self, instruction: Hashable | None) -> int:
        return 1 if instruction is None else 0

    def reward(self, action: int) -> tuple[int, bool]:
        if self.instruction is not None and (self.x, self.y) == ENDS[self.problem_id]:
            return TREASURE_REWARD, True
        return STEP_COST, False

    def state_observation(self) -> np.ndarray:
        return np.array((self.x, int((self.x, self.y) == ENDS[self.problem_id])), dtype=np.int64)

    @property
    def state(self) -> tuple[int, int]:
        return (self.x, self._steps)

    @state.setter
    def state(self, value: tuple[int, int]) -> None:
        self.x, self._steps = value

    @property
    def core_state(self) -> int:
        return self.x

    @core_state.setter
    def core_state(self, value: int) -> None:
        self.x = value


FAMILY = Family("treasure", f"{__name__}:TreasureEnv", {"MetaTreasure-v0": {}})
register_family(FAMILY)
