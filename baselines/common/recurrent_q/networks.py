"""Recurrent Q-networks over the trial observations of the trial envs.

* :class:`ObsSpec`: how a trial env's observation dict becomes network input: the integer
  components of ``observation``, ``instruction`` and ``prev_action`` (each one-hot,
  implemented as one summed embedding table, :class:`ObsEmbedding`) plus the float
  ``prev_reward``; for a pixel observation (MetaSign3D: ``(60, 80, 3)`` uint8) the frame goes
  through a small CNN (:class:`FrameEncoder`) instead, and the integers are the instruction
  and the previous action only.
* :class:`MaxMemory`, :class:`GRUMemory`: the recurrent cells (``MEMORIES``).
* :class:`RecurrentQ`: embedding -> recurrent memory -> (dueling) Q head, optionally
  conditioned on a vector z; whole sequences (training) or one step (acting).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from gymnasium import spaces
from torch import nn


# ---------------------------------------------------------------------------- observations
@dataclass(frozen=True)
class ObsSpec:
    """How a trial env's observation dict becomes network input.

    ``ints``: ``observation`` components, then ``instruction`` components, then
    ``prev_action``, each an integer in ``[0, nvec[i])``; ``prev_reward`` is a float.

    ``frame_shape``: ``(H, W, C)`` when ``observation`` is an RGB frame (a ``Box`` of uint8);
    then ``obs_nvec`` is empty, the frame is passed beside the integers (``frames``: uint8
    ``(..., H, W, C)``) and every embedding reads it with its own :class:`FrameEncoder`.
    ``()`` for integer observations.
    """

    obs_nvec: tuple[int, ...]
    instr_nvec: tuple[int, ...]
    n_actions: int
    num_problems: int
    max_episode_steps: int
    frame_shape: tuple[int, ...] = ()

    @property
    def nvec(self) -> tuple[int, ...]:
        return (*self.obs_nvec, *self.instr_nvec, self.n_actions + 1)

    @property
    def num_ints(self) -> int:
        return len(self.nvec)

    @classmethod
    def from_env(cls, env: Any) -> ObsSpec:
        """The spec of a ``TrialEnv`` (or a ``gymnasium.make`` of one)."""
        trial = env.unwrapped
        space = trial.observation_space
        obs = space["observation"]
        frame_shape: tuple[int, ...] = ()
        if isinstance(obs, spaces.Box) and obs.dtype == np.uint8 and len(obs.shape) == 3:
            frame_shape, obs_nvec = tuple(int(n) for n in obs.shape), ()
        elif isinstance(obs, spaces.MultiDiscrete) and obs.nvec.ndim == 1:
            obs_nvec = tuple(int(n) for n in obs.nvec)
        else:
            raise ValueError(
                "the recurrent Q-networks read MultiDiscrete grid observations or (H, W, C) uint8 frames; "
                f"{trial.window_title()} has {obs}"
            )
        instr = space["instruction"]
        instr_nvec = (int(instr.n),) if isinstance(instr, spaces.Discrete) else tuple(int(n) for n in instr.nvec)
        return cls(
            obs_nvec=obs_nvec,
            instr_nvec=instr_nvec,
            n_actions=int(trial.action_space.n),
            num_problems=int(trial.episode_env.num_problems),
            max_episode_steps=int(trial.episode_env.max_episode_steps),
            frame_shape=frame_shape,
        )

    def to_dict(self) -> dict[str, Any]:
        data = {
            "obs_nvec": list(self.obs_nvec), "instr_nvec": list(self.instr_nvec), "n_actions": self.n_actions,
            "num_problems": self.num_problems, "max_episode_steps": self.max_episode_steps,
        }
        if self.frame_shape:  # (absent for integer observations, as in checkpoints saved before frames)
            data["frame_shape"] = list(self.frame_shape)
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ObsSpec:
        return cls(tuple(data["obs_nvec"]), tuple(data["instr_nvec"]), int(data["n_actions"]),
                   int(data["num_problems"]), int(data["max_episode_steps"]), tuple(data.get("frame_shape", ())))

    def encode_frames(self, observations: dict[str, np.ndarray]) -> np.ndarray | None:
        """The frames of a stacked observation dict, ``(B, H, W, C)`` uint8; None for integer observations."""
        if not self.frame_shape:
            return None
        frames = np.asarray(observations["observation"])
        if frames.dtype != np.uint8 or frames.shape[1:] != self.frame_shape:
            raise ValueError(f"observation frames of shape {frames.shape[1:]} and dtype {frames.dtype}; this agent "
                             f"expects (B, {', '.join(map(str, self.frame_shape))}) uint8")
        return frames

    def encode_batch(self, observations: dict[str, np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
        """Stacked observation dict (leading batch dim) -> ``ints (B, F) int64, rewards (B,) float32``
        (for frames, see :meth:`encode_frames`)."""
        batch = len(observations["prev_action"])
        instr = np.asarray(observations["instruction"]).reshape(batch, -1)
        prev_action = np.asarray(observations["prev_action"]).reshape(batch, 1)
        parts = (instr, prev_action)
        if not self.frame_shape:
            parts = (np.asarray(observations["observation"]).reshape(batch, -1), *parts)
        ints = np.concatenate(parts, axis=1).astype(np.int64)
        if ints.shape[1] != self.num_ints:
            raise ValueError(f"observation encodes to {ints.shape[1]} integers; this agent expects {self.num_ints}")
        rewards = np.asarray(observations["prev_reward"], dtype=np.float32).reshape(batch)
        return ints, rewards


class FrameEncoder(nn.Module):
    """A small CNN: uint8 RGB frames ``(..., H, W, C)`` -> features ``(..., out)``.

    Two convolutions (16 channels, kernel 8, stride 4; 32 channels, kernel 4, stride 2; ReLU)
    and a linear layer, on pixels scaled to [0, 1]. On an 80 x 60 frame that is ~1.2M
    multiply-adds, a seventh of the paper's three 32-channel layers (kernels 5, 5, 4, stride 2),
    which matters on a CPU: every replayed frame goes through it at every update.
    """

    def __init__(self, frame_shape: tuple[int, ...], out: int):
        super().__init__()
        height, width, channels = frame_shape
        self.conv = nn.Sequential(nn.Conv2d(channels, 16, 8, 4), nn.ReLU(), nn.Conv2d(16, 32, 4, 2), nn.ReLU(),
                                  nn.Flatten())
        with torch.no_grad():
            features = self.conv(torch.zeros(1, channels, height, width)).shape[1]
        self.linear = nn.Linear(features, out)

        #: The smaller over the two convolutions of the share of their channels that were
        #: positive somewhere in the last batch this encoder saw with gradients on, i.e. in
        #: training (NaN before any).
        #: A ReLU channel that is negative on every input gets no gradient and never recovers;
        #: at Adam's lr 3e-3 every channel of the Q-networks' encoders died this way on
        #: MetaSign3D (docs/sign3d.md), so training logs it (``frame_channels_alive``).
        self.channels_alive = float("nan")

    def forward(self, frames: torch.Tensor) -> torch.Tensor:
        """``(..., H, W, C)`` uint8 -> ``(..., out)``. All-zero frames are padding (the replay pads
        episodes with zeros past their end; a rendered frame is never all black): they are
        skipped and get zero features, which saves the convolutions of the padded steps of a
        batch (their outputs are masked out of every loss)."""
        lead = frames.shape[:-3]
        valid, x = _conv_input(frames)
        features = torch.zeros(len(valid), self.linear.out_features)
        if x is not None:
            shares = []
            for layer in self.conv:
                x = layer(x)
                if isinstance(layer, nn.ReLU) and torch.is_grad_enabled():
                    shares.append((x.detach().amax(dim=(0, 2, 3)) > 0).float().mean().item())  # no copy
            if shares:
                self.channels_alive = min(shares)
            features = features.index_put((valid,), self.linear(x))
        return features.reshape(*lead, -1)


#: The last frame tensors :func:`_conv_input` prepared, with what it made of them.
_PREPARED: list[tuple[torch.Tensor, int, tuple[torch.Tensor, torch.Tensor | None]]] = []


def frame_channels_alive(module: nn.Module) -> float:
    """The smallest :attr:`FrameEncoder.channels_alive` over the frame encoders in ``module``
    (NaN when it has none, or none has trained yet)."""
    values = [m.channels_alive for m in module.modules() if isinstance(m, FrameEncoder)]
    values = [v for v in values if v == v]
    return min(values) if values else float("nan")


def _conv_input(frames: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor | None]:
    """``(valid (N,) bool, x (n_valid, C, H, W) float in [0, 1] or None)`` for ``frames (..., H, W, C)``
    uint8, flattened to N frames.

    An update passes the same frame tensors to every network (exploration Q and its target,
    the decoder; exploitation Q and its target), and converting a batch's uint8 frames to
    float costs about as much as the convolutions: the result for the last two tensors is
    kept and reused while the tensor is the same object, unmodified (``_version``). The
    entry holds the tensor itself, so its identity cannot be taken by a new one."""
    for source, version, prepared in _PREPARED:
        if source is frames and version == frames._version:
            return prepared
    flat = frames.reshape(-1, *frames.shape[-3:])
    valid = flat.flatten(1).amax(1) > 0
    x = flat[valid].permute(0, 3, 1, 2).float().div_(255.0) if bool(valid.any()) else None
    _PREPARED.insert(0, (frames, frames._version, (valid, x)))
    del _PREPARED[2:]
    return valid, x


def random_shift(frames: torch.Tensor, pad: int, rng: np.random.Generator) -> torch.Tensor:
    """Random-shift augmentation (DrQ; Yarats et al., 2021): each frame of ``frames (..., H, W, C)``
    uint8 moved by its own whole-pixel offset in ``[-pad, pad]`` along each axis, the edge
    pixels repeated into the gap (as padding by replication, then cropping back to H x W).
    Same shape and dtype; exact (pixels are copied, not interpolated); an all-zero padding
    frame stays all zero. Offsets are drawn from ``rng``, so a run stays reproducible."""
    if pad < 0:
        raise ValueError(f"pad={pad} must be >= 0 (pixels)")
    lead = frames.shape[:-3]
    height, width = frames.shape[-3:-1]
    flat = frames.reshape(-1, *frames.shape[-3:])
    offsets = torch.from_numpy(rng.integers(-pad, pad + 1, size=(len(flat), 2)))
    rows = (torch.arange(height).unsqueeze(0) + offsets[:, :1]).clamp_(0, height - 1)  # (N, H)
    cols = (torch.arange(width).unsqueeze(0) + offsets[:, 1:]).clamp_(0, width - 1)  # (N, W)
    shifted = flat[torch.arange(len(flat))[:, None, None], rows[:, :, None], cols[:, None, :]]
    return shifted.reshape(*lead, *shifted.shape[-3:])


class ObsEmbedding(nn.Module):
    """Linear layer on the concatenated one-hots of the integer inputs (as a summed
    embedding lookup) plus the float reward (plus, with ``frame_shape``, a
    :class:`FrameEncoder` of the frame), then ReLU."""

    def __init__(self, nvec: tuple[int, ...], out: int, frame_shape: tuple[int, ...] = ()):
        super().__init__()
        offsets = np.concatenate(([0], np.cumsum(nvec)[:-1]))
        self.register_buffer("offsets", torch.as_tensor(offsets, dtype=torch.long), persistent=False)
        self.table = nn.Embedding(int(sum(nvec)), out)
        bound = 1 / np.sqrt(len(nvec) + 1)  # nn.Linear's init for a (len(nvec) + 1)-hot input
        nn.init.uniform_(self.table.weight, -bound, bound)
        self.reward = nn.Linear(1, out)
        self.frames = FrameEncoder(frame_shape, out) if frame_shape else None

    def forward(self, ints: torch.Tensor, rewards: torch.Tensor, frames: torch.Tensor | None = None) -> torch.Tensor:
        """``ints (..., F)``, ``rewards (...)``, ``frames (..., H, W, C)`` uint8 (only with
        ``frame_shape``) -> ``(..., out)``."""
        x = self.table(ints + self.offsets).sum(-2) + self.reward(rewards.unsqueeze(-1))
        if self.frames is not None:
            if frames is None:
                raise ValueError("this embedding reads frames (its ObsSpec has a frame_shape); none were given")
            x = x + self.frames(frames)
        return torch.relu(x)

class MaxMemory(nn.Module):
    """A max-pooling recurrent cell over transitions: ``h_t = max(h_{t-1}, phi(x_{t-1}, x_t))``.

    ``phi`` embeds each step with the previous one (where the agent was, what it did, what it
    saw); the running elementwise maximum remembers every kind of transition met so far, in
    any order, once. Whole sequences cost one batched pass (``cummax``), not a time loop:
    several times cheaper than a GRU on a CPU, and the memory these benchmarks need (which
    buses were ridden, which fridges were opened) is such a set.
    """

    def __init__(self, width: int):
        super().__init__()
        self.width = width
        self.phi = nn.Sequential(nn.Linear(2 * width, width), nn.ReLU(), nn.Linear(width, width), nn.ReLU())

    def forward(self, x: torch.Tensor, state: torch.Tensor | None = None) -> tuple[torch.Tensor, torch.Tensor]:
        """``x (B, T, W)`` -> memory after every step ``(B, T, W)`` and the final state ``(B, 2W)``."""
        if state is None:
            state = torch.zeros(x.shape[0], 2 * self.width)
        h0, prev0 = state[:, : self.width], state[:, self.width:]
        prev = torch.cat((prev0.unsqueeze(1), x[:, :-1]), 1)
        h = torch.maximum(torch.cummax(self.phi(torch.cat((prev, x), -1)), dim=1).values, h0.unsqueeze(1))
        return h, torch.cat((h[:, -1], x[:, -1]), -1)

    def initial_state(self, batch: int) -> torch.Tensor:
        return torch.zeros(batch, 2 * self.width)


class GRUMemory(nn.Module):
    """A GRU as the recurrent cell (the paper's choice; slower on a CPU)."""

    def __init__(self, width: int):
        super().__init__()
        self.width = width
        self.gru = nn.GRU(width, width, batch_first=True)

    def forward(self, x: torch.Tensor, state: torch.Tensor | None = None) -> tuple[torch.Tensor, torch.Tensor]:
        out, h = self.gru(x, None if state is None else state.unsqueeze(0))
        return out, h.squeeze(0)

    def initial_state(self, batch: int) -> torch.Tensor:
        return torch.zeros(batch, self.width)


MEMORIES = {"max": MaxMemory, "gru": GRUMemory}


class RecurrentQ(nn.Module):
    """Q(a | history of observations[, z]): embedding -> recurrent memory -> MLP head.

    The head also sees the current step's embedding (a skip connection), so the memory only
    has to carry what the current observation does not show.

    ``dueling`` (Wang et al., 2016): a second head estimates the state value V and the first
    the advantages A, combined as ``Q = V + A - mean_a A``. Where the state value varies much
    more than the action gaps (cooking: a wasted step costs 0.1, while V spans ~2 between
    kitchens the policy does and does not solve yet) the advantages no longer have to be
    learned as small differences of large, noisy Q-values.

    ``extra_nvec``: integer inputs appended after the spec's (``ints (..., F + len(extra_nvec))``),
    e.g. the whole-trial flags of :data:`~.whole_trial.TRIAL_FLAGS_NVEC` for a policy that spans
    the exploration and exploitation episodes.
    """

    def __init__(self, spec: ObsSpec, hidden: int, z_dim: int = 0, memory: str = "max", dueling: bool = False,
                 extra_nvec: tuple[int, ...] = ()):
        super().__init__()
        if memory not in MEMORIES:
            raise ValueError(f"memory={memory!r} is not valid: expected one of {sorted(MEMORIES)}")
        self.z_dim = z_dim
        self.embed = ObsEmbedding((*spec.nvec, *extra_nvec), hidden, spec.frame_shape)
        self.mix = nn.Sequential(nn.Linear(hidden + z_dim, hidden), nn.ReLU()) if z_dim else nn.Identity()
        self.memory = MEMORIES[memory](hidden)
        self.head = nn.Sequential(nn.Linear(2 * hidden, hidden), nn.ReLU(), nn.Linear(hidden, spec.n_actions))
        self.dueling = dueling
        if dueling:
            self.value = nn.Sequential(nn.Linear(2 * hidden, hidden), nn.ReLU(), nn.Linear(hidden, 1))

    def _q(self, features: torch.Tensor) -> torch.Tensor:
        """Q-values from the head's input (``cat(memory, embedding)``)."""
        a = self.head(features)
        if not self.dueling:
            return a
        return self.value(features) + a - a.mean(-1, keepdim=True)

    def _inputs(self, ints, rewards, z, frames=None):
        x = self.embed(ints, rewards, frames)
        if self.z_dim:
            x = self.mix(torch.cat((x, z.unsqueeze(-2).expand(*x.shape[:-1], self.z_dim)), -1))
        return x

    def initial_state(self, batch: int) -> torch.Tensor:
        return self.memory.initial_state(batch)

    def trunk(self, ints: torch.Tensor, rewards: torch.Tensor, z: torch.Tensor | None = None,
              state: torch.Tensor | None = None, frames: torch.Tensor | None = None
              ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """The head's two inputs and the final state: memory outputs ``(B, T, hidden)``, step
        embeddings ``(B, T, hidden)``, recurrent state (for methods that read or replace the
        memory before the head, e.g. IMPORT)."""
        x = self._inputs(ints, rewards, z, frames)
        out, state = self.memory(x, state)
        return out, x, state

    def head_q(self, memory: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
        """Q-values from a memory output (or anything of its width standing in for it) and
        the step embedding."""
        return self._q(torch.cat((memory, x), -1))

    def forward(self, ints: torch.Tensor, rewards: torch.Tensor, z: torch.Tensor | None = None,
                state: torch.Tensor | None = None, frames: torch.Tensor | None = None
                ) -> tuple[torch.Tensor, torch.Tensor]:
        """Whole sequences: ``ints (B, T, F)``, ``rewards (B, T)``, ``z (B, z_dim)``, ``frames
        (B, T, H, W, C)`` (pixel observations only) -> Q-values ``(B, T, n_actions)`` and the
        final recurrent state."""
        out, x, state = self.trunk(ints, rewards, z, state, frames)
        return self.head_q(out, x), state

    def step(self, ints: torch.Tensor, rewards: torch.Tensor, state: torch.Tensor,
             z: torch.Tensor | None = None, frames: torch.Tensor | None = None) -> tuple[torch.Tensor, torch.Tensor]:
        """One step: ``ints (B, F)``, ``rewards (B,)``, a recurrent state[, ``frames (B, H, W, C)``]
        -> ``(B, A)`` and the next state."""
        q, state = self.forward(ints.unsqueeze(1), rewards.unsqueeze(1), z, state,
                                None if frames is None else frames.unsqueeze(1))
        return q.squeeze(1), state
