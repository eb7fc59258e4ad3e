"""Reference policies and bounds of MetaPointCorner (standard setting), batched over episodes.

Everything runs on the env's own rules (:func:`~meta_explore_envs.envs.point_corner.move`,
:func:`~meta_explore_envs.envs.point_corner.corner_reward`), on arrays of many episodes at once;
the baselines (:mod:`baselines.point_corner`) play the same functions one episode at a time.

## What the reward allows
A step pays progress towards the goal g only when it lands in g's quadrant outside the zone
|x| + |y| < 0.5; steps that land elsewhere pay 0 whatever they move. So an agent can step
out of the zone towards g (+0.2 sqrt 2 = c when the step lies on the line to g), step back
into the zone for free, and repeat: c every two steps, about 14 per episode, far more than
walking to the corner (about 2.8). ProMP's env has the same property. The best return
knowing g is at most ``50 c + |s0 - g| / 2`` (each rewarded step pays at most c; the
rewards add up to ``|s0 - g| - |s_100 - g|`` plus what the unrewarded steps moved away,
at most c each; split 100 steps between the two): :func:`estimate_bounds` reports it.

## The reference policies (a stated class; their returns are lower bounds of the exact values)
In the frame where the target corner is (2, 2) (coordinates multiplied by its signs), with
``n`` steps left and ``w`` the steps a greedy walk (``clip(target - s)``) needs to reach it:

* **expert** (target known): walk greedily when ``n <= w + 1``; otherwise step (-0.2, -0.2)
  when in the target's rewarded region (back into the zone), else (+0.2, +0.2) (out of it).
  It cycles between a base point and the base + (0.2, 0.2), then walks to the corner in the
  last ~10 steps.
* **belief**: the corners consistent with every reward seen so far (a corner stays when
  :func:`corner_reward` for it equals the observed reward, within :data:`TOLERANCE`).
* **probe** (target unknown): the expert towards the nearest corner of the belief (ties by
  index); a step into that corner's region that pays 0 removes it, a paying step leaves one.

Bounds per exploitation episode (standard setting: rewards are observed in every episode):

* **optimal**: the expert for the true corner;
* **no exploration**: the exploration episode gathers nothing (the agent stays still in the
  zone, where nothing pays); the exploitation episode probes from the uniform prior;
* **Thompson sampling** (PEARL-UB): the exploration episode plays the expert of a corner
  drawn from the prior (all four enumerated, not sampled) without adapting to what it sees;
  the belief after it (from its rewards) is the exploitation episode's prior, which then
  probes from it;
* **random**: actions uniform in [-0.2, 0.2]^2.

Values are averages over the four goals and over ``num_starts`` uniform starts (a common
sample for all bounds; Thompson's exploration episode gets its own starts); the only error
is that sampling of starts (and of random actions), stated as a standard error.
"""

from __future__ import annotations

import numpy as np

from meta_explore_envs.envs.point_corner import (
    CORNERS,
    MAX_STEP,
    MAX_STEPS,
    START_HALF_WIDTH,
    ZONE_L1,
    corner_reward,
    move,
)

#: Largest difference between a corner's reward and the observed one that still counts as
#: equal (agents see float32 positions and rewards; rewards that rule out a corner are > 1e-3).
TOLERANCE = 1e-4
#: Largest reward of a step: a full diagonal step straight towards the goal.
STEP_PROGRESS = MAX_STEP * np.sqrt(2)
#: Number of uniform starts of the shipped bounds.
NUM_STARTS = 2048


def expert_actions(positions: np.ndarray, targets: np.ndarray, steps_left: np.ndarray | int) -> np.ndarray:
    """The expert's actions (see the module docstring): ``positions`` and ``targets`` (corners)
    of shape ``(B, 2)``, ``steps_left`` ``(B,)`` or an int; returns ``(B, 2)``."""
    signs = np.sign(targets)
    q = positions * signs  # the target is (2, 2) in this frame
    goal = np.abs(targets)
    walk_steps = np.ceil(np.abs(goal - q).max(axis=-1) / MAX_STEP - 1e-9)
    walk = np.asarray(steps_left) <= walk_steps + 1
    rewarded = np.all(q >= 0, axis=-1) & (np.abs(q).sum(axis=-1) >= ZONE_L1)
    cycle = np.where(rewarded, -MAX_STEP, MAX_STEP)[:, None]
    greedy = np.clip(goal - q, -MAX_STEP, MAX_STEP)
    return np.where(walk[:, None], greedy, cycle) * signs


