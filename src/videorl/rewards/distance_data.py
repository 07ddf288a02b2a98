"""The HOLD training data: whole videos loaded from datasets, split into training and
held-out videos, and the samplers that draw HOLD-R pairs (Eq. 2) and HOLD-C windows (Table II)
into training batches."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch

from videorl.data.augment import random_shift
from videorl.rewards.hold import DistanceModelError, HoldConfig, HoldR


# -- sampling ---------------------------------------------------------------------------
class VideoFrames:
    """Frames of many videos back to back, with per-video starts and lengths."""

    def __init__(self, videos: Sequence[np.ndarray]) -> None:
        self.lengths = np.array([len(v) for v in videos], dtype=np.int64)
        self.starts = np.concatenate([[0], np.cumsum(self.lengths)[:-1]]).astype(np.int64)
        self.frames = np.concatenate(list(videos)) if videos else np.zeros((0, 1, 1, 3), np.uint8)

    def __len__(self) -> int:
        return len(self.lengths)

    def video(self, i: int) -> np.ndarray:
        return self.frames[self.starts[i] : self.starts[i] + self.lengths[i]]


def history_index(start: np.ndarray, t: np.ndarray, history: int) -> np.ndarray:
    """Flat indices (B, history) of the frames t-history+1..t, repeating the video's first
    frame where the history reaches before it."""
    offsets = np.arange(1 - history, 1)
    return start[:, None] + np.maximum(t[:, None] + offsets[None, :], 0)


def sample_pairs(
    lengths: np.ndarray, n: int, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``n`` (video, t, t + delta) with delta >= 1, uniform over all ordered pairs of all
    videos (Eq. 2's triple sum): a video is drawn with weight L(L-1)/2, then a pair in it."""
    pairs = lengths * (lengths - 1) / 2
    video = rng.choice(len(lengths), size=n, p=pairs / pairs.sum())
    length = lengths[video]
    a = rng.integers(0, length)
    b = (a + 1 + rng.integers(0, length - 1)) % length  # uniform over b != a
    return video, np.minimum(a, b), np.maximum(a, b)


def sample_windows(
    lengths: np.ndarray, videos: int, seq_len: int, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray]:
    """(video, t) of ``videos`` distinct videos' windows of ``seq_len`` consecutive frames
    (the whole video when shorter): the HOLD-C batch of Table II."""
    chosen = rng.choice(len(lengths), size=min(videos, len(lengths)), replace=False)
    vid, time = [], []
    for v in chosen:
        span = min(seq_len, int(lengths[v]))
        t0 = int(rng.integers(0, lengths[v] - span + 1))
        vid.append(np.full(span, v))
        time.append(np.arange(t0, t0 + span))
    return np.concatenate(vid), np.concatenate(time)


# -- data -------------------------------------------------------------------------------
def load_videos(paths: Sequence[str | Path]) -> tuple[list[np.ndarray], dict[str, Any]]:
    """Every episode of every dataset (frames kind, one image size), plus a summary."""
    from videorl.data.dataset import VideoDataset

    videos: list[np.ndarray] = []
    shape, fps, tasks = None, [], []
    for path in paths:
        ds = VideoDataset(path)
        if ds.kind != "frames":
            raise DistanceModelError(
                f"{path}: holds state observations; distance models learn from image datasets "
                "(collect with a visual-* task)"
            )
        if shape is not None and ds.obs_shape != shape:
            raise DistanceModelError(
                f"{path}: frames are {ds.obs_shape}, other datasets {shape}; use one image size"
            )
        shape = ds.obs_shape
        videos.extend(np.ascontiguousarray(v) for v in ds)
        fps.append(ds.manifest.fps)
        tasks.append(ds.manifest.task)
    return videos, {"image_shape": list(shape or ()), "fps": fps, "tasks": tasks}


def split_videos(n: int, holdout: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """(train, held-out) video indices: a seeded shuffle, at least one video on each side."""
    if n < 2:
        raise DistanceModelError(
            f"need at least 2 videos (one to train on, one held out), got {n}; collect more"
        )
    order = np.random.default_rng(seed).permutation(n)
    n_val = min(n - 1, max(1, round(holdout * n)))
    return np.sort(order[n_val:]), np.sort(order[:n_val])


class Batcher:
    """Draws training batches as tensors on ``device``."""

    def __init__(self, cfg: HoldConfig, data: VideoFrames, device: torch.device) -> None:
        self.cfg, self.data, self.device = cfg, data, device
        self.frames = torch.from_numpy(np.array(data.frames))
        self.gen = torch.Generator().manual_seed(cfg.seed + 1)

    def _augment(self, x: torch.Tensor) -> torch.Tensor:
        """Random shift of (B, H, W, C) frames, one offset per sample (defect 2)."""
        if self.cfg.aug_pad == 0:
            return x
        shifted = random_shift(x.permute(0, 3, 1, 2), self.cfg.aug_pad, self.gen)
        return shifted.permute(0, 2, 3, 1)

    def regression(self, rng: np.random.Generator) -> tuple[torch.Tensor, ...]:
        cfg, d = self.cfg, self.data
        video, t, goal_t = sample_pairs(d.lengths, cfg.batch_size, rng)
        start = d.starts[video]
        states = self.frames[torch.as_tensor(history_index(start, t, cfg.history))]
        goals = self.frames[torch.as_tensor(start + goal_t)]
        stacked = self._augment(HoldR.stack(states, goals))  # one shift for state and goal
        delta = torch.as_tensor(goal_t - t, dtype=torch.float32)
        return stacked.to(self.device), delta.to(self.device)

    def contrastive(self, rng: np.random.Generator) -> tuple[torch.Tensor, ...]:
        cfg, d = self.cfg, self.data
        video, t = sample_windows(d.lengths, cfg.videos_per_batch, cfg.seq_len, rng)
        frames = self._augment(self.frames[torch.as_tensor(d.starts[video] + t)])
        return (
            frames.to(self.device),
            torch.as_tensor(video, device=self.device),
            torch.as_tensor(t, device=self.device),
        )
