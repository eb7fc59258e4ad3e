"""The agent protocol of the benchmark (spec, section 7) and how agents are loaded.

An agent is a module (``baselines.random``, ``baselines.dream``, your own) exposing::

    load_agent(env_id: str, checkpoint: str | None = None, **kwargs) -> Agent

The harness passes the env settings it uses as keyword arguments: ``split``, ``setting``,
``num_exploit_episodes`` and ``seed`` (so that an agent can know the split's prior and
seed its own randomness); agents must accept and may ignore any others (``**kwargs``).

An ``Agent`` has:

* ``reset() -> None``: called at the start of every trial;
* ``act(observation: dict) -> int``: the observation of :class:`~meta_explore_envs.trial.TrialEnv`
  (keys ``observation``, ``instruction``, ``episode``, ``prev_action``, ``prev_reward``);
  it never gets ``info``, and the env never tells it the problem.

Optional, for speed (the harness uses it when present):

* ``act_batch(observations: dict[str, np.ndarray], new_trial: np.ndarray) -> np.ndarray``:
  the observations of ``B`` trial slots stacked on a leading axis (like a Gymnasium vector
  env), ``new_trial[i]`` True when slot ``i`` starts a new trial (forget slot ``i``'s
  memory); returns ``B`` integer actions. Slots are stable: slot ``i`` always runs in the
  same env. A slot whose trials are done keeps receiving its last observation and its
  action is ignored.

**Privileged (cheating) agents.** An agent that must know the problem (the oracle, planners
that define bounds) sets ``privileged = True`` and implements
``act_privileged(observation: dict, env: TrialEnv) -> int`` instead of ``act``: the harness
hands it the live :class:`~meta_explore_envs.trial.TrialEnv` (which it must only read:
``env.problem_id``, ``env.episode``, ``env.episode_env.state``, ...). Reports mark such
agents as privileged; their scores are references, not results.

**Envs.** A module may define ``ENV_IDS`` (a sequence of env ids): the envs it can play
(e.g. those it has shipped checkpoints for). ``python -m evaluation.score`` without
``--env`` then scores it on those only; an ``--env`` given explicitly is always tried.
Without ``ENV_IDS`` the default is every registered env. A module whose envs depend on the
checkpoint (``baselines.sb3``: the envs whose spaces a saved model fits) may define
``checkpoint_env_ids(checkpoint) -> Sequence[str] | None``: with ``--checkpoint`` and
without ``--env``, ``evaluation.score`` scores the envs it returns (``None``: fall back to
``ENV_IDS``); it should raise, with a clear message, for a checkpoint it cannot play, so
that the CLI stops before any work.

**Module or file.** ``--agent`` takes a module name (``baselines.random``; your
``my_agent.py`` as ``my_agent`` when its folder is on ``PYTHONPATH`` or is the current
directory) or the path of a Python file (``--agent path/to/my_agent.py``), imported from
that file.

**Checkpoints.** ``python -m evaluation.score --checkpoint PATH`` passes ``PATH`` to
``load_agent``; ``results.json`` records it with the file's SHA-256. An agent that loads a
checkpoint of its own choosing (a shipped default when ``checkpoint`` is None) should set
the optional attribute ``checkpoint_path`` (str or path) to the file it loaded: the report
then records and hashes that file instead.

**Training (for sweeps).** A module that can be trained by ``python -m evaluation.sweep``
defines ``TRAINING``, a :class:`Training`: the module of its training CLI and the files that
CLI writes. The sweep runs ``python -m <cli> --env ENV --seed SEED --out DIR [--total-steps N]
[--threads K] [--resume] --no-progress`` (so the CLI must take those flags), then scores
``DIR/<checkpoint>`` with ``python -m evaluation.score --checkpoint``.

**Shipped checkpoints.** A trained agent package ships its checkpoints in its own folder,
``<package>/checkpoints/<env_id><suffix>`` (the suffix of ``TRAINING.checkpoint``: ``.pt``,
``.zip``) with ``<env_id>.json`` beside each: the command that trained it and how it was
chosen. ``python -m evaluation.ship SWEEP --agent NAME`` puts them there, chosen from a
sweep by a rule on the train split; :func:`shipped_checkpoint` and :func:`shipped_env_ids`
find them (``load_agent`` without ``checkpoint``; ``ENV_IDS``).

**Errors.** Everything that goes wrong on the agent's side raises :class:`AgentError`
(a ``ValueError`` and a ``TypeError``) whose message names the agent module and the problem:
a module that cannot be imported or has no ``load_agent``, ``load_agent`` raising or
returning something that is not an agent, and, in :func:`~evaluation.harness.run_trials`,
an invalid action (with the env, seed, trial, episode, step, the value and the valid range)
or an exception raised by ``reset``/``act``/``act_batch``/``act_privileged`` (chained as
``__cause__``). The score CLI prints the message and exits with status 2.
"""

from __future__ import annotations

import dataclasses
import hashlib
import importlib
import importlib.util
import os
import sys
from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

import numpy as np

