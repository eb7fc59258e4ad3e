"""IMPORT (Kamienny et al., 2020), the DREAM paper's baseline that uses the problem ID in
meta-training, on the shared learner (``import_``: ``import`` is a keyword; reports name it
"IMPORT").

* ``python -m baselines.import_.train --env MetaCooking-v0``: meta-train (see :mod:`.train`).
* ``load_agent(env_id, checkpoint=None)``: the harness entry point (the recurrent path only),
  from a run's ``final.pt`` or, without one, the shipped ``checkpoints/<env_id>.pt``
  (``ENV_IDS``: the envs shipped).
"""

from baselines.import_.agent import ImportNetworks, load_agent
from baselines.import_.config import ImportConfig
from evaluation.protocol import Training, shipped_env_ids

#: The envs with a shipped checkpoint (``checkpoints/<env_id>.pt``, put there by
#: ``python -m evaluation.ship``): what ``python -m evaluation.score`` scores without ``--env``.
ENV_IDS: tuple[str, ...] = shipped_env_ids(__file__)

#: How ``python -m evaluation.sweep --agents import_`` trains it (see ``evaluation.protocol``).
TRAINING = Training(cli="baselines.import_.train", checkpoint="final.pt", resume_from="checkpoint.pt",
                    curve="progress.csv", curve_columns=("env_steps", "test_normalised"), label="IMPORT")

__all__ = ["ENV_IDS", "TRAINING", "ImportConfig", "ImportNetworks", "load_agent"]
