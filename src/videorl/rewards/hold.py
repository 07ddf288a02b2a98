"""HOLD: functional distance-to-goal models learned from unlabeled videos (Alakuijala et al.,
ICRA 2023), and the Appendix B metrics that rank them.

* HOLD-R regresses the frame gap between a state and a later goal frame of the same video,
  Eq. 2, over ordered pairs drawn uniformly from all pairs of all training videos. Its input
  is the current frame (or ``history`` frames ending at it) stacked with the goal frame.
* HOLD-C embeds single frames with the time-contrastive triplet loss, Eq. 3: positives within
  ``pos_window`` frames of the anchor, negatives beyond ``neg_window`` frames or from another
  video, semi-hard negative mining; the distance is Euclidean in the embedding.

Both expose one interface to the reward code: ``goal_code(goals)`` once per goal image, then
``distance(states, code)`` for stacks of ``history`` frames. Frames are uint8 (.., H, W, 3) RGB.

Training (``train_hold``) holds out whole videos and keeps the checkpoint with the best mean
Spearman correlation on them, the paper's early-stopping rule (Appendix B).
"""

from __future__ import annotations

import csv
import dataclasses
import json
import math
import os
import shutil
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
import yaml
from torch import nn

from videorl import checkpoint
from videorl.config import ConfigError, _f, apply_overrides
from videorl.data.augment import random_shift
from videorl.errors import UserError
from videorl.nets import RESNET_LAYOUTS, ResNet, SmallConvNet

MODELS = ("hold-r", "hold-c")
BACKBONES = ("conv", *RESNET_LAYOUTS)
CONFIG_FILE, WEIGHTS_FILE, METRICS_FILE = "hold.yaml", "model.pt", "metrics.csv"
_IMAGENET_MEAN = (0.485, 0.456, 0.406)
_IMAGENET_STD = (0.229, 0.224, 0.225)


class DistanceModelError(UserError):
    """A distance-model folder or training request a user got wrong."""


@dataclass
class HoldConfig:
    """How a HOLD distance model is built and trained; written to ``MODEL_DIR/hold.yaml``."""

    model: str = _f("hold-c", "hold-r (time regression, Eq. 2) or hold-c (time-contrastive, Eq. 3)")
    backbone: str = _f("conv", "conv (small, from scratch), resnet18 or resnet50")
    weights: str | None = _f(None, "local torchvision-format weights file for the ResNet")
    history: int = _f(1, "HOLD-R: frames of the state stacked with the goal (the paper: 1 or 3)")
    embed_dim: int = _f(32, "HOLD-C: embedding size (Table II setup: 32)")
    margin: float = _f(0.2, "HOLD-C Eq. 3: triplet margin m (Table II)")
    pos_window: int = _f(2, "HOLD-C: positives lie within this many frames of the anchor")
    neg_window: int = _f(4, "HOLD-C: same-video negatives lie more than this many frames away")
    seq_len: int = _f(32, "HOLD-C: consecutive frames per video in a batch (Table II)")
    videos_per_batch: int = _f(8, "HOLD-C: videos per batch (Table II batch size)")
    batch_size: int = _f(32, "HOLD-R: (state, goal) pairs per batch (Table I)")
    lr: float | None = _f(None, "Adam learning rate; null = 3e-4 HOLD-R, 1e-4 HOLD-C (Tables I-II)")
    steps: int = _f(3000, "gradient steps")
    eval_every: int = _f(250, "score the held-out videos (and keep the best) every this many steps")
    holdout: float = _f(0.1, "share of videos held out for early stopping (at least one)")
    aug_pad: int = _f(4, "random-shift augmentation padding in pixels; 0 = none")
    seed: int = _f(0, "seed of the split, the sampling and the initialisation")
    threads: int = _f(0, "torch CPU threads; 0 = all cores, at most 4")

    def validate(self) -> HoldConfig:
        if self.model not in MODELS:
            raise ConfigError(f"model must be one of {', '.join(MODELS)}, got {self.model!r}")
        if self.backbone not in BACKBONES:
            raise ConfigError(
                f"backbone must be one of {', '.join(BACKBONES)}, got {self.backbone!r}"
            )
        if self.weights is not None and self.backbone == "conv":
            raise ConfigError("weights are for a ResNet backbone; add --backbone resnet18")
        positive = ("history", "embed_dim", "seq_len", "videos_per_batch", "batch_size", "steps")
        for key in (*positive, "eval_every"):
            if getattr(self, key) < 1:
                raise ConfigError(f"{key} must be >= 1, got {getattr(self, key)}")
        if self.model == "hold-c" and self.history != 1:
            raise ConfigError("history > 1 is for hold-r; HOLD-C embeds single frames")
        if not 0 <= self.pos_window < self.neg_window:
            raise ConfigError("need 0 <= pos_window < neg_window (the paper: 2 and 4 frames)")
        if self.seq_len <= self.neg_window + 1:
            raise ConfigError("seq_len must exceed neg_window + 1 so a video has negatives")
        if not 0 < self.holdout < 1:
            raise ConfigError(f"holdout must be in (0, 1), got {self.holdout}")
        if self.margin <= 0 or (self.lr is not None and self.lr <= 0):
            raise ConfigError("margin and lr must be > 0")
        return self

    @property
    def learning_rate(self) -> float:
        if self.lr is not None:
            return self.lr
        return 3e-4 if self.model == "hold-r" else 1e-4


