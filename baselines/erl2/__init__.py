"""E-RL² (Stadie et al., 2018), the DREAM paper's end-to-end baseline, on the shared learner.

* ``python -m baselines.erl2.train --env MetaMap-v0``: meta-train (see :mod:`.train`).
* ``load_agent(env_id, checkpoint=None)``: the harness entry point, from a run's ``final.pt``
  or, without one, the shipped ``checkpoints/<env_id>.pt`` (``ENV_IDS``: the envs shipped).
"""

from baselines.erl2.agent import ERL2Networks, load_agent
from baselines.erl2.config import ERL2Config
from evaluation.protocol import Training, shipped_env_ids

#: The envs with a shipped checkpoint (``checkpoints/<env_id>.pt``, put there by
#: ``python -m evaluation.ship``): what ``python -m evaluation.score`` scores without ``--env``.
ENV_IDS: tuple[str, ...] = shipped_env_ids(__file__)

#: How ``python -m evaluation.sweep --agents erl2`` trains it (see ``evaluation.protocol``).
TRAINING = Training(cli="baselines.erl2.train", checkpoint="final.pt", resume_from="checkpoint.pt",
                    curve="progress.csv", curve_columns=("env_steps", "test_normalised"), label="E-RL²")

__all__ = ["ENV_IDS", "TRAINING", "ERL2Config", "ERL2Networks", "load_agent"]
