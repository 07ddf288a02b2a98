"""Goal images and demonstration frames: read, checked against the task's image size, and
written (``videorl goal``)."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from videorl.atomic import atomic_path
from videorl.errors import UserError


class RewardSpecError(UserError):
    """A reward spec, goal image or encoder file that cannot be used."""


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
