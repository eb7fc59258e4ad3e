"""A privileged planner for MetaSign3D: exhaustive search over its deterministic dynamics.

Used for the benchmark's bounds (Optimal, No exploration, Thompson sampling, Random), by
the oracle baseline and by the explore/exploit diagnosis (:func:`sign_seen`: whether an
exploration episode brought the whole word of the sign into view). Everything runs on the
env's own rules: poses are moved with :meth:`Sign3DEnv.transition` (MiniWorld's collision
test and touch test) and observations are rendered with the env's world, so the planner
cannot drift from the env.

## Method
From a start pose, the dynamics are deterministic and do not depend on the problem: a
breadth-first search over ``turn left``/``turn right``/``forward`` builds the graph of every
pose reachable within the 20 steps (poses that differ by less than 1e-9 m are merged;
about 30,000 poses from one start), with the earliest arrival time of each pose and
the objects touched on the way (touching ends the episode, so the search stops there).
A reverse breadth-first search then gives, for every pose, the fewest steps to touch each
object (:attr:`SearchGraph.time_to_touch`).

* **Optimal** (the problem is known): 1 if the instructed object of the sign's colour can
  be touched within 20 steps (there is no step cost, so any path is optimal), else 0.
* **No exploration**: the Bayes-optimal episode for an agent that knows its pose and the
  uniform prior over the three problems, and sees its 80x60 observations. Observations
  differ between problems only where the sign's panel is in view, so the belief only
  changes at such poses; it is the set of problems whose rendered observation equals the
  true one. Before any informative observation the policy is open-loop, so its value is
  the best, over the first informative pose (reached at its earliest time through
  uninformative poses), of the expected value after the belief splits: with a single
  problem left, 1 if its target can still be touched in time; with two, the same
  recursion again. Touching an object while two or three problems remain possible is
  worth at most 0 (targets differ between problems), so it is never chosen. Whether the
  sign can be in view is decided exactly in 2D (walls are full height; the field of view
  is widened by 1.5 degrees, occluding walls shrunk by 1 mm, so the test errs towards
  rendering); where it can, the three problems' observations are rendered and compared
  pixel by pixel. Any difference counts as information (a perfect perceiver), which makes
  this an upper bound on what a learned policy can do without exploring.
* **Thompson sampling** (PEARL-UB): the exploration episode samples a problem and an
  instruction from the prior and walks the shortest path (ties broken by action order
  left, right, forward) to that object; the belief after it is the set of problems whose
  observations along the path equal the true one's. The exploitation episode, from a new
  start, is then Bayes-optimal from that belief (the No-exploration recursion above).
* **Random**: uniformly random actions (each of the 4 with probability 1/4; ``end episode``
  stops): the exact expected return from a start, by propagating probabilities over the
  graph.

Bounds are averages over start poses drawn from the start distribution (stratified in
position and heading; see :func:`sample_starts`), both instructions and the three
problems. Their only error is this sampling of start poses, stated as a standard error
(:func:`estimate_bounds`). The values below (:data:`BOUNDS`) come from
``python -m meta_explore_envs.planning.sign3d --starts 128``.
"""

from __future__ import annotations

import functools
import math
from collections import deque
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field

import numpy as np

from meta_explore_envs.envs import sign3d_layout as layout
from meta_explore_envs.envs.sign3d import Sign3DEnv
from meta_explore_envs.envs.sign3d_textures import SIGN_COLS

#: ``time_to_touch`` value meaning "cannot be touched within the episode".
UNREACHABLE = 10**6
ACTIONS = (layout.TURN_LEFT, layout.TURN_RIGHT, layout.FORWARD)
ALL_PROBLEMS = frozenset(range(len(layout.SIGN_WORDS)))

# 2D visibility of the sign's panel (walls are full height, so occlusion is 2D).
_SIGN_X = layout.SIGN_POS[0] - 0.05  # the panel's front face
_SIGN_Z = (layout.SIGN_POS[2] - layout.SIGN_WIDTH / 2 - 0.05, layout.SIGN_POS[2] + layout.SIGN_WIDTH / 2 + 0.05)
_HALF_FOV = math.atan(math.tan(math.radians(30)) * layout.OBS_WIDTH / layout.OBS_HEIGHT)
_SHRINK = 1e-3
#: Half the width of the longest word (GREEN: 29 of the panel's 31 cells).
_WORD_HALF_WIDTH = layout.SIGN_WIDTH / 2 * (SIGN_COLS - 2) / SIGN_COLS


