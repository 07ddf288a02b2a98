"""The HOLD paper's baseline distances: pixel L2, and the distance under a user's encoder
(the R3M-style baseline, also TCN's embedding). Encoder contract: a TorchScript (``.pt``) or
``torch.export`` (``.pt2``, exported with a dynamic batch dimension) module mapping float32
(B, 3, H, W) RGB in [0, 1] to (B, D)."""

from __future__ import annotations

from pathlib import Path

import torch
from torch import nn

from videorl.rewards.goals import RewardSpecError
from videorl.rewards.hold import DistanceModel


class PixelDistance(DistanceModel):
    """d(s, g) = ||s - g||_2 on pixels in [0, 1] (the paper's pixel-L2 baseline)."""

    kind = "pixel-l2"

    def __init__(self) -> None:
        super().__init__()
        self.register_buffer("anchor", torch.zeros(()), persistent=False)  # carries the device

    def goal_code(self, goals: torch.Tensor) -> torch.Tensor:
        return goals.float().div(255.0)

    def distance(self, states: torch.Tensor, code: torch.Tensor) -> torch.Tensor:
        diff = states[:, -1].float().div(255.0) - code
        return torch.linalg.vector_norm(diff.flatten(1), dim=-1)


class EncoderDistance(DistanceModel):
    """d(s, g) = ||f(s) - f(g)||_2 for a user-supplied encoder ``f`` (R3M-style baseline)."""

    kind = "embedding"

    def __init__(self, encoder: nn.Module) -> None:
        super().__init__()
        self.encoder = encoder

    def embed(self, frames: torch.Tensor) -> torch.Tensor:
        x = frames.permute(0, 3, 1, 2).float().div(255.0)
        return self.encoder(x).flatten(1).float()

    def goal_code(self, goals: torch.Tensor) -> torch.Tensor:
        return self.embed(goals)

    def distance(self, states: torch.Tensor, code: torch.Tensor) -> torch.Tensor:
        return torch.linalg.vector_norm(self.embed(states[:, -1]) - code, dim=-1)


def load_encoder(path: str | Path, image_shape: tuple[int, ...]) -> EncoderDistance:
    """A TorchScript encoder file, checked on one blank frame of ``image_shape``."""
    file = Path(path)
    if not file.is_file():
        raise RewardSpecError(f"encoder file {file} not found; save one with torch.jit.save")
    try:
        if file.suffix == ".pt2":  # torch.export program
            encoder = torch.export.load(str(file)).module()
        else:
            encoder = torch.jit.load(str(file), map_location="cpu").eval()
    except (RuntimeError, ValueError, KeyError, OSError) as e:
        first = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
        raise RewardSpecError(
            f"{file}: not a TorchScript (.pt) or torch.export (.pt2) module ({first}); save the "
            "encoder with torch.jit.save(torch.jit.script(model), path) or torch.export.save"
        ) from None
    model = EncoderDistance(encoder)
    try:
        with torch.no_grad():
            out = model.embed(torch.zeros((1, *image_shape), dtype=torch.uint8))
    except Exception as e:  # the user's module; anything it raises is their input's problem
        raise RewardSpecError(
            f"{file}: fails on a (1, 3, {image_shape[0]}, {image_shape[1]}) float image in "
            f"[0, 1] ({type(e).__name__}); the encoder must map (B, 3, H, W) to (B, D)"
        ) from None
    if out.ndim != 2 or out.shape[0] != 1:
        raise RewardSpecError(f"{file}: returns shape {tuple(out.shape)}; it must return (B, D)")
    return model