# -- the models -------------------------------------------------------------------------
class _Preprocess(nn.Module):
    """uint8 (B, H, W, C) -> float (B, C, H, W): [-0.5, 0.5] for the small net, ImageNet
    statistics for a ResNet (what its pretrained weights expect)."""

    def __init__(self, backbone: str, channels: int) -> None:
        super().__init__()
        groups = channels // 3
        if backbone == "conv":
            mean, std = [0.5] * channels, [1.0] * channels
        else:
            mean, std = list(_IMAGENET_MEAN) * groups, list(_IMAGENET_STD) * groups
        self.register_buffer("mean", torch.tensor(mean).view(1, -1, 1, 1), persistent=False)
        self.register_buffer("std", torch.tensor(std).view(1, -1, 1, 1), persistent=False)

    def forward(self, frames: torch.Tensor) -> torch.Tensor:
        x = frames.permute(0, 3, 1, 2).float().div_(255.0)
        return (x - self.mean) / self.std


def _backbone(cfg: HoldConfig, in_channels: int, out_dim: int) -> nn.Module:
    if cfg.backbone == "conv":
        return SmallConvNet(in_channels, out_dim)
    return ResNet(cfg.backbone, in_channels, out_dim)


class DistanceModel(nn.Module):
    """Common interface: ``goal_code`` once per goal, ``distance`` for many states."""

    history: int = 1
    kind: str = ""
    image_shape: tuple[int, ...] = ()
    """(H, W, 3) of the frames it was trained on; () = any size."""

    def check_image_shape(self, shape: tuple[int, ...], what: str) -> None:
        """Refuse frames of another size than the training frames, naming ``what`` has them."""
        if self.image_shape and tuple(shape) != self.image_shape:
            raise DistanceModelError(
                f"{what} has {tuple(shape)} frames but the {self.kind} model was trained on "
                f"{self.image_shape} frames; the two sizes must match"
            )

    def goal_code(self, goals: torch.Tensor) -> torch.Tensor:
        raise NotImplementedError

    def distance(self, states: torch.Tensor, code: torch.Tensor) -> torch.Tensor:
        """states uint8 (B, history, H, W, 3), code from ``goal_code`` (1 or B rows) -> (B,)."""
        raise NotImplementedError