def target_object(problem: int, instruction: int) -> int:
    """Index in ``layout.OBJECTS`` of the object worth +1."""
    for index, obj in enumerate(layout.OBJECTS):
        if obj.shape == instruction and obj.colour == problem:
            return index
    raise ValueError(f"no object of shape {instruction} and colour {problem}")


def visible_sign_intervals(x: float, z: float, heading: float, walls: np.ndarray, fov_margin: float = 0.0,
                           wall_shrink: float = 0.0) -> list[tuple[float, float]]:
    """The parts (z intervals) of the sign's panel in the field of view and not behind a wall.

    Exact in 2D (walls are full height and the panel spans the camera's height). The field
    of view is widened by ``fov_margin`` radians and walls are shortened by ``wall_shrink``
    metres at each end of their shadow (negative values narrow/lengthen). ``walls``:
    MiniWorld's ``wall_segs``.
    """
    depth = _SIGN_X - x
    if depth <= 0:
        return []
    # The field of view (a cone around the heading) cut by the sign's line, in
    # y = z_camera - z_sign (so that angles follow MiniWorld's heading convention).
    half = _HALF_FOV + fov_margin
    h = math.atan2(math.sin(heading), math.cos(heading))
    lo_angle, hi_angle = h - half, h + half
    lo_hits, hi_hits = math.cos(lo_angle) > 1e-9, math.cos(hi_angle) > 1e-9
    if not lo_hits and not hi_hits:
        return []
    y_lo = depth * math.tan(lo_angle) if lo_hits else -math.inf
    y_hi = depth * math.tan(hi_angle) if hi_hits else math.inf
    intervals = [(max(_SIGN_Z[0], z - y_hi), min(_SIGN_Z[1], z - y_lo))]
    if intervals[0][0] >= intervals[0][1]:
        return []
    for (ax, _, az), (bx, _, bz) in walls:
        # Clip the wall to the slab between the camera and the sign, project it onto the sign.
        lo, hi = x + 1e-6, _SIGN_X - 1e-6
        if max(ax, bx) <= lo or min(ax, bx) >= hi:
            continue
        points = []
        for t in (0.0, 1.0):
            px, pz = ax + t * (bx - ax), az + t * (bz - az)
            if not lo <= px <= hi:  # clip the endpoint to the slab along the segment
                edge = lo if px < lo else hi
                s = (edge - ax) / (bx - ax)
                px, pz = edge, az + s * (bz - az)
            points.append(z + (pz - z) * depth / (px - x))
        block_lo, block_hi = min(points) + wall_shrink, max(points) - wall_shrink
        if block_lo >= block_hi:
            continue
        remaining = []
        for a, b in intervals:
            if block_hi <= a or block_lo >= b:
                remaining.append((a, b))
                continue
            if a < block_lo:
                remaining.append((a, block_lo))
            if block_hi < b:
                remaining.append((block_hi, b))
        intervals = remaining
        if not intervals:
            return []
    return intervals


def sign_may_be_visible(x: float, z: float, heading: float, walls: np.ndarray) -> bool:
    """Whether any pixel of the sign's panel can be drawn (errs towards True: the field of
    view is widened by 1.5 degrees and walls shortened by 1 mm)."""
    return bool(visible_sign_intervals(x, z, heading, walls, math.radians(1.5), _SHRINK))


def word_fully_visible(x: float, z: float, heading: float, walls: np.ndarray) -> bool:
    """Whether the whole word is in view and unoccluded (errs towards False: the field of
    view is narrowed by 2 degrees and walls lengthened by 5 cm)."""
    half = _WORD_HALF_WIDTH + 0.05
    lo, hi = layout.SIGN_POS[2] - half, layout.SIGN_POS[2] + half
    return any(a <= lo and hi <= b for a, b in visible_sign_intervals(x, z, heading, walls, -math.radians(2), -0.05))


def word_partly_visible(x: float, z: float, heading: float, walls: np.ndarray) -> bool:
    """Whether some of the word is in the field of view and not behind a wall (exact in 2D,
    no margins): pixels that carry the sign's colour are drawn, though perhaps too few to
    read it."""
    lo, hi = layout.SIGN_POS[2] - _WORD_HALF_WIDTH, layout.SIGN_POS[2] + _WORD_HALF_WIDTH
    return any(min(b, hi) > max(a, lo) for a, b in visible_sign_intervals(x, z, heading, walls))


