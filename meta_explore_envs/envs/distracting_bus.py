"""MetaDistractingBus: can the agent explore what matters and ignore distractors?"""

from __future__ import annotations

from meta_explore_envs.envs.bus_grid import PERMUTATIONS, BusGridEnv, bus_pairs, coloured_buses
from meta_explore_envs.grid.objects import WorldObject

GREY_SOURCES = ((5, 5), (3, 3), (3, 5), (5, 3))
GREY_DESTINATIONS = ((0, 4), (4, 0), (8, 4), (4, 8))


class DistractingBusEnv(BusGridEnv):
    """One episode of the distracting-bus grid (registered as a trial: ``MetaDistractingBus-v0``).

    ## Description
    A 9x9 grid; the agent starts in the middle, at (4, 4). Four coloured buses stand next to
    it, at (4, 5), (5, 4), (3, 4) and (4, 3); riding one takes the agent to one of (0, 1),
    (0, 7), (8, 1), (8, 7), next to the four corners, where a bus of the same colour rides
    back. Which bus goes where is the problem. Four grey buses at (5, 5), (3, 3), (3, 5),
    (5, 3) go to (0, 4), (4, 0), (8, 4), (4, 8) in a problem-specific order too, but they
    never help: they are the distractors. The instruction names a goal corner; an agent that
    knows the coloured buses reaches any corner in 3 steps (return 0.8), one that does not
    walks 8 steps (return 0.3). So good exploration rides the four coloured buses and leaves
    the grey ones alone.

    ## Action space
    ``Discrete(9)``: 0 left, 1 up, 2 right, 3 down, 4 noop, 5 ride bus, 6 end episode,
    7 pick up, 8 drop. Moving off the grid, riding where there is no bus, pick up and drop do
    nothing but cost a step.

    ## Observation space
    ``MultiDiscrete([9, 9, 4])``: ``[x, y, status]`` with status 1 when the agent stands on a
    bus, else 0 (the values 2 pot and 3 fridge are shared with MetaCooking and never occur).

    ## Instruction space
    ``Discrete(4)``, the goal corner: 0 (0, 0) bottom-left, 1 (8, 8) top-right,
    2 (0, 8) top-left, 3 (8, 0) bottom-right; drawn uniformly. Observed as ``Discrete(5)``
    with 4 meaning "no instruction".

    ## Problem space
    576 problems: ``problem_id = coloured + 24 * grey`` where ``coloured`` and ``grey`` index
    ``itertools.permutations(range(4))`` and the bus at the i-th source goes to destination
    ``permutation[i]``. Train split: the 53 IDs divisible by 11; test split: the other 523.

    ## Rewards
    -0.1 per step; the step that reaches the goal corner gives +1 instead. ``end episode``
    gives -0.1 - 0.1 x (steps remaining), the cost of idling to the time limit.

    ## Episode end
    Reaching the goal (success), ``end episode``, or 20 steps. With no instruction (IMRL
    exploration episode) only the last two.

    ## Arguments
    ``split="train" | "test"``, ``render_mode=None | "rgb_array" | "human"``. Use
    ``gymnasium.make("MetaDistractingBus-v0", ...)`` for trials (see ``TrialEnv``).

    ## Relation to the paper
    Matches the "distracting bus" benchmark of Liu et al. (ICML 2021), Section 6.1 and
    Figure 5a: same layout, 4!² problems, 20-step episodes, -0.1 per step, +1 at the goal.
    The train/test split (IDs divisible by 11) and the ``end episode`` penalty follow the
    project's benchmark spec v0. The observation encodes status as one integer instead of
    the paper's one-hot; the instruction is a separate observation key.

    ## Version history
    * v0: initial release.
    """

    family = "distracting_bus"
    num_problems = 24 * 24

    @classmethod
    def split_problem_ids(cls, split: str) -> list[int]:
        train = split == "train"
        return [i for i in range(cls.num_problems) if (i % 11 == 0) == train]

    @classmethod
    def describe_split(cls, split: str) -> str:
        rule = "divisible" if split == "train" else "not divisible"
        return f"the {len(cls.split_problem_ids(split))} IDs in [0, {cls.num_problems}) {rule} by 11"

    def layout(self, problem_id: int) -> dict[tuple[int, int], WorldObject]:
        grey = PERMUTATIONS[problem_id // 24]
        return {**coloured_buses(problem_id % 24), **bus_pairs(GREY_SOURCES, GREY_DESTINATIONS, grey, "grey")}
