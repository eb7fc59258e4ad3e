"""Atomic file writes: the one helper every result file, checkpoint, plot and GIF goes through.

A reader (another process, a resumed run, a sweep that skips finished runs) must never see
a half-written file: each writer writes a temporary file next to the target and moves it
into place with ``os.replace``, which is atomic on POSIX and Windows within one directory.
"""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any


@contextmanager
def atomic_path(path: str | os.PathLike, suffix: str = ".tmp") -> Iterator[Path]:
    """Yield a temporary path next to ``path``; on a clean exit move it onto ``path``.

    Write the file to the yielded path (``torch.save(obj, tmp)``, ``fig.savefig(tmp)``, ...).
    If the block raises, the temporary file is removed and ``path`` is left as it was.
    ``suffix`` is the temporary file's ending (writers that pick a format from the name,
    such as matplotlib and imageio, need the real one: ``".png"``, ``".gif"``). The parent
    directory is created; the file gets a normal file's mode (umask applied).
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, name = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=suffix)
    os.close(fd)
    tmp = Path(name)
    try:
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)  # mkstemp makes it private (0o600)
        yield tmp
        os.replace(tmp, path)
    finally:
        if tmp.exists():
            tmp.unlink()


def write_text_atomic(path: str | os.PathLike, text: str) -> None:
    """Write ``text`` (UTF-8) to ``path`` atomically."""
    with atomic_path(path) as tmp:
        tmp.write_text(text, encoding="utf-8")


def write_json_atomic(path: str | os.PathLike, data: Any) -> None:
    """Write ``data`` as indented JSON (with a final newline) to ``path`` atomically."""
    write_text_atomic(path, json.dumps(data, indent=2) + "\n")


__all__ = ["atomic_path", "write_json_atomic", "write_text_atomic"]
