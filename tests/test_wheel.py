"""The wheel works: built, installed non-editable into a throw-away venv and used from another
directory, it scores the shipped DREAM agent with the shipped checkpoint and the shipped
bounds table (nothing recomputed), exactly as the repository does."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import sysconfig
import venv
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SCORE = ["-m", "evaluation.score", "--agent", "baselines.dream", "--env", "MetaMap-v0", "--trials", "20", "--seeds",
         "0", "--no-progress"]


def _score(python: str, cwd: Path, out: Path, cache: Path, pythonpath: str | None = None) -> dict:
    env = {**os.environ, "META_EXPLORE_ENVS_CACHE": str(cache)}
    env.pop("PYTHONPATH", None)
    if pythonpath:
        env["PYTHONPATH"] = pythonpath
    result = subprocess.run([python, *SCORE, "--out", str(out)], cwd=cwd, env=env, capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr
    return json.loads((out / "results.json").read_text())


@pytest.mark.slow
def test_the_installed_wheel_scores_with_the_shipped_files(tmp_path):
    # Built from a copy of the source, so that no build/ folder (with stale files in it) is
    # left in, or read from, the checkout.
    source = tmp_path / "source"
    shutil.copytree(ROOT, source, ignore=shutil.ignore_patterns(
        ".git", ".venv", "build", "dist", "*.egg-info", "__pycache__", "runs", "results", "demo_output", ".*_cache"))
    dist = tmp_path / "dist"
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q", "-w", str(dist),
                    str(source)], check=True, capture_output=True)
    (wheel,) = dist.glob("meta_explore_envs-*.whl")
    names = zipfile.ZipFile(wheel).namelist()
    for data in ("evaluation/data/reference_bounds.json", "baselines/dream/checkpoints/MetaMap-v0.pt",
                 "meta_explore_envs/envs/textures/"):
        assert any(n.startswith(data) for n in names), f"{data} is not in the wheel"

    # A throw-away venv with the wheel installed non-editable. Its dependencies are the test
    # venv's (already installed; no download), reached through a path entry placed after the
    # new venv's own site-packages, so the wheel's packages are the ones imported.
    target = tmp_path / "venv"
    venv.EnvBuilder(with_pip=False).create(target)
    python = str(target / "bin" / "python")
    site = subprocess.run([python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                          check=True, capture_output=True, text=True).stdout.strip()
    with zipfile.ZipFile(wheel) as archive:
        archive.extractall(site)  # a wheel install is an unpacked archive (no scripts here)
    (Path(site) / "zz_test_dependencies.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    where = subprocess.run([python, "-c", "import meta_explore_envs, evaluation, baselines.dream as d; "
                            "print(meta_explore_envs.__file__); print(d.ENV_IDS)"],
                           cwd=elsewhere, check=True, capture_output=True, text=True).stdout.splitlines()
    assert where[0].startswith(site), f"imported {where[0]}, not the installed wheel in {site}"
    assert "MetaMap-v0" in where[1]

    cache = tmp_path / "cache"
    installed = _score(python, elsewhere, tmp_path / "installed", cache)
    assert not cache.exists() or not list(cache.rglob("*.json")), "the installed package recomputed bounds"
    repo = _score(sys.executable, ROOT, tmp_path / "repo", tmp_path / "repo-cache")
    (mine,), (theirs,) = installed["results"], repo["results"]
    (checkpoint,) = mine["agent"]["checkpoints"]
    assert checkpoint["path"].startswith(site), checkpoint  # the wheel's shipped checkpoint
    assert checkpoint["sha256"] == theirs["agent"]["checkpoints"][0]["sha256"]
    for key in ("mean_return", "normalised", "bounds"):
        assert mine[key] == theirs[key], key
    assert [run["exploit_returns"] for run in mine["runs"]] == [run["exploit_returns"] for run in theirs["runs"]]
