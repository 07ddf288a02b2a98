"""The HOLD paper's baseline distances, the reward-spec parser, and goal images.

Reward specs (``--reward`` / ``reward`` key):

* ``hold:MODEL_DIR``: a HOLD-R or HOLD-C model from ``videorl reward train``.
* ``pixel-l2``: d(s, g) = ||s - g||_2 over pixels scaled to [0, 1].
* ``embedding:ENCODER.pt``: d(s, g) = ||f(s) - f(g)||_2 under a user's encoder (the R3M-style
  baseline), saved as TorchScript (``.pt``) or ``torch.export`` (``.pt2``; export it with a
  dynamic batch dimension). Contract: float32 (B, 3, H, W) RGB in [0, 1] -> (B, D).
* ``tcn:SOURCE``: TCN's reward, following a demonstration video's embeddings frame by frame;
  SOURCE is a HOLD-C model folder or an encoder file, the video is the ``demo`` key.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
from torch import nn

from videorl.atomic import atomic_path
from videorl.errors import UserError
from videorl.rewards.hold import DistanceModel, HoldC, load_distance_model

KINDS = ("hold", "pixel-l2", "embedding", "tcn")


class RewardSpecError(UserError):
    """A reward spec, goal image or encoder file that cannot be used."""


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


def parse_spec(spec: str) -> tuple[str, str]:
    """``'hold:DIR'`` -> ('hold', 'DIR'); ``'pixel-l2'`` -> ('pixel-l2', '')."""
    kind, _, arg = spec.partition(":")
    if kind not in KINDS:
        raise RewardSpecError(
            f"unknown reward {spec!r}; use env, hold:MODEL_DIR, pixel-l2, "
            "embedding:ENCODER.pt or tcn:MODEL_DIR|ENCODER.pt"
        )
    if (kind == "pixel-l2") != (arg == ""):
        form = "pixel-l2" if kind == "pixel-l2" else f"{kind}:PATH"
        raise RewardSpecError(f"reward {spec!r} is malformed; write it as {form}")
    return kind, arg


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


def load_distance(spec: str, image_shape: tuple[int, ...]) -> DistanceModel:
    """The distance model a reward spec names, checked against the task's image shape."""
    kind, arg = parse_spec(spec)
    if kind == "pixel-l2":
        return PixelDistance()
    if kind == "embedding" or (kind == "tcn" and Path(arg).is_file()):
        return load_encoder(arg, image_shape)
    model = load_distance_model(arg)
    if kind == "tcn" and not isinstance(model, HoldC):
        raise RewardSpecError(
            f"tcn:{arg} is a {model.kind} model; TCN needs an embedding (hold-c) or an encoder"
        )
    model.check_image_shape(image_shape, "the task")
    return model


# -- goal images ------------------------------------------------------------------------
def read_goal(path: str | Path, image_shape: tuple[int, ...]) -> np.ndarray:
    """An RGB goal image (H, W, 3) uint8 of exactly the task's observation size."""
    from PIL import Image, UnidentifiedImageError

    file = Path(path)
    if not file.is_file():
        raise RewardSpecError(
            f"goal image {file} not found; render one with videorl goal --env ENV --out {file}"
        )
    try:
        with Image.open(file) as im:
            image = np.asarray(im.convert("RGB"), dtype=np.uint8)
    except (OSError, UnidentifiedImageError, ValueError):
        raise RewardSpecError(f"goal image {file} is not a readable image (PNG, JPEG)") from None
    if image.shape != tuple(image_shape):
        raise RewardSpecError(
            f"goal image {file} is {image.shape[1]}x{image.shape[0]} but the task observes "
            f"{image_shape[1]}x{image_shape[0]}; render it with videorl goal --env ENV"
        )
    return image


def write_png(image: np.ndarray, path: str | Path) -> Path:
    """Write an RGB uint8 image as PNG (atomically)."""
    from PIL import Image

    file = Path(path)
    with atomic_path(file) as tmp:
        Image.fromarray(image).save(tmp, format="PNG")
    return file


def demo_frames(dataset_dir: str | Path, episode: int, image_shape: tuple[int, ...]) -> list:
    """The frames of one demonstration video (TCN's reference trajectory)."""
    from videorl.data.dataset import VideoDataset

    ds = VideoDataset(dataset_dir)
    if ds.kind != "frames" or tuple(ds.obs_shape) != tuple(image_shape):
        raise RewardSpecError(
            f"demo {dataset_dir}: needs video frames of the task's size {tuple(image_shape)}, "
            f"got {ds.kind} {tuple(ds.obs_shape)}"
        )
    if not 0 <= episode < len(ds):
        raise RewardSpecError(f"demo_episode {episode} out of range: {dataset_dir} has {len(ds)}")
    return [np.array(f) for f in ds[episode]]
