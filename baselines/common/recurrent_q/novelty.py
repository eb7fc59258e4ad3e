"""Count-based novelty: codes of what an exploration step saw, and their visit counts.

The counter counts how often each code was seen in meta-training, and a step's novelty is
``1 / sqrt(max(count, 1))`` (Tang et al., "#Exploration: a study of count-based exploration
for deep reinforcement learning", NeurIPS 2017). Two sources of codes:

* :meth:`FrameHashCounter.codes`, from pixels: the sign pattern of a fixed random Gaussian
  projection of the frame, area-averaged to a coarse grid and centred (SimHash), ``bits``
  bits, one int64 per frame.
* :func:`position_codes`, privileged: the cell of the agent's (x, z) position on a grid of
  ``cell`` metres (and optionally its heading's sector), read from the env during
  meta-training (as DREAM's encoder reads the problem ID); the networks never see it.

Used by DREAM on MetaSign3D, where an epsilon-greedy explorer never sees the sign (see
docs/sign3d.md "Learning it"): a bonus for novel steps drives the explorer towards places it
has not been until the information gain takes over. On MetaSign3D's 80 x 60 first-person
frames SimHash codes barely tell places apart (the same code for views of different rooms,
different codes for the same place seen from starts a few centimetres apart), which is why
its preset counts positions.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch


class FrameHashCounter:
    """SimHash codes of ``frame_shape`` uint8 frames and the counts of the codes seen.

    ``pool``: the frame is averaged over ``pool x pool`` pixel blocks per channel first
    (80 x 60 x 3 with ``pool=5``: 16 x 12 x 3 = 576 numbers); ``bits`` <= 63; ``seed`` draws
    the projection (its own generator: the caller's random streams are not touched).
    """

    def __init__(self, frame_shape: tuple[int, ...], bits: int = 32, pool: int = 5, seed: int = 0):
        height, width, channels = frame_shape
        if not 1 <= bits <= 63:
            raise ValueError(f"bits={bits} must be in [1, 63]")
        if pool < 1 or height % pool or width % pool:
            raise ValueError(f"pool={pool} must divide the frame's height {height} and width {width}")
        self.frame_shape = tuple(frame_shape)
        self.pool = pool
        dims = (height // pool) * (width // pool) * channels
        self.projection = np.random.default_rng(seed).standard_normal((dims, bits)).astype(np.float32)
        self.powers = (2 ** np.arange(bits, dtype=np.int64)).astype(np.int64)
        self.counts: dict[int, int] = {}

    def codes(self, frames: np.ndarray) -> np.ndarray:
        """SimHash codes: ``(..., H, W, C)`` uint8 -> int64 codes ``(...)``."""
        frames = np.asarray(frames)
        lead = frames.shape[:-3]
        h, w, c = self.frame_shape
        p = self.pool
        coarse = frames.reshape(-1, h // p, p, w // p, p, c).mean(axis=(2, 4), dtype=np.float32) / 255.0
        flat = coarse.reshape(len(coarse), -1)
        flat -= flat.mean(axis=1, keepdims=True)  # brightness-centred: the sign of a projection of the pattern
        bits = (flat @ self.projection) > 0
        return (bits.astype(np.int64) @ self.powers).reshape(lead)

    def add(self, codes: np.ndarray) -> None:
        """Count each code once per occurrence."""
        values, counts = np.unique(np.asarray(codes, dtype=np.int64).reshape(-1), return_counts=True)
        for value, count in zip(values.tolist(), counts.tolist(), strict=True):
            self.counts[value] = self.counts.get(value, 0) + count

    def remove(self, codes: np.ndarray) -> None:
        """Uncount each code once per occurrence (codes that were counted; a sliding window)."""
        values, counts = np.unique(np.asarray(codes, dtype=np.int64).reshape(-1), return_counts=True)
        for value, count in zip(values.tolist(), counts.tolist(), strict=True):
            left = self.counts.get(value, 0) - count
            if left < 0:
                raise ValueError(f"cannot uncount code {value} {count} times: it was counted "
                                 f"{self.counts.get(value, 0)}")
            if left:
                self.counts[value] = left
            else:
                del self.counts[value]

    def novelty(self, codes: np.ndarray) -> np.ndarray:
        """``1 / sqrt(max(count, 1))`` of each code, float32, the shape of ``codes``."""
        codes = np.asarray(codes, dtype=np.int64)
        counts = np.fromiter((self.counts.get(c, 0) for c in codes.reshape(-1).tolist()), dtype=np.float32,
                             count=codes.size)
        return (1.0 / np.sqrt(np.maximum(counts, 1.0))).reshape(codes.shape)

    # ------------------------------------------------------------------ checkpoints
    def state_dict(self) -> dict[str, Any]:
        codes = np.fromiter(self.counts.keys(), dtype=np.int64, count=len(self.counts))
        counts = np.fromiter(self.counts.values(), dtype=np.int64, count=len(self.counts))
        return {"codes": torch.from_numpy(codes), "counts": torch.from_numpy(counts)}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.counts = dict(zip(state["codes"].tolist(), state["counts"].tolist(), strict=True))


def position_codes(states: list, cell: float, headings: int = 0) -> np.ndarray:
    """int64 codes ``(len(states),)`` of the ``cell`` x ``cell`` metre squares holding the
    positions of MetaSign3D's episode-env ``state`` s, ``(x, z, start_heading, turns, steps)``
    (metres, radians, 45-degree turns): ``floor(x / cell) + 2**20 * floor(z / cell)``, and
    with ``headings`` > 0 also the heading's sector of ``2 pi / headings`` (centred on
    east), ``+ 2**40 * sector``."""
    if cell <= 0:
        raise ValueError(f"cell={cell} must be > 0 (metres)")
    if headings < 0:
        raise ValueError(f"headings={headings} must be >= 0 (0: position only)")
    array = np.asarray([s[:4] for s in states], dtype=np.float64).reshape(-1, 4)
    cells = np.floor(array[:, :2] / cell).astype(np.int64)
    codes = cells[:, 0] + (cells[:, 1] << 20)
    if headings:
        heading = array[:, 2] + array[:, 3] * (np.pi / 4)
        sector = np.floor(np.mod(heading, 2 * np.pi) / (2 * np.pi / headings) + 0.5).astype(np.int64) % headings
        codes = codes + (sector << 40)
    return codes


def position_cells(codes: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The squares ``(x index, z index)`` of :func:`position_codes`' codes (any heading
    sector dropped): ``floor(x / cell)`` and ``floor(z / cell)``."""
    codes = np.asarray(codes, dtype=np.int64) & ((1 << 40) - 1)
    return codes & ((1 << 20) - 1), codes >> 20


__all__ = ["FrameHashCounter", "position_cells", "position_codes"]
