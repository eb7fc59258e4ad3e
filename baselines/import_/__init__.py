"""IMPORT (Kamienny et al., 2020), the DREAM paper's baseline that uses the problem ID in
meta-training, on the shared learner (``import_``: ``import`` is a keyword; reports name it
"IMPORT").

* ``python -m baselines.import_.train --env MetaCooking-v0``: meta-train (see :mod:`.train`).
* ``load_agent(env_id, checkpoint)``: the harness entry point (the recurrent path only), from
  a run's ``final.pt``. No checkpoint is shipped yet (so no ``ENV_IDS``).
"""

from baselines.import_.agent import ImportNetworks, load_agent
from baselines.import_.config import ImportConfig
from evaluation.protocol import Training

#: How ``python -m evaluation.sweep --agents import_`` trains it (see ``evaluation.protocol``).
TRAINING = Training(cli="baselines.import_.train", checkpoint="final.pt", resume_from="checkpoint.pt",
                    curve="progress.csv", curve_columns=("env_steps", "test_normalised"))

__all__ = ["TRAINING", "ImportConfig", "ImportNetworks", "load_agent"]
