"""Replay of whole trials in preallocated arrays.

One slot holds one meta-training trial: its problem ID, its exploration episode and its
exploitation episodes, each padded to the episode limit (20 steps) with its length. Updates
sample whole trials and train the recurrent networks on whole episodes: no burn-in, no
truncated sequences. Storage is a ring buffer: the oldest trials are overwritten.

Pixel observations (an ``ObsSpec`` with a ``frame_shape``) add ``exp_frames``/``task_frames``:
one uint8 frame per stored step, the observation the action was taken on. A step's next
observation is the next step's frame, so no frame is stored twice (as it would be in a
replay of (s, a, r, s') transitions); an 80 x 60 RGB frame is 14.4 kB, ~0.58 MB per trial of
two 20-step episodes.
"""

from __future__ import annotations

import zlib
from collections.abc import Callable
from typing import Any

import numpy as np
import torch

from meta_explore_envs.core import check_int

#: Array name -> (shape after the trial axis, in units of (K = exploit episodes, T = steps, F = ints)), dtype.
FIELDS = {
    "problem_id": ((), np.int64),
    "exp_ints": (("T", "F"), np.int16),
    "exp_rew": (("T",), np.float32),
    "exp_act": (("T",), np.int64),
    "exp_len": ((), np.int64),
    "task_ints": (("K", "T", "F"), np.int16),
    "task_rew_in": (("K", "T"), np.float32),
    "task_act": (("K", "T"), np.int64),
    "task_rew": (("K", "T"), np.float32),
    "task_len": (("K",), np.int64),
}
#: The frame fields of pixel observations (``"H"``: the frame's shape). ``exp_codes``: a
#: novelty code per exploration step, filled by a method that counts novelty (DREAM's
#: ``--novelty-bonus``; ``recurrent_q.novelty``), else 0. ``exp_info``: each exploration
#: action's information-gain reward computed when the trial was collected (DREAM's
#: ``--information-rewards collection``), else 0. ``seed``: the seed the trial's env was reset
#: with, and ``problem_given``: whether its problem was passed to that reset (else the seed drew
#: it), from which its frames can be rendered again (:meth:`TrialBuffer.state_dict`).
FRAME_FIELDS = {
    "exp_frames": (("T", "H"), np.uint8),
    "task_frames": (("K", "T", "H"), np.uint8),
    "exp_codes": (("T",), np.int64),
    "exp_info": (("T",), np.float32),
    "seed": ((), np.int64),
    "problem_given": ((), np.bool_),
}
#: The fields a checkpoint may leave out and a resume renders again.
RENDERED_FIELDS = ("exp_frames", "task_frames", "counterfactual_frames")


def trial_fields(frame_shape: tuple[int, ...] = ()) -> dict[str, tuple[tuple[str, ...], type]]:
    """The stored arrays of a trial: :data:`FIELDS`, plus :data:`FRAME_FIELDS` for frames."""
    return {**FIELDS, **FRAME_FIELDS} if frame_shape else dict(FIELDS)


def allocate_trials(n: int, num_exploit: int, max_steps: int, num_ints: int,
                    frame_shape: tuple[int, ...] = ()) -> dict[str, np.ndarray]:
    """Zeroed arrays for ``n`` trials (a wave, or the buffer's storage)."""
    sizes = {"K": (num_exploit,), "T": (max_steps,), "F": (num_ints,), "H": tuple(frame_shape)}
    return {
        name: np.zeros((n, *(s for d in dims for s in sizes[d])), dtype=dtype)
        for name, (dims, dtype) in trial_fields(frame_shape).items()
    }


