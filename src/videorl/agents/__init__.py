"""Learning agents: one method per file. Agents take tensors, return losses and metrics."""

from videorl.agents.sac import SAC

__all__ = ["SAC"]