def views_told_apart(view_a: np.ndarray, view_b: np.ndarray, min_pixels: int = 100) -> np.ndarray | bool:
    """Whether two uint8 RGB views ``(..., H, W, 3)`` tell their problems apart clearly: at
    least ``min_pixels`` pixels differ by more than 100 (of 255) in some channel. Any leading
    dimensions are compared element by element (a bool array of their shape)."""
    differ = np.abs(view_a.astype(np.int16) - view_b.astype(np.int16)).max(axis=-1) > 100
    return differ.sum(axis=(-2, -1)) >= min_pixels


@functools.cache
def world_walls() -> np.ndarray:
    """MiniWorld's ``wall_segs`` of the MetaSign3D world: (num_walls, 2, 3) float, the two end
    points (x, y, z) of each wall in metres (read-only).

    Built once per process (the first call builds the world, which loads OpenGL through the
    process's shared context; the array itself holds no GL state, so it survives ``fork``).
    """
    walls = np.array(Sign3DEnv().world.wall_segs, dtype=float)
    walls.flags.writeable = False
    return walls


def _poses(states: Sequence[Sequence[float]]) -> Iterator[tuple[float, float, float]]:
    """``(x, z, heading)`` of each of the episode env's ``states`` (see :func:`sign_seen`),
    checked."""
    for i, state in enumerate(states):
        try:
            x, z, start_heading, turns, _ = (float(v) for v in state)
        except (TypeError, ValueError) as error:
            raise TypeError(f"states[{i}] = {state!r} is not a MetaSign3D state (x, z, start_heading, turns, "
                            "steps) of 5 numbers") from error
        if not all(map(math.isfinite, (x, z, start_heading, turns))):
            raise ValueError(f"states[{i}] = {state!r} holds a non-finite number")
        yield x, z, start_heading + turns * layout.TURN


def sign_seen(states: Sequence[Sequence[float]], walls: np.ndarray | None = None) -> bool:
    """Whether the sign was *seen* from any of the poses ``states``: at one of them, at least,
    the whole word is in the field of view and not behind a wall (:func:`word_fully_visible`,
    the test the privileged planner uses for "the whole word is in view").

    The test errs towards "not seen": the field of view is narrowed by 2 degrees and walls
    lengthened by 5 cm, and a pose that shows only part of the word does not count, although
    a partial view may already tell some problems apart (:func:`word_in_view` counts those).
    Wherever it says "seen" the three problems' observations all differ
    (``tests/test_sign3d_planner.py``), so an agent that perceives perfectly knows the problem.

    Args:
        states: the episode env's states ``(x, z, start_heading, turns, steps)`` (metres,
            radians, 45-degree turns, steps) at the observations the agent got, e.g. a
            trial's :attr:`evaluation.harness.TrialResults.exploration_states`; the heading
            is ``start_heading + turns x 45 degrees``; ``steps`` is ignored.
        walls: MiniWorld's ``wall_segs``; default :func:`world_walls`.

    Raises:
        TypeError, ValueError: a state that is not 5 finite numbers.
    """
    walls = world_walls() if walls is None else walls
    return any(word_fully_visible(x, z, h, walls) for x, z, h in _poses(states))


def word_in_view(states: Sequence[Sequence[float]], walls: np.ndarray | None = None) -> bool:
    """Whether some of the word was in view from any of the poses ``states``
    (:func:`word_partly_visible`: exact, no margins), the lenient counterpart of
    :func:`sign_seen`: its colour's pixels reached the agent, whole or not. Arguments and
    errors as :func:`sign_seen`'s."""
    walls = world_walls() if walls is None else walls
    return any(word_partly_visible(x, z, h, walls) for x, z, h in _poses(states))


