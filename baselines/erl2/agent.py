"""E-RL²'s network, acting and checkpoints.

One recurrent Q-network (:class:`~baselines.common.recurrent_q.networks.RecurrentQ`) reads
the whole trial: at every step it embeds the observation (state), the instruction, the
previous action, the previous reward (0 in the exploration episode) and the trial flags
(exploitation, first step of an episode:
:data:`~baselines.common.recurrent_q.whole_trial.TRIAL_FLAGS_NVEC`), and its memory is
never reset inside a trial. It never sees the problem ID. Acting (training and the
harness) is :class:`~baselines.common.recurrent_q.whole_trial.WholeTrialActor`.
"""

from __future__ import annotations

import importlib
import os
from collections.abc import Callable
from typing import Any

from torch import nn

from baselines.common.recurrent_q.agent import RecurrentAgent, check_policy_env, read_policy_checkpoint
from baselines.common.recurrent_q.networks import ObsSpec, RecurrentQ
from baselines.common.recurrent_q.whole_trial import TRIAL_FLAGS_NVEC, WholeTrialActor
from evaluation.protocol import shipped_checkpoint, shipped_env_ids

POLICY_FORMAT = "erl2-policy-v1"
TRAIN_FORMAT = "erl2-train-v1"


class ERL2Networks(nn.Module):
    """Everything E-RL² learns: one recurrent Q-network over the whole trial (``q``)."""

    def __init__(self, spec: ObsSpec, hidden: int, memory: str = "gru", dueling: bool = True):
        super().__init__()
        self.spec, self.hidden, self.memory, self.dueling = spec, hidden, memory, dueling
        self.q = RecurrentQ(spec, hidden, memory=memory, dueling=dueling, extra_nvec=TRIAL_FLAGS_NVEC)

    def settings(self) -> dict[str, Any]:
        """What rebuilds the networks from a policy checkpoint (:meth:`from_settings`)."""
        return {"spec": self.spec.to_dict(), "hidden": self.hidden, "memory": self.memory, "dueling": self.dueling}

    @classmethod
    def from_settings(cls, data: dict[str, Any]) -> ERL2Networks:
        """Untrained networks shaped as ``data`` (a policy checkpoint, :meth:`settings`) records."""
        return cls(ObsSpec.from_dict(data["spec"]), int(data["hidden"]), str(data["memory"]), bool(data["dueling"]))

    def policy_state_dict(self) -> dict[str, Any]:
        """The weights acting needs (all of them)."""
        return self.state_dict()


def make_agent(nets: ERL2Networks, name: str = "erl2") -> RecurrentAgent:
    """The greedy harness agent of ``nets``."""
    agent = RecurrentAgent(lambda n: WholeTrialActor(nets.q, n), nets.spec)
    agent.name = name
    nets.eval()
    return agent


def policy_checkpoint(nets: ERL2Networks, env_id: str, config: dict[str, Any], meta: dict[str, Any],
                      policy_format: str = POLICY_FORMAT) -> dict[str, Any]:
    """The small policy checkpoint ``load_agent`` reads: acting weights, settings, config, metadata."""
    return {"format": policy_format, "env_id": env_id, **nets.settings(), "config": config, "meta": meta,
            "policy": {k: v.detach().clone() for k, v in nets.policy_state_dict().items()}}


def load_nets(data: dict[str, Any], path: str | os.PathLike, nets_class: type[ERL2Networks] = ERL2Networks,
              strict: bool = True) -> ERL2Networks:
    """The networks of a policy checkpoint (``strict=False``: the checkpoint may leave out
    weights acting does not need, such as IMPORT's problem embedding)."""
    nets = nets_class.from_settings(data)
    missing, unexpected = nets.load_state_dict(data["policy"], strict=False)
    needed = set(nets.policy_state_dict())
    missing = [k for k in missing if k in needed]
    if missing or unexpected:
        raise ValueError(f"checkpoint {str(path)!r}: weights do not match the networks: missing {missing}, "
                         f"unexpected {unexpected}")
    return nets


def load_checkpoint_agent(env_id: str, checkpoint: str | os.PathLike | None, kwargs: dict[str, Any], *,
                          method: str, package: str, policy_format: str, train_format: str,
                          nets_class: type[ERL2Networks], agent_of: Callable[[Any], RecurrentAgent]
                          ) -> RecurrentAgent:
    """``load_agent`` of a whole-trial method (E-RL², IMPORT, VariBAD): the greedy agent
    ``agent_of(nets)`` of the ``nets_class`` networks in ``checkpoint`` (a run's ``final.pt``;
    default: the one ``baselines.<package>`` ships for ``env_id``, see
    :func:`evaluation.protocol.shipped_checkpoint`), after checking the file and the env.
    Without either, ``FileNotFoundError`` naming the shipped envs and the training command."""
    if checkpoint is None:
        package_file = importlib.import_module(f"baselines.{package}").__file__
        checkpoint = shipped_checkpoint(package_file, env_id)
        if checkpoint is None:
            raise FileNotFoundError(
                f"no shipped {method} checkpoint for {env_id!r} (shipped: {list(shipped_env_ids(package_file))}): "
                f"train one with `python -m baselines.{package}.train --env {env_id} --seed 0 --out "
                f"runs/{package}-{env_id}` and pass --checkpoint runs/{package}-{env_id}/final.pt")
    data = read_policy_checkpoint(checkpoint, method, policy_format, train_format)
    check_policy_env(data, env_id, checkpoint, **kwargs)
    agent = agent_of(load_nets(data, checkpoint, nets_class))
    agent.checkpoint_path = str(checkpoint)
    return agent


def load_agent(env_id: str, checkpoint: str | os.PathLike | None = None, **kwargs: Any) -> RecurrentAgent:
    """The harness entry point: a greedy E-RL² agent for ``env_id`` from ``checkpoint`` (a
    run's ``final.pt``; default: the shipped one, ``baselines/erl2/checkpoints/<env_id>.pt``)."""
    return load_checkpoint_agent(env_id, checkpoint, kwargs, method="E-RL²", package="erl2",
                                 policy_format=POLICY_FORMAT, train_format=TRAIN_FORMAT, nets_class=ERL2Networks,
                                 agent_of=make_agent)
