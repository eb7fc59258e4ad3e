"""MetaCooking: find the ingredients in an unknown kitchen, then cook recipes with them."""

from __future__ import annotations

import dataclasses
from collections.abc import Hashable
from typing import Any

import numpy as np
from gymnasium import spaces

from meta_explore_envs.core import as_index
from meta_explore_envs.grid.objects import EMPTY, INGREDIENT_NAMES, NUM_STATUSES, Fridge, Pot, WorldObject
from meta_explore_envs.grid.scene import GridScene
from meta_explore_envs.grid.world import PICK_UP_ACTION, STEP_COST, GridEpisodeEnv

NUM_INGREDIENTS = len(INGREDIENT_NAMES)
POT_CELL = (1, 1)
FRIDGE_CELLS = ((2, 0), (2, 1), (2, 2))
POT_SLOTS = 3
STAGE_REWARD = 25  # hundredths: each of the four recipe stages pays +0.25 instead of -0.1
MISTAKE_COST = -25  # hundredths: extra cost of a wasted pick up or a lost ingredient


def fridge_contents(problem_id: int) -> tuple[int, int, int]:
    """Ingredients of the fridges at (2, 0), (2, 1), (2, 2) in ``problem_id``."""
    return (problem_id % 4, (problem_id // 4) % 4, (problem_id // 16) % 4)


class CookingEnv(GridEpisodeEnv):
    """One episode in a kitchen (registered as a trial: ``MetaCooking-v0``).

    ## Description
    A 3x3 kitchen. The agent starts at (1, 1), on the pot. Three fridges at (2, 0), (2, 1),
    (2, 2) each hold one of four ingredients (red, green, blue, yellow); which is the
    problem, and the agent only finds out by picking up. A recipe (the instruction) asks for
    two ingredients in the pot in order. Picking the wrong ingredient wastes it and costs
    extra, so good exploration picks up from every fridge once.

    Pick up at a fridge fills the inventory with its ingredient (replacing what was held);
    pick up on the pot empties the pot; pick up elsewhere does nothing. Drop empties the
    inventory anywhere; on the pot the ingredient goes into the next free slot of three
    (when the pot is full it is lost and the pot keeps its contents).

    ## Action space
    ``Discrete(9)``: 0 left, 1 up, 2 right, 3 down, 4 noop, 5 ride bus, 6 end episode,
    7 pick up, 8 drop.

    ## Observation space
    ``MultiDiscrete([3, 3, 4, 5, 5, 5, 5])``: ``[x, y, status, inventory, pot_1, pot_2,
    pot_3]``; status 0 none, 2 pot, 3 fridge; ingredients 0 red, 1 green, 2 blue, 3 yellow,
    4 empty. Fridge contents are not observed.

    ## Instruction space
    ``MultiDiscrete([4, 4])``: first and second ingredient, each the content of a fridge
    drawn uniformly (with replacement), so every recipe can be cooked. Observed as
    ``MultiDiscrete([5, 5])`` with ``[4, 4]`` meaning "no instruction".

    ## Problem space
    64 problems: fridge ingredients ``problem_id % 4``, ``(problem_id // 4) % 4``,
    ``(problem_id // 16) % 4``. Train split: all but problem 10; test split: problem 10
    (fridges blue, blue, red).

    ## Rewards
    -0.1 per step, in four stages (checked on the state after the action): +0.25 instead
    when the inventory becomes the first ingredient, +0.25 when the pot's first slot holds
    it, +0.25 when the inventory becomes the second, +0.25 when the pot's first two slots
    match the recipe. At stages 0 and 2 a pick up that does not give the needed ingredient
    costs an extra -0.25; at stages 1 and 3, losing the needed ingredient from the inventory
    without completing the stage goes back a stage with an extra -0.25. ``end episode``
    subtracts 0.1 x (steps remaining) from that step's reward. Without an instruction only
    the -0.1 step cost (and the ``end episode`` charge) applies.

    ## Episode end
    The recipe is completed (success), ``end episode``, or 20 steps.

    ## Arguments
    ``split="train" | "test"``, ``render_mode=None | "rgb_array" | "human"``. Use
    ``gymnasium.make("MetaCooking-v0", ...)`` for trials (see ``TrialEnv``).

    ## Relation to the paper
    Matches the cooking benchmark of Liu et al. (ICML 2021), Section 6.1 and Figure 5b: 4³
    kitchens with one held out, two-ingredient recipes, staged rewards with a penalty for
    wasted ingredients. The exact stage and penalty rules, the pot's three slots and the
    choice of problem 10 as the held-out kitchen follow the project's benchmark spec v0.

    ## Version history
    * v0: initial release.
    """

    family = "cooking"
    num_problems = 4**3
    held_out_problem = 10
    width = height = 3
    start = POT_CELL

    def __init__(self, split: str = "train", render_mode: str | None = None):
        super().__init__(split=split, render_mode=render_mode)
        self.state_space = spaces.MultiDiscrete(
            (self.width, self.height, NUM_STATUSES) + (NUM_INGREDIENTS + 1,) * (1 + POT_SLOTS)
        )
        self.instruction_space = spaces.MultiDiscrete((NUM_INGREDIENTS, NUM_INGREDIENTS))
        self.observation_space = spaces.Dict(
            {"observation": self.state_space,
             "instruction": spaces.MultiDiscrete((NUM_INGREDIENTS + 1, NUM_INGREDIENTS + 1))}
        )
        self.inventory = EMPTY
        self.pot = [EMPTY] * POT_SLOTS
        self.stage = 0

    @classmethod
    def split_problem_ids(cls, split: str) -> list[int]:
        if split == "test":
            return [cls.held_out_problem]
        return [i for i in range(cls.num_problems) if i != cls.held_out_problem]

    @classmethod
    def describe_split(cls, split: str) -> str:
        if split == "test":
            return f"only {cls.held_out_problem} (the held-out kitchen)"
        return f"[0, {cls.num_problems}) except {cls.held_out_problem} (held out for the test split)"

    def layout(self, problem_id: int) -> dict[tuple[int, int], WorldObject]:
        objects: dict[tuple[int, int], WorldObject] = {POT_CELL: Pot()}
        for cell, ingredient in zip(FRIDGE_CELLS, fridge_contents(problem_id)):
            objects[cell] = Fridge(ingredient)
        return objects

    # ------------------------------------------------------------------ instructions
    def instruction_distribution(self) -> dict[Hashable, float]:
        fridges = fridge_contents(self.problem_id)
        distribution: dict[Hashable, float] = {}
        for first in fridges:
            for second in fridges:
                distribution[(first, second)] = distribution.get((first, second), 0.0) + 1 / 9
        return distribution

    # Two fridges, each uniform (the same fridge twice is allowed).
    instruction_draws = (len(FRIDGE_CELLS), len(FRIDGE_CELLS))

    def instruction_from_draws(self, draws: tuple[int, ...]) -> tuple[int, int]:
        fridges = fridge_contents(self.problem_id)
        return (fridges[draws[0]], fridges[draws[1]])

    def check_instruction(self, instruction: Any) -> tuple[int, int]:
        if isinstance(instruction, (str, bytes)) or np.ndim(instruction) != 1 or len(instruction) != 2:
            raise ValueError(
                f"instruction={instruction!r} has the wrong shape: expected two ingredients "
                f"(first, second), each an integer in [0, {NUM_INGREDIENTS}) "
                f"({', '.join(f'{i} {n}' for i, n in enumerate(INGREDIENT_NAMES))})"
            )
        recipe = tuple(as_index(f"instruction[{i}]", v, NUM_INGREDIENTS) for i, v in enumerate(instruction))
        fridges = fridge_contents(self.problem_id)
        missing = [INGREDIENT_NAMES[i] for i in recipe if i not in fridges]
        if missing:
            raise ValueError(
                f"instruction={list(recipe)} cannot be cooked in problem {self.problem_id}: no fridge holds "
                f"{' or '.join(missing)} (fridges hold {[INGREDIENT_NAMES[i] for i in fridges]})"
            )
        return recipe  # type: ignore[return-value]

    def instruction_text(self, instruction: Hashable | None) -> str:
        if instruction is None:
            return ""
        first, second = instruction  # type: ignore[misc]
        return f"put {INGREDIENT_NAMES[first]} then {INGREDIENT_NAMES[second]} in the pot"

    @property
    def instruction_sentinel(self) -> np.ndarray:
        return np.array((NUM_INGREDIENTS, NUM_INGREDIENTS), dtype=np.int64)

    def instruction_observation(self, instruction: Hashable | None) -> np.ndarray:
        return np.array(instruction if instruction is not None else (NUM_INGREDIENTS, NUM_INGREDIENTS),
                        dtype=np.int64)

    # ------------------------------------------------------------------ dynamics
    def begin_episode(self, instruction: Hashable | None) -> None:
        super().begin_episode(instruction)
        self.inventory = EMPTY
        self.pot = [EMPTY] * POT_SLOTS
        self.stage = 0

    def scene(self) -> GridScene:
        return dataclasses.replace(super().scene(), held=self.inventory, pot=tuple(self.pot))

    def pick_up(self, obj: WorldObject | None) -> None:
        if isinstance(obj, Fridge):
            self.inventory = obj.ingredient
        elif isinstance(obj, Pot):
            self.pot = [EMPTY] * POT_SLOTS

    def drop(self, obj: WorldObject | None) -> None:
        if self.inventory == EMPTY:
            return
        if isinstance(obj, Pot) and EMPTY in self.pot:
            self.pot[self.pot.index(EMPTY)] = self.inventory
        self.inventory = EMPTY

    def reward(self, action: int) -> tuple[int, bool]:
        if self.instruction is None:
            return STEP_COST, False
        first, second = self.instruction  # type: ignore[misc]
        stage = self.stage
        if stage == 0 or stage == 2:
            needed = first if stage == 0 else second
            if self.inventory == needed:
                self.stage += 1
                return STAGE_REWARD, False
            if action == PICK_UP_ACTION:
                return STEP_COST + MISTAKE_COST, False
        elif stage == 1:
            if self.pot[0] == first:
                self.stage = 2
                return STAGE_REWARD, False
            if self.inventory != first:
                self.stage = 0
                return STEP_COST + MISTAKE_COST, False
        else:
            if self.pot[0] == first and self.pot[1] == second:
                self.stage = 4
                return STAGE_REWARD, True
            if self.inventory != second:
                self.stage = 2
                return STEP_COST + MISTAKE_COST, False
        return STEP_COST, False

    def state_observation(self) -> np.ndarray:
        obj = self._objects[self.y * self.width + self.x]
        status = 0 if obj is None else obj.status
        pot = self.pot
        return np.array((self.x, self.y, status, self.inventory, pot[0], pot[1], pot[2]), dtype=np.int64)

    @property
    def state(self) -> tuple[int, int, int, int, tuple[int, ...], int]:
        return (self.x, self.y, self._steps, self.inventory, tuple(self.pot), self.stage)

    @state.setter
    def state(self, value: tuple[int, int, int, int, tuple[int, ...], int]) -> None:
        self.x, self.y, self._steps, self.inventory, pot, self.stage = value
        self.pot = list(pot)

    @property
    def core_state(self) -> tuple[int, int, int, tuple[int, ...], int]:
        return (self.x, self.y, self.inventory, tuple(self.pot), self.stage)

    @core_state.setter
    def core_state(self, value: tuple[int, int, int, tuple[int, ...], int]) -> None:
        self.x, self.y, self.inventory, pot, self.stage = value
        self.pot = list(pot)

    def equivalent_task(self, problem_id: int, instruction: Hashable) -> tuple[int, Hashable]:
        # Rewards only compare ingredients for equality, so renaming them (in order of first
        # appearance in the fridges) changes no return: 360 (kitchen, recipe) pairs of the
        # train split fall into 22 classes.
        names: dict[int, int] = {}
        fridges = [names.setdefault(i, len(names)) for i in fridge_contents(problem_id)]
        recipe = None if instruction is None else tuple(names[i] for i in instruction)  # type: ignore[union-attr]
        return fridges[0] + 4 * fridges[1] + 16 * fridges[2], recipe

    def equivalent_state(self, problem_id: int, instruction: Hashable,
                         core_state: tuple[int, int, int, tuple[int, ...], int]) -> tuple:
        # The renaming of equivalent_task, extended to ingredients no fridge holds (held or in
        # the pot: a state another kitchen's policy can lead to) in order of appearance.
        names: dict[int, int] = {}
        for ingredient in fridge_contents(problem_id):
            names.setdefault(ingredient, len(names))
        x, y, inventory, pot, stage = core_state
        inventory, *pot = (i if i == EMPTY else names.setdefault(i, len(names)) for i in (inventory, *pot))
        return (x, y, inventory, tuple(pot), stage)
