"""The HOLD training data: whole videos loaded from datasets, split into training and
held-out videos, and the batcher that turns HOLD-R pairs (Eq. 2) and HOLD-C windows
(Table II), drawn by ``videorl.episodes.EpisodeStore``, into training batches."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch

from videorl.data.augment import random_shift
from videorl.episodes import EpisodeStore
from videorl.episodes import history_index as history_index  # re-exported for the metrics
from videorl.rewards.hold import DistanceModelError, HoldConfig, HoldR

# -- sampling ---------------------------------------------------------------------------
# The videos are an EpisodeStore; its samplers are the HOLD-R pairs (Eq. 2) and the HOLD-C
# windows (Table II). ``VideoFrames`` is the name the training loop builds it by, and
# ``history_index`` is imported from here by the metrics.
VideoFrames = EpisodeStore.from_episodes


# -- data -------------------------------------------------------------------------------
def load_videos(paths: Sequence[str | Path]) -> tuple[list[np.ndarray], dict[str, Any]]:
    """Every episode of every dataset (frames kind, one image size), plus a summary."""
    from videorl.data.dataset import VideoDataset

    videos: list[np.ndarray] = []
    shape, fps, tasks = None, [], []
    resolved = [Path(p).resolve() for p in paths]
    twice = next((p for p, r in zip(paths, resolved) if resolved.count(r) > 1), None)
    if twice is not None:  # its videos would sit on both sides of the held-out split
        raise DistanceModelError(f"--data names {twice} twice; give each dataset once")
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

    def __init__(self, cfg: HoldConfig, data: EpisodeStore, device: torch.device) -> None:
        self.cfg, self.data, self.device = cfg, data, device
        # Shares the store's (writable, concatenated) array: the frames are held once.
        self.frames = torch.as_tensor(data.frames)
        self.gen = torch.Generator().manual_seed(cfg.seed + 1)

    def _augment(self, x: torch.Tensor) -> torch.Tensor:
        """Random shift of (B, H, W, C) frames, one offset per sample (defect 2)."""
        if self.cfg.aug_pad == 0:
            return x
        shifted = random_shift(x.permute(0, 3, 1, 2), self.cfg.aug_pad, self.gen)
        return shifted.permute(0, 2, 3, 1)

    def regression(self, rng: np.random.Generator) -> tuple[torch.Tensor, ...]:
        cfg, d = self.cfg, self.data
        video, t, goal_t = d.sample_pairs(cfg.batch_size, rng)
        states = self.frames[torch.as_tensor(d.history_index(video, t, cfg.history))]
        goals = self.frames[torch.as_tensor(d.starts[video] + goal_t)]
        stacked = self._augment(HoldR.stack(states, goals))  # one shift for state and goal
        delta = torch.as_tensor(goal_t - t, dtype=torch.float32)
        return stacked.to(self.device), delta.to(self.device)

    def contrastive(self, rng: np.random.Generator) -> tuple[torch.Tensor, ...]:
        cfg, d = self.cfg, self.data
        video, t = d.sample_episode_windows(cfg.videos_per_batch, cfg.seq_len, rng)
        frames = self._augment(self.frames[torch.as_tensor(d.starts[video] + t)])
        return (
            frames.to(self.device),
            torch.as_tensor(video, device=self.device),
            torch.as_tensor(t, device=self.device),
        )
