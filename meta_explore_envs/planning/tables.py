"""Transition tables of discrete families, built from the rules interface, and exact DP on them.

Everything here calls the family's own :meth:`~meta_explore_envs.core.EpisodeEnv.transition`
(through :meth:`~meta_explore_envs.core.EpisodeEnv.set_problem`, ``begin_episode`` and the
``state``/``core_state`` getters and setters); nothing re-implements the rules.

An :class:`InstructionModel` holds, for one instruction, the episodes of some problems as
tables: a *row* is a (problem, state), with its successor row and reward for every action,
its observation and its optimal value. On those tables the optimal and the
uniformly-random values are plain backward induction, vectorised with NumPy. The
Bayes-optimal planner (:mod:`meta_explore_envs.planning.bayes`) and the bounds
(:mod:`meta_explore_envs.planning.grid_values`) are built on the same tables.

**Positions.** What a planner walks on is a *position*: a state id and the number of steps
taken, encoded as one int (:meth:`FamilyModel.position`). A family that declares
:attr:`~meta_explore_envs.core.EpisodeEnv.time_homogeneous` is tabulated on its
``core_state`` (the state without the step count), once per state instead of once per
state and step: transitions are called at a step count below the limit, the ``end episode``
reward is stored without :meth:`~meta_explore_envs.core.EpisodeEnv.end_episode_charge`
(added back for the step it is taken at), every episode is over after
``max_episode_steps`` steps, and values are arrays over the step count (backward
induction over it). Other families are tabulated on their full ``state`` (which holds the
step count), with one value per row.

**Representatives.** Per-problem values (optimal, random) are computed once per
:meth:`~meta_explore_envs.core.EpisodeEnv.equivalent_task` representative, on its full
table. Another problem of the class gets *shadow* rows, made only where a planner goes
(:meth:`InstructionModel.expand`): their transitions and observations come from the
problem's own rules, their values from the representative's row reached by the same
actions (checked: the same rewards and endings).

Requirements on a family (checked, with a clear error when violated):

* dynamics and observations are deterministic given the problem, the instruction, the
  state and the action;
* episodes end within ``max_episode_steps`` transitions (the tables are a DAG);
* when two problems give the same observation and reward, they also give the same state
  (beliefs are sets of problems, not of (problem, state) pairs). All grid families do.
"""

from __future__ import annotations

from collections.abc import Hashable, Iterable
from dataclasses import dataclass
from functools import cache
from typing import Any

import numpy as np

from meta_explore_envs.arrays import GrowableArray
from meta_explore_envs.core import EpisodeEnv
from meta_explore_envs.registry import family_class

#: Values are in reward hundredths; two values closer than this are equal (ties).
TOLERANCE = 1e-7

#: ``next_row`` of a row whose transitions are not tabulated yet (-1: the episode is over).
UNEXPANDED = -2

#: At most this many states per problem and instruction (a guard against endless families).
MAX_STATES = 10_000_000


def observation_key(observation: Any) -> Hashable:
    """A hashable key of an observation (arrays by dtype, shape and bytes)."""
    if isinstance(observation, np.ndarray):
        return (observation.dtype.str, observation.shape, observation.tobytes())
    if isinstance(observation, (list, tuple)):
        return observation_key(np.asarray(observation))
    return observation


