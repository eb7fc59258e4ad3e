"""E-RL² (Stadie et al., 2018), the DREAM paper's end-to-end baseline, on the shared learner.

* ``python -m baselines.erl2.train --env MetaMap-v0``: meta-train (see :mod:`.train`).
* ``load_agent(env_id, checkpoint)``: the harness entry point, from a run's ``final.pt``. No
  checkpoint is shipped yet (so no ``ENV_IDS``): without one it says how to train one.
"""

from baselines.erl2.agent import ERL2Networks, load_agent
from baselines.erl2.config import ERL2Config
from evaluation.protocol import Training

#: How ``python -m evaluation.sweep --agents erl2`` trains it (see ``evaluation.protocol``).
TRAINING = Training(cli="baselines.erl2.train", checkpoint="final.pt", resume_from="checkpoint.pt",
                    curve="progress.csv", curve_columns=("env_steps", "test_normalised"))

__all__ = ["TRAINING", "ERL2Config", "ERL2Networks", "load_agent"]