class HoldR(DistanceModel):
    """d(s, g): the predicted number of frames from ``s`` to the goal frame ``g`` (Eq. 2)."""

    kind = "hold-r"

    def __init__(self, cfg: HoldConfig) -> None:
        super().__init__()
        self.history = cfg.history
        channels = 3 * (cfg.history + 1)
        self.prep = _Preprocess(cfg.backbone, channels)
        self.net = _backbone(cfg, channels, 1)

    def goal_code(self, goals: torch.Tensor) -> torch.Tensor:
        return goals  # the regression net reads the goal frame itself

    @staticmethod
    def stack(states: torch.Tensor, goals: torch.Tensor) -> torch.Tensor:
        """states (B, history, H, W, 3) and goals (B, H, W, 3) -> the net's input image
        (B, H, W, 3 * (history + 1)): the state frames oldest first, then the goal."""
        b, k, h, w, c = states.shape
        return torch.cat([states.permute(0, 2, 3, 1, 4).reshape(b, h, w, k * c), goals], -1)

    def forward(self, stacked: torch.Tensor) -> torch.Tensor:
        """d for stacked uint8 inputs (from ``stack``) -> (B,)."""
        return self.net(self.prep(stacked)).squeeze(-1)

    def distance(self, states: torch.Tensor, code: torch.Tensor) -> torch.Tensor:
        if code.shape[0] == 1 and states.shape[0] != 1:
            code = code.expand(states.shape[0], *code.shape[1:])
        return self.forward(self.stack(states, code))


class HoldC(DistanceModel):
    """f(s): a unit-length embedding; d(s, g) = ||f(s) - f(g)||_2 (Sec. III-A)."""

    kind = "hold-c"

    def __init__(self, cfg: HoldConfig) -> None:
        super().__init__()
        self.prep = _Preprocess(cfg.backbone, 3)
        self.net = _backbone(cfg, 3, cfg.embed_dim)

    def embed(self, frames: torch.Tensor) -> torch.Tensor:
        """uint8 (B, H, W, 3) -> (B, embed_dim) on the unit sphere (so the margin has a
        fixed meaning, as in TCN)."""
        return F.normalize(self.net(self.prep(frames)), dim=-1)

    def goal_code(self, goals: torch.Tensor) -> torch.Tensor:
        return self.embed(goals)

    def distance(self, states: torch.Tensor, code: torch.Tensor) -> torch.Tensor:
        return torch.linalg.vector_norm(self.embed(states[:, -1]) - code, dim=-1)


def build_model(cfg: HoldConfig) -> DistanceModel:
    return HoldR(cfg) if cfg.model == "hold-r" else HoldC(cfg)


# -- losses -----------------------------------------------------------------------------
def regression_loss(pred: torch.Tensor, delta: torch.Tensor) -> torch.Tensor:
    """HOLD-R, Eq. 2: squared error between d(s_t, s_{t+delta}) and delta (mean over pairs)."""
    return F.mse_loss(pred, delta)


def triplet_masks(
    video: torch.Tensor, time: torch.Tensor, pos_window: int, neg_window: int
) -> tuple[torch.Tensor, torch.Tensor]:
    """(positive, negative) boolean (N, N) masks over a batch of frames.

    Positive: same video, 0 < |t_i - t_j| <= pos_window. Negative: another video, or the
    same video with |t_i - t_j| > neg_window. Frames in between are neither (Table II).
    """
    same = video[:, None] == video[None, :]
    gap = (time[:, None] - time[None, :]).abs()
    positive = same & (gap > 0) & (gap <= pos_window)
    negative = ~same | (gap > neg_window)
    return positive, negative


