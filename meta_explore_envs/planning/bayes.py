"""Bayes-optimal acting within one episode when the problem is unknown (exact search).

A :class:`BayesPlanner` knows one instruction and a prior over problems (weights). Its
nodes are ``(state, belief)`` pairs, where ``state`` is a *position* (a state id and the
steps taken, see :meth:`meta_explore_envs.planning.tables.FamilyModel.position`) and a belief is the set of
problems still consistent with everything seen in the episode (observations and rewards);
the weights of its problems are the prior's, so the posterior is the prior restricted to
the belief.
Because dynamics are deterministic given the problem, an action splits a belief into the
groups of problems that give the same observation and reward.

The search is an exact expectimax with branch and bound: the value of a node is at most
the weighted average of the problems' optimal values (what an agent told the problem
would get), which prunes hopeless branches. :meth:`BayesPlanner.value` searches with a
threshold that starts high and steps down until the value is proved, which keeps the
pruning tight. Values returned as exact are exact up to floating-point rounding (ties
within :data:`~meta_explore_envs.planning.tables.TOLERANCE`).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from meta_explore_envs.planning.tables import TOLERANCE, InstructionModel

_UNBOUNDED = -np.inf

#: Step (hundredths) by which :meth:`BayesPlanner.value` lowers its search threshold.
THRESHOLD_STEP = 5.0


@dataclass
class Outcome:
    """One group of problems after an action: they saw the same observation and reward."""

    probability: float  #: weight of the group / weight of the belief
    reward: int  #: hundredths
    state: int  #: position after the action
    belief: int  #: belief id of the group
    upper_bound: float  #: weighted average optimal value of the group at ``state``
    observation: int  #: observation id after the action


@dataclass
class ActionNode:
    """What an action does from a node: rewards of the problems whose episode ends, and
    the groups whose episode goes on."""

    upper_bound: float  #: weighted average optimal Q of the belief's problems
    terminal: float  #: probability-weighted reward of the problems whose episode ends
    outcomes: list[Outcome]
    member_outcome: np.ndarray  #: (|belief|,) index into ``outcomes`` per member, -1 if over
    member_reward: np.ndarray  #: (|belief|,) reward of each member (hundredths)


@dataclass
class _Group:
    """Problems of a belief that an action leaves in the same state with the same observation
    and reward (at every step count below the last)."""

    members: np.ndarray  #: indices into the belief
    probability: float
    reward: int  #: hundredths (``end episode`` without its charge)
    state: int  #: state id after the action
    belief: int
    observation: int
    values: np.ndarray  #: (columns,) weighted average optimal value of the group after the action


@dataclass
class _StateNode:
    """A belief at a state id: what every action does, for every step count (the tables do
    not depend on it; values and the ``end episode`` charge do)."""

    weight: np.ndarray  #: (n,) normalised weights of the belief's problems
    reward: np.ndarray  #: (n, A) rewards (``end episode`` without its charge)
    live: np.ndarray  #: (n, A) the episode goes on (below the last step)
    next_row: np.ndarray  #: (n, A) successor rows (0 where not live)
    mean_reward: np.ndarray  #: (A,) weighted average reward
    mean_next_value: dict[int, np.ndarray]  #: value column -> (A,) weighted average optimal value after each action
    uniform: list[bool]  #: the action gives every problem the same outcome
    first_reward: list[int]  #: outcome of the belief's first problem, per action
    first_state: list[int]  #: state id, -1 when over
    first_observation: list[int]
    groups: list[list[_Group] | None]  #: per action (non-uniform ones), built lazily


@dataclass
class _Node:
    """A searched ``(state, belief)``: upper bounds of its actions, action nodes built lazily."""

    upper: list[float]
    order: list[int]  #: actions by decreasing upper bound
    actions: list[ActionNode | None]
    info: _StateNode
    steps: int


class BayesPlanner:
    """Exact Bayes-optimal values and actions for one instruction under a prior.

    Args:
        model: the instruction's tables (problems are added as needed).
        weights: problem ID -> prior weight times the probability of this instruction in
            that problem (unnormalised; zero-weight problems are dropped).
    """

    def __init__(self, model: InstructionModel, weights: Mapping[int, float]):
        problems = sorted(int(p) for p, w in weights.items() if w > 0)
        if not problems:
            raise ValueError("BayesPlanner needs at least one problem with positive weight")
        self.model = model
        model.add_problems(problems)
        self.problems = np.array(problems, np.int64)
        self._problem_set = set(problems)
        self._weight = np.zeros(len(model.problems))
        for p in problems:
            self._weight[model.slot_of[p]] = weights[p]
        self._beliefs: list[np.ndarray] = []  # sorted slot arrays
        self._belief_ids: dict[bytes, int] = {}
        self._nodes: dict[tuple[int, int], _Node] = {}
        self._state_nodes: dict[tuple[int, int], _StateNode] = {}
        self._memo: dict[tuple[int, int], tuple[float, bool]] = {}
        self._evaluations: dict[tuple[int, int, int], float] = {}
        self.nodes_searched = 0

    # ------------------------------------------------------------------ beliefs
    def belief(self, problems) -> int:
        """Belief id of a set of problem IDs (each must have positive weight)."""
        problems = [int(p) for p in problems]
        outside = sorted(set(problems) - self._problem_set)
        if not problems or outside:
            raise ValueError(f"a belief needs problems of the prior; got none or ones outside it: {outside}")
        return self._intern(np.array(sorted(self.model.slot_of[p] for p in problems), np.int64))

    @property
    def prior_belief(self) -> int:
        """Belief id of all problems of the prior."""
        return self.belief(self.problems)

    def belief_problems(self, belief: int) -> np.ndarray:
        """Problem IDs of a belief (sorted by slot)."""
        return np.array([self.model.problems[s] for s in self._beliefs[belief]], np.int64)

    def _intern(self, slots: np.ndarray) -> int:
        key = slots.tobytes()
        bid = self._belief_ids.get(key)
        if bid is None:
            bid = self._belief_ids[key] = len(self._beliefs)
            self._beliefs.append(slots)
        return bid

    def start_state(self, belief: int) -> int:
        """The start position shared by the problems of ``belief`` (raises if they differ)."""
        starts = {self.model.start_state[self.model.problems[s]] for s in self._beliefs[belief]}
        if len(starts) != 1:
            raise NotImplementedError("problems with different start states need a belief over start states")
        return self.model.family.position(starts.pop(), 0)

    # ------------------------------------------------------------------ expansion
    def _state_node(self, state_id: int, belief: int) -> _StateNode:
        """What every action does from ``belief`` at ``state_id`` (cached)."""
        key = (state_id, belief)
        info = self._state_nodes.get(key)
        if info is not None:
            return info
        model = self.model
        slots = self._beliefs[belief]
        rows = model.expanded_rows(slots, state_id)
        weight = self._weight[slots]
        weight = weight / weight.sum()
        next_row = model.next_row[rows]  # (n, A)
        reward = model.reward[rows].astype(np.int64)
        live = next_row >= 0
        safe_next = np.where(live, next_row, 0)
        next_state = np.where(live, model.row_state[safe_next], -1)
        next_obs = np.where(live, model.row_observation[safe_next], -1)
        # An action is "uniform" when every problem gives the same outcome: no split.
        uniform = ((next_state == next_state[0]) & (next_obs == next_obs[0]) & (reward == reward[0])).all(axis=0)
        info = self._state_nodes[key] = _StateNode(
            weight, reward, live, safe_next, weight @ reward, {}, uniform.tolist(), reward[0].tolist(),
            next_state[0].tolist(), next_obs[0].tolist(), [None] * model.num_actions,
        )
        return info

    def _mean_next_value(self, info: _StateNode, column: int) -> np.ndarray:
        """(A,) weighted average optimal value after each action, in value column ``column``."""
        value = info.mean_next_value.get(column)
        if value is None:
            value = info.mean_next_value[column] = info.weight @ np.where(
                info.live, self.model.values[info.next_row, column], 0.0)
        return value

    def _node(self, state: int, belief: int) -> _Node:
        """Upper bounds of every action from ``(state, belief)``; action nodes come later."""
        key = (state, belief)
        node = self._nodes.get(key)
        if node is not None:
            return node
        model = self.model
        state_id, steps = model.family.split_position(state)
        info = self._state_node(state_id, belief)
        upper = info.mean_reward.astype(np.float64)
        if model.homogeneous:
            upper[model.family.end_action] += model.family.end_charge[steps]
            if steps + 1 < model.max_steps:
                upper += self._mean_next_value(info, steps + 1)
        else:
            upper += self._mean_next_value(info, 0)
        upper_list = upper.tolist()
        node = self._nodes[key] = _Node(
            upper_list, sorted(range(len(upper_list)), key=lambda a: -upper_list[a]),
            [None] * len(upper_list), info, steps,
        )
        return node

    def action_node(self, state: int, belief: int, action: int) -> ActionNode:
        """What ``action`` does from ``(state, belief)``: the groups of problems it makes."""
        node = self._node(state, belief)
        built = node.actions[action]
        if built is not None:
            return built
        model = self.model
        info, steps = node.info, node.steps
        n = len(info.weight)
        charge = int(model.family.end_charge[steps]) if model.homogeneous and action == model.family.end_action else 0
        last = model.homogeneous and steps + 1 >= model.max_steps
        if last or (info.uniform[action] and info.first_state[action] < 0):  # every episode ends
            rewards = info.reward[:, action] + charge
            built = ActionNode(node.upper[action], float(info.weight @ rewards), [], np.full(n, -1, np.int64),
                               rewards)
        elif info.uniform[action]:
            r0 = info.first_reward[action] + charge
            outcome = Outcome(1.0, r0, model.family.position(info.first_state[action], steps + 1), belief,
                              node.upper[action] - r0, info.first_observation[action])
            built = ActionNode(node.upper[action], 0.0, [outcome], np.zeros(n, np.int64),
                               np.full(n, r0, np.int64))
        else:
            groups = info.groups[action]
            if groups is None:
                groups = info.groups[action] = self._split(info, state_id=model.family.split_position(state)[0],
                                                           belief=belief, action=action)
            rewards = info.reward[:, action] + charge
            alive = info.live[:, action]
            member = np.full(n, -1, np.int64)
            column = model.value_column(steps + 1)
            outcomes = []
            for k, g in enumerate(groups):
                outcomes.append(Outcome(g.probability, g.reward + charge, model.family.position(g.state, steps + 1),
                                        g.belief, float(g.values[column]), g.observation))
                member[g.members] = k
            built = ActionNode(node.upper[action], float(info.weight[~alive] @ rewards[~alive]), outcomes, member,
                               rewards)
        node.actions[action] = built
        return built

    def _split(self, info: _StateNode, state_id: int, belief: int, action: int) -> list[_Group]:
        model = self.model
        slots = self._beliefs[belief]
        next_row = model.next_row[model.rows_of_slots(slots, state_id), action]
        reward = info.reward[:, action]
        idx = np.flatnonzero(info.live[:, action])
        groups: list[_Group] = []
        if len(idx):
            nxt = next_row[idx]
            signal = np.stack((model.row_observation[nxt], reward[idx]), axis=1)
            keys, inverse = np.unique(signal, axis=0, return_inverse=True)
            inverse = inverse.reshape(-1)
            values = model.values
            for g in range(len(keys)):
                members = idx[inverse == g]
                states = model.row_state[next_row[members]]
                if (states != states[0]).any():
                    raise NotImplementedError(
                        f"{model.family.family}: problems with the same observation and reward reach "
                        "different states; exact bounds need beliefs over (problem, state) pairs"
                    )
                w = info.weight[members]
                p = float(w.sum())
                child = belief if len(members) == len(slots) else self._intern(slots[members])
                groups.append(_Group(members, p, int(keys[g, 1]), int(states[0]), child, int(keys[g, 0]),
                                     (w @ values[next_row[members]]) / p))
        return groups

    # ------------------------------------------------------------------ search
    def value(self, state: int, belief: int) -> float:
        """Exact Bayes-optimal expected return-to-go of ``(state, belief)`` (hundredths).

        Searches with a threshold that starts just below the upper bound and steps down
        (by :data:`THRESHOLD_STEP` below each proved upper bound) until the search proves
        the exact value: high thresholds prune most branches, and the memo keeps what each
        pass proved (like MTD(f) in game-tree search).
        """
        memo = self._memo.get((state, belief))
        if memo is not None and memo[1]:
            return memo[0]
        if len(self._beliefs[belief]) == 1:
            return self._search(state, belief, _UNBOUNDED)[0]
        threshold = max(self._node(state, belief).upper) - THRESHOLD_STEP
        while True:
            value, exact = self._search(state, belief, threshold)
            if exact:
                return value
            threshold = value - THRESHOLD_STEP

    def _search(self, state: int, belief: int, threshold: float) -> tuple[float, bool]:
        """``(v, True)`` with the exact value when it exceeds ``threshold``; otherwise
        ``(v, False)`` with an upper bound ``v <= threshold``."""
        key = (state, belief)
        memo = self._memo.get(key)
        if memo is not None and (memo[1] or memo[0] <= threshold):
            return memo
        self.nodes_searched += 1
        slots = self._beliefs[belief]
        if len(slots) == 1:  # the problem is known: its optimal value
            model = self.model
            state_id, steps = model.family.split_position(state)
            row = model.row_table[slots[0], state_id]
            result = self._memo[key] = (float(model.values[row, model.value_column(steps)]), True)
            return result
        node = self._node(state, belief)
        bounds = list(node.upper)
        if memo is not None:  # an earlier search proved a smaller upper bound
            cap = memo[0]
            bounds = [min(b, cap) for b in bounds]
        best = _UNBOUNDED
        for action in node.order:
            cut = max(best, threshold)
            if bounds[action] <= cut:
                continue
            q, exact = self._q_value(self.action_node(state, belief, action), cut)
            bounds[action] = q
            if exact and q > best:
                best = q
        # Pruned and cut-off actions are bounded by max(best, threshold) (up to rounding).
        if best > threshold and max(bounds) <= best + TOLERANCE:
            result = (best, True)
        else:
            result = (min(max(bounds), threshold), False)
        self._memo[key] = result
        return result

    def _q_value(self, node: ActionNode, threshold: float) -> tuple[float, bool]:
        """Like :meth:`_search`, for one action node."""
        total = node.terminal + sum(o.probability * (o.reward + o.upper_bound) for o in node.outcomes)
        if total <= threshold:
            return total, False
        for outcome in sorted(node.outcomes, key=lambda o: -o.probability):
            rest = total - outcome.probability * (outcome.reward + outcome.upper_bound)
            child_threshold = (threshold - rest) / outcome.probability - outcome.reward
            value, exact = self._search(outcome.state, outcome.belief, child_threshold)
            total = rest + outcome.probability * (outcome.reward + value)
            if not exact:  # total <= threshold, up to rounding
                return min(total, threshold), False
        return total, True

    def action_values(self, state: int, belief: int) -> np.ndarray:
        """Exact Q of the optimal actions; ``-inf`` for actions proved worse (by more than
        :data:`~meta_explore_envs.planning.tables.TOLERANCE`)."""
        best = self.value(state, belief)
        slots = self._beliefs[belief]
        if len(slots) == 1:  # the problem is known: its optimal action values
            state_id, steps = self.model.family.split_position(state)
            q = self.model.optimal_q(int(self.model.row_table[slots[0], state_id]), steps)
            return np.where(q >= best - TOLERANCE, q, -np.inf)
        q = np.full(self.model.num_actions, -np.inf)
        for action, upper in enumerate(self._node(state, belief).upper):
            if upper < best - TOLERANCE:
                continue
            value, exact = self._q_value(self.action_node(state, belief, action), best - TOLERANCE)
            if exact:
                q[action] = value
        return q

    def optimal_actions(self, state: int, belief: int) -> list[int]:
        """Actions whose Bayes value ties with the best (within TOLERANCE)."""
        q = self.action_values(state, belief)
        return [int(a) for a in np.flatnonzero(q >= q.max() - TOLERANCE)]

    # ------------------------------------------------------------------ policy evaluation
    def evaluate(self, state: int, belief: int, problem: int) -> float:
        """Expected return-to-go in ``problem`` (a member of ``belief``) of the Bayes-optimal
        policy that breaks ties uniformly at random."""
        slot = self.model.slot_of[int(problem)]
        return self._evaluate(state, belief, slot)

    def _evaluate(self, state: int, belief: int, slot: int) -> float:
        key = (state, belief, slot)
        value = self._evaluations.get(key)
        if value is not None:
            return value
        slots = self._beliefs[belief]
        member = int(np.searchsorted(slots, slot))
        if member >= len(slots) or slots[member] != slot:
            raise ValueError("evaluate: the problem is not in the belief")
        actions = self.optimal_actions(state, belief)
        total = 0.0
        for action in actions:
            node = self.action_node(state, belief, action)
            reward = float(node.member_reward[member])
            index = node.member_outcome[member]
            if index >= 0:
                outcome = node.outcomes[index]
                reward += self._evaluate(outcome.state, outcome.belief, slot)
            total += reward
        value = self._evaluations[key] = total / len(actions)
        return value


class BayesEpisode:
    """One episode played Bayes-optimally: tracks ``(state, belief)`` from what is observed."""

    def __init__(self, planner: BayesPlanner, problems, observation: Any, rng: np.random.Generator):
        self.planner = planner
        self.rng = rng
        belief = planner.belief(problems)  # (tabulates the problems: their observations get ids)
        observation_id = planner.model.family.known_observation_id(observation)
        self.state = planner.start_state(belief)
        # Problems whose start shows a different observation are ruled out at once.
        members = planner.belief_problems(belief)
        rows = planner.model.rows(members, planner.model.family.split_position(self.state)[0])
        consistent = members[planner.model.row_observation[rows] == observation_id]
        if len(consistent) == 0:
            raise RuntimeError("the first observation of the episode matches no problem of the prior")
        self.belief = planner.belief(consistent)

    def observe(self, action: int, observation_id: int, reward: int) -> None:
        """Move to the group of problems that give what was observed after ``action``."""
        node = self.planner.action_node(self.state, self.belief, action)
        for outcome in node.outcomes:
            if outcome.observation == observation_id and outcome.reward == reward:
                self.state, self.belief = outcome.state, outcome.belief
                return
        raise RuntimeError(f"observation {observation_id} with reward {reward} after action {action} matches no "
                           "problem still believed possible")

    def act(self) -> int:
        return int(self.rng.choice(self.planner.optimal_actions(self.state, self.belief)))


__all__ = ["ActionNode", "BayesEpisode", "BayesPlanner", "Outcome"]
