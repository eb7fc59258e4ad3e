"""Estimators of gradient-based meta-RL: discounted returns, GAE, ProMP's linear feature
baseline, the DiCE magic box, and the PPO-clip loss.

Episodes are arrays with a leading task axis and a time axis, ``(N, T, ...)``: every episode
of MetaPointCorner lasts exactly ``T`` = 100 steps, so there is no padding. An episode's end is
treated as terminal (value 0 after it), as ProMP treats its paths.
"""

from __future__ import annotations

import numpy as np
import torch


def discounted_returns(rewards: np.ndarray, gamma: float) -> np.ndarray:
    """``G_t = sum_k gamma^k r_{t+k}`` along the last axis (returns-to-go)."""
    out = np.zeros_like(rewards, dtype=np.float64)
    running = np.zeros(rewards.shape[:-1])
    for t in range(rewards.shape[-1] - 1, -1, -1):
        running = rewards[..., t] + gamma * running
        out[..., t] = running
    return out


def gae(rewards: np.ndarray, values: np.ndarray, gamma: float, lam: float) -> np.ndarray:
    """Generalised advantage estimates (Schulman et al., 2016) along the last axis; ``values``
    has the rewards' shape (value after the last step: 0). ``lam=1``: returns minus values
    (REINFORCE with a baseline)."""
    next_values = np.concatenate([values[..., 1:], np.zeros((*values.shape[:-1], 1))], axis=-1)
    deltas = rewards + gamma * next_values - values
    return discounted_returns(deltas, gamma * lam)


def normalise(x: np.ndarray, axis: int | tuple[int, ...] | None = None, eps: float = 1e-8) -> np.ndarray:
    """``(x - mean) / (std + eps)`` over ``axis`` (None: all)."""
    return (x - x.mean(axis=axis, keepdims=True)) / (x.std(axis=axis, keepdims=True) + eps)


class LinearFeatureBaseline:
    """ProMP's (and rllab's) ``LinearFeatureBaseline``: a ridge regression of returns on the
    features ``[s, s^2, t, t^2, t^3, 1]`` (``t`` = step / 100), refitted on every batch.

    ``coefficients`` (a float64 array) is all its state, saved with the policy so that test-time
    adaptation uses the baseline of the last training batch.
    """

    def __init__(self, obs_dim: int, reg_coeff: float = 1e-5):
        self.reg_coeff = reg_coeff
        self.coefficients = np.zeros(2 * obs_dim + 4)

    @staticmethod
    def features(obs: np.ndarray) -> np.ndarray:
        """``(N, T, 2 d + 4)`` features of observations ``(N, T, d)``."""
        obs = np.clip(np.asarray(obs, dtype=np.float64), -10, 10)
        n, length = obs.shape[:2]
        t = np.broadcast_to((np.arange(length) / 100.0)[None, :, None], (n, length, 1))
        return np.concatenate([obs, obs**2, t, t**2, t**3, np.ones((n, length, 1))], axis=-1)

    def fit(self, obs: np.ndarray, returns: np.ndarray) -> None:
        """Least squares of ``returns`` (N, T) on the features of ``obs`` (N, T, d), with ridge
        regularisation raised tenfold until the solution is finite (as ProMP)."""
        x = self.features(obs).reshape(-1, len(self.coefficients))
        y = np.asarray(returns, dtype=np.float64).reshape(-1)
        reg = self.reg_coeff
        for _ in range(5):
            coefficients = np.linalg.lstsq(x.T @ x + reg * np.eye(x.shape[1]), x.T @ y, rcond=-1)[0]
            if np.all(np.isfinite(coefficients)):
                self.coefficients = coefficients
                return
            reg *= 10

    def predict(self, obs: np.ndarray) -> np.ndarray:
        """``(N, T)`` predicted returns."""
        return self.features(obs) @ self.coefficients


def magic_box(x: torch.Tensor) -> torch.Tensor:
    """DiCE's magic box (Foerster et al., 2018): ``exp(x - stop_grad(x))``: value 1, and
    ``grad magic_box(x) = magic_box(x) * grad x``, so ``magic_box(sum log pi) * R`` has the
    score-function estimator as its gradient, to any order."""
    return torch.exp(x - x.detach())


def ppo_clip_loss(logp: torch.Tensor, logp_old: torch.Tensor, advantages: torch.Tensor, clip: float) -> torch.Tensor:
    """PPO's clipped surrogate, negated for minimisation:
    ``-mean(min(r A, clip(r, 1 - eps, 1 + eps) A))`` with ``r = exp(logp - logp_old)``."""
    ratio = torch.exp(logp - logp_old)
    return -torch.min(ratio * advantages, ratio.clamp(1 - clip, 1 + clip) * advantages).mean()


__all__ = ["LinearFeatureBaseline", "discounted_returns", "gae", "magic_box", "normalise", "ppo_clip_loss"]
