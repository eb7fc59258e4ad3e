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


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    """The project's wheel, built once for this module."""
    tmp_path = tmp_path_factory.mktemp("wheel")
    # Built from a copy of the source, so that no build/ folder (with stale files in it) is
    # left in, or read from, the checkout.
    source = tmp_path / "source"
    shutil.copytree(ROOT, source, ignore=shutil.ignore_patterns(
        ".git", ".venv", "build", "dist", "*.egg-info", "__pycache__", "runs", "results", "demo_output", ".*_cache"))
    dist = tmp_path / "dist"
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q", "-w", str(dist),
                    str(source)], check=True, capture_output=True)
    (built,) = dist.glob("meta_explore_envs-*.whl")
    return built


def _venv_with(wheel: Path, target: Path, dependencies: Path) -> tuple[str, str]:
    """A throw-away venv with ``wheel`` installed non-editable (a wheel install is an unpacked
    archive; it has no scripts) and ``dependencies`` (a site-packages folder) on its path after
    its own site-packages, so that the wheel's packages are the ones imported. No download."""
    venv.EnvBuilder(with_pip=False).create(target)
    python = str(target / "bin" / "python")
    site = subprocess.run([python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                          check=True, capture_output=True, text=True).stdout.strip()
    with zipfile.ZipFile(wheel) as archive:
        archive.extractall(site)
    (Path(site) / "zz_test_dependencies.pth").write_text(f"{dependencies}\n")
    return python, site


@pytest.mark.slow
def test_the_installed_wheel_scores_with_the_shipped_files(wheel, tmp_path):
    # Its dependencies are the test venv's (all extras), already installed.
    python, site = _venv_with(wheel, tmp_path / "venv", Path(sysconfig.get_paths()["purelib"]))
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


#: What ``pip install meta-explore-envs`` installs besides the package: gymnasium, numpy and
#: gymnasium's own dependencies (top-level names in site-packages).
CORE = ("gymnasium", "numpy", "numpy.libs", "cloudpickle", "farama_notifications", "typing_extensions.py")

CORE_ONLY = """
import gymnasium as gym
import numpy as np
import meta_explore_envs

for env_id in ("MetaDistractingBus-v0", "MetaMap-v0", "MetaCooking-v0"):
    env = gym.make(env_id)
    env.reset(seed=0)
    for action in np.random.default_rng(0).integers(9, size=50):
        if env.step(int(action))[2]:
            env.reset()
for make in (lambda: gym.make("MetaMap-v0", render_mode="rgb_array"), lambda: gym.make("MetaSign3D-v0")):
    try:
        env = make()
        env.reset(seed=0)
        env.render()
    except gym.error.DependencyNotInstalled as error:
        print(error)
    else:
        raise AssertionError("no DependencyNotInstalled")
"""


@pytest.mark.slow
def test_the_core_install_needs_only_gymnasium_and_numpy(wheel, tmp_path):
    purelib = Path(sysconfig.get_paths()["purelib"])
    core = tmp_path / "core-site-packages"
    core.mkdir()
    for entry in purelib.iterdir():
        top = entry.name.split("-")[0].lower().replace(".py", "")
        if entry.name in CORE or (entry.suffix == ".dist-info" and top in {c.split(".")[0].lower() for c in CORE}):
            (core / entry.name).symlink_to(entry)
    python, _ = _venv_with(wheel, tmp_path / "venv", core)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    result = subprocess.run([python, "-c", CORE_ONLY], cwd=elsewhere, capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr
    assert 'pip install "meta-explore-envs[render]"' in result.stdout
    assert 'pip install "meta-explore-envs[3d]"' in result.stdout
    result = subprocess.run([python, "-m", "evaluation.score", "--help"], cwd=elsewhere, capture_output=True,
                            text=True)
    assert result.returncode != 0 and 'pip install "meta-explore-envs[report]"' in result.stderr, result.stderr
