"""Count-based novelty of frames: SimHash codes and their visit counts.

A frame's code (Tang et al., "#Exploration: a study of count-based exploration for deep
reinforcement learning", NeurIPS 2017) is the sign pattern of a fixed random Gaussian
projection of the frame, area-averaged to a coarse grid and centred: ``bits`` bits, one
int64 per frame. Frames that look alike (the same place and heading) share a code; the
counter counts how often each code was seen in meta-training, and a frame's novelty is
``1 / sqrt(max(count, 1))``.

Used by DREAM on MetaSign3D, where an epsilon-greedy explorer never sees the sign (see
docs/sign3d.md "Learning it"): a bonus for novel frames drives the explorer towards views it
has not had yet until the information gain takes over.
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
        """``(..., H, W, C)`` uint8 -> int64 codes ``(...)``."""
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


__all__ = ["FrameHashCounter"]
