"""Policies whose one recurrent memory spans the whole trial (E-RL², IMPORT's recurrent path).

DREAM keeps a memory per policy and episode; an end-to-end method (RL² and its variants)
runs one recurrent Q-network over the whole trial: the exploration episode, then each
exploitation episode, without a reset in between. Its Q-values bootstrap across the
episode boundary, so the exploitation return is what the exploration steps learn from.

* :data:`TRIAL_FLAGS_NVEC` and the flags every step adds to the shared observation
  encoding (:class:`~.networks.ObsSpec`): *exploitation* (``episode > 0``) and *first step
  of an episode* (the episode-boundary flag). Both come from the trial observation's
  ``episode`` key, as at test time; the flags do not count exploitation episodes, so a
  policy trained with several plays the harness's one.
* :func:`whole_trials`: a replay batch (:class:`~.replay.TrialBuffer` fields, episodes
  padded one by one) packed into one sequence per trial (steps of every episode back to
  back, padding at the end) with the flags, the actions and the rewards of the Q-targets:
  **0 at every exploration step** (only the exploitation return is optimised).
* :class:`WholeTrialActor`: the batched actor (:class:`~.collect.Actor`) of one
  :class:`~.networks.RecurrentQ` over trial slots (the harness agent around it is
  :class:`~.agent.RecurrentAgent`).
"""

from __future__ import annotations

import numpy as np
import torch

from baselines.common.recurrent_q.networks import RecurrentQ

#: Sizes of the per-step flags appended to the observation's integers: exploitation (0/1),
#: first step of an episode (0/1).
TRIAL_FLAGS_NVEC = (2, 2)


# ---------------------------------------------------------------------------- replay -> sequences
def whole_trials(b: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """Pack a replay batch into one sequence per trial.

    Returns ``ints (B, L, F + 2)`` (the observation's integers, then the exploitation and
    first-step flags), ``frames (B, L, H, W, C)`` (pixel observations only), ``rewards_in
    (B, L)`` (the observed previous reward; 0 in the exploration episode), ``actions (B,
    L)``, ``rewards (B, L)`` (the rewards of the Q-targets: 0 at exploration steps, the env
    reward at exploitation steps), ``exploit (B, L)`` bool, ``lengths (B,)`` (steps of the
    whole trial) and ``problem_id (B,)``. Positions past a trial's length are 0.
    """
    exp_ints, task_ints = b["exp_ints"], b["task_ints"]
    batch, te, num_ints = exp_ints.shape
    k, tt = task_ints.shape[1], task_ints.shape[2]
    seg_len = torch.cat((b["exp_len"].unsqueeze(1), b["task_len"]), 1)  # (B, K + 1)
    lengths = seg_len.sum(1)
    steps = int(lengths.max())
    ends = seg_len.cumsum(1)
    j = torch.arange(steps)
    seg = (j.view(1, -1, 1) >= ends.unsqueeze(1)).sum(-1).clamp(max=k)  # episode of each position (B, L)
    offset = j.unsqueeze(0) - (ends - seg_len).gather(1, seg)  # step inside that episode
    valid = j.unsqueeze(0) < lengths.unsqueeze(1)
    padded_start = torch.tensor([0, *(te + tt * i for i in range(k))])
    src = torch.where(valid, padded_start[seg] + offset, 0)  # into the episodes laid end to end

    def pack(explore: torch.Tensor, task: torch.Tensor) -> torch.Tensor:
        flat = torch.cat((explore, task.reshape(batch, k * tt, *task.shape[3:])), 1)
        index = src.view(batch, steps, *([1] * (flat.dim() - 2))).expand(batch, steps, *flat.shape[2:])
        return torch.where(valid.view(batch, steps, *([1] * (flat.dim() - 2))), flat.gather(1, index), 0)

    exploit = (seg > 0) & valid
    flags = torch.stack((exploit, (offset == 0) & valid), -1).to(torch.int64)
    zero = torch.zeros(batch, te)
    seq = {
        "ints": torch.cat((pack(exp_ints, task_ints), flags), -1),
        "rewards_in": pack(zero, b["task_rew_in"]),
        "actions": pack(b["exp_act"], b["task_act"]),
        "rewards": pack(zero, b["task_rew"]),
        "exploit": exploit,
        "lengths": lengths,
        "problem_id": torch.as_tensor(b["problem_id"]),
    }
    if "exp_frames" in b:
        seq["frames"] = pack(b["exp_frames"], b["task_frames"])
    return seq


# ---------------------------------------------------------------------------- acting
class WholeTrialActor:
    """One recurrent state per trial slot, kept from the trial's first step to its last.

    :meth:`step_inputs` adds the flags of :data:`TRIAL_FLAGS_NVEC` (a slot's episode
    boundary is where its ``episode`` changes, or its first step after :meth:`reset`) and
    zeroes the exploration episode's rewards; :meth:`q_values` steps ``q``.
    """

    def __init__(self, q: RecurrentQ, num_slots: int):
        self.q = q
        self.num_slots = num_slots
        self.state = q.initial_state(num_slots)
        self.phase = np.full(num_slots, -1, dtype=np.int64)

    def reset(self, slots: np.ndarray | None = None) -> None:
        if slots is None:
            slots = np.arange(self.num_slots)
        slots = np.asarray(slots, dtype=np.int64)
        self.state[torch.from_numpy(slots)] = 0.0
        self.phase[slots] = -1

    def step_inputs(self, slots: np.ndarray, ints: np.ndarray, rewards: np.ndarray,
                    episode: np.ndarray) -> tuple[torch.Tensor, torch.Tensor]:
        """The network inputs of one step of ``slots`` (advances their episode tracking)."""
        slots = np.asarray(slots, dtype=np.int64)
        episode = np.asarray(episode, dtype=np.int64)
        first = episode != self.phase[slots]
        self.phase[slots] = episode
        exploit = episode > 0
        flags = np.stack((exploit, first), 1).astype(np.int64)
        x = torch.from_numpy(np.concatenate((np.asarray(ints, dtype=np.int64), flags), 1))
        r = torch.from_numpy(np.where(exploit, np.asarray(rewards, dtype=np.float32), np.float32(0.0)))
        return x, r

    @torch.no_grad()
    def q_values(self, slots: np.ndarray, ints: np.ndarray, rewards: np.ndarray, episode: np.ndarray,
                 frames: np.ndarray | None = None) -> torch.Tensor:
        x, r = self.step_inputs(slots, ints, rewards, episode)
        s = torch.from_numpy(np.asarray(slots, dtype=np.int64))
        q, self.state[s] = self.q.step(x, r, self.state[s], frames=frames_tensor(frames))
        return q


def frames_tensor(frames: np.ndarray | None) -> torch.Tensor | None:
    """An actor's ``frames`` argument as a tensor (None stays None)."""
    return None if frames is None else torch.from_numpy(np.ascontiguousarray(frames))


__all__ = ["TRIAL_FLAGS_NVEC", "WholeTrialActor", "frames_tensor", "whole_trials"]
