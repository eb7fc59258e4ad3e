"""The random draws of many trial envs at once, each exactly as its own generator makes them.

A single :class:`~meta_explore_envs.trial.TrialEnv` draws a trial with scalar calls
``np_random.integers(n)`` (its problem, then its instructions). Gymnasium seeds
``np_random`` as ``Generator(PCG64(SeedSequence(seed)))``. For ``n <= 2**32`` NumPy answers
``integers(n)`` from one 32-bit output of the bit generator (PCG64 hands out the low then the
high half of each 64-bit output) by Lemire's multiply-and-shift, redrawing in the rare case
the product falls in the biased zone; ``integers(1)`` draws nothing. :class:`BoundedDraws`
replays that for ``N`` generators at once on their raw 64-bit outputs, fetched in chunks, so
that sub-env ``i`` of a vector env draws exactly the trials of a single env seeded like it.
``tests/test_vector.py`` checks the draws against NumPy's own.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from gymnasium.utils import seeding

_LOW32 = np.uint64(0xFFFFFFFF)
_SHIFT = np.uint64(32)
#: 32-bit values fetched per generator at a time (two per raw 64-bit output).
CHUNK = 64


class BoundedDraws:
    """Per-generator streams of 32-bit values and ``integers(n)`` draws from them, vectorised.

    ``generators[i]`` is sub-env ``i``'s ``np.random.Generator`` (PCG64, fresh from seeding,
    with no half output buffered). The streams take the generators' outputs ahead of use; a
    generator must not be used elsewhere afterwards.
    """

    def __init__(self, generators: Sequence[np.random.Generator]):
        self.generators = list(generators)
        n = len(self.generators)
        self._values = np.zeros((n, CHUNK), np.uint64)
        self._next = np.full(n, CHUNK, np.int64)  # all empty: filled on first use
        for generator in self.generators:
            state = generator.bit_generator.state
            if state["bit_generator"] != "PCG64" or state["has_uint32"]:
                raise ValueError("BoundedDraws needs fresh PCG64 generators (as gymnasium's seeding makes them)")

    @classmethod
    def seeded(cls, seeds: Sequence[int | None]) -> BoundedDraws:
        """Streams of generators made as ``gymnasium.utils.seeding.np_random(seed)`` makes them."""
        return cls([seeding.np_random(seed)[0] for seed in seeds])

    def reseed(self, index: int, seed: int | None) -> None:
        """Give stream ``index`` a fresh generator (``seeding.np_random(seed)``)."""
        self.generators[index] = seeding.np_random(seed)[0]
        self._next[index] = CHUNK

    def _refill(self, indices: np.ndarray) -> None:
        for i in indices.tolist():
            raw = self.generators[i].bit_generator.random_raw(CHUNK // 2).astype(np.uint64)
            self._values[i, 0::2] = raw & _LOW32
            self._values[i, 1::2] = raw >> _SHIFT
            self._next[i] = 0

    def _take(self, indices: np.ndarray) -> np.ndarray:
        """The next 32-bit value (as uint64) of each stream in ``indices`` (distinct)."""
        empty = indices[self._next[indices] >= CHUNK]
        if len(empty):
            self._refill(empty)
        values = self._values[indices, self._next[indices]]
        self._next[indices] += 1
        return values

    def integers(self, indices: np.ndarray, n: int) -> np.ndarray:
        """``generators[i].integers(n)`` for each ``i`` in ``indices`` (distinct), as int64."""
        if n == 1:
            return np.zeros(len(indices), np.int64)  # NumPy draws nothing for a single value
        if not 1 < n <= 2**32:
            raise ValueError(f"n={n} is not valid: expected 1 <= n <= 2**32")
        bound = np.uint64(n)
        product = self._take(indices) * bound
        leftover = product & _LOW32
        threshold = np.uint64((2**32 - n) % n)
        rejected = np.flatnonzero(leftover < threshold)
        while len(rejected):  # probability < n / 2**32 per draw
            product[rejected] = self._take(indices[rejected]) * bound
            leftover[rejected] = product[rejected] & _LOW32
            rejected = rejected[leftover[rejected] < threshold]
        return (product >> _SHIFT).astype(np.int64)


__all__ = ["BoundedDraws"]
