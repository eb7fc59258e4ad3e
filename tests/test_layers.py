"""The house's rules: layers without arrows back up, no import cycles, and a core install
that imports only what it needs."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
#: Lower layers first: a module may import its own layer and the ones before it.
LAYERS = ("meta_explore_envs", "evaluation", "baselines")


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts = parts[:-1]
    return ".".join(parts)


def _modules() -> dict[str, Path]:
    return {_module_name(p): p for layer in LAYERS for p in sorted((ROOT / layer).rglob("*.py"))}


def _imports(name: str, path: Path, known: set[str]) -> set[str]:
    """Modules of the project that ``name`` imports anywhere (module level, in functions, under
    ``TYPE_CHECKING``). ``from package import submodule`` counts as importing the submodule."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parts = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join(parts + ([base] if base else []))
            for alias in node.names:
                found.add(f"{base}.{alias.name}" if f"{base}.{alias.name}" in known else base)
    return {m for m in found if m in known and m != name}


def import_graph() -> dict[str, set[str]]:
    modules = _modules()
    return {name: _imports(name, path, set(modules)) for name, path in modules.items()}


def test_no_import_from_a_higher_layer():
    wrong = [f"{a} imports {b}" for a, targets in import_graph().items() for b in sorted(targets)
             if LAYERS.index(b.split(".")[0]) > LAYERS.index(a.split(".")[0])]
    assert not wrong, "imports that run back up the layers:\n" + "\n".join(wrong)


def test_no_import_cycles():
    graph = import_graph()
    # Tarjan's strongly connected components: a component of two or more modules is a cycle.
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    cycles: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        for successor in sorted(graph[node]):
            if successor not in index:
                visit(successor)
                low[node] = min(low[node], low[successor])
            elif successor in stack:
                low[node] = min(low[node], index[successor])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                cycles.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    assert not cycles, f"import cycles: {cycles}"


def test_the_graph_sees_imports_inside_functions():
    # The checks above are only as good as the graph: it must see lazy imports too.
    graph = import_graph()
    assert "meta_explore_envs.grid.render" in graph["meta_explore_envs.grid.world"]  # inside render_frame
    assert "meta_explore_envs.envs.sign3d_world" in graph["meta_explore_envs.envs.sign3d"]  # inside a property


ISOLATION = """
import sys
import gymnasium as gym
import numpy as np
import meta_explore_envs

grid_ids = [e for e in meta_explore_envs.env_ids() if meta_explore_envs.family_class(
    meta_explore_envs.env_family(e)).tabular]
assert grid_ids == ["MetaCooking-v0", "MetaDistractingBus-v0", "MetaMap-v0"], grid_ids
for env_id in grid_ids:
    env = gym.make(env_id)
    env.reset(seed=0)
    rng = np.random.default_rng(0)
    for _ in range(100):
        _, _, terminated, _, _ = env.step(int(rng.integers(env.action_space.n)))
        if terminated:
            env.reset()
heavy = ("evaluation", "baselines", "torch", "matplotlib", "pygame", "miniworld", "pyglet", "rich", "tyro", "tqdm",
         "imageio", "stable_baselines3")
loaded = sorted(m for m in sys.modules if m.split(".")[0] in heavy)
print(loaded)
assert not loaded, loaded
"""


def test_the_env_package_imports_only_gymnasium_and_numpy():
    result = subprocess.run([sys.executable, "-c", ISOLATION], capture_output=True, text=True, cwd=ROOT)
    assert result.returncode == 0, result.stderr + result.stdout


MISSING_PYGAME = """
import sys
sys.modules["pygame"] = None  # what an install without the [render] extra looks like
import gymnasium as gym
import meta_explore_envs

env = gym.make("MetaMap-v0", render_mode="rgb_array")
env.reset(seed=0)
env.step(0)  # stepping needs nothing optional
try:
    env.render()
except gym.error.DependencyNotInstalled as error:
    print(error)
else:
    raise AssertionError("render() without pygame did not raise DependencyNotInstalled")
"""


def test_a_missing_optional_dependency_names_the_extra():
    result = subprocess.run([sys.executable, "-c", MISSING_PYGAME], capture_output=True, text=True, cwd=ROOT)
    assert result.returncode == 0, result.stderr + result.stdout
    assert 'pip install "meta-explore-envs[render]"' in result.stdout


@pytest.mark.parametrize("module, extra", [("miniworld", "3d")])
def test_a_family_needing_an_extra_names_it(module, extra):
    code = (f"import sys; sys.modules[{module!r}] = None\n"
            "import gymnasium as gym, meta_explore_envs\n"
            "try:\n    gym.make('MetaSign3D-v0').reset(seed=0)\n"
            "except gym.error.DependencyNotInstalled as error:\n    print(error)\n"
            "else:\n    raise AssertionError('no DependencyNotInstalled')\n")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT)
    assert result.returncode == 0, result.stderr + result.stdout
    assert f'pip install "meta-explore-envs[{extra}]"' in result.stdout
