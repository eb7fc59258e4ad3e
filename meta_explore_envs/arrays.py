"""Small array helpers shared by the planning tables and the vector env's tables."""

from __future__ import annotations

import numpy as np


class GrowableArray:
    """A NumPy array that grows along its first axis with amortised copies (capacity doubles).

    ``data`` is the whole buffer (rows beyond ``size`` hold ``fill``); :attr:`view` the rows in use.
    """

    def __init__(self, trailing: tuple[int, ...], dtype, fill=0):
        self.fill = fill
        self.data = np.full((64, *trailing), fill, dtype)
        self.size = 0

    def extend(self, values) -> None:
        need = self.size + len(values)
        if need > len(self.data):
            grown = np.full((max(need, 2 * len(self.data)), *self.data.shape[1:]), self.fill, self.data.dtype)
            grown[: self.size] = self.data[: self.size]
            self.data = grown
        self.data[self.size : need] = values
        self.size = need

    @property
    def view(self) -> np.ndarray:
        return self.data[: self.size]


__all__ = ["GrowableArray"]