if TYPE_CHECKING:
    from meta_explore_envs.trial import TrialEnv


@runtime_checkable
class Agent(Protocol):
    """What the harness calls (see the module docstring)."""

    def reset(self) -> None: ...

    def act(self, observation: dict[str, Any]) -> int: ...


@runtime_checkable
class BatchedAgent(Protocol):
    """An agent that can act for several trial slots at once."""

    def reset(self) -> None: ...

    def act_batch(self, observations: dict[str, np.ndarray], new_trial: np.ndarray) -> np.ndarray: ...


@runtime_checkable
class PrivilegedAgent(Protocol):
    """A cheating agent: it reads the live trial env (problem, state)."""

    privileged: bool

    def reset(self) -> None: ...

    def act_privileged(self, observation: dict[str, Any], env: TrialEnv) -> int: ...


@dataclasses.dataclass(frozen=True)
class Training:
    """How ``python -m evaluation.sweep`` trains an agent module (see the module docstring).

    Paths are relative to the run's ``--out`` folder.
    """

    cli: str
    """Module of the training CLI, run as ``python -m <cli>``."""
    checkpoint: str
    """File written when training has finished (written atomically: its presence means done);
    passed to ``evaluation.score --checkpoint``."""
    resume_from: str | None = None
    """File whose presence means an unfinished run can continue (then ``--resume`` is passed);
    ``None``: the CLI cannot resume, an unfinished run starts again."""
    curve: str | None = None
    """CSV file of the learning curve, if any (one row per evaluation)."""
    curve_columns: tuple[str, str] = ("env_steps", "test_normalised")
    """The curve's columns: env steps and the normalised test score (rows where the score is
    empty are skipped)."""
    threads_flag: bool = True
    """Whether the CLI takes ``--threads K`` (the sweep passes ``--cpus-per-run``)."""
    label: str | None = None
    """The method's name in reports (``"IMPORT"`` for ``baselines.import_``); ``None``: the
    agent's name as given to the sweep."""


#: The folder of a package's shipped checkpoints (see the module docstring).
SHIPPED_FOLDER = "checkpoints"


def shipped_folder(package_file: str | os.PathLike) -> Path:
    """``<package>/checkpoints`` of the package whose ``__init__.py`` (or any module file) is
    ``package_file``."""
    return Path(package_file).resolve().parent / SHIPPED_FOLDER


def shipped_checkpoint(package_file: str | os.PathLike, env_id: str, suffix: str = ".pt") -> Path | None:
    """The package's shipped checkpoint for ``env_id``, or ``None`` when it ships none."""
    path = shipped_folder(package_file) / f"{env_id}{suffix}"
    return path if path.is_file() else None


def shipped_env_ids(package_file: str | os.PathLike, suffix: str = ".pt") -> tuple[str, ...]:
    """The envs the package ships a checkpoint for, sorted (a module's ``ENV_IDS``)."""
    return tuple(sorted(p.stem for p in shipped_folder(package_file).glob(f"*{suffix}")))


def is_privileged(agent: Any) -> bool:
    """Whether ``agent`` declares itself privileged (``privileged = True``)."""
    return getattr(agent, "privileged", False) is True


def is_batched(agent: Any) -> bool:
    """Whether ``agent`` implements ``act_batch`` (privileged agents are never batched)."""
    return callable(getattr(agent, "act_batch", None)) and not is_privileged(agent)


class AgentError(ValueError, TypeError):
    """An agent module or agent that does not work: the message names the module and the problem."""


def check_agent(agent: Any, name: str = "agent") -> Any:
    """Return ``agent`` if it follows the protocol, else raise :class:`AgentError` saying what is missing."""
    if not callable(getattr(agent, "reset", None)):
        raise AgentError(f"{name} ({type(agent).__name__}) has no reset() method: see evaluation.protocol")
    if is_privileged(agent):
        if not callable(getattr(agent, "act_privileged", None)):
            raise AgentError(f"{name} ({type(agent).__name__}) is privileged but has no act_privileged(observation, "
                             "env)")
    elif not callable(getattr(agent, "act", None)) and not callable(getattr(agent, "act_batch", None)):
        raise AgentError(f"{name} ({type(agent).__name__}) has neither act(observation) nor act_batch(observations, "
                         "new_trial): see evaluation.protocol")
    return agent


EXAMPLE_MODULES = ("baselines.random", "baselines.oracle", "baselines.no_exploration", "baselines.thompson",
                   "baselines.dream")


def _is_file_path(module: str) -> bool:
    return module.endswith(".py") or "/" in module or os.sep in module


