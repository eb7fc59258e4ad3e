"""Bayes-optimal acting within one episode when the problem is unknown (exact search).

A :class:`BayesPlanner` knows one instruction and a prior over problems (weights). Its
nodes are ``(state, belief)`` pairs, where ``state`` is a *position* (a state id and the
steps taken, see :meth:`evaluation.exact.FamilyModel.position`) and a belief is the set of
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
within :data:`~evaluation.exact.TOLERANCE`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Mapping

import numpy as np

from evaluation.exact import TOLERANCE, InstructionModel

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
class _Node:
    """A searched ``(state, belief)``: upper bounds of its actions, action nodes built lazily."""

    upper: list[float]
    order: list[int]  #: actions by decreasing upper bound
    actions: list[ActionNode | None]
    uniform: list[bool]  #: the action gives every problem the same outcome
    first_reward: list[int]  #: outcome of the belief's first problem, per action
    first_state: list[int]
    first_observation: list[int]
    size: int  #: number of problems in the belief


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
    def _node(self, state: int, belief: int) -> _Node:
        """Upper bounds of every action from ``(state, belief)``; action nodes come later."""
        key = (state, belief)
        node = self._nodes.get(key)
        if node is not None:
            return node
        model = self.model
        slots = self._beliefs[belief]
        state_id, steps = model.family.split_position(state)
        rows = model.expanded_rows(slots, state_id)
        weight = self._weight[slots]
        weight = weight / weight.sum()
        next_row, live = model.successors_at(rows, steps)  # (n, A)
        reward = model.reward_at(rows, steps)
        safe_next = np.where(live, next_row, 0)
        next_value = np.where(live, model.values[safe_next, model.value_column(steps + 1)], 0.0)
        upper = weight @ (reward + next_value)
        next_state = np.where(live, model.family.position(model.row_state[safe_next].astype(np.int64), steps + 1), -1)
        next_obs = np.where(live, model.row_observation[safe_next], -1)
        # An action is "uniform" when every problem gives the same outcome: no split.
        uniform = ((next_state == next_state[0]) & (next_obs == next_obs[0]) & (reward == reward[0])).all(axis=0)
        upper_list = upper.tolist()
        node = self._nodes[key] = _Node(
            upper_list, sorted(range(len(upper_list)), key=lambda a: -upper_list[a]),
            [None] * len(upper_list), uniform.tolist(),
            reward[0].tolist(), next_state[0].tolist(), next_obs[0].tolist(), len(slots),
        )
        return node

    def action_node(self, state: int, belief: int, action: int) -> ActionNode:
        """What ``action`` does from ``(state, belief)``: the groups of problems it makes."""
        node = self._node(state, belief)
        built = node.actions[action]
        if built is not None:
            return built
        n = node.size
        if node.uniform[action]:
            r0 = node.first_reward[action]
            rewards = np.full(n, r0, np.int64)
            if node.first_state[action] < 0:
                built = ActionNode(node.upper[action], float(r0), [], np.full(n, -1, np.int64), rewards)
            else:
                outcome = Outcome(1.0, r0, node.first_state[action], belief, node.upper[action] - r0,
                                  node.first_observation[action])
                built = ActionNode(node.upper[action], 0.0, [outcome], np.zeros(n, np.int64), rewards)
        else:
            built = self._split(state, belief, action, node.upper[action])
        node.actions[action] = built
        return built

    def _split(self, state: int, belief: int, action: int, upper: float) -> ActionNode:
        model = self.model
        slots = self._beliefs[belief]
        state_id, steps = model.family.split_position(state)
        rows = model.expanded_rows(slots, state_id)
        weight = self._weight[slots]
        weight = weight / weight.sum()
        next_rows, live = model.successors_at(rows, steps)
        next_row = next_rows[:, action]
        reward = model.reward_at(rows, steps)[:, action]
        alive = live[:, action]
        terminal = float(weight[~alive] @ reward[~alive])
        member = np.full(len(slots), -1, np.int64)
        outcomes = []
        idx = np.flatnonzero(alive)
        if len(idx):
            nxt = next_row[idx]
            signal = np.stack((model.row_observation[nxt], reward[idx]), axis=1)
            keys, inverse = np.unique(signal, axis=0, return_inverse=True)
            inverse = inverse.reshape(-1)
            values = model.values[:, model.value_column(steps + 1)]
            for g in range(len(keys)):
                members = idx[inverse == g]
                states = model.family.position(model.row_state[next_row[members]].astype(np.int64), steps + 1)
                if (states != states[0]).any():
                    raise NotImplementedError(
                        f"{model.family.family}: problems with the same observation and reward reach "
                        "different states; exact bounds need beliefs over (problem, state) pairs"
                    )
                w = weight[members]
                p = float(w.sum())
                child = belief if len(members) == len(slots) else self._intern(slots[members])
                outcomes.append(Outcome(
                    p, int(keys[g, 1]), int(states[0]), child,
                    float(w @ values[next_row[members]]) / p, int(keys[g, 0]),
                ))
                member[members] = len(outcomes) - 1
        return ActionNode(upper, terminal, outcomes, member, reward)

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
        threshold = max(self._node(state, belief).upper) - THRESHOLD_STEP if len(self._beliefs[belief]) > 1 \
            else _UNBOUNDED
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
        :data:`~evaluation.exact.TOLERANCE`)."""
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


__all__ = ["ActionNode", "BayesPlanner", "Outcome"]