def triplet_loss(
    emb: torch.Tensor, positive: torch.Tensor, negative: torch.Tensor, margin: float
) -> torch.Tensor:
    """HOLD-C, Eq. 3 as a hinge: max(0, ||f(a)-f(p)||^2 - ||f(a)-f(n)||^2 + m), averaged over
    every (anchor, positive) pair, with a semi-hard negative per pair: the closest negative
    farther than the positive; where there is none, the farthest negative."""
    d2 = torch.cdist(emb, emb).pow(2)
    a, p = positive.nonzero(as_tuple=True)
    d_ap = d2[a, p]
    d_an = d2[a]  # (P, N)
    neg = negative[a]
    semi = neg & (d_an > d_ap[:, None])
    inf = torch.finfo(d2.dtype).max
    semi_hard = torch.where(semi, d_an, torch.full_like(d_an, inf)).min(dim=1).values
    easiest = torch.where(neg, d_an, torch.full_like(d_an, -inf)).max(dim=1).values
    chosen = torch.where(semi.any(dim=1), semi_hard, easiest)
    keep = neg.any(dim=1)
    return F.relu(d_ap - chosen + margin)[keep].mean()


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


def model_device(model: nn.Module) -> torch.device:
    """Where a model's tensors live (CPU for one that has none)."""
    for tensor in (*model.parameters(), *model.buffers()):
        return tensor.device
    return torch.device("cpu")


# -- Appendix B metrics -----------------------------------------------------------------
@torch.no_grad()
def goal_distances(model: DistanceModel, video: np.ndarray, batch: int = 256) -> np.ndarray:
    """d(s_t, s_T) for every frame t of one video, the goal being its last frame."""
    device = model_device(model)
    frames = torch.from_numpy(np.array(video)).to(device)
    code = model.goal_code(frames[-1:])
    t = np.arange(len(video))
    idx = torch.as_tensor(history_index(np.zeros_like(t), t, model.history), device=device)
    out = [model.distance(frames[idx[i : i + batch]], code) for i in range(0, len(t), batch)]
    return torch.cat(out).float().cpu().numpy()


def _ranks(x: np.ndarray) -> np.ndarray:
    """Ranks 0..n-1 with ties given their mean rank."""
    order = np.argsort(x, kind="stable")
    ranks = np.empty(len(x), dtype=np.float64)
    ranks[order] = np.arange(len(x))
    values, inverse = np.unique(x, return_inverse=True)
    sums = np.bincount(inverse, weights=ranks)
    counts = np.bincount(inverse)
    return (sums / counts)[inverse]


def spearman(x: np.ndarray, y: np.ndarray) -> float:
    """Spearman rank correlation; 0 when either side is constant (no ranking at all)."""
    rx, ry = _ranks(np.asarray(x, np.float64)), _ranks(np.asarray(y, np.float64))
    rx, ry = rx - rx.mean(), ry - ry.mean()
    denom = math.sqrt(float((rx**2).sum() * (ry**2).sum()))
    return float((rx * ry).sum() / denom) if denom > 0 else 0.0


def ranking_metrics(distances: Sequence[np.ndarray], time_metrics: bool) -> dict[str, float]:
    """Appendix B metrics over videos, each given as d(s_t, s_T) for t = 1..T (goal = last).

    * spearman: mean over videos of the rank correlation between d(s_t, s_T) and the true
      remaining time T - t over s_1..s_{T-1}.
    * misclassification (Eq. 6) and hinge (Eq. 5), read as REFERENCE.md states them: over
      consecutive frames, the share of steps whose predicted distance goes up, and the summed
      increase, each divided by sum_i (T_i - 1).
    * mse and mean_error (HOLD-R): (d(s_t, s_T) - (T - t)) over s_1..s_{T-1}, in frames.
    """
    rho, ups, rise, steps, sq, ab, n = [], 0.0, 0.0, 0, 0.0, 0.0, 0
    for d in distances:
        d = np.asarray(d, np.float64)
        if len(d) < 3:
            continue
        remaining = np.arange(len(d) - 1, 0, -1, dtype=np.float64)  # T - t for t < T
        rho.append(spearman(d[:-1], remaining))
        diff = np.diff(d)
        ups += float((diff > 0).sum())  # Eq. 6
        rise += float(np.maximum(diff, 0).sum())  # Eq. 5
        steps += len(d) - 1
        err = d[:-1] - remaining
        sq, ab, n = sq + float((err**2).sum()), ab + float(np.abs(err).sum()), n + len(err)
    if not rho:
        raise ValueError("need at least one video of 3 or more frames")
    out = {
        "spearman": float(np.mean(rho)),
        "misclassification": ups / steps,
        "hinge": rise / steps,
        "videos": float(len(rho)),
    }
    if time_metrics:
        out.update(mse=sq / n, mean_error=ab / n)
    return out


