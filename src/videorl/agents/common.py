"""Pieces several methods use: optimiser construction, the inverse-dynamics loss (RLV Eq. 1,
also BCO's), and gradient reversal for adversarial domain confusion. Methods import these
from here, never from another method's file. (Pixel augmentation is ``data/augment.py``.)
"""

from __future__ import annotations

from collections.abc import Iterable

import torch
import torch.nn.functional as F


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