class FamilyModel:
    """The exact models of one family: a private episode env, observation ids, instruction
    distributions, representatives and one :class:`InstructionModel` per instruction
    (built on first use)."""

    def __init__(self, family: str):
        self.family = family
        self.env_class: type[EpisodeEnv] = family_class(family)
        self.env: EpisodeEnv = self.env_class(split="train")  # set_problem takes any problem ID
        self.num_actions = len(self.env.action_names)
        self.end_action = int(self.env.end_episode_action)
        self.max_steps = int(self.env.max_episode_steps)
        #: Tabulated on core states (one row per state, values per step count).
        self.homogeneous = bool(self.env_class.time_homogeneous)
        #: Positions per state id: the step counts (1 when the state holds the step count).
        self.horizon = self.max_steps if self.homogeneous else 1
        #: ``end_charge[t]``: what ``end episode`` adds when taken with ``t`` steps taken.
        self.end_charge = np.array(
            [self.env.end_episode_charge(self.max_steps - t - 1) for t in range(self.max_steps)]
            if self.homogeneous else [0], np.int64)
        self.observation_ids: dict[Hashable, int] = {}
        self._array_kind: tuple[np.dtype, tuple[int, ...]] | None = None  # observations keyed by bytes alone
        self._models: dict[Hashable, InstructionModel] = {}
        self._distributions: dict[int, dict[Hashable, float]] = {}
        self._representatives: dict[tuple[int, Hashable], tuple[int, Hashable]] = {}

    # ------------------------------------------------------------------ positions
    def position(self, state_id: int, steps: int) -> int:
        """Position of a state id after ``steps`` steps (the step count is ignored when the
        state holds it)."""
        return state_id * self.horizon + (steps if self.homogeneous else 0)

    def split_position(self, position: int) -> tuple[int, int]:
        """``(state id, steps)`` of a position (steps 0 when the state holds the step count)."""
        return divmod(position, self.horizon)

    # ------------------------------------------------------------------ observations
    def _key(self, observation: Any) -> Hashable:
        if type(observation) is np.ndarray:
            kind = (observation.dtype, observation.shape)
            if self._array_kind is None:
                self._array_kind = kind
            if kind == self._array_kind:
                return observation.tobytes()
        return ("key", observation_key(observation))

    def observation_id(self, observation: Any) -> int:
        """Integer id of an observation (new ids are given to new observations)."""
        key = self._key(observation)
        oid = self.observation_ids.get(key)
        if oid is None:
            oid = self.observation_ids[key] = len(self.observation_ids)
        return oid

    def known_observation_id(self, observation: Any) -> int:
        """Id of an observation seen before, or -1."""
        return self.observation_ids.get(self._key(observation), -1)

    # ------------------------------------------------------------------ problems and instructions
    def model(self, instruction: Hashable) -> InstructionModel:
        """The tables of ``instruction`` (shared by every caller in the process)."""
        model = self._models.get(instruction)
        if model is None:
            model = self._models[instruction] = InstructionModel(self, instruction)
        return model

    def instruction_distribution(self, problem_id: int) -> dict[Hashable, float]:
        """:meth:`EpisodeEnv.instruction_distribution` of ``problem_id`` (cached; do not modify)."""
        distribution = self._distributions.get(problem_id)
        if distribution is None:
            self.env.set_problem(problem_id)
            distribution = self._distributions[problem_id] = self.env.instruction_distribution()
        return distribution

    def representative(self, problem_id: int, instruction: Hashable) -> tuple[int, Hashable]:
        """:meth:`EpisodeEnv.equivalent_task` of a (problem, instruction) the problem can give."""
        key = (problem_id, instruction)
        rep = self._representatives.get(key)
        if rep is None:
            rep_problem, rep_instruction = self.env.equivalent_task(problem_id, instruction)
            rep = self._representatives[key] = (int(rep_problem), rep_instruction)
        return rep

    def decode_instruction(self, problems: Iterable[int]) -> dict[Hashable, Hashable | None]:
        """Observation key of the ``instruction`` observation -> instruction, for every
        instruction of ``problems`` and the "no instruction" sentinel (-> ``None``)."""
        env = self.env
        table: dict[Hashable, Hashable | None] = {observation_key(env.instruction_observation(None)): None}
        for problem in problems:
            for instruction in self.instruction_distribution(problem):
                table[observation_key(env.instruction_observation(instruction))] = instruction
        return table


@cache
def family_model(family: str) -> FamilyModel:
    """The process-wide :class:`FamilyModel` of ``family`` (bounds and agents share it)."""
    return FamilyModel(family)


@dataclass
class Step:
    """Outcome of one action from one position in several problems (arrays over the problems)."""

    next_state: np.ndarray  #: (n,) int: position after the action, -1 when the episode is over
    reward: np.ndarray  #: (n,) int: reward in hundredths
    over: np.ndarray  #: (n,) bool: the episode ended
    observation: np.ndarray  #: (n,) int: observation id after the action, -1 when over


class _NewRows:
    """Rows being added by one tabulation pass, appended to the tables in one go."""

    def __init__(self, model: InstructionModel):
        self.base = model.num_rows
        self.slots: list[int] = []
        self.states: list[Hashable] = []
        self.next_rows: list[int] = []  # num_actions entries per expanded row
        self.rewards: list[int] = []
        self.expanded: list[int] = []  # local indices of rows whose transitions are in next_rows/rewards
        self.rep_rows: list[int] = []  # representative's row (shadow rows), -1 for own rows, -2 for no values

    def add(self, slot: int, state: Hashable, rep_row: int) -> int:
        self.slots.append(slot)
        self.states.append(state)
        self.rep_rows.append(rep_row)
        return self.base + len(self.states) - 1


