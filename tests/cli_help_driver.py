"""``--help`` of many command lines for one import of the heavy libraries (tests/test_docs.py).

``python tests/cli_help_driver.py '[["module", "evaluation.score"], ["script", "benchmarks/x.py"]]'``
prints a JSON list of ``[exit status, output]``, one per command line. Each one runs in a
forked child, as ``python -m MODULE --help`` / ``python SCRIPT --help`` would run it (runpy,
``sys.argv``, the script's folder first on ``sys.path``, stdout and stderr captured at the file
descriptors), so commands cannot see each other's state; the libraries every CLI imports
(numpy, torch, gymnasium, tyro) are imported once before the forks instead of once per
command, which is what made one subprocess per command slow (~3 s each).
"""

from __future__ import annotations

import json
import os
import runpy
import sys
import tempfile
import traceback

import gymnasium  # noqa: F401
import numpy  # noqa: F401
import torch  # noqa: F401
import tyro  # noqa: F401


def _child(kind: str, target: str, capture_fd: int) -> int:
    os.dup2(capture_fd, 1), os.dup2(capture_fd, 2)
    sys.argv = [target, "--help"]
    try:
        if kind == "module":
            runpy.run_module(target, run_name="__main__", alter_sys=True)
        else:
            sys.path.insert(0, os.path.dirname(os.path.abspath(target)))
            runpy.run_path(target, run_name="__main__")
        status = 0
    except SystemExit as stop:
        status = stop.code if isinstance(stop.code, int) else (0 if stop.code is None else 1)
    except BaseException:  # noqa: BLE001  (reported as a failed command, like an uncaught error)
        traceback.print_exc()
        status = 1
    sys.stdout.flush(), sys.stderr.flush()
    return status


def main(commands: list[tuple[str, str]]) -> list[tuple[int, str]]:
    results = []
    for kind, target in commands:
        with tempfile.TemporaryFile() as capture:
            pid = os.fork()
            if pid == 0:
                os._exit(_child(kind, target, capture.fileno()))
            _, wait_status = os.waitpid(pid, 0)
            capture.seek(0)
            results.append((os.waitstatus_to_exitcode(wait_status), capture.read().decode(errors="replace")))
    return results


if __name__ == "__main__":
    print(json.dumps(main(json.loads(sys.argv[1]))))
