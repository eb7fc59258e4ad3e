"""VariBAD (Zintgraf et al., ICLR 2020), the DREAM paper's baseline that learns a belief over
the task with a VAE, on the shared learner.

* ``python -m baselines.varibad.train --env MetaMap-v0``: meta-train (see :mod:`.train`, whose
  docstring lists the deviations from VariBAD's paper).
* ``load_agent(env_id, checkpoint=None)``: the harness entry point, from a run's ``final.pt``
  or, without one, the shipped ``checkpoints/<env_id>.pt`` (``ENV_IDS``: the envs shipped).
"""

from baselines.varibad.agent import VariBADNetworks, load_agent
from baselines.varibad.config import VariBADConfig
from evaluation.protocol import Training, shipped_env_ids

#: The envs with a shipped checkpoint (``checkpoints/<env_id>.pt``, put there by
#: ``python -m evaluation.ship``): what ``python -m evaluation.score`` scores without ``--env``.
ENV_IDS: tuple[str, ...] = shipped_env_ids(__file__)

#: How ``python -m evaluation.sweep --agents varibad`` trains it (see ``evaluation.protocol``).
TRAINING = Training(cli="baselines.varibad.train", checkpoint="final.pt", resume_from="checkpoint.pt",
                    curve="progress.csv", curve_columns=("env_steps", "test_normalised"), label="VariBAD")

__all__ = ["ENV_IDS", "TRAINING", "VariBADConfig", "VariBADNetworks", "load_agent"]
