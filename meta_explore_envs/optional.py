"""Optional dependencies, imported where they are used.

The core install (``pip install meta-explore-envs``) needs only gymnasium and numpy. Drawing
frames needs pygame (extra ``[render]``), MetaSign3D needs MiniWorld (``[3d]``), the agents
need torch and Stable-Baselines3 (``[agents]``), and reports need matplotlib, rich and tyro
(``[report]``); ``[all]`` has everything. Each is imported through :func:`require`, so a
missing one raises ``gymnasium.error.DependencyNotInstalled`` naming the extra to install.
"""

from __future__ import annotations

import importlib
from typing import Any

from gymnasium.error import DependencyNotInstalled


def require(module: str, extra: str) -> Any:
    """``importlib.import_module(module)``, or ``DependencyNotInstalled`` naming ``extra`` when
    the package is not installed. Other import failures (a package that is installed but
    cannot load a system library) propagate unchanged: installing the extra would not help."""
    try:
        return importlib.import_module(module)
    except ModuleNotFoundError as error:
        if error.name is None or not module.startswith(error.name.split(".")[0]):
            raise
        raise DependencyNotInstalled(
            f"{module.split('.')[0]} is not installed ({error}): pip install \"meta-explore-envs[{extra}]\""
        ) from error


__all__ = ["DependencyNotInstalled", "require"]
