"""What a DREAM checkpoint's explorer does: ``python -m evaluation.explorations --agent baselines.dream``.

Kept so that the older command still works:

    python -m baselines.dream.inspect_exploration --env MetaDistractingBus-v0 [--checkpoint RUN/final.pt]
        [--trials 200] [--seed 0] [--top 10] [--out DIR]

runs :mod:`evaluation.explorations` (the agent-agnostic inspector: the most common exploration
episodes as action strings, with their failed exploitation episodes, mean exploitation return
and exploration score) with ``--agent baselines.dream`` and the other flags as given.
"""

from __future__ import annotations

import sys

from evaluation import explorations
from evaluation.explorations import action_letters

#: The agent module this entry point inspects.
AGENT = "baselines.dream"


def main(args: list[str] | None = None) -> None:
    """``python -m evaluation.explorations --agent baselines.dream`` with ``args`` (default: the command line's)."""
    explorations.main(["--agent", AGENT, *(sys.argv[1:] if args is None else args)])


__all__ = ["AGENT", "action_letters", "main"]


if __name__ == "__main__":
    main()
