"""The one atomic-write helper: readers see the old file or the new one, never a part."""

from __future__ import annotations

import json
import os
import stat

import pytest

from meta_explore_envs.files import atomic_path, write_json_atomic, write_text_atomic


def test_a_failed_write_leaves_the_old_file_and_no_temporary(tmp_path):
    target = tmp_path / "result.json"
    write_json_atomic(target, {"a": 1})
    with pytest.raises(ZeroDivisionError), atomic_path(target) as tmp:
        tmp.write_text("half a fi")
        raise ZeroDivisionError("the writer failed")
    assert json.loads(target.read_text()) == {"a": 1}
    assert [p.name for p in tmp_path.iterdir()] == ["result.json"]


def test_writes_create_folders_and_normal_file_modes(tmp_path):
    target = tmp_path / "deep" / "er" / "notes.md"
    write_text_atomic(target, "# hi\n")
    assert target.read_text() == "# hi\n"
    umask = os.umask(0)
    os.umask(umask)
    assert stat.S_IMODE(target.stat().st_mode) == 0o666 & ~umask  # not mkstemp's private 0o600
    with atomic_path(tmp_path / "plot.png", suffix=".png") as tmp:
        assert tmp.suffix == ".png" and tmp.parent == tmp_path  # same folder: os.replace is atomic
        tmp.write_bytes(b"png")
    assert (tmp_path / "plot.png").read_bytes() == b"png"