class InstructionModel:
    """Tables of the episodes of one instruction in a growing set of problems.

    Rows are (problem, state) pairs. ``next_row[r, a]`` is the row reached by action ``a``
    (-1 when the episode is over at a step count below the limit, :data:`UNEXPANDED` until
    the row is expanded), ``reward[r, a]`` the reward in hundredths (``end episode`` without
    its charge, see :meth:`reward_at`). States are numbered per model (state ids);
    :meth:`rows` finds the rows of a state in some problems. Rows are only ever added, and a
    row's values never change.

    A problem's rows are of one of three kinds: *own* rows (its full table from the start,
    or from an extra root: values by backward induction), *shadow* rows (values copied
    from the representative, see the module docstring) and rows *without values* (an
    instruction the problem cannot give: transitions and observations only, for
    exploration).
    """

    def __init__(self, family: FamilyModel, instruction: Hashable):
        self.family = family
        self.instruction = instruction
        self.num_actions = family.num_actions
        self.max_steps = family.max_steps
        self.homogeneous = family.homogeneous
        self.horizon = family.horizon
        self.states: list[Hashable] = []
        self.state_ids: dict[Hashable, int] = {}
        self.slot_of: dict[int, int] = {}  # problem ID -> slot (row of row_table)
        self.problems: list[int] = []
        self._slot_lookup = np.full(family.env_class.num_problems, -1, np.int64)  # problem ID -> slot
        self._slot_rep: list[tuple[InstructionModel, int] | None] = []  # slot -> (rep model, rep problem) of shadows
        self._slot_valued: list[bool] = []  # slot -> the problem can give this instruction
        self._slot_full: list[bool] = []  # slot -> own table of everything reachable from the start
        self.start_state: dict[int, int] = {}  # problem ID -> state id of its start
        self.tabulated: set[int] = set()  # problems whose start row exists
        self._row_state = GrowableArray((), np.int32)
        self._row_slot = GrowableArray((), np.int32)
        self._row_observation = GrowableArray((), np.int32)
        self._next_row = GrowableArray((self.num_actions,), np.int32, UNEXPANDED)
        self._reward = GrowableArray((self.num_actions,), np.int32)
        self._rep_row = GrowableArray((), np.int32)
        self._values = {"max": GrowableArray((self.horizon,), np.float64, np.nan),
                        "mean": GrowableArray((self.horizon,), np.float64, np.nan)}
        self._own_rows = GrowableArray((), np.int64)  # rows whose values come from backward induction
        self._own_done = {"max": 0, "mean": 0}  # own rows whose values are computed, per kind
        self.row_table = np.full((0, 0), -1, np.int32)  # (slot, state id) -> row
        self._exploration_cache: dict[tuple[int, int, bytes], list[ExplorationOutcome]] = {}
        self._optimal_actions: dict[tuple[int, int], list[int]] = {}
        self._free_outcomes: dict[tuple[int, int, int], tuple[bool, int]] = {}

    @property
    def num_rows(self) -> int:
        return self._row_state.size

    # ------------------------------------------------------------------ states and problems
    def state_id(self, state: Hashable) -> int:
        """Id of a state (``core_state`` for time-homogeneous families; new states get a new id)."""
        sid = self.state_ids.get(state)
        if sid is None:
            sid = self.state_ids[state] = len(self.states)
            self.states.append(state)
        return sid

    def env_position(self, env: EpisodeEnv) -> int:
        """Position of ``env``'s current state and step count (reads ``env``; never changes it)."""
        if self.homogeneous:
            return self.family.position(self.state_id(env.core_state), env.steps_taken)
        return self.state_id(env.state)

    def _slot(self, problem: int) -> int:
        slot = self.slot_of.get(problem)
        if slot is None:
            slot = self.slot_of[problem] = len(self.problems)
            self._slot_lookup[problem] = slot
            self.problems.append(problem)
            self._slot_rep.append(None)
            valued = self.family.instruction_distribution(problem).get(self.instruction, 0.0) > 0
            self._slot_valued.append(valued)
            self._slot_full.append(False)
        return slot

    def slots(self, problems: np.ndarray) -> np.ndarray:
        """Slots of problem IDs (-1 for problems never tabulated)."""
        return self._slot_lookup[np.asarray(problems, np.int64)]

    def _begin(self, problem: int) -> EpisodeEnv:
        env = self.family.env
        env.set_problem(problem)
        env.begin_episode(self.instruction)
        return env

    def _set(self, env: EpisodeEnv, state: Hashable) -> None:
        if self.homogeneous:
            env.core_state = state
            env.steps_taken = 0
        else:
            env.state = state

    def start_of(self, problem: int) -> int:
        """State id of the start of ``problem`` (without tabulating it)."""
        sid = self.start_state.get(problem)
        if sid is None:
            env = self._begin(problem)
            sid = self.start_state[problem] = self.state_id(env.core_state if self.homogeneous else env.state)
        return sid

    def start_position(self, problem: int) -> int:
        """Position of the start of ``problem`` (no steps taken)."""
        return self.family.position(self.start_of(problem), 0)

    def add_problems(self, problems: Iterable[int]) -> None:
        """Give each of ``problems`` its start row: its representative's full table (its own
        when it is its representative) and shadow rows for it; rows without values when the
        problem cannot give this instruction."""
        for problem in problems:
            problem = int(problem)
            if problem in self.tabulated:
                continue
            slot = self._slot(problem)
            start = self.start_of(problem)
            if not self._slot_valued[slot]:
                new = _NewRows(self)
                new.add(slot, self.states[start], -2)
                self._append(new)
            else:
                rep_problem, rep_instruction = self.family.representative(problem, self.instruction)
                if rep_problem == problem and rep_instruction == self.instruction:
                    self._tabulate(problem, [self.states[start]])
                    self._slot_full[slot] = True
                else:
                    if self.family.representative(rep_problem, rep_instruction) != (rep_problem, rep_instruction):
                        raise RuntimeError(
                            f"{self.family.family}: equivalent_task({problem}, {self.instruction!r}) = "
                            f"({rep_problem}, {rep_instruction!r}), which is not its own representative"
                        )
                    rep = self.family.model(rep_instruction)
                    rep.add_problems([rep_problem])
                    self._slot_rep[slot] = (rep, rep_problem)
                    new = _NewRows(self)
                    new.add(slot, self.states[start], rep.start_row(rep_problem))
                    self._append(new)
            self.tabulated.add(problem)

    def start_row(self, problem: int) -> int:
        """Row of the start of ``problem`` (adding the problem if needed)."""
        self.add_problems([problem])
        return int(self.row_table[self.slot_of[problem], self.start_state[problem]])

    def ensure_row(self, problem: int, state_id: int) -> int:
        """Row with values of ``state_id`` in ``problem`` (a problem that can give this
        instruction), tabulating the problem's table from that state if the row is missing."""
        self.add_problems([problem])
        slot = self.slot_of[problem]
        if not self._slot_valued[slot]:
            raise ValueError(f"problem {problem} cannot give instruction {self.instruction!r}: no values")
        table = self.row_table
        if state_id < table.shape[1]:
            row = int(table[slot, state_id])
            if row >= 0:
                return row
        state = self.states[state_id]
        rep = self._slot_rep[slot]
        rep_state = None if rep is None else self.family.env.equivalent_state(problem, self.instruction, state)
        if rep_state is None:
            self._tabulate(problem, [state])  # own rows from this state on
        else:  # a shadow row of the representative's (own) row there
            rep_model, rep_problem = rep
            new = _NewRows(self)
            new.add(slot, state, rep_model.ensure_row(rep_problem, rep_model.state_id(rep_state)))
            self._append(new)
        return int(self.row_table[slot, state_id])

    # ------------------------------------------------------------------ tabulating
    def _tabulate(self, problem: int, roots: list[Hashable]) -> None:
        """Own rows: breadth-first search from ``roots`` in ``problem``, every new state with
        all its transitions (states that already have a row keep it)."""
        env = self._begin(problem)
        slot = self._slot(problem)
        new = _NewRows(self)
        seen: dict[Hashable, int] = {}

        def row_of(state: Hashable) -> int:
            sid = self.state_ids.get(state)
            if sid is not None and sid < self.row_table.shape[1] and slot < self.row_table.shape[0]:
                row = int(self.row_table[slot, sid])
                if row >= 0:
                    seen[state] = row
                    return row
            row = seen[state] = new.add(slot, state, -1)
            return row

        for root in roots:
            if root not in seen:
                row_of(root)
        order = new.states
        next_rows, rewards, expanded = new.next_rows, new.rewards, new.expanded
        add_next, add_reward, get_seen = next_rows.append, rewards.append, seen.get
        transition = env.transition
        actions = range(self.num_actions)
        i = 0
        if self.homogeneous and self.num_actions + 1 < self.max_steps:
            # Fast path: one reset of the step count per state (the counter stays below the
            # limit over the actions), the state restored only when an action changed it.
            env_type = type(env)
            get_core, set_core = env_type.core_state.fget, env_type.core_state.fset
            while i < len(order):
                state = order[i]
                i += 1
                set_core(env, state)
                env.steps_taken = 0
                for action in actions:
                    reward, over, _ = transition(action)
                    after = get_core(env)
                    if after != state:
                        set_core(env, state)
                    add_reward(reward)
                    if over:
                        add_next(-1)
                    else:
                        row = get_seen(after)
                        add_next(row_of(after) if row is None else row)
                if i > MAX_STATES:
                    raise RuntimeError(
                        f"{self.family.family}: more than {MAX_STATES} states; not a finite-horizon family?")
            # ``end episode`` was taken with ``end_action`` steps taken: store it without its charge.
            end_charge_taken = self.family.env.end_episode_charge(self.max_steps - self.family.end_action - 1)
        else:
            end_charge_taken = self.family.env.end_episode_charge(self.max_steps - 1) if self.homogeneous else 0
            while i < len(order):
                state = order[i]
                i += 1
                for action in actions:
                    self._set(env, state)
                    reward, over, _ = transition(action)
                    add_reward(reward)
                    if over:
                        add_next(-1)
                    else:
                        after = env.core_state if self.homogeneous else env.state
                        row = get_seen(after)
                        add_next(row_of(after) if row is None else row)
                if i > MAX_STATES:
                    raise RuntimeError(
                        f"{self.family.family}: more than {MAX_STATES} states; not a finite-horizon family?")
        expanded.extend(range(len(order)))
        if end_charge_taken:
            end = self.family.end_action
            for k in range(end, len(rewards), self.num_actions):
                rewards[k] -= end_charge_taken
        self._append(new)

    def expand(self, rows: np.ndarray) -> None:
        """Tabulate the transitions of ``rows`` (shadow rows and rows without values; own rows
        are expanded when made). New successors are shadow rows (values from the
        representative's row reached by the same action) or rows without values."""
        rows = np.asarray(rows, np.int64)
        rows = rows[self._next_row.view[rows, 0] == UNEXPANDED]
        if len(rows) == 0:
            return
        rows = np.unique(rows)
        new = _NewRows(self)
        homogeneous = self.homogeneous
        end = self.family.end_action
        actions = range(self.num_actions)
        row_slot, row_state, rep_rows = self._row_slot.view, self._row_state.view, self._rep_row.view
        charge = self.family.env.end_episode_charge(self.max_steps - 1) if homogeneous else 0
        patches: list[tuple[int, list[int], list[int]]] = []
        for slot in np.unique(row_slot[rows]):
            slot = int(slot)
            problem = self.problems[slot]
            env = self._begin(problem)
            rep = self._slot_rep[slot]
            if rep is not None:
                rep_model = rep[0]
                rep_next, rep_reward = rep_model.next_row, rep_model.reward
            seen: dict[Hashable, int] = {}
            for row in rows[row_slot[rows] == slot]:
                row = int(row)
                state = self.states[row_state[row]]
                parent_rep = int(rep_rows[row])
                next_rows: list[int] = []
                rewards: list[int] = []
                for action in actions:
                    self._set(env, state)
                    reward, over, _ = env.transition(action)
                    if action == end:
                        reward -= charge
                    rewards.append(reward)
                    child_rep = -2
                    if parent_rep >= 0:
                        child_rep = int(rep_next[parent_rep, action])
                        if int(rep_reward[parent_rep, action]) != reward or (child_rep < 0) != over:
                            raise RuntimeError(
                                f"{self.family.family}: equivalent_task({problem}, {self.instruction!r}) is not "
                                f"equivalent: action {action} from {state!r} pays {reward} (over: {over}) but "
                                f"{int(rep_reward[parent_rep, action])} (over: {child_rep < 0}) in the representative"
                            )
                    if over:
                        next_rows.append(-1)
                        continue
                    after = env.core_state if homogeneous else env.state
                    child = seen.get(after)
                    if child is None:
                        sid = self.state_ids.get(after)
                        child = -1
                        if sid is not None and sid < self.row_table.shape[1]:
                            child = int(self.row_table[slot, sid])
                        if child < 0:
                            child = new.add(slot, after, child_rep)
                        seen[after] = child
                    next_rows.append(child)
                patches.append((row, next_rows, rewards))
        self._append(new)
        for row, next_rows, rewards in patches:
            self._next_row.data[row] = next_rows
            self._reward.data[row] = rewards

    def _append(self, new: _NewRows) -> None:
        """Append the rows of a tabulation pass: state ids, observations, values of shadows."""
        n = len(new.states)
        if n == 0:
            return
        env = self.family.env
        observations = np.empty(n, np.int64)
        state_ids = np.empty(n, np.int64)
        slots = np.array(new.slots, np.int64)
        current = -1
        for k, (slot, state) in enumerate(zip(new.slots, new.states)):
            if slot != current:
                env.set_problem(self.problems[slot])
                env.begin_episode(self.instruction)
                current = slot
            self._set(env, state)
            observations[k] = self.family.observation_id(env.state_observation())
            state_ids[k] = self.state_id(state)
        base = self.num_rows
        rep_rows = np.array(new.rep_rows, np.int64)
        self._row_state.extend(state_ids)
        self._row_slot.extend(slots)
        self._row_observation.extend(observations)
        self._rep_row.extend(np.maximum(rep_rows, -1))
        next_rows = np.full((n, self.num_actions), UNEXPANDED, np.int64)
        rewards = np.zeros((n, self.num_actions), np.int64)
        if new.expanded:
            local = np.array(new.expanded, np.int64)
            next_rows[local] = np.array(new.next_rows, np.int64).reshape(len(local), self.num_actions)
            rewards[local] = np.array(new.rewards, np.int64).reshape(len(local), self.num_actions)
        self._next_row.extend(next_rows)
        self._reward.extend(rewards)
        values = np.full((n, self.horizon), np.nan)
        shadows = np.flatnonzero(rep_rows >= 0)
        for slot in np.unique(slots[shadows]):
            members = shadows[slots[shadows] == slot]
            rep_model = self._slot_rep[int(slot)][0]
            values[members] = rep_model._values_of("max")[rep_rows[members]]
        self._values["max"].extend(values)
        self._values["mean"].extend(np.full((n, self.horizon), np.nan))
        self._own_rows.extend(base + np.flatnonzero(rep_rows == -1))
        self._grow_row_table()
        self.row_table[slots, state_ids] = np.arange(base, base + n)

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
        """(rows, actions) int: successor row, -1 when the episode is over, :data:`UNEXPANDED`."""
        return self._next_row.view

    @property
    def reward(self) -> np.ndarray:
        """(rows, actions) int: reward in hundredths (``end episode`` without its charge)."""
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

    def expanded_rows(self, slots: np.ndarray, state_id: int) -> np.ndarray:
        """Rows of ``state_id`` in the problems of ``slots``, all expanded (they must exist)."""
        rows = self.rows_of_slots(slots, state_id)
        if (rows < 0).any():
            raise RuntimeError("the problems must all be tabulated at the state")
        if (self._next_row.view[rows, 0] == UNEXPANDED).any():
            self.expand(rows)
        return rows

    def reward_at(self, rows, steps: int) -> np.ndarray:
        """Rewards (hundredths) of every action of ``rows`` taken after ``steps`` steps."""
        reward = self.reward[rows].astype(np.int64)
        if self.homogeneous:
            reward[..., self.family.end_action] += self.family.end_charge[steps]
        return reward

    def successors_at(self, rows, steps: int) -> tuple[np.ndarray, np.ndarray]:
        """``(next_row, live)`` of every action of ``rows`` taken after ``steps`` steps: live
        when the episode goes on (in time-homogeneous families never at the last step)."""
        next_row = self.next_row[rows]
        if self.homogeneous and steps + 1 >= self.max_steps:
            return next_row, np.zeros(next_row.shape, bool)
        return next_row, next_row >= 0

    def value_column(self, steps: int) -> int:
        """Column of the value arrays for positions after ``steps`` steps (the last one for
        ``max_episode_steps``: never live)."""
        return min(steps, self.horizon - 1)

    # ------------------------------------------------------------------ dynamic programming
    def _values_of(self, combine: str) -> np.ndarray:
        """(rows, columns) values (hundredths) under ``combine`` = "max" or "mean" over actions,
        computing the own rows added since the last call (values of older rows never change).
        Columns are step counts (one column when the state holds the step count)."""
        store = self._values[combine]
        own = self._own_rows.view
        first = self._own_done[combine]
        if first < len(own):
            chunk = own[first:]
            values = store.data  # (capacity, columns), rows beyond num_rows unused
            next_row = self.next_row[chunk]
            reward = self.reward[chunk].astype(np.float64)
            live = next_row >= 0
            safe = np.where(live, next_row, 0)
            reduce = np.max if combine == "max" else np.mean
            if self.homogeneous:
                end = self.family.end_action
                base_end = reward[:, end].copy()
                for t in range(self.max_steps - 1, -1, -1):
                    reward[:, end] = base_end + self.family.end_charge[t]
                    q = reward if t + 1 >= self.max_steps else reward + np.where(live, values[safe, t + 1], 0.0)
                    values[chunk, t] = reduce(q, axis=1)
            else:
                # A DAG without layers: sweep until nothing changes (at most max_steps + 2 sweeps).
                values[chunk, 0] = 0.0
                for _ in range(self.max_steps + 2):
                    q = reward + np.where(live, values[safe, 0], 0.0)
                    updated = reduce(q, axis=1)
                    if np.array_equal(updated, values[chunk, 0]):
                        break
                    values[chunk, 0] = updated
                else:
                    raise RuntimeError(
                        f"{self.family.family}: values did not converge in max_episode_steps + 2 sweeps; "
                        "episodes must end within max_episode_steps transitions"
                    )
            self._own_done[combine] = len(own)
        return store.view

    @property
    def values(self) -> np.ndarray:
        """(rows, columns) optimal return-to-go when the problem is known (hundredths);
        column ``value_column(steps)``; NaN for rows without values."""
        return self._values_of("max")

    @property
    def optimal_values(self) -> np.ndarray:
        """(rows,) optimal return-to-go of each row at the start of an episode (hundredths)."""
        return self._values_of("max")[:, 0]

    @property
    def random_values(self) -> np.ndarray:
        """(rows,) expected return-to-go of uniformly random actions at the start of an
        episode (hundredths); own rows only (NaN elsewhere)."""
        return self._values_of("mean")[:, 0]

    def optimal_q(self, row: int, steps: int = 0) -> np.ndarray:
        """Optimal action values (actions,) of ``row`` after ``steps`` steps (hundredths)."""
        self.expand([row])
        values = self.values
        if np.isnan(values[row, self.value_column(steps)]):
            raise ValueError(f"row {row} has no values (the problem cannot give {self.instruction!r})")
        next_row, live = self.successors_at(row, steps)
        column = self.value_column(steps + 1)
        return self.reward_at(row, steps) + np.where(live, values[np.where(live, next_row, 0), column], 0.0)

    def optimal_masks(self, rows: np.ndarray, steps: int) -> np.ndarray:
        """Bit masks of the optimal actions (ties within TOLERANCE) of own or expanded ``rows``
        after ``steps`` steps (bit ``a`` for action ``a``)."""
        next_row, live = self.successors_at(rows, steps)
        q = self.reward_at(rows, steps) + np.where(live, self.values[np.where(live, next_row, 0),
                                                                     self.value_column(steps + 1)], 0.0)
        best = q >= q.max(axis=1, keepdims=True) - TOLERANCE
        return best @ (1 << np.arange(self.num_actions, dtype=np.int64))

    def has_full_table(self, problem: int) -> bool:
        """Whether ``problem`` has its own table of every state reachable from its start."""
        slot = self.slot_of.get(problem)
        return slot is not None and self._slot_full[slot]

    def optimal_actions(self, row: int, steps: int = 0) -> list[int]:
        """The actions of ``row`` whose optimal value is the best (ties within TOLERANCE; cached)."""
        key = (row, steps if self.homogeneous else 0)
        actions = self._optimal_actions.get(key)
        if actions is None:
            q = self.optimal_q(row, steps)
            actions = self._optimal_actions[key] = [int(a) for a in np.flatnonzero(q >= q.max() - TOLERANCE)]
        return actions

    def optimal_actions_at(self, problem: int, position: int) -> list[int]:
        """Optimal actions of ``problem`` at a position (tabulating what is needed)."""
        state_id, steps = self.family.split_position(position)
        return self.optimal_actions(self.ensure_row(problem, state_id), steps)

    # ------------------------------------------------------------------ several problems at once
    def step(self, problems: np.ndarray, position: int, action: int) -> Step:
        """Apply ``action`` at ``position`` in each of ``problems`` (IDs, all tabulated there)."""
        state_id, steps = self.family.split_position(position)
        rows = self.expanded_rows(self.slots(problems), state_id)
        next_row = self.next_row[rows, action]
        live = next_row >= 0
        if self.homogeneous and steps + 1 >= self.max_steps:
            live[:] = False
        reward = self.reward[rows, action].astype(np.int64)
        if self.homogeneous and action == self.family.end_action:
            reward += self.family.end_charge[steps]
        safe = np.where(live, next_row, 0)
        next_position = self.row_state[safe].astype(np.int64) * self.horizon + (steps + 1 if self.homogeneous else 0)
        return Step(np.where(live, next_position, -1), reward, ~live,
                    np.where(live, self.row_observation[safe], -1).astype(np.int64))

    def _goal_free(self, problem: int, position: int, action: int) -> tuple[bool, int]:
        """Whether the goal-free (no instruction) episode goes on after ``action`` at
        ``position`` in ``problem``, and its observation then (cached)."""
        state_id, steps = self.family.split_position(position)
        if self.homogeneous:
            if steps + 1 >= self.max_steps:  # every episode is over after max_episode_steps steps
                return False, -1
            position = self.family.position(state_id, 0)  # (the same outcome at every step count)
        key = (problem, position, action)
        outcome = self._free_outcomes.get(key)
        if outcome is None:
            env = self.family.env
            env.set_problem(problem)
            env.begin_episode(None)
            self._set(env, self.states[state_id])
            _, over, _ = env.transition(action)
            outcome = self._free_outcomes[key] = (not over, self.family.observation_id(env.state_observation()))
        return outcome

    def exploration_outcomes(self, problems: np.ndarray, position: int, action: int,
                             key: bytes | None = None) -> list[ExplorationOutcome]:
        """What an agent learns when it plays ``action`` at ``position`` in an *imagined*
        episode of this instruction while the real episode is goal-free (IMRL exploration),
        ``problems`` being those consistent so far (a sorted array of IDs).

        The agent sees the observation, not the reward. When the imagined episode ends
        (goal reached, ``end episode``, step limit) the agent still sees the observation if
        the goal-free episode goes on, and nothing if it ends too (an ended episode's last
        observation is only in ``info``). Assumes a goal-free episode never ends where the
        instructed one goes on (true of the grid families). Cached; ``key`` is
        ``problems.tobytes()`` when the caller has it (each outcome carries its own).
        """
        key = (position, action, problems.tobytes() if key is None else key)
        cached = self._exploration_cache.get(key)
        if cached is not None:
            return cached
        step = self.step(problems, position, action)
        outcomes: list[ExplorationOutcome] = []
        live = np.flatnonzero(~step.over)
        if len(live):
            observations = step.observation[live]
            if (observations == observations[0]).all():
                groups = [live]
            else:
                groups = [live[observations == obs] for obs in np.unique(observations)]
            for members in groups:
                states = step.next_state[members]
                if (states != states[0]).any():
                    raise NotImplementedError(
                        f"{self.family.family}: the same observation in different states; exact bounds need beliefs "
                        "over (problem, state) pairs"
                    )
                outcomes.append(ExplorationOutcome.of(
                    problems if len(members) == len(problems) else problems[members],
                    int(states[0]), int(step.observation[members[0]]), False))
        over = np.flatnonzero(step.over)
        if len(over):
            final = np.full(len(over), -1, np.int64)
            goes_on = np.zeros(len(over), bool)
            state_id, steps = self.family.split_position(position)
            if not (self.homogeneous and steps + 1 >= self.max_steps):  # (at the step limit every episode is over)
                # _goal_free's cache key, looked up here first: this loop runs over many problems.
                at = self.family.position(state_id, 0) if self.homogeneous else position
                cache = self._free_outcomes
                for k, problem in enumerate(problems[over].tolist()):
                    outcome = cache.get((problem, at, action))
                    goes_on[k], final[k] = outcome if outcome is not None else \
                        self._goal_free(problem, position, action)
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
    state: int  #: position of the imagined episode, -1 when it is over
    observation: int  #: observation id the agent sees, -1 when the real episode ended too
    imagined_over: bool  #: the imagined instructed episode is over
    key: bytes  #: ``problems.tobytes()``

    @classmethod
    def of(cls, problems: np.ndarray, state: int, observation: int, imagined_over: bool) -> ExplorationOutcome:
        return cls(problems, state, observation, imagined_over, problems.tobytes())


__all__ = ["ExplorationOutcome", "FamilyModel", "InstructionModel", "Step", "TOLERANCE", "UNEXPANDED", "family_model",
           "observation_key"]