@dataclass
class SearchGraph:
    """Every pose reachable from a start within the episode, and how they connect."""

    start: tuple[float, float, float]  # (x, z, heading)
    #: Node -> (x, z, turns); the heading is ``start heading + turns x 45 degrees``.
    poses: list[tuple[float, float, int]] = field(default_factory=list)
    #: Node -> earliest arrival time (steps from the start).
    depth: list[int] = field(default_factory=list)
    #: Node -> successor under (left, right, forward): a node, or ``-1 - object`` when that
    #: action touches ``object`` (ending the episode); -2**31 when not expanded (depth 20).
    succ: list[tuple[int, int, int]] = field(default_factory=list)
    #: Object -> earliest time it can be touched (``UNREACHABLE`` if not within 20 steps).
    touch_time: list[int] = field(default_factory=list)
    #: Object -> node -> fewest steps from that node to touch it.
    time_to_touch: list[list[int]] = field(default_factory=list)
    #: Node -> (parent node, action) on a shortest path from the start.
    parent: list[tuple[int, int]] = field(default_factory=list)
    #: Caches: node -> problems grouped by identical observation; (node, time, belief,
    #: instruction) -> Bayes-optimal value.
    observation_classes: dict[int, tuple[frozenset[int], ...]] = field(default_factory=dict)
    values: dict[tuple[int, int, frozenset[int], int], float] = field(default_factory=dict)
    #: ``with_end`` -> :meth:`Sign3DPlanner.random_touch_probabilities`.
    random_touch: dict[bool, list[float]] = field(default_factory=dict)
    #: The node that stopped the search (see ``Sign3DPlanner.search``), if any.
    found: int | None = None

    def heading(self, node: int) -> float:
        return self.start[2] + self.poses[node][2] * layout.TURN


NOT_EXPANDED = -(2**31)


