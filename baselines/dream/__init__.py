"""DREAM (Liu et al., ICML 2021): the reference agent of meta_explore_envs.

* ``python -m baselines.dream.train --env MetaMap-v0``: meta-train (see :mod:`.train`).
* ``load_agent(env_id, checkpoint=None)``: the harness entry point; without a checkpoint
  it loads the shipped one from ``assets/dream/``.
"""

from baselines.dream.agent import DreamAgent, load_agent
from baselines.dream.config import DreamConfig

__all__ = ["DreamAgent", "DreamConfig", "load_agent"]
