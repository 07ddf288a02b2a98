"""Image augmentation applied to uint8 pixel batches on the compute device."""

from __future__ import annotations

import torch
import torch.nn.functional as F


def random_shift(images: torch.Tensor, pad: int, generator: torch.Generator | None = None):
    """Pad every side with ``pad`` black pixels and crop back to the original size at an
    offset drawn independently for each sample (RLV appendix D; REFERENCE.md defect 2:
    one offset for the whole batch is the bug this avoids).

    images: (B, C, H, W), any dtype. Returns a new tensor of the same shape and dtype.
    """
    if pad == 0:
        return images
    b, _, h, w = images.shape
    padded = F.pad(images, (pad, pad, pad, pad))
    device = images.device
    off_y = torch.randint(0, 2 * pad + 1, (b, 1, 1), device=device, generator=generator)
    off_x = torch.randint(0, 2 * pad + 1, (b, 1, 1), device=device, generator=generator)
    rows = off_y + torch.arange(h, device=device).view(1, h, 1)
    cols = off_x + torch.arange(w, device=device).view(1, 1, w)
    batch = torch.arange(b, device=device).view(b, 1, 1)
    # Advanced indices around a slice put the indexed dims first: (B, H, W, C).
    return padded[batch, :, rows, cols].permute(0, 3, 1, 2).contiguous()
