"""Pieces several methods use: optimiser construction, the inverse-dynamics model and its
loss (RLV Eq. 1, also BCO's Eq. 1), the discretisation of a continuous action box (BCO and
ILPO are defined for discrete actions), and gradient reversal for adversarial domain
confusion. Methods import these from here, never from another method's file. (Pixel
augmentation is ``data/augment.py``.)
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from videorl.config import ConfigError
from videorl.nets import mlp

if TYPE_CHECKING:
    from videorl.agents.base import Spaces


def adam(params: Iterable[torch.nn.Parameter], lr: float) -> torch.optim.Adam:
    """Adam with the fused kernel where the device has one, else the multi-tensor one."""
    params = list(params)
    try:
        return torch.optim.Adam(params, lr=lr, fused=True)
    except (RuntimeError, TypeError):
        return torch.optim.Adam(params, lr=lr, foreach=True)


def inverse_loss(pred: torch.Tensor, action: torch.Tensor, discrete: bool) -> torch.Tensor:
    """RLV Eq. 1: ||a_int - f_inv(h_int, h'_int)||^2 (mean over the batch).

    Discrete actions: the cross-entropy of the inverse model's logits against the true
    action index, the classification counterpart of Eq. 1's regression."""
    if discrete:
        return F.cross_entropy(pred.float(), action.view(-1).long())  # Eq. 1 (discrete)
    return (pred.float() - action).pow(2).sum(-1).mean()  # Eq. 1


class InverseModel(nn.Sequential):
    """f_inv(h, h') -> a: an MLP on the features of s and s' side by side (RLV Eq. 1; BCO's
    M_theta). Outputs the action (continuous) or one logit per action or bin (discrete)."""

    def __init__(self, feat: int, hidden: list[int], out: int) -> None:
        super().__init__(*mlp(2 * feat, hidden, out))

    def predict(self, h: torch.Tensor, h_next: torch.Tensor) -> torch.Tensor:
        return self(torch.cat([h, h_next], dim=-1))


class ActionBins:
    """A continuous action box [-1, 1]^d cut into ``bins`` evenly spaced values per
    dimension, numbered jointly: bins^d classes (the RLV paper's State Pusher: 7 x 7 = 49).
    An action belongs to the bin of the nearest value in every dimension."""

    def __init__(self, action_dim: int, bins: int) -> None:
        if bins < 2 or action_dim < 1:
            raise ValueError("ActionBins needs bins >= 2 and action_dim >= 1")
        self.action_dim, self.bins = action_dim, bins
        self.n = bins**action_dim
        self.values = ((2 * torch.arange(bins) - (bins - 1)) / (bins - 1)).float()  # 0 exact
        self._place = bins ** torch.arange(action_dim - 1, -1, -1)  # first dimension slowest

    def index(self, action: torch.Tensor) -> torch.Tensor:
        """(B, d) actions -> (B,) bin numbers; values outside [-1, 1] go to the edge bins."""
        scaled = (action.float().clamp(-1.0, 1.0) + 1.0) * (self.bins - 1) / 2.0
        digits = scaled.round().long().clamp(0, self.bins - 1)
        return (digits * self._place.to(digits.device)).sum(-1)

    def action(self, index: torch.Tensor) -> torch.Tensor:
        """(B,) bin numbers -> (B, d) actions at the bins' values."""
        digits = (index.long().unsqueeze(-1) // self._place.to(index.device)) % self.bins
        return self.values.to(index.device)[digits]


def classes_of(
    algo: str, spaces: Spaces, bins: int, default_bins: int
) -> tuple[ActionBins | None, int]:
    """(discretisation or None, number of action classes) of an imitation baseline (BCO, ILPO)
    on a state task: the task's actions when discrete, else ``bins`` values per dimension.
    Pixel tasks are refused, and so are bins set on a discrete task, rather than ignored."""
    if spaces.pixels:
        raise ConfigError(
            f"{algo} runs on state tasks (the RLV paper ran it on Acrobot and the State Pusher, "
            "and got no reward from it on images); pick a state task, e.g. --env state-pusher"
        )
    if spaces.discrete:
        if bins != default_bins:
            raise ConfigError(
                f"action_bins={bins} is read on continuous tasks only; this task's actions are "
                "already discrete: remove it"
            )
        return None, spaces.action_dim
    discretised = ActionBins(spaces.action_dim, bins)
    return discretised, discretised.n


def action_classes(action: torch.Tensor, bins: ActionBins | None) -> torch.Tensor:
    """(B,) class numbers of robot or ground-truth actions: the index, or the bin."""
    return action.long().view(-1) if bins is None else bins.index(action)


def class_action(index: int, bins: ActionBins | None) -> np.ndarray | int:
    """The environment action of class ``index``."""
    if bins is None:
        return int(index)
    return bins.action(torch.tensor([index]))[0].numpy().astype(np.float32)


class _GradReverse(torch.autograd.Function):
    """Identity forward; multiplies the gradient by -scale backward."""

    @staticmethod
    def forward(ctx, x: torch.Tensor, scale: float) -> torch.Tensor:
        ctx.scale = scale
        return x.view_as(x)

    @staticmethod
    def backward(ctx, grad: torch.Tensor):
        return -ctx.scale * grad, None


def grad_reverse(x: torch.Tensor, scale: float) -> torch.Tensor:
    """Gradient reversal (Ganin et al. 2016): identity forward, -scale times the gradient
    backward, so one backward pass trains a classifier and confuses its input's encoder."""
    return _GradReverse.apply(x, scale)