class Sign3DPlanner:
    """Searches, evaluates bounds and plans paths for one :class:`Sign3DEnv` (its rules, its world)."""

    def __init__(self, env: Sign3DEnv | None = None):
        self.env = env if env is not None else Sign3DEnv()
        self.world = self.env.world
        self.walls = self.world.wall_segs
        self.renders = 0  # observations rendered to compare problems (for the record)
        self._last_full: SearchGraph | None = None

    # ------------------------------------------------------------------ search
    def search(self, start: tuple[float, float, float], max_steps: int = layout.MAX_STEPS,
               stop_when_all_touched: bool = False, stop=None) -> SearchGraph:
        """Breadth-first search of every pose reachable from ``start`` within ``max_steps``.

        Stops early once every object has been touched (``stop_when_all_touched``) or when
        ``stop(graph, node)`` is true for a newly reached node (then ``graph.found = node``).
        """
        env = self.env
        x0, z0, h0 = start
        graph = SearchGraph(start=(float(x0), float(z0), float(h0)))
        index: dict[tuple[float, float, int], int] = {}

        def add(x: float, z: float, turns: int, depth: int, parent: tuple[int, int]) -> int:
            key = (round(x, 9), round(z, 9), turns)
            node = index.get(key)
            if node is None:
                node = index[key] = len(graph.poses)
                graph.poses.append((x, z, turns))
                graph.depth.append(depth)
                graph.succ.append((NOT_EXPANDED,) * 3)
                graph.parent.append(parent)
            return node

        add(x0, z0, 0, 0, (-1, -1))
        touch_time = [UNREACHABLE] * len(layout.OBJECTS)
        queue = deque([0])
        while queue:
            node = queue.popleft()
            depth = graph.depth[node]
            if depth >= max_steps:
                continue
            x, z, turns = graph.poses[node]
            successors = []
            for action in ACTIONS:
                env.state = (x, z, h0, turns, 0)
                env.transition(action)
                if env.touched is not None:
                    touch_time[env.touched] = min(touch_time[env.touched], depth + 1)
                    successors.append(-1 - env.touched)
                    continue
                nx, nz, _, nturns, _ = env.state
                before = len(graph.poses)
                successor = add(nx, nz, nturns, depth + 1, (node, action))
                if len(graph.poses) > before:
                    queue.append(successor)
                    if stop is not None and graph.found is None and stop(graph, successor):
                        graph.found = successor
                successors.append(successor)
            graph.succ[node] = tuple(successors)
            if stop_when_all_touched and max(touch_time) <= depth + 1:
                break
            if graph.found is not None:
                break
        graph.touch_time = touch_time
        return graph

    def add_time_to_touch(self, graph: SearchGraph) -> None:
        """Fill ``graph.time_to_touch`` by reverse breadth-first search from the touches."""
        n = len(graph.poses)
        predecessors: list[list[int]] = [[] for _ in range(n)]
        touching: list[list[int]] = [[] for _ in layout.OBJECTS]
        for node, successors in enumerate(graph.succ):
            for successor in successors:
                if successor == NOT_EXPANDED:
                    continue
                if successor < 0:
                    touching[-1 - successor].append(node)
                elif successor != node:
                    predecessors[successor].append(node)
        graph.time_to_touch = []
        for obj in range(len(layout.OBJECTS)):
            dist = [UNREACHABLE] * n
            queue = deque()
            for node in touching[obj]:
                if dist[node] > 1:
                    dist[node] = 1
                    queue.append(node)
            while queue:
                node = queue.popleft()
                d = dist[node] + 1
                for pred in predecessors[node]:
                    if dist[pred] > d:
                        dist[pred] = d
                        queue.append(pred)
            graph.time_to_touch.append(dist)

    def full_search(self, start: tuple[float, float, float]) -> SearchGraph:
        """:meth:`search` to the end of the episode plus ``time_to_touch`` (the last one is cached)."""
        start = tuple(float(v) for v in start)
        if self._last_full is None or self._last_full.start != start:
            graph = self.search(start)
            self.add_time_to_touch(graph)
            self._last_full = graph
        return self._last_full

    # ------------------------------------------------------------------ observations
    def classes(self, graph: SearchGraph, node: int) -> tuple[frozenset[int], ...]:
        """The problems grouped by identical observation at ``node`` (one group: uninformative)."""
        cached = graph.observation_classes.get(node)
        if cached is not None:
            return cached
        x, z, _ = graph.poses[node]
        heading = graph.heading(node)
        if not sign_may_be_visible(x, z, heading, self.walls):
            result: tuple[frozenset[int], ...] = (ALL_PROBLEMS,)
        else:
            groups: dict[bytes, set[int]] = {}
            for problem in sorted(ALL_PROBLEMS):
                groups.setdefault(self.world.observe(problem, x, z, heading).tobytes(), set()).add(problem)
            result = tuple(frozenset(g) for g in groups.values())
            self.renders += len(ALL_PROBLEMS)
        graph.observation_classes[node] = result
        return result

    def split(self, graph: SearchGraph, node: int, belief: frozenset[int]) -> list[frozenset[int]]:
        parts = [belief & group for group in self.classes(graph, node)]
        return [part for part in parts if part]

    # ------------------------------------------------------------------ values
    def optimal_value(self, graph: SearchGraph, problem: int, instruction: int) -> float:
        return 1.0 if graph.touch_time[target_object(problem, instruction)] <= layout.MAX_STEPS else 0.0

    def belief_value(self, graph: SearchGraph, instruction: int, belief: frozenset[int] = ALL_PROBLEMS,
                     node: int = 0, time: int = 0) -> float:
        """Expected return of the Bayes-optimal policy from ``node`` at ``time`` with ``belief``.

        ``belief`` is the set of equally likely problems, already consistent with the
        observation at ``node``. Needs ``graph.time_to_touch``.
        """
        ttt = graph.time_to_touch
        targets = {p: target_object(p, instruction) for p in belief}
        left = layout.MAX_STEPS - time
        if len(belief) == 1:
            (problem,) = belief
            return 1.0 if ttt[targets[problem]][node] <= left else 0.0
        key = (node, time, belief, instruction)
        cached = graph.values.get(key)
        if cached is None:
            cached = graph.values[key] = self._search_belief(graph, instruction, belief, node, time)[0]
        return cached

    def plan_belief(self, graph: SearchGraph, instruction: int, belief: frozenset[int], node: int,
                    time: int) -> tuple[float, list[int]]:
        """The Bayes-optimal value from (node, time, belief) with ``len(belief) >= 2`` and the
        actions to the first informative pose it goes to ([] if the value is 0)."""
        value, best, came_from = self._search_belief(graph, instruction, belief, node, time)
        actions = []
        while best is not None and best != node:
            best, action = came_from[best]
            actions.append(action)
        return value, actions[::-1]

    def _search_belief(self, graph: SearchGraph, instruction: int, belief: frozenset[int], node: int,
                       time: int) -> tuple[float, int | None, dict[int, tuple[int, int]]]:
        ttt = graph.time_to_touch
        targets = {p: target_object(p, instruction) for p in belief}

        lists = [ttt[targets[p]] for p in belief]

        def upper(n: int, t: int) -> float:  # as if the problem were known
            return sum(dist[n] <= layout.MAX_STEPS - t for dist in lists) / len(lists)

        came_from: dict[int, tuple[int, int]] = {}
        bound = upper(node, time)
        if bound == 0:
            return 0.0, None, came_from
        best, best_node = 0.0, None
        seen = {node}
        queue = deque([(node, time)])
        while queue:
            n, t = queue.popleft()
            if t + 1 >= layout.MAX_STEPS:
                continue
            for action, successor in zip(ACTIONS, graph.succ[n]):
                if successor < 0 or successor in seen:
                    continue  # touching with >= 2 problems possible is worth <= 0
                seen.add(successor)
                came_from[successor] = (n, action)
                if upper(successor, t + 1) == 0:
                    continue  # nothing reachable from here in time
                parts = self.split(graph, successor, belief)
                if len(parts) == 1:
                    queue.append((successor, t + 1))
                    continue
                value = sum(len(part) * self.belief_value(graph, instruction, part, successor, t + 1)
                            for part in parts) / len(belief)
                if value > best:
                    best, best_node = value, successor
                    if best >= bound:
                        return best, best_node, came_from
        return best, best_node, came_from

    def no_exploration_value(self, graph: SearchGraph, instruction: int) -> float:
        """Bayes-optimal return without an exploration episode (uniform prior)."""
        parts = self.split(graph, 0, ALL_PROBLEMS)
        return sum(len(part) * self.belief_value(graph, instruction, part) for part in parts) / len(ALL_PROBLEMS)

    def path_to(self, graph: SearchGraph, node: int) -> list[int]:
        """Actions of a shortest path from the start to ``node``."""
        actions = []
        while node != 0:
            node, action = graph.parent[node]
            actions.append(action)
        return actions[::-1]

    def shortest_path_to_object(self, graph: SearchGraph, obj: int) -> list[int] | None:
        """Actions of a shortest path that touches ``obj`` (ties: BFS order), or None."""
        best = None
        for node, successors in enumerate(graph.succ):
            for action, successor in zip(ACTIONS, successors):
                if successor == -1 - obj and (best is None or graph.depth[node] < graph.depth[best[0]]):
                    best = (node, action)
        if best is None:
            return None
        return self.path_to(graph, best[0]) + [best[1]]

    def path_nodes(self, graph: SearchGraph, actions: Sequence[int]) -> list[int]:
        """The nodes visited by ``actions`` from the start (stops at a touch)."""
        nodes, node = [0], 0
        for action in actions:
            successor = graph.succ[node][ACTIONS.index(action)]
            if successor < 0:
                break
            node = successor
            nodes.append(node)
        return nodes

    def belief_after(self, graph: SearchGraph, nodes: Sequence[int], problem: int) -> frozenset[int]:
        """The problems whose observations at ``nodes`` equal those of ``problem``."""
        belief = ALL_PROBLEMS
        for node in nodes:
            for group in self.classes(graph, node):
                if problem in group:
                    belief = belief & group
        return belief

    def random_value(self, graph: SearchGraph, problem: int, instruction: int, with_end: bool = True) -> float:
        """Exact expected return of uniformly random actions (``end episode`` included, or with
        ``with_end=False`` the 3 moves only)."""
        touch = self.random_touch_probabilities(graph, with_end)
        right = touch[target_object(problem, instruction)]
        return right - (sum(touch) - right)

    def random_touch_probabilities(self, graph: SearchGraph, with_end: bool = True) -> list[float]:
        """Object -> probability that uniformly random actions touch it within the episode:
        uniform over the 4 actions (``end episode`` stops the walk), or with ``with_end=False``
        over the 3 moves (the random actions of ``--no-random-end-action`` training)."""
        if with_end not in graph.random_touch:
            touch = [0.0] * len(layout.OBJECTS)
            mass = {0: 1.0}
            share = 1.0 / (4 if with_end else 3)  # each of left, right, forward
            for _ in range(layout.MAX_STEPS):
                nxt: dict[int, float] = {}
                for node, p in mass.items():
                    for successor in graph.succ[node]:
                        if successor < 0:
                            touch[-1 - successor] += share * p
                        else:
                            nxt[successor] = nxt.get(successor, 0.0) + share * p
                mass = nxt
            graph.random_touch[with_end] = touch
        return graph.random_touch[with_end]

    # ------------------------------------------------------------------ oracle paths
    def legible(self, graph: SearchGraph, node: int, min_pixels: int = 100, whole_word: bool = True) -> bool:
        """Whether the sign is clearly legible at ``node``: the whole word is in view (if
        ``whole_word``) and the three problems' observations pairwise differ in at least
        ``min_pixels`` pixels by more than 100 (of 255)."""
        x, z, _ = graph.poses[node]
        if whole_word and not word_fully_visible(x, z, graph.heading(node), self.walls):
            return False
        if len(self.classes(graph, node)) < len(ALL_PROBLEMS):
            return False
        views = [self.world.observe(p, x, z, graph.heading(node)) for p in sorted(ALL_PROBLEMS)]
        return all(views_told_apart(views[a], views[b], min_pixels) for a in range(3) for b in range(a + 1, 3))

    def reading_path(self, start: tuple[float, float, float], max_steps: int = layout.MAX_STEPS) -> list[int] | None:
        """Shortest path from ``start`` to a pose where the sign is clearly legible, the whole
        word if that fits in ``max_steps``, else part of it (None if neither does)."""
        graph = self.search(start, max_steps=max_steps, stop=self.legible)
        if graph.found is None:
            graph = self.search(start, max_steps=max_steps,
                                stop=lambda g, node: self.legible(g, node, whole_word=False))
        return None if graph.found is None else self.path_to(graph, graph.found)

    def step_towards(self, graph: SearchGraph, node: int, obj: int) -> int:
        """An action on a shortest path from ``node`` to touching ``obj`` (needs ``time_to_touch``)."""
        dist = graph.time_to_touch[obj]
        for action, successor in zip(ACTIONS, graph.succ[node]):
            if successor == -1 - obj or (successor >= 0 and dist[successor] == dist[node] - 1):
                return action
        raise ValueError(f"object {obj} cannot be reached from node {node}")


