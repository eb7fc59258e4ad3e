"""Transition tables of discrete families, built from the rules interface, and exact DP on them.

Everything here calls the family's own :meth:`~meta_explore_envs.core.EpisodeEnv.transition`
(through :meth:`~meta_explore_envs.core.EpisodeEnv.set_problem`, ``begin_episode`` and the
``state`` getter/setter); nothing re-implements the rules.

An :class:`InstructionModel` holds, for one instruction, the episodes of some problems as
tables: every state reachable from the start (or from extra roots) is a *row*, with its
successor row and reward for every action. On those tables the optimal and the
uniformly-random values of every row are plain backward induction, vectorised with NumPy.
The Bayes-optimal planner (:mod:`evaluation.planner`) and the bounds
(:mod:`evaluation.exact_bounds`) are built on the same tables.

Requirements on a family (checked, with a clear error when violated):

* dynamics and observations are deterministic given the problem, the instruction, the
  state and the action;
* episodes end within ``max_episode_steps`` transitions (the tables are a DAG);
* when two problems give the same observation and reward, they also give the same state
  (beliefs are sets of problems, not of (problem, state) pairs). All grid families do.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from typing import Any, Hashable, Iterable, Sequence

import numpy as np

from meta_explore_envs.core import EpisodeEnv

#: Values are in reward hundredths; two values closer than this are equal (ties).
TOLERANCE = 1e-7


def observation_key(observation: Any) -> Hashable:
    """A hashable key of an observation (arrays by dtype, shape and bytes)."""
    if isinstance(observation, np.ndarray):
        return (observation.dtype.str, observation.shape, observation.tobytes())
    if isinstance(observation, (list, tuple)):
        return observation_key(np.asarray(observation))
    return observation


class FamilyModel:
    """The exact models of one family: a private episode env, observation ids and one
    :class:`InstructionModel` per instruction (built on first use)."""

    def __init__(self, family: str):
        from meta_explore_envs.trial import family_class  # (not at module level: see bounds_fingerprint)

        self.family = family
        self.env_class: type[EpisodeEnv] = family_class(family)
        self.env: EpisodeEnv = self.env_class(split="train")  # set_problem takes any problem ID
        self.num_actions = len(self.env.action_names)
        self.observation_ids: dict[Hashable, int] = {}
        self._models: dict[Hashable, InstructionModel] = {}

    def observation_id(self, observation: Any) -> int:
        """Integer id of an observation (new ids are given to new observations)."""
        key = observation_key(observation)
        oid = self.observation_ids.get(key)
        if oid is None:
            oid = self.observation_ids[key] = len(self.observation_ids)
        return oid

    def known_observation_id(self, observation: Any) -> int:
        """Id of an observation seen before, or -1."""
        return self.observation_ids.get(observation_key(observation), -1)

    def model(self, instruction: Hashable) -> InstructionModel:
        """The tables of ``instruction`` (shared by every caller in the process)."""
        model = self._models.get(instruction)
        if model is None:
            model = self._models[instruction] = InstructionModel(self, instruction)
        return model

    def instruction_distribution(self, problem_id: int) -> dict[Hashable, float]:
        """:meth:`EpisodeEnv.instruction_distribution` of ``problem_id``."""
        self.env.set_problem(problem_id)
        return self.env.instruction_distribution()

    def decode_instruction(self, problems: Iterable[int]) -> dict[Hashable, Hashable | None]:
        """Observation key of the ``instruction`` observation -> instruction, for every
        instruction of ``problems`` and the "no instruction" sentinel (-> ``None``)."""
        env = self.env
        table: dict[Hashable, Hashable | None] = {observation_key(env.instruction_observation(None)): None}
        for problem in problems:
            env.set_problem(problem)
            for instruction in env.instruction_distribution():
                table[observation_key(env.instruction_observation(instruction))] = instruction
        return table


@lru_cache(maxsize=None)
def family_model(family: str) -> FamilyModel:
    """The process-wide :class:`FamilyModel` of ``family`` (bounds and agents share it)."""
    return FamilyModel(family)


@dataclass
class Step:
    """Outcome of one action from one state in several problems (arrays over the problems)."""

    next_state: np.ndarray  #: (n,) int: state id after the action, -1 when the episode is over
    reward: np.ndarray  #: (n,) int: reward in hundredths
    over: np.ndarray  #: (n,) bool: the episode ended
    observation: np.ndarray  #: (n,) int: observation id after the action, -1 when over


class _Growable:
    """A NumPy array that grows along its first axis with amortised copies."""

    def __init__(self, trailing: tuple[int, ...], dtype):
        self.data = np.empty((64, *trailing), dtype)
        self.size = 0

    def extend(self, values: np.ndarray) -> None:
        need = self.size + len(values)
        if need > len(self.data):
            grown = np.empty((max(need, 2 * len(self.data)), *self.data.shape[1:]), self.data.dtype)
            grown[: self.size] = self.data[: self.size]
            self.data = grown
        self.data[self.size : need] = values
        self.size = need

    @property
    def view(self) -> np.ndarray:
        return self.data[: self.size]


class InstructionModel:
    """Tables of the episodes of one instruction in a growing set of problems.

    Rows are (problem, state) pairs. ``next_row[r, a]`` is the row reached by action ``a``
    (-1 when the episode is over), ``reward[r, a]`` the reward in hundredths. States are
    numbered per model (state ids); :meth:`rows` finds the rows of a state in some problems.
    Rows are only ever added, each with all its successors, so the values of existing rows
    never change when the tables grow.
    """

    def __init__(self, family: FamilyModel, instruction: Hashable):
        self.family = family
        self.instruction = instruction
        self.num_actions = family.num_actions
        self.max_steps = family.env.max_episode_steps
        self.states: list[Hashable] = []
        self.state_ids: dict[Hashable, int] = {}
        self.slot_of: dict[int, int] = {}  # problem ID -> slot (row of row_table)
        self.problems: list[int] = []
        self._slot_lookup = np.full(family.env_class.num_problems, -1, np.int64)  # problem ID -> slot
        self.start_state: dict[int, int] = {}  # problem ID -> state id of its start
        self.tabulated: set[int] = set()  # problems whose start is tabulated
        self._row_state = _Growable((), np.int32)
        self._row_observation = _Growable((), np.int32)
        # int32 halves the memory of the largest tables (MetaDistractingBus: ~0.7 M rows per instruction).
        self._next_row = _Growable((self.num_actions,), np.int32)
        self._reward = _Growable((self.num_actions,), np.int32)
        self.row_table = np.full((0, 0), -1, np.int32)  # (slot, state id) -> row
        self._values = {"max": _Growable((), np.float64), "mean": _Growable((), np.float64)}
        self._exploration_cache: dict[tuple[int, int, bytes], list[ExplorationOutcome]] = {}
        self._optimal_actions: dict[int, list[int]] = {}

    @property
    def num_rows(self) -> int:
        return self._row_state.size

    # ------------------------------------------------------------------ building
    def state_id(self, state: Hashable) -> int:
        """Id of a state (states seen for the first time get a new id)."""
        return self._state_id(state)

    def _state_id(self, state: Hashable) -> int:
        sid = self.state_ids.get(state)
        if sid is None:
            sid = self.state_ids[state] = len(self.states)
            self.states.append(state)
        return sid

    def _slot(self, problem: int) -> int:
        slot = self.slot_of.get(problem)
        if slot is None:
            slot = self.slot_of[problem] = len(self.problems)
            self._slot_lookup[problem] = slot
            self.problems.append(problem)
        return slot

    def slots(self, problems: np.ndarray) -> np.ndarray:
        """Slots of problem IDs (-1 for problems never tabulated)."""
        return self._slot_lookup[np.asarray(problems, np.int64)]

    def _begin(self, problem: int) -> EpisodeEnv:
        env = self.family.env
        env.set_problem(problem)
        env.begin_episode(self.instruction)
        return env

    def add_problems(self, problems: Iterable[int]) -> None:
        """Tabulate every state reachable from the start in each of ``problems``."""
        for problem in problems:
            problem = int(problem)
            if problem not in self.tabulated:
                self._explore(problem, [self.states[self.start_of(problem)]])
                self.tabulated.add(problem)

    def start_of(self, problem: int) -> int:
        """State id of the start of ``problem`` (without tabulating it)."""
        sid = self.start_state.get(problem)
        if sid is None:
            sid = self.start_state[problem] = self._state_id(self._begin(problem).state)
        return sid

    def ensure_state(self, problem: int, state_id: int) -> int:
        """Row of ``state_id`` in ``problem``, tabulating it (and what follows) if needed."""
        slot = self._slot(problem)
        if slot < self.row_table.shape[0] and state_id < self.row_table.shape[1]:
            row = int(self.row_table[slot, state_id])
            if row >= 0:
                return row
        self._explore(problem, [self.states[state_id]])
        return int(self.row_table[slot, state_id])

    def _explore(self, problem: int, roots: Sequence[Hashable]) -> None:
        """Breadth-first search from ``roots`` in ``problem``; adds one row per new state."""
        env = self._begin(problem)
        slot = self._slot(problem)
        table = self.row_table
        known_ids = self.state_ids
        has_rows = slot < table.shape[0] and bool((table[slot] >= 0).any())
        base = self.num_rows
        new: dict[Hashable, int] = {}
        order: list[Hashable] = []

        def row_of(state: Hashable) -> int:
            row = new.get(state)
            if row is not None:
                return row
            if has_rows:
                sid = known_ids.get(state)
                if sid is not None and sid < table.shape[1] and table[slot, sid] >= 0:
                    return int(table[slot, sid])
            row = new[state] = base + len(order)
            order.append(state)
            return row

        for root in roots:
            row_of(root)
        next_rows: list[int] = []
        rewards: list[int] = []
        add_next, add_reward, get_new = next_rows.append, rewards.append, new.get
        transition = env.transition
        actions = range(self.num_actions)
        i = 0
        while i < len(order):
            state = order[i]
            i += 1
            for action in actions:
                env.state = state
                reward, over, _ = transition(action)
                add_reward(reward)
                if over:
                    add_next(-1)
                else:
                    after = env.state
                    row = get_new(after)
                    add_next(row_of(after) if row is None else row)
            if i > 10_000_000:
                raise RuntimeError(f"{self.family.family}: more than 10 million states; not a finite-horizon family?")
        n = len(order)
        observations = np.empty(n, np.int64)
        state_ids = np.empty(n, np.int64)
        for k, state in enumerate(order):
            env.state = state
            observations[k] = self.family.observation_id(env.state_observation())
            state_ids[k] = self._state_id(state)
        self._row_state.extend(state_ids)
        self._row_observation.extend(observations)
        self._next_row.extend(np.array(next_rows, np.int64).reshape(n, self.num_actions))
        self._reward.extend(np.array(rewards, np.int64).reshape(n, self.num_actions))
        self._grow_row_table()
        self.row_table[slot, state_ids] = np.arange(base, base + n)

    def _grow_row_table(self) -> None:
        table = self.row_table
        rows, cols = len(self.problems), len(self.states)
        if table.shape[0] < rows or table.shape[1] < cols:
            shape = tuple(old if old >= need else max(need, 2 * old) for old, need in zip(table.shape, (rows, cols)))
            grown = np.full(shape, -1, np.int32)
            grown[: table.shape[0], : table.shape[1]] = table
            self.row_table = grown

    # ------------------------------------------------------------------ arrays
    @property
    def next_row(self) -> np.ndarray:
        """(rows, actions) int: successor row, -1 when the episode is over."""
        return self._next_row.view

    @property
    def reward(self) -> np.ndarray:
        """(rows, actions) int: reward in hundredths."""
        return self._reward.view

    @property
    def row_state(self) -> np.ndarray:
        """(rows,) int: state id of each row."""
        return self._row_state.view

    @property
    def row_observation(self) -> np.ndarray:
        """(rows,) int: observation id of each row's state in its problem."""
        return self._row_observation.view

    def rows(self, problems: np.ndarray, state_id: int) -> np.ndarray:
        """Rows of ``state_id`` in ``problems`` (IDs; -1 where not tabulated)."""
        return self.rows_of_slots(self.slots(problems), state_id)

    def rows_of_slots(self, slots: np.ndarray, state_id: int) -> np.ndarray:
        """Rows of ``state_id`` in the problems of ``slots`` (-1 where not tabulated)."""
        table = self.row_table
        if state_id >= table.shape[1]:
            return np.full(len(slots), -1, np.int64)
        ok = (slots >= 0) & (slots < table.shape[0])
        return np.where(ok, table[np.where(ok, slots, 0), state_id], -1)

    def start_row(self, problem: int) -> int:
        """Row of the start of ``problem`` (tabulating the problem if needed)."""
        self.add_problems([problem])
        return int(self.row_table[self.slot_of[problem], self.start_state[problem]])

    # ------------------------------------------------------------------ dynamic programming
    def _row_values(self, combine: str) -> np.ndarray:
        """Values (hundredths) of every row under ``combine`` = "max" or "mean" over actions,
        computing only the rows added since the last call (older rows never change)."""
        values = self._values[combine]
        first, last = values.size, self.num_rows
        if first < last:
            next_row = self.next_row[first:last]
            reward = self.reward[first:last]
            done = np.append(values.view, 0.0)  # never empty
            new = np.zeros(last - first + 1)  # new[-1] = 0 stands for "episode over"
            # Successors are older rows (fixed values) or rows of this chunk (iterated).
            old = (next_row >= 0) & (next_row < first)
            fixed = np.where(old, done[np.where(old, next_row, 0)], 0.0) + reward
            local = np.where(old | (next_row < 0), -1, next_row - first)
            for _ in range(self.max_steps + 2):
                q = fixed + new[local]
                updated = q.max(axis=1) if combine == "max" else q.mean(axis=1)
                if np.array_equal(updated, new[:-1]):
                    break
                new[:-1] = updated
            else:
                raise RuntimeError(
                    f"{self.family.family}: values did not converge in max_episode_steps + 2 sweeps; "
                    "episodes must end within max_episode_steps transitions"
                )
            values.extend(new[:-1])
        return values.view

    @property
    def optimal_values(self) -> np.ndarray:
        """(rows,) optimal return-to-go of each row when the problem is known (hundredths)."""
        return self._row_values("max")

    @property
    def random_values(self) -> np.ndarray:
        """(rows,) expected return-to-go of uniformly random actions (hundredths)."""
        return self._row_values("mean")

    def optimal_q(self, rows: np.ndarray | int) -> np.ndarray:
        """Optimal action values of ``rows`` ((n, actions), or (actions,) for one row)."""
        values = self.optimal_values
        next_row = self.next_row[rows]
        return self.reward[rows] + np.where(next_row >= 0, values[np.where(next_row >= 0, next_row, 0)], 0.0)

    def optimal_actions(self, row: int) -> list[int]:
        """The actions of ``row`` whose optimal value is the best (ties within TOLERANCE; cached)."""
        actions = self._optimal_actions.get(row)
        if actions is None:
            q = self.optimal_q(row)
            actions = self._optimal_actions[row] = [int(a) for a in np.flatnonzero(q >= q.max() - TOLERANCE)]
        return actions

    # ------------------------------------------------------------------ several problems at once
    def step(self, problems: np.ndarray, state_id: int, action: int) -> Step:
        """Apply ``action`` at ``state_id`` in each of ``problems`` (IDs).

        Uses the tables where the problems are tabulated at that state, and calls the rules
        directly otherwise (without tabulating: for short explorations of many problems).
        """
        rows = self.rows(problems, state_id)
        n = len(problems)
        next_state = np.full(n, -1, np.int64)
        observation = np.full(n, -1, np.int64)
        reward = np.zeros(n, np.int64)
        over = np.zeros(n, bool)
        tabulated = rows >= 0
        if tabulated.any():
            r = rows[tabulated]
            nxt = self.next_row[r, action]
            live = nxt >= 0
            reward[tabulated] = self.reward[r, action]
            over[tabulated] = ~live
            safe = np.where(live, nxt, 0)
            next_state[tabulated] = np.where(live, self.row_state[safe], -1)
            observation[tabulated] = np.where(live, self.row_observation[safe], -1)
        for k in np.flatnonzero(~tabulated):
            env = self._begin(int(problems[k]))
            env.state = self.states[state_id]
            r_k, over_k, _ = env.transition(action)
            reward[k] = r_k
            over[k] = over_k
            if not over_k:
                next_state[k] = self._state_id(env.state)
                observation[k] = self.family.observation_id(env.state_observation())
        return Step(next_state, reward, over, observation)

    def exploration_outcomes(self, problems: np.ndarray, state_id: int, action: int,
                             key: bytes | None = None) -> list[ExplorationOutcome]:
        """What an agent learns when it plays ``action`` at ``state_id`` in an *imagined*
        episode of this instruction while the real episode is goal-free (IMRL exploration),
        ``problems`` being those consistent so far (a sorted array of IDs).

        The agent sees the observation, not the reward. When the imagined episode ends
        (goal reached, ``end episode``, step limit) the agent still sees the observation if
        the goal-free episode goes on, and nothing if it ends too (an ended episode's last
        observation is only in ``info``). Assumes a goal-free episode never ends where the
        instructed one goes on (true of the grid families). Cached; ``key`` is
        ``problems.tobytes()`` when the caller has it (each outcome carries its own).
        """
        key = (state_id, action, problems.tobytes() if key is None else key)
        cached = self._exploration_cache.get(key)
        if cached is not None:
            return cached
        step = self.step(problems, state_id, action)
        outcomes: list[ExplorationOutcome] = []
        live = np.flatnonzero(~step.over)
        for obs in np.unique(step.observation[live]):
            members = live[step.observation[live] == obs]
            states = step.next_state[members]
            if (states != states[0]).any():
                raise NotImplementedError(
                    f"{self.family.family}: the same observation in different states; exact bounds need beliefs "
                    "over (problem, state) pairs"
                )
            outcomes.append(ExplorationOutcome.of(problems[members], int(states[0]), int(obs), False))
        over = np.flatnonzero(step.over)
        if len(over):
            env = self.family.env
            final = np.empty(len(over), np.int64)
            goes_on = np.empty(len(over), bool)
            state = self.states[state_id]
            for k, problem in enumerate(problems[over]):
                env.set_problem(int(problem))
                env.begin_episode(None)
                env.state = state
                _, real_over, _ = env.transition(action)
                goes_on[k] = not real_over
                final[k] = self.family.observation_id(env.state_observation())
            for obs in np.unique(final[goes_on]):
                if any(o.observation == obs for o in outcomes):
                    raise NotImplementedError(
                        f"{self.family.family}: the same observation with and without the end of the imagined episode"
                    )
                outcomes.append(ExplorationOutcome.of(problems[over[goes_on & (final == obs)]], -1, int(obs), True))
            if (~goes_on).any():
                outcomes.append(ExplorationOutcome.of(problems[over[~goes_on]], -1, -1, True))
        self._exploration_cache[key] = outcomes
        return outcomes


@dataclass
class ExplorationOutcome:
    """A group of problems after an exploration step (see :meth:`InstructionModel.exploration_outcomes`)."""

    problems: np.ndarray  #: sorted problem IDs of the group
    state: int  #: state id of the imagined episode, -1 when it is over
    observation: int  #: observation id the agent sees, -1 when the real episode ended too
    imagined_over: bool  #: the imagined instructed episode is over
    key: bytes  #: ``problems.tobytes()``

    @classmethod
    def of(cls, problems: np.ndarray, state: int, observation: int, imagined_over: bool) -> ExplorationOutcome:
        return cls(problems, state, observation, imagined_over, problems.tobytes())


__all__ = ["ExplorationOutcome", "FamilyModel", "InstructionModel", "Step", "TOLERANCE", "family_model", "observation_key"]
