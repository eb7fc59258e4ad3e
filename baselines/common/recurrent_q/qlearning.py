"""Q-learning on whole padded episodes: masks, double DQN with Watkins's Q(lambda) returns,
Polyak target updates, the linear epsilon schedule and epsilon-greedy action choosers."""

from __future__ import annotations

from collections.abc import Callable, Iterable

import numpy as np
import torch
from torch import nn

#: (q_values (b, A), episode (b,), slots (b,)) -> actions (b,); ``slots`` are the trial
#: slots (0..num_envs-1) the rows belong to (optional: rows 0..b-1 when omitted).
ActionChooser = Callable[[torch.Tensor, np.ndarray, np.ndarray], np.ndarray]


def sequence_mask(lengths: torch.Tensor, steps: int) -> torch.Tensor:
    """``(B, steps)`` bool: position t is inside an episode of that length."""
    return torch.arange(steps, device=lengths.device).unsqueeze(0) < lengths.unsqueeze(1)


def double_dqn_loss(q: torch.Tensor, q_target: torch.Tensor, actions: torch.Tensor, rewards: torch.Tensor,
                    lengths: torch.Tensor, gamma: float, td_lambda: float = 0.0) -> torch.Tensor:
    """Double DQN (van Hasselt et al., 2016) on whole episodes, with Watkins's Q(lambda) returns.

    ``q`` (online, with grad) and ``q_target`` are ``(B, T, A)`` over the same padded
    sequences; ``rewards (B, T)``. With the double-DQN value
    ``V_{t+1} = Q_target(t+1, a*_{t+1})``, ``a*_{t+1} = argmax_a Q(t+1, a)``, step t's target
    is the lambda-return ``G_t = r_t + gamma * ((1 - l_{t+1}) V_{t+1} + l_{t+1} G_{t+1})`` where
    the trace ``l_{t+1} = lambda`` if the replayed action ``a_{t+1}`` is the greedy ``a*_{t+1}``
    and 0 otherwise (Watkins: the return only follows the greedy policy, so old or
    exploratory behaviour does not bias the targets). ``G_t = r_t`` at an episode's last step:
    every episode ends in a terminal state (the goal, ``end episode`` or the step limit), with
    no future inside the episode. ``td_lambda=0`` is one-step double DQN. Returns the mean
    squared TD error over the valid steps.
    """
    steps_t = q.shape[1]
    qa = q.gather(-1, actions.unsqueeze(-1)).squeeze(-1)
    with torch.no_grad():
        greedy = q.argmax(-1, keepdim=True)
        value = q_target.gather(-1, greedy).squeeze(-1)  # (B, T)
        trace = torch.full_like(value, td_lambda) * (greedy.squeeze(-1) == actions).to(q.dtype)  # (B, T)
        # G_t = r_t + c_t * ((1 - l_{t+1}) V_{t+1} + l_{t+1} G_{t+1}) with c_t = gamma inside the
        # episode and 0 at its last step. Everything but the recursion is computed for all
        # steps at once: the loop is the update's longest chain of small ops (the same
        # float operations in the same order as a step-by-step loop, so results are unchanged).
        cont = torch.where(sequence_mask(lengths - 1, steps_t), gamma, 0.0).to(q.dtype)  # (B, T)
        lam = trace[:, 1:]
        keep = (1 - lam) * value[:, 1:]  # (B, T - 1)
        g = rewards[:, -1]
        returns = [g]
        for t in range(steps_t - 2, -1, -1):
            g = rewards[:, t] + cont[:, t] * (keep[:, t] + lam[:, t] * g)
            returns.append(g)
        target = torch.stack(returns[::-1], 1)
    mask = sequence_mask(lengths, steps_t)
    return ((qa - target) ** 2 * mask).sum() / mask.sum().clamp(min=1)


def soft_update(pairs: Iterable[tuple[nn.Module, nn.Module]], tau: float) -> None:
    """Polyak averaging of each ``(target, online)`` pair: ``target <- target + tau * (online - target)``."""
    with torch.no_grad():
        for target, online in pairs:
            torch._foreach_lerp_(list(target.parameters()), list(online.parameters()), tau)