# ---------------------------------------------------------------------------- bounds
def sample_starts(n: int, seed: int = 0) -> list[tuple[float, float, float]]:
    """``n`` start poses from the start distribution, stratified: the heading in ``n`` equal
    strata (shuffled), x and z by Latin hypercube, each jittered uniformly within its stratum."""
    rng = np.random.default_rng(seed)
    (x_lo, x_hi), (z_lo, z_hi), (h_lo, h_hi) = layout.START_X, layout.START_Z, layout.START_HEADING
    strata = [(rng.permutation(n) + rng.uniform(size=n)) / n for _ in range(3)]
    return [
        (x_lo + (x_hi - x_lo) * u, z_lo + (z_hi - z_lo) * v, h_lo + (h_hi - h_lo) * w)
        for u, v, w in zip(*strata)
    ]


@dataclass
class BoundEstimate:
    mean: float
    stderr: float
    n: int


def _estimate(values: Sequence[float]) -> BoundEstimate:
    arr = np.asarray(values, dtype=float)
    stderr = float(arr.std(ddof=1) / math.sqrt(len(arr))) if len(arr) > 1 else 0.0
    return BoundEstimate(float(arr.mean()), stderr, len(arr))


def start_values(planner: Sign3DPlanner, start: tuple[float, float, float],
                 exploration: SearchGraph | None = None) -> dict[str, float]:
    """Per-start values averaged over the 3 problems and 2 instructions.

    ``exploration``: the search graph of an (independent) exploration-episode start, for
    Thompson sampling; if None, this start's own graph is used.
    """
    graph = planner.full_search(start)
    exploration = exploration if exploration is not None else graph
    problems, instructions = sorted(ALL_PROBLEMS), range(len(layout.SHAPE_NAMES))
    optimal = np.mean([planner.optimal_value(graph, p, i) for p in problems for i in instructions])
    no_exploration = np.mean([planner.no_exploration_value(graph, i) for i in instructions])
    random = np.mean([planner.random_value(graph, p, i) for p in problems for i in instructions])
    # Thompson: sampled (problem', instruction') -> shortest path in the exploration episode;
    # true problem -> belief after it; exploitation instruction -> Bayes-optimal value.
    thompson = []
    for sampled_problem in problems:
        for sampled_instruction in instructions:
            path = planner.shortest_path_to_object(exploration, target_object(sampled_problem, sampled_instruction))
            nodes = planner.path_nodes(exploration, path or [])
            for problem in problems:
                belief = planner.belief_after(exploration, nodes, problem)
                for instruction in instructions:
                    thompson.append(_value_with_belief(planner, graph, instruction, belief, problem))
    return {"optimal": float(optimal), "no_exploration": float(no_exploration), "thompson": float(np.mean(thompson)),
            "random": float(random)}


