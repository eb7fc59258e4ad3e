"""DREAM (Liu et al., ICML 2021): the reference agent of meta_explore_envs.

* ``python -m baselines.dream.train --env MetaMap-v0``: meta-train (see :mod:`.train`).
* ``load_agent(env_id, checkpoint=None)``: the harness entry point; without a checkpoint
  it loads the shipped one from ``baselines/dream/checkpoints/``.
"""

from baselines.dream.agent import CHECKPOINTS, DreamAgent, load_agent
from baselines.dream.config import DreamConfig
from evaluation.protocol import Training

#: The envs with a shipped checkpoint (``baselines/dream/checkpoints/<env_id>.pt``): what
#: ``python -m evaluation.score --agent baselines.dream`` scores when no ``--env`` is given.
ENV_IDS: tuple[str, ...] = tuple(sorted(p.stem for p in CHECKPOINTS.glob("*.pt")))

#: How ``python -m evaluation.sweep --agents dream`` trains it (see ``evaluation.protocol``).
TRAINING = Training(cli="baselines.dream.train", checkpoint="final.pt", resume_from="checkpoint.pt",
                    curve="progress.csv", curve_columns=("env_steps", "test_normalised"), label="DREAM")

__all__ = ["ENV_IDS", "TRAINING", "DreamAgent", "DreamConfig", "load_agent"]