def evaluate_model(model: DistanceModel, videos: Sequence[np.ndarray]) -> dict[str, float]:
    """The Appendix B metrics of ``model`` on ``videos`` (goal = each video's last frame)."""
    was_training = model.training
    model.eval()
    try:
        dists = [goal_distances(model, v) for v in videos]
    finally:
        model.train(was_training)
    return ranking_metrics(dists, time_metrics=model.kind == "hold-r")


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
        fps.append(ds.manifest.get("fps"))
        tasks.append(ds.manifest.get("task"))
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


# -- save / load ------------------------------------------------------------------------
def load_distance_model(model_dir: str | Path, device: str | torch.device = "cpu") -> DistanceModel:
    """The best checkpoint of a ``videorl reward train`` folder, in eval mode."""
    folder = Path(model_dir)
    cfg_file, weights = folder / CONFIG_FILE, folder / WEIGHTS_FILE
    if not folder.is_dir():
        raise DistanceModelError(
            f"{folder}: distance-model folder not found; train one with videorl reward train"
        )
    if not cfg_file.is_file() or not weights.is_file():
        raise DistanceModelError(
            f"{folder}: no {CONFIG_FILE} and {WEIGHTS_FILE}, so not a distance model; "
            "train one with videorl reward train"
        )
    try:
        saved = yaml.safe_load(cfg_file.read_text())
        cfg = apply_overrides(HoldConfig(), saved["config"]).validate()
        state = torch.load(weights, map_location="cpu", weights_only=True)
        model = build_model(cfg)
        model.load_state_dict(state)
    except (yaml.YAMLError, KeyError, TypeError, RuntimeError, OSError, ConfigError) as e:
        first = str(e).splitlines()[0] if str(e) else type(e).__name__
        raise DistanceModelError(
            f"{folder}: cannot load the distance model ({first}); retrain it"
        ) from None
    model.image_shape = tuple(saved.get("image_shape", ()))
    return model.to(device).eval()


# -- training ---------------------------------------------------------------------------
def _load_resnet_weights(model: DistanceModel, file: str) -> None:
    path = Path(file)
    if not path.is_file():
        raise DistanceModelError(f"weights file {path} not found; pass a local .pth file")
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
        if isinstance(state, dict) and "state_dict" in state:
            state = state["state_dict"]
        model.net.load_backbone(state)  # type: ignore[union-attr, operator]
    except (RuntimeError, ValueError, OSError, AttributeError, TypeError) as e:
        first = str(e).splitlines()[0] if str(e) else type(e).__name__
        raise DistanceModelError(
            f"weights file {path} does not fit the {model.net.__class__.__name__} backbone "
            f"({first}); use a torchvision ResNet state dict of the same depth"
        ) from None


class _Batcher:
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