def _import_file(path_text: str) -> ModuleType:
    """Import the agent module in the file ``path_text`` (``--agent path/to/my_agent.py``).

    It is imported under its file's stem (``my_agent``), or a name made unique with a hash of
    its path when another module already has that name (``random.py``); its folder is
    appended to ``sys.path`` so that it can import the modules beside it. Importing the same
    file again returns the same module."""
    path = Path(path_text).expanduser().resolve()
    if path.suffix != ".py":
        raise AgentError(f"agent module {path_text!r} is a path but not a Python file: pass a file "
                         f"path ending in .py, or put its folder on PYTHONPATH and pass the module name "
                         f"(e.g. {Path(path_text).stem!r})")
    if not path.is_file():
        raise AgentError(f"agent module {path_text!r}: no such file ({path}); pass the path of a .py file, or "
                         "put its folder on PYTHONPATH and pass the module name")
    name = path.stem
    existing = sys.modules.get(name)
    if existing is not None and getattr(existing, "__file__", None) != str(path):
        name = f"{path.stem}_{hashlib.sha256(str(path).encode()).hexdigest()[:8]}"
        existing = sys.modules.get(name)
    if existing is not None:
        return existing
    if str(path.parent) not in sys.path:
        sys.path.append(str(path.parent))
    spec = importlib.util.spec_from_file_location(name, path)
    mod = importlib.util.module_from_spec(spec)
    sys.modules[name] = mod
    try:
        spec.loader.exec_module(mod)
    except BaseException:
        del sys.modules[name]
        raise
    return mod


def import_agent_module(module: str) -> ModuleType:
    """Import ``module`` and check that it has a ``load_agent`` function; else raise :class:`AgentError`.

    ``module`` is a module name (``baselines.random``, ``my_agent`` with its folder on
    ``PYTHONPATH``) or the path of a Python file (``path/to/my_agent.py``), imported from that
    file (see :func:`_import_file`)."""
    if not isinstance(module, str) or not module:
        raise AgentError(f"agent module must be a module name such as 'baselines.random', got {module!r}")
    try:
        mod = _import_file(module) if _is_file_path(module) else importlib.import_module(module)
    except AgentError:
        raise
    except ModuleNotFoundError as error:
        missing = error.name or ""
        if module == missing or module.startswith(missing + "."):
            raise AgentError(f"agent module {module!r} cannot be imported: no module named {missing!r} "
                             f"(examples: {', '.join(EXAMPLE_MODULES)}; your own: the path of its .py file, "
                             "or its module name with its folder on PYTHONPATH)") from error
        raise AgentError(f"agent module {module!r} cannot be imported: it needs the missing module {missing!r} "
                         f"({error})") from error
    except Exception as error:  # noqa: BLE001  (any failure of the module's own code)
        raise AgentError(f"agent module {module!r} cannot be imported: {type(error).__name__}: {error}") from error
    if not callable(getattr(mod, "load_agent", None)):
        raise AgentError(f"agent module {module!r} has no load_agent(env_id, checkpoint=None, **kwargs) function "
                         "(see evaluation.protocol)")
    return mod


def module_env_ids(module: str, checkpoint: str | None = None) -> list[str] | None:
    """The envs the module can play, or ``None`` when it does not say: with a ``checkpoint``,
    what its ``checkpoint_env_ids(checkpoint)`` returns (if it defines it and does not return
    ``None``), else its ``ENV_IDS``. ``checkpoint_env_ids`` raising becomes an :class:`AgentError`."""
    mod = import_agent_module(module)
    by_checkpoint = getattr(mod, "checkpoint_env_ids", None)
    if checkpoint is not None and callable(by_checkpoint):
        try:
            env_ids = by_checkpoint(checkpoint)
        except Exception as error:  # noqa: BLE001  (reported with the module's name)
            raise AgentError(f"agent module {module!r}: checkpoint_env_ids({checkpoint!r}) raised "
                             f"{type(error).__name__}: {error}") from error
        if env_ids is not None:
            return [str(e) for e in env_ids]
    env_ids = getattr(mod, "ENV_IDS", None)
    return None if env_ids is None else [str(e) for e in env_ids]


def load_agent_module(module: str, env_id: str, checkpoint: str | None = None, **kwargs: Any) -> Any:
    """Import ``module``, call its ``load_agent(env_id, checkpoint, **kwargs)`` and check the result.

    Raises :class:`AgentError` naming the module when it cannot be imported, has no
    ``load_agent``, ``load_agent`` raises, or the agent does not follow the protocol.
    """
    load = import_agent_module(module).load_agent
    try:
        agent = load(env_id, checkpoint, **kwargs)
    except Exception as error:  # noqa: BLE001  (reported with the module's name)
        raise AgentError(f"agent module {module!r}: load_agent({env_id!r}, checkpoint={checkpoint!r}) raised "
                         f"{type(error).__name__}: {error}") from error
    return check_agent(agent, name=f"the agent of {module!r}")


def agent_name(agent: Any) -> str:
    """A short name for reports: the agent's ``name`` attribute, else its class name."""
    return str(getattr(agent, "name", type(agent).__name__))


__all__ = ["Agent", "AgentError", "BatchedAgent", "PrivilegedAgent", "Training", "agent_name", "check_agent",
           "import_agent_module", "is_batched", "is_privileged", "load_agent_module", "module_env_ids",
           "shipped_checkpoint", "shipped_env_ids", "shipped_folder"]