def _value_with_belief(planner: Sign3DPlanner, graph: SearchGraph, instruction: int, belief: frozenset[int],
                       problem: int) -> float:
    """Value of the exploitation episode for ``problem`` when exploration left ``belief``.

    The start observation may split the belief further; the part holding the true problem
    is the belief the policy acts on. Returned is that part's Bayes-optimal value (its
    average over the part's problems): summed over the true problems, as every bound here
    does, this is exactly the policy's expected return, since all problems of a part
    share the part.
    """
    for part in planner.split(graph, 0, belief):
        if problem in part:
            return planner.belief_value(graph, instruction, part)
    raise AssertionError("the true problem is always in the belief")


def estimate_bounds(num_starts: int = 128, seed: int = 0, planner: Sign3DPlanner | None = None,
                    progress: bool = False) -> dict[str, BoundEstimate]:
    """Optimal, No-exploration, Thompson and Random values of one exploitation episode."""
    planner = planner or Sign3DPlanner()
    starts = sample_starts(num_starts, seed)
    exploration_starts = sample_starts(num_starts, seed + 1)
    rows = []
    for i, (start, exploration_start) in enumerate(zip(starts, exploration_starts)):
        exploration = planner.search(exploration_start, stop_when_all_touched=True)
        rows.append(start_values(planner, start, exploration))
        if progress:
            print(f"start {i + 1}/{num_starts}: {rows[-1]}", flush=True)
    return {key: _estimate([row[key] for row in rows]) for key in rows[0]}