def train_hold(
    cfg: HoldConfig, data: Sequence[str | Path], out: str | Path, progress: bool = True
) -> dict[str, Any]:
    """Train a distance model on ``data`` and write ``out`` (hold.yaml, model.pt = best by
    held-out Spearman, metrics.csv). Returns the summary written to hold.yaml."""
    from tqdm import tqdm

    cfg.validate()
    out = Path(out)
    if out.exists() and any(out.iterdir()):
        raise DistanceModelError(f"{out}: already exists and is not empty; choose a new --out")
    videos, info = load_videos(data)
    train_idx, val_idx = split_videos(len(videos), cfg.holdout, cfg.seed)
    train_set = VideoFrames([videos[i] for i in train_idx])
    val_videos = [videos[i] for i in val_idx]
    if cfg.model == "hold-c" and int(train_set.lengths.max()) <= cfg.neg_window + 1:
        raise DistanceModelError(
            f"training videos have at most {int(train_set.lengths.max())} frames; HOLD-C needs "
            f"more than neg_window + 1 = {cfg.neg_window + 1}"
        )
    if cfg.model == "hold-r" and int(train_set.lengths.max()) < 2:
        raise DistanceModelError("training videos need at least 2 frames")
    short = [len(v) for v in val_videos if len(v) < 3]
    if len(short) == len(val_videos):
        raise DistanceModelError("held-out videos need at least 3 frames to be scored")

    threads = cfg.threads or min(4, os.cpu_count() or 1)
    torch.set_num_threads(threads)
    torch.manual_seed(cfg.seed)
    rng = np.random.default_rng(cfg.seed)
    device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    model = build_model(cfg)
    if cfg.weights:
        _load_resnet_weights(model, cfg.weights)
    model.to(device).train()
    opt = torch.optim.Adam(model.parameters(), lr=cfg.learning_rate)
    batcher = _Batcher(cfg, train_set, device)

    summary: dict[str, Any] = {
        "config": dataclasses.asdict(cfg),
        **info,
        "data": [str(p) for p in data],
        "videos": {"train": len(train_idx), "held_out": len(val_idx)},
        "held_out_index": [int(i) for i in val_idx],
        "best": None,
    }
    made = not out.exists()
    out.mkdir(parents=True, exist_ok=True)
    try:
        columns = ["step", "train_loss", "spearman", "misclassification", "hinge"]
        if cfg.model == "hold-r":
            columns += ["mse", "mean_error"]
        with (out / METRICS_FILE).open("w", newline="") as fh:
            writer = csv.DictWriter(fh, fieldnames=columns)
            writer.writeheader()
            losses: list[torch.Tensor] = []
            bar = tqdm(
                range(1, cfg.steps + 1),
                disable=not progress,
                desc=cfg.model,
                unit="step",
                dynamic_ncols=True,
            )
            for step in bar:
                if cfg.model == "hold-r":
                    stacked, delta = batcher.regression(rng)
                    loss = regression_loss(model(stacked), delta)  # Eq. 2
                else:
                    frames, video, t = batcher.contrastive(rng)
                    pos, neg = triplet_masks(video, t, cfg.pos_window, cfg.neg_window)
                    loss = triplet_loss(model.embed(frames), pos, neg, cfg.margin)  # Eq. 3
                opt.zero_grad(set_to_none=True)
                loss.backward()
                opt.step()
                losses.append(loss.detach())
                if step % cfg.eval_every and step != cfg.steps:
                    continue
                scores = evaluate_model(model, val_videos)
                row = {
                    "step": step,
                    "train_loss": float(torch.stack(losses).mean()),
                    **{k: scores[k] for k in columns[2:]},
                }
                losses.clear()
                writer.writerow(row)
                fh.flush()
                best = summary["best"]
                if best is None or scores["spearman"] > best["spearman"]:
                    checkpoint.save(model.state_dict(), out / WEIGHTS_FILE)
                    summary["best"] = {"step": step, **{k: row[k] for k in columns[1:]}}
                    _write_summary(out, summary)
                bar.set_postfix(
                    loss=f"{row['train_loss']:.3f}",
                    spearman=f"{row['spearman']:.3f}",
                    best=f"{summary['best']['spearman']:.3f}",
                )
            bar.close()
    except BaseException as e:
        # An interrupted run with a best checkpoint is a usable model; anything else is not.
        if made and (summary["best"] is None or not isinstance(e, KeyboardInterrupt)):
            shutil.rmtree(out, ignore_errors=True)
        raise
    return summary


def _write_summary(out: Path, summary: dict[str, Any]) -> None:
    fd, tmp = tempfile.mkstemp(dir=out, prefix=".tmp-")
    with os.fdopen(fd, "w") as fh:
        yaml.safe_dump(json.loads(json.dumps(summary)), fh, sort_keys=False)
    os.replace(tmp, out / CONFIG_FILE)
