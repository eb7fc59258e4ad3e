"""Progress bars for long computations (planning, scoring), with tqdm imported only when one
is shown (it comes with the ``[report]`` extra)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, TypeVar

from meta_explore_envs.optional import require

T = TypeVar("T")


def progress_bar(items: Iterable[T], description: str, show: bool) -> Iterable[T]:
    """``items`` wrapped in a tqdm bar (closed when done) if ``show``, else ``items`` as they are."""
    if not show:
        return items
    tqdm = require("tqdm.auto", "report").tqdm
    return tqdm(items, desc=description, leave=False)


class _Silent:
    def update(self, n: int = 1) -> None:
        pass

    def close(self) -> None:
        pass


def progress_counter(total: int, description: str, show: bool) -> Any:
    """An object with ``update(n)`` and ``close()``: a tqdm bar of ``total`` steps if ``show``,
    else one that does nothing."""
    if not show:
        return _Silent()
    return require("tqdm.auto", "report").tqdm(total=total, desc=description, leave=False)


__all__ = ["progress_bar", "progress_counter"]
