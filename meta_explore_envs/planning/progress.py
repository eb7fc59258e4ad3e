"""Progress bars for long planning computations, with tqdm imported only when one is shown."""

from __future__ import annotations

from typing import Iterable, TypeVar

from meta_explore_envs.optional import require

T = TypeVar("T")


def progress_bar(items: Iterable[T], description: str, show: bool) -> Iterable[T]:
    """``items`` wrapped in a tqdm bar (closed when done) if ``show``, else ``items`` as they are."""
    if not show:
        return items
    tqdm = require("tqdm.auto", "report").tqdm
    return tqdm(items, desc=description, leave=False)


__all__ = ["progress_bar"]
