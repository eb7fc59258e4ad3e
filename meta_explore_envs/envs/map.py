"""MetaMap: can the agent use an informative object (a map) instead of exploring directly?"""

from __future__ import annotations

from meta_explore_envs.envs.bus_grid import BusGridEnv, coloured_buses
from meta_explore_envs.grid.objects import MapSheet, WorldObject

MAP_CELL = (7, 3)


class MapEnv(BusGridEnv):
    """One episode of the bus grid with a map (registered as a trial: ``MetaMap-v0``).

    ## Description
    The 9x9 grid of MetaDistractingBus without the grey buses: the agent starts at (4, 4)
    next to four coloured buses whose destinations, next to the four corners, are the
    problem. A map lies at (7, 3): standing on it shows the problem ID, i.e. where every
    bus goes, in 4 steps instead of the ~12 it takes to ride all buses.

    ## Action space
    ``Discrete(9)``: 0 left, 1 up, 2 right, 3 down, 4 noop, 5 ride bus, 6 end episode,
    7 pick up, 8 drop.

    ## Observation space
    ``MultiDiscrete([9, 9, 4, 25])``: ``[x, y, status, map]``; status 1 on a bus, else 0
    (the map cell reads as none); ``map = problem_id + 1`` while standing on the map, else 0.

    ## Instruction space
    ``Discrete(4)``, the goal corner: 0 (0, 0) bottom-left, 1 (8, 8) top-right,
    2 (0, 8) top-left, 3 (8, 0) bottom-right; drawn uniformly. Observed as ``Discrete(5)``
    with 4 meaning "no instruction".

    ## Problem space
    24 problems: the index of the coloured buses' permutation of destinations in
    ``itertools.permutations(range(4))``. Train and test splits are the same 24 problems.

    ## Rewards
    -0.1 per step; the step that reaches the goal corner gives +1 instead. ``end episode``
    gives -0.1 - 0.1 x (steps remaining).

    ## Episode end
    Reaching the goal (success), ``end episode``, or 20 steps. With no instruction (IMRL
    exploration episode) only the last two.

    ## Arguments
    ``split="train" | "test"``, ``render_mode=None | "rgb_array" | "human"``. Use
    ``gymnasium.make("MetaMap-v0", ...)`` for trials (see ``TrialEnv``).

    ## Relation to the paper
    Matches the "map" benchmark of Liu et al. (ICML 2021), Section 6.1 and Figure 5a. The
    map is an integer observation entry (problem ID + 1) rather than a one-hot of the bus
    destinations; it carries the same information.

    ## Version history
    * v0: initial release.
    """

    family = "map"
    num_problems = 24
    extra_observation_nvec = (num_problems + 1,)

    @classmethod
    def split_problem_ids(cls, split: str) -> list[int]:
        return list(range(cls.num_problems))

    def layout(self, problem_id: int) -> dict[tuple[int, int], WorldObject]:
        objects = coloured_buses(problem_id)
        objects[MAP_CELL] = MapSheet()
        return objects

    def extra_observation(self, x: int, y: int) -> tuple[int]:
        return (self.problem_id + 1 if (x, y) == MAP_CELL else 0,)
