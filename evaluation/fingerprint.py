"""Fingerprints of source code, so that cached results go stale when the code they depend on changes."""

from __future__ import annotations

import ast
import functools
import hashlib
import importlib.util
from collections.abc import Iterable

#: Packages whose modules are followed through imports (others are treated as fixed).
FOLLOWED_PACKAGES = ("meta_explore_envs", "evaluation", "baselines")


def _strip_docstrings(tree: ast.AST) -> ast.AST:
    for node in ast.walk(tree):
        if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)):
            body = node.body
            if body and isinstance(body[0], ast.Expr) and isinstance(getattr(body[0], "value", None), ast.Constant) \
                    and isinstance(body[0].value.value, str):
                node.body = body[1:] or [ast.Pass()]
    return tree


def _module_tree(name: str) -> tuple[ast.AST | None, str | None]:
    spec = importlib.util.find_spec(name)
    if spec is None or not spec.origin or not spec.origin.endswith(".py"):
        return None, None
    with open(spec.origin, encoding="utf-8") as f:
        return ast.parse(f.read()), spec.origin


def _imported_modules(tree: ast.AST, name: str, is_package: bool) -> set[str]:
    """Every import of ``tree`` inside :data:`FOLLOWED_PACKAGES`, wherever it stands (module level,
    inside functions, under ``if TYPE_CHECKING``): a lazy import is code the result depends on."""
    found: set[str] = set()
    package = name if is_package else name.rpartition(".")[0]
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parts = package.split(".")
                base = ".".join(parts[: len(parts) - node.level + 1] + ([base] if base else []))
            found.add(base)
            found.update(f"{base}.{alias.name}" for alias in node.names)
    return {m for m in found if m.split(".")[0] in FOLLOWED_PACKAGES}


@functools.cache
def _module_code(name: str) -> tuple[str, frozenset[str]] | None:
    """The code of module ``name`` without docstrings (``ast.dump``) and the modules of
    :data:`FOLLOWED_PACKAGES` it imports; ``None`` if it is not a Python source module.
    Read once per process (the code does not change while it runs)."""
    try:
        tree, origin = _module_tree(name)
    except (ImportError, ValueError):  # "package.attribute" names are not modules
        return None
    if tree is None:
        return None
    imports = frozenset(_imported_modules(tree, name, origin.endswith("__init__.py")))
    return ast.dump(_strip_docstrings(tree)), imports


def source_fingerprint(modules: Iterable[str], extra: str = "") -> str:
    """SHA-256 of the code of ``modules`` and of every module they import (transitively, at
    any level) from :data:`FOLLOWED_PACKAGES`, without docstrings and comments (so that
    editing documentation does not invalidate caches), plus ``extra``."""
    digest = hashlib.sha256(extra.encode())
    seen: set[str] = set()
    pending = sorted(set(modules))
    while pending:
        name = pending.pop()
        if name in seen:
            continue
        seen.add(name)
        code = _module_code(name)
        if code is None:
            continue
        digest.update(name.encode())
        digest.update(code[0].encode())
        pending.extend(sorted(code[1] - seen))
    return digest.hexdigest()


__all__ = ["source_fingerprint"]