#: Bounds of one exploitation episode of MetaSign3D-v0 (IMRL; both splits hold the same
#: three problems), from ``python -m meta_explore_envs.planning.sign3d --starts 128
#: --seed 0`` (746 s on one core): mean and standard error over the 128 sampled start poses.
#: Optimal is 1 from every start; No exploration is 1/6 from 118 starts and 1/3 from 10 (after
#: reading the sign late in the episode only the green key, or one more object, is still in
#: reach); Thompson sampling's shortest paths never bring the sign into view, so it equals
#: No exploration; Random touches one of five wrong objects more often than the right one.
BOUNDS: dict[str, BoundEstimate] = {
    "optimal": BoundEstimate(1.0, 0.0, 128),
    "no_exploration": BoundEstimate(0.1796875, 0.0039690, 128),
    "thompson": BoundEstimate(0.1796875, 0.0039690, 128),
    "random": BoundEstimate(-0.0228316, 0.0014786, 128),
}


def bounds(split: str = "test") -> dict[str, float]:
    """The bounds of MetaSign3D-v0 on ``split`` (the same three problems on both)."""
    from meta_explore_envs.core import SPLITS, check_choice

    check_choice("split", split, SPLITS)
    return {name: estimate.mean for name, estimate in BOUNDS.items()}


#: How :data:`BOUNDS` were obtained, for reports.
BOUNDS_METHOD = (
    "privileged planner: exhaustive search of the dynamics from 128 stratified start poses, "
    "pixel-exact belief; stored from sign3d_planner --starts 128 (standard errors: "
    + ", ".join(f"{name} {BOUNDS[name].stderr:.3f}" for name in ("no_exploration", "thompson", "random"))
    + ")"
)


def main() -> None:
    import argparse
    import json
    import time

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--starts", type=int, default=128)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    t0 = time.perf_counter()
    bounds = estimate_bounds(args.starts, args.seed, progress=True)
    print(json.dumps({k: vars(v) for k, v in bounds.items()}, indent=2))
    print(f"{time.perf_counter() - t0:.0f} s")


__all__ = ["BOUNDS", "BOUNDS_METHOD", "BoundEstimate", "SearchGraph", "Sign3DPlanner", "bounds", "estimate_bounds",
           "sample_starts", "sign_may_be_visible", "sign_seen", "target_object", "visible_sign_intervals",
           "views_told_apart", "word_fully_visible", "world_walls"]


if __name__ == "__main__":
    main()