class TrialBuffer:
    """Ring buffer of ``capacity`` trials with ``num_exploit`` exploitation episodes each.

    ``exp_*``: the exploration episode: ``exp_ints[t]``/``exp_rew[t]`` encode observation t
    (see :class:`~baselines.common.recurrent_q.networks.ObsSpec`), ``exp_act[t]`` the action taken there.
    ``task_*``: the same for each exploitation episode plus ``task_rew[k, t]``, the env
    reward of action t.
    """

    def __init__(self, capacity: int, num_exploit: int, max_steps: int, num_ints: int,
                 frame_shape: tuple[int, ...] = (),
                 extra_fields: dict[str, tuple[tuple[int, ...], type]] | None = None):
        self.capacity = check_int("capacity", capacity, 1)
        self.num_exploit = num_exploit
        self.max_steps = max_steps
        self.num_ints = num_ints
        self.frame_shape = tuple(frame_shape)
        # (np.zeros maps untouched pages lazily: a large frame buffer costs memory as it fills)
        self.arrays = allocate_trials(capacity, num_exploit, max_steps, num_ints, frame_shape)
        # a method's own per-trial arrays (name -> (shape after the trial axis, dtype)), gathered whole
        self.extra_names = tuple(extra_fields or ())
        for name, (shape, dtype) in (extra_fields or {}).items():
            self.arrays[name] = np.zeros((capacity, *shape), dtype=dtype)
        self.size = 0
        self.pos = 0
        self._by_problem: tuple[np.ndarray, np.ndarray] | None = None  # sorted order, cached

    def __len__(self) -> int:
        return self.size

    def add(self, trials: dict[str, np.ndarray]) -> None:
        """Append a batch of trials (arrays with a leading trial axis, same fields)."""
        n = len(trials["problem_id"])
        if n > self.capacity:
            raise ValueError(f"cannot add {n} trials to a buffer of capacity {self.capacity}")
        index = (self.pos + np.arange(n)) % self.capacity
        for name, array in self.arrays.items():
            array[index] = trials[name]
        self.pos = int((self.pos + n) % self.capacity)
        self.size = int(min(self.size + n, self.capacity))
        self._by_problem = None

    def sample(self, batch_size: int, rng: np.random.Generator) -> dict[str, torch.Tensor]:
        """``batch_size`` trials drawn uniformly with replacement, as tensors, cut to the
        longest episode in the batch (exploration and exploitation separately)."""
        if self.size == 0:
            raise ValueError("cannot sample from an empty buffer")
        index = rng.integers(self.size, size=batch_size)
        return self.gather(index)

    def sample_with_partners(self, batch_size: int, rng: np.random.Generator
                             ) -> tuple[dict[str, torch.Tensor], dict[str, torch.Tensor]]:
        """A batch as :meth:`sample`, and for each of its trials another trial of the same
        problem (its exploration episode extends what the decoder may know)."""
        if self.size == 0:
            raise ValueError("cannot sample from an empty buffer")
        index = rng.integers(self.size, size=batch_size)
        return self.gather(index), self.gather(self.same_problem(index, rng))

    def same_problem(self, index: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        """For each trial in ``index``, a stored trial of the same problem drawn uniformly
        (possibly itself)."""
        if self._by_problem is None:
            pids = self.arrays["problem_id"][: self.size]
            order = np.argsort(pids, kind="stable")
            self._by_problem = (order, pids[order])
        order, sorted_pids = self._by_problem
        pids = self.arrays["problem_id"][index]
        lo = np.searchsorted(sorted_pids, pids, side="left")
        hi = np.searchsorted(sorted_pids, pids, side="right")
        return order[lo + (rng.random(len(index)) * (hi - lo)).astype(np.int64)]

    def gather(self, index: np.ndarray) -> dict[str, torch.Tensor]:
        a = self.arrays
        exp_len = a["exp_len"][index]
        task_len = a["task_len"][index]
        te = max(int(exp_len.max()), 1)
        tt = max(int(task_len.max()), 1)
        out = {
            "problem_id": a["problem_id"][index],
            "exp_ints": a["exp_ints"][index, :te].astype(np.int64),
            "exp_rew": a["exp_rew"][index, :te],
            "exp_act": a["exp_act"][index, :te],
            "exp_len": exp_len,
            "task_ints": a["task_ints"][index, :, :tt].astype(np.int64),
            "task_rew_in": a["task_rew_in"][index, :, :tt],
            "task_act": a["task_act"][index, :, :tt],
            "task_rew": a["task_rew"][index, :, :tt],
            "task_len": task_len,
        }
        if self.frame_shape:
            out["exp_frames"] = a["exp_frames"][index, :te]
            out["task_frames"] = a["task_frames"][index, :, :tt]
            out["exp_codes"] = a["exp_codes"][index, :te]
            out["exp_info"] = a["exp_info"][index, :te]
        for name in self.extra_names:
            out[name] = a[name][index]
        return {k: torch.from_numpy(np.ascontiguousarray(v)) for k, v in out.items()}

    def overwritten_by(self, n: int) -> np.ndarray:
        """The slots of stored trials that :meth:`add` of ``n`` trials will overwrite."""
        index = (self.pos + np.arange(n)) % self.capacity
        return index[index < self.size]

    # ------------------------------------------------------------------ checkpoints
    def state_dict(self, frames: bool = True) -> dict[str, Any]:
        """Plain tensors of the filled part (loadable with ``torch.load(weights_only=True)``).

        ``frames=False`` (pixel observations): the frames are left out (on MetaSign3D they are
        99% of a checkpoint: 1.7 GB for 3,000 trials) and each trial's CRC-32 of them is kept
        instead; :meth:`load_state_dict` then needs a ``render`` that plays each trial again
        from its ``seed`` and actions, and checks the frames it gets against the CRCs."""
        filled = self.size
        arrays = {name: torch.from_numpy(array[:filled].copy()) for name, array in self.arrays.items()
                  if frames or name not in RENDERED_FIELDS}
        if not frames and self.frame_shape:
            arrays["frames_crc32"] = torch.from_numpy(self.frames_crc32(np.arange(filled)))
        return {"capacity": self.capacity, "size": self.size, "pos": self.pos, "arrays": arrays}

    def frames_crc32(self, index: np.ndarray) -> np.ndarray:
        """int64 ``(len(index),)``: the CRC-32 of each trial's frames (every rendered field)."""
        fields = [self.arrays[name] for name in RENDERED_FIELDS if name in self.arrays]
        crcs = np.zeros(len(index), dtype=np.int64)
        for row, i in enumerate(index.tolist()):
            crc = 0
            for array in fields:
                crc = zlib.crc32(array[i].tobytes(), crc)
            crcs[row] = crc
        return crcs

    def load_state_dict(self, state: dict[str, Any],
                        render: Callable[[dict[str, np.ndarray]], dict[str, np.ndarray]] | None = None) -> None:
        """Restore a :meth:`state_dict`. One saved without frames needs ``render``: given the
        trials' stored arrays (views of this replay's, the rendered fields zeroed) it fills
        their rendered fields in place."""
        if int(state["capacity"]) != self.capacity:
            raise ValueError(f"checkpoint buffer capacity {state['capacity']} != {self.capacity}")
        saved = state["arrays"]
        missing = [name for name in RENDERED_FIELDS if name in self.arrays and name not in saved]
        if missing and render is None:
            raise ValueError(f"this checkpoint's replay has no {' or '.join(missing)}: loading it needs a render "
                             "function that plays its trials again")
        self.size = int(state["size"])
        self.pos = int(state["pos"])
        self._by_problem = None
        for name, array in self.arrays.items():
            array[:] = 0
            if name in ("exp_codes", "exp_info", "seed", "problem_given") and name not in saved:
                continue  # saved before the field existed: zeros (DREAM recomputes the codes)
            if name in missing:
                continue
            array[: self.size] = saved[name].numpy()
        if missing:
            render({name: array[: self.size] for name, array in self.arrays.items()})
            bad = np.flatnonzero(self.frames_crc32(np.arange(self.size)) != saved["frames_crc32"].numpy())
            if len(bad):
                raise ValueError(f"the frames rendered again for {len(bad)} of {self.size} replayed trials (the first: "
                                 f"slot {bad[0]}, seed {self.arrays['seed'][bad[0]]}) differ from the saved ones: this "
                                 "machine renders differently (another Mesa/GL) or the env changed")
