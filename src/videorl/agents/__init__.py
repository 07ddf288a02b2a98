"""Learning agents: one method per file. Agents take tensors, return losses and metrics."""

from __future__ import annotations

import torch

from videorl.agents.rlv import RLV
from videorl.agents.sac import SAC, Spaces
from videorl.config import TrainConfig

__all__ = ["RLV", "SAC", "Spaces", "make_agent"]


def make_agent(spaces: Spaces, cfg: TrainConfig, device: torch.device) -> SAC:
    """The agent ``cfg.algo`` names."""
    return (RLV if cfg.algo == "rlv" else SAC)(spaces, cfg, device)
