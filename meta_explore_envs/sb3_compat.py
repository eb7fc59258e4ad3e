"""A one-line fix for Stable-Baselines3 recurrent policies on these envs with torch >= 2.13.

SB3 (2.9.2) computes the feature size of a ``MultiDiscrete`` observation as
``sum(space.nvec)``, a ``numpy.int64``; since torch 2.13, ``nn.LSTM`` rejects sizes that are
not Python ``int``, so ``RecurrentPPO("MultiInputLstmPolicy", env)`` fails at construction on
any Dict observation with a ``MultiDiscrete`` key (ours: ``observation``, and the cooking
``instruction``). Feed-forward policies (``PPO("MultiInputPolicy")``, ``DQN``) are unaffected.

Usage::

    from sb3_contrib import RecurrentPPO
    from meta_explore_envs.sb3_compat import recurrent_policy_kwargs

    model = RecurrentPPO("MultiInputLstmPolicy", env, policy_kwargs=recurrent_policy_kwargs())

This module imports Stable-Baselines3, which the package itself does not need.
"""

from __future__ import annotations

from typing import Any

from gymnasium import spaces
from stable_baselines3.common.torch_layers import CombinedExtractor


class IntCombinedExtractor(CombinedExtractor):
    """SB3's ``CombinedExtractor`` with ``features_dim`` as a Python ``int``."""

    def __init__(self, observation_space: spaces.Dict, **kwargs: Any) -> None:
        super().__init__(observation_space, **kwargs)
        self._features_dim = int(self._features_dim)


def recurrent_policy_kwargs(**policy_kwargs: Any) -> dict[str, Any]:
    """``policy_kwargs`` for sb3-contrib's ``MultiInputLstmPolicy`` that work with torch >= 2.13."""
    return {"features_extractor_class": IntCombinedExtractor, **policy_kwargs}
