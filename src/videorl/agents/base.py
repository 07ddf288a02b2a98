"""The method interface: what every learning method declares and the loop relies on.

A method is one class in one file under ``agents/``, registered under its ``--algo`` name in
``agents/registry.py``. The loop (``train.py``) never checks a method's name; it asks:

- ``needs``: what each update takes from the loop: robot transitions (``ROBOT``), observation
  transitions from action-free videos (``OBSERVATIONS``), video sub-sequences (``CLIPS``);
- ``observation_request``: how to prepare the observation pool (ground truth, paired data,
  precomputed reward labels, clip length);
- ``metric_names``: the columns its ``update`` returns, in metrics.csv order;
- ``pretrain_steps`` / ``pretrain``: an optional phase before any interaction;
- ``update_needs``: what the next update reads, when it is less than ``needs``;
- ``optimizers``: the optimisers a checkpoint carries, by key;
- ``updates_due``: how many updates follow an environment step (default: the run's
  ``updates_per_step`` once the random phase is over; a method that alternates interaction
  and fitting returns 0 on most steps and its whole fitting budget on the others).

Methods take tensors and return losses and metrics; they never import envs, the loop or the
CLI.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, ClassVar

import numpy as np
import torch
from torch import nn

from videorl.config import RunConfig, TrainConfig
from videorl.data.video_augment import VideoAugment
from videorl.replay import Batch, ObservationBatch

ROBOT, OBSERVATIONS, CLIPS = "robot", "observations", "clips"


@dataclass(frozen=True)
class Spaces:
    """What a method needs to know about an environment, without importing it."""

    obs_shape: tuple[int, ...]
    pixels: bool
    action_dim: int  # continuous: number of dimensions; discrete: number of actions
    discrete: bool

    def __post_init__(self) -> None:
        if self.pixels and len(self.obs_shape) != 3:
            raise ValueError(f"Spaces.obs_shape must be (H, W, 3) for pixels, got {self.obs_shape}")
        if not self.pixels and len(self.obs_shape) != 1:
            raise ValueError(f"Spaces.obs_shape must be 1-D for states, got {self.obs_shape}")
        if self.action_dim < 1:
            raise ValueError("Spaces.action_dim must be positive")


@dataclass(frozen=True)
class UpdateInputs:
    """What one update receives: each field is filled when the method ``needs`` it."""

    robot: Batch | None = None
    observations: ObservationBatch | None = None
    clips: torch.Tensor | None = None  # (B, L, C, H, W) uint8 frames or (B, L, D) states
    clip_positions: torch.Tensor | None = None  # (B,) where each clip starts, in [0, 1)

    def __post_init__(self) -> None:
        if self.clips is not None and self.clips.dim() not in (3, 5):
            shape = tuple(self.clips.shape)
            raise ValueError(f"UpdateInputs.clips must be (B, L, ...), got {shape}")


@dataclass(frozen=True)
class ObservationRequest:
    """How the loop prepares the observation pool for a method that reads videos."""

    groundtruth: dict[str, str] = field(default_factory=dict)
    """groundtruth/ fields the method reads -> the setting that reads them (for the error
    when a dataset lacks one); what a dataset has is loaded anyway, for diagnostics"""
    paired_data: str | None = None  # the same rollouts rendered in the robot's domain
    reward_labels: str | None = None  # a learned reward spec that labels every transition
    clip_length: int = 0  # frames per clip, for methods that need CLIPS
    clip_batch_size: int = 0  # clips per update; 0: the observation batch size
    augment: VideoAugment | None = None  # augmented copies of the videos, made in memory
    cut: tuple[str, float, int] | None = None
    """where videos end, cut in memory: (idle_tail | first_reward, idle fraction, idle min
    frames); see ``videorl.data.idle_tail``"""
    idle_tail_labels: tuple[float, float, float, int] | None = None
    """reward labels from each video's idle tail, for every transition: (reward into the tail,
    reward elsewhere, idle fraction, idle min frames); see ``videorl.data.idle_tail``"""


class Method(nn.Module):
    """Base class of every learning method (see the module docstring)."""

    Config: ClassVar[type | None] = None
    """The method's own config section (a dataclass in its file), or None."""
    needs: ClassVar[frozenset[str]] = frozenset({ROBOT})
    pretrain_steps: int = 0

    @classmethod
    def build(cls, spaces: Spaces, cfg: TrainConfig, device: torch.device) -> Method:
        """The method for a run: it takes its own section and the shared ones it reads."""
        raise NotImplementedError

    @classmethod
    def observation_request(cls, cfg: TrainConfig) -> ObservationRequest:
        return ObservationRequest()

    @property
    def metric_names(self) -> list[str]:
        """Keys of the dict ``update`` returns, in metrics.csv column order."""
        raise NotImplementedError

    def act(self, obs: np.ndarray, deterministic: bool = False) -> np.ndarray | int:
        raise NotImplementedError

    def update_needs(self) -> frozenset[str]:
        """What the next ``update`` reads (a subset of ``needs``): the loop samples only that.
        BCO alternates inverse-model steps (robot data) and cloning steps (videos)."""
        return self.needs

    def update(self, inputs: UpdateInputs) -> dict[str, torch.Tensor]:
        """One gradient step on what ``update_needs`` asked for; returns metrics among
        ``metric_names`` (each column is averaged over the updates that report it)."""
        raise NotImplementedError

    def pretrain(self, inputs: UpdateInputs) -> dict[str, torch.Tensor]:
        """One step of the phase before interaction (when ``pretrain_steps`` > 0)."""
        raise NotImplementedError

    def updates_due(self, step: int, run: RunConfig) -> int:
        """Updates to take after environment step ``step``."""
        return run.updates_per_step if step >= run.initial_steps else 0

    def optimizers(self) -> dict[str, torch.optim.Optimizer]:
        """Every optimiser by its checkpoint key (subclasses add theirs to their parent's)."""
        return {}

    def full_state(self) -> dict[str, Any]:
        """Networks and optimisers: everything needed to continue training exactly."""
        opts = {key: opt.state_dict() for key, opt in self.optimizers().items()}
        return {"nets": self.state_dict(), **opts}

    def load_full_state(self, state: dict[str, Any]) -> None:
        self.load_state_dict(state["nets"])
        for key, opt in self.optimizers().items():
            opt.load_state_dict(state[key])
