"""VariBAD (Zintgraf et al., ICLR 2020), the DREAM paper's baseline that learns a belief over
the task with a VAE, on the shared learner.

* ``python -m baselines.varibad.train --env MetaMap-v0``: meta-train (see :mod:`.train`, whose
  docstring lists the deviations from VariBAD's paper).
* ``load_agent(env_id, checkpoint)``: the harness entry point, from a run's ``final.pt``. No
  checkpoint is shipped yet (so no ``ENV_IDS``): without one it says how to train one.
"""

from baselines.varibad.agent import VariBADNetworks, load_agent
from baselines.varibad.config import VariBADConfig
from evaluation.protocol import Training

#: How ``python -m evaluation.sweep --agents varibad`` trains it (see ``evaluation.protocol``).
TRAINING = Training(cli="baselines.varibad.train", checkpoint="final.pt", resume_from="checkpoint.pt",
                    curve="progress.csv", curve_columns=("env_steps", "test_normalised"))

__all__ = ["TRAINING", "VariBADConfig", "VariBADNetworks", "load_agent"]