def nearest_candidates(positions: np.ndarray, beliefs: np.ndarray) -> np.ndarray:
    """The corner of each belief (``(B, 4)`` bool) nearest to its position (ties by index)."""
    distances = np.linalg.norm(positions[:, None, :] - CORNERS[None], axis=-1)
    return CORNERS[np.argmin(np.where(beliefs, distances, np.inf), axis=1)]


def update_beliefs(beliefs: np.ndarray, positions: np.ndarray, next_positions: np.ndarray,
                   rewards: np.ndarray) -> np.ndarray:
    """The corners of ``beliefs`` whose reward for each move equals the observed one."""
    rewards_per_corner = corner_reward(positions[:, None, :], next_positions[:, None, :], CORNERS[None])
    return beliefs & (np.abs(rewards_per_corner - np.asarray(rewards)[:, None]) <= TOLERANCE)


def play_episodes(goals: np.ndarray, starts: np.ndarray, acting: np.ndarray | None, beliefs: np.ndarray,
                  adapt: bool, rng: np.random.Generator | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Play one episode per row: goal corner IDs ``(B,)``, starts ``(B, 2)``. The expert aims
    at the nearest corner of ``acting`` (``(B, 4)`` bool), replaced by the belief after every
    step when ``adapt``; ``acting=None`` plays uniformly random actions drawn from ``rng``.
    Returns the episodes' returns ``(B,)`` and the beliefs ``(B, 4)`` after them."""
    positions, total = starts.copy(), np.zeros(len(goals))
    corners = CORNERS[goals]
    for t in range(MAX_STEPS):
        if acting is None:
            actions = rng.uniform(-MAX_STEP, MAX_STEP, positions.shape)
        else:
            actions = expert_actions(positions, nearest_candidates(positions, acting), MAX_STEPS - t)
        next_positions = move(positions, actions)
        rewards = corner_reward(positions, next_positions, corners)
        beliefs = update_beliefs(beliefs, positions, next_positions, rewards)
        if adapt:
            acting = beliefs
        total += rewards
        positions = next_positions
    return total, beliefs


def estimate_bounds(num_starts: int = NUM_STARTS, seed: int = 0) -> dict[str, tuple[float, float]]:
    """``{bound: (mean, standard error)}`` per exploitation episode (see the module docstring),
    plus ``optimal_upper_bound``: ``50 c + |s0 - g| / 2`` averaged the same way."""
    rng = np.random.default_rng(seed)
    n, k = num_starts, len(CORNERS)
    starts = rng.uniform(-START_HALF_WIDTH, START_HALF_WIDTH, (n, 2))
    explore_starts = rng.uniform(-START_HALF_WIDTH, START_HALF_WIDTH, (n, 2))
    goals = np.tile(np.arange(k), n)  # row i * k + g: start i, goal g
    per_goal = np.repeat(starts, k, axis=0)
    everything = np.ones((n * k, k), bool)
    known = np.eye(k, dtype=bool)[goals]

    def summary(values: np.ndarray) -> tuple[float, float]:
        per_start = values.reshape(n, -1).mean(axis=1)
        return float(per_start.mean()), float(per_start.std(ddof=1) / np.sqrt(n))

    out = {
        "optimal": summary(play_episodes(goals, per_goal, known, known, adapt=False)[0]),
        "no_exploration": summary(play_episodes(goals, per_goal, everything, everything, adapt=True)[0]),
        "random": summary(play_episodes(goals, per_goal, None, everything, adapt=False, rng=rng)[0]),
    }
    # Thompson: row (i * k + g) * k + sample: start i, goal g, the explorer's sampled corner.
    t_goals, samples = np.repeat(goals, k), np.tile(np.arange(k), n * k)
    _, posterior = play_episodes(t_goals, np.repeat(explore_starts, k * k, axis=0), np.eye(k, dtype=bool)[samples],
                                 np.ones((n * k * k, k), bool), adapt=False)
    out["thompson"] = summary(play_episodes(t_goals, np.repeat(starts, k * k, axis=0), posterior, posterior,
                                            adapt=True)[0])
    distance = np.linalg.norm(per_goal - CORNERS[goals], axis=-1)
    out["optimal_upper_bound"] = summary(MAX_STEPS / 2 * STEP_PROGRESS + distance / 2)
    return out


if __name__ == "__main__":  # python -m meta_explore_envs.planning.point_corner
    for name, (mean, se) in estimate_bounds().items():
        print(f"{name:20s} {mean:+.4f} +- {se:.4f}")
