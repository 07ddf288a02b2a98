"""The HOLD paper's baseline distances: pixel L2, and the distance under a user's encoder
(the R3M-style baseline, also TCN's embedding). Encoder contract: a TorchScript (``.pt``) or
``torch.export`` (``.pt2``, exported with a dynamic batch dimension) module mapping float32
(B, 3, H, W) RGB in [0, 1] to (B, D)."""

from __future__ import annotations

import logging
import os
import pickle
import zipfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import torch
from torch import nn

from videorl import checkpoint
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
    model = EncoderDistance(_load_module(file))
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


ENCODER_FIX = (
    "save the encoder with torch.jit.save(torch.jit.script(model), path) or torch.export.save"
)


def _load_module(file: Path) -> nn.Module:
    """The module in a TorchScript or torch.export file, without running pickled code."""
    try:  # both formats are zip archives: a cut-short or damaged one fails its CRC check
        with zipfile.ZipFile(file) as archive:
            names, intact = archive.namelist(), archive.testzip() is None
    except (zipfile.BadZipFile, OSError, EOFError, ValueError):
        names, intact = [], False
    if not intact:
        raise RewardSpecError(
            f"{file} is not a readable encoder (truncated or corrupt); {ENCODER_FIX}"
        )
    if file.suffix != ".pt2" and not any(n.endswith("/constants.pkl") for n in names):
        # torch.save output (a state dict or a pickled module), not TorchScript: refused
        # as code if it holds any, and as the wrong format if it holds only tensors
        checkpoint.load(file, what="encoder", fix=ENCODER_FIX, error=RewardSpecError)
        raise RewardSpecError(f"{file} holds tensors (torch.save), not a module; {ENCODER_FIX}")
    if any(n.rpartition("/")[2].startswith("opaque_obj_") for n in names):
        # torch.export.load would pickle.loads these Python objects
        raise RewardSpecError(
            f"{file} is not a safe encoder: it holds pickled Python objects and was not "
            f"loaded; {ENCODER_FIX}"
        )
    try:
        with _weights_only():
            if file.suffix == ".pt2":  # torch.export program
                return torch.export.load(str(file)).module()
            return torch.jit.load(str(file), map_location="cpu").eval()
    except pickle.UnpicklingError as e:
        raise RewardSpecError(checkpoint.unreadable(file, e, "encoder", ENCODER_FIX)) from None
    except (RuntimeError, ValueError, KeyError, OSError, zipfile.BadZipFile) as e:
        first = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
        raise RewardSpecError(
            f"{file}: not a TorchScript (.pt) or torch.export (.pt2) module ({first}); "
            f"{ENCODER_FIX}"
        ) from None


@contextmanager
def _weights_only() -> Iterator[None]:
    """torch.export.load unpickles pickled weights and constants with weights_only=False,
    which runs any code they carry; torch's TORCH_FORCE_WEIGHTS_ONLY_LOAD switch makes those
    loads weights-only. Its warnings about what it could not load stay off stderr."""
    keys = ("TORCH_FORCE_WEIGHTS_ONLY_LOAD", "TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD")
    saved = {k: os.environ.pop(k, None) for k in keys}
    os.environ[keys[0]] = "1"
    loggers = [logging.getLogger(name) for name in ("torch.export", "torch._export")]
    levels = [logger.level for logger in loggers]
    for logger in loggers:
        logger.setLevel(logging.CRITICAL)
    try:
        yield
    finally:
        for key, value in saved.items():
            os.environ.pop(key, None)
            if value is not None:
                os.environ[key] = value
        for logger, level in zip(loggers, levels):
            logger.setLevel(level)