def linear_epsilon(env_steps: int, start: float, end: float, decay_steps: int) -> float:
    """Epsilon after ``env_steps``: linear from ``start`` to ``end`` over ``decay_steps``, then ``end``."""
    frac = min(1.0, env_steps / max(1, decay_steps))
    return start + frac * (end - start)


def epsilon_greedy(epsilon: float, rng: np.random.Generator, explore_epsilon: float | None = None,
                   no_end_slots: np.ndarray | None = None, end_action: int | None = None,
                   random_end: bool = True, groups: np.ndarray | None = None) -> ActionChooser:
    """Greedy actions, each replaced by a uniform one with probability ``epsilon``
    (``explore_epsilon`` in exploration episodes, when given).

    ``no_end_slots`` (bool per trial slot) with ``end_action``: in those trials' exploration
    episodes ``end_action`` is never taken; where it would be, a uniformly random other
    action is taken instead, so the episode runs to its step limit past the point where the
    explorer would stop (see ``DreamConfig.explore_no_end_fraction``).

    ``random_end=False`` (with ``end_action``): the uniform replacement is drawn from every
    action but ``end_action``, in both episode types (``RecurrentQConfig.random_end_action``);
    greedy actions are left as they are.

    ``groups`` (an int per trial slot, in ``[0, G)``): slots of one group share their random
    draws (whether to act randomly, and the random action) at each call; trials of a group
    that see the same observations then act alike (``RecurrentQConfig.problems_per_start``).
    """
    if (no_end_slots is not None or not random_end) and end_action is None:
        raise ValueError("no_end_slots and random_end=False need end_action")
    num_groups = None if groups is None else int(groups.max()) + 1

    def choose(q: torch.Tensor, episode: np.ndarray, slots: np.ndarray | None = None) -> np.ndarray:
        actions = q.argmax(-1).numpy()
        b, n_actions = q.shape
        eps = epsilon if explore_epsilon is None else np.where(episode == 0, explore_epsilon, epsilon)
        # one draw per slot, or per group, read by each slot of the group
        draws, of = (b, slice(None)) if groups is None else (num_groups, groups[slots])
        explore = rng.random(draws)[of] < eps
        if random_end:
            uniform = rng.integers(n_actions, size=draws)[of]
        else:
            uniform = rng.integers(n_actions - 1, size=draws)[of]
            uniform += uniform >= end_action  # every action but end_action
        actions = np.where(explore, uniform, actions)
        if no_end_slots is not None:
            slots = np.arange(b) if slots is None else slots
            blocked = no_end_slots[slots] & (episode == 0) & (actions == end_action)
            if blocked.any():
                other = (rng.integers(n_actions - 1, size=int(blocked.sum())) if groups is None
                         else rng.integers(n_actions - 1, size=draws)[of][blocked])
                actions[blocked] = other + (other >= end_action)  # every action but end_action
        return actions

    return choose


def greedy(q: torch.Tensor, episode: np.ndarray, slots: np.ndarray | None = None) -> np.ndarray:
    return q.argmax(-1).numpy()


def with_exploration_prefixes(choose: ActionChooser, prefixes: list[np.ndarray]) -> ActionChooser:
    """``choose``, except that trial slot i's exploration episode starts with the actions
    ``prefixes[i]`` (int array, possibly empty) in order, whatever the Q-values, and goes on
    with ``choose``'s actions after them (a "return" to where an earlier trial went from the
    same start: Go-Explore, Ecoffet et al., 2021; ``DreamConfig.return_fraction``). Counts
    each slot's exploration steps itself: one per call in which the slot is active in its
    exploration episode."""
    steps = np.zeros(len(prefixes), dtype=np.int64)

    def choose_with_prefixes(q: torch.Tensor, episode: np.ndarray, slots: np.ndarray | None = None) -> np.ndarray:
        actions = choose(q, episode, slots)
        slots = np.arange(len(actions)) if slots is None else slots
        for j in np.flatnonzero(episode == 0):
            slot = slots[j]
            if steps[slot] < len(prefixes[slot]):
                actions[j] = prefixes[slot][steps[slot]]
            steps[slot] += 1
        return actions

    return choose_with_prefixes

