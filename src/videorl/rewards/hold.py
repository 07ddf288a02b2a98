"""HOLD: functional distance-to-goal models learned from unlabeled videos (Alakuijala et al.,
ICRA 2023): the models, their configuration, the training losses, and loading a trained one.

* HOLD-R regresses the frame gap between a state and a later goal frame of the same video,
  Eq. 2, over ordered pairs drawn uniformly from all pairs of all training videos. Its input
  is the current frame (or ``history`` frames ending at it) stacked with the goal frame.
* HOLD-C embeds single frames with the time-contrastive triplet loss, Eq. 3: positives within
  ``pos_window`` frames of the anchor, negatives beyond ``neg_window`` frames or from another
  video, semi-hard negative mining; the distance is Euclidean in the embedding.

Both expose one interface to the reward code: ``goal_code(goals)`` once per goal image, then
``distance(states, code)`` for stacks of ``history`` frames. Frames are uint8 (.., H, W, 3) RGB.

The samplers and video loading are in ``distance_data``, the Appendix B metrics in
``distance_metrics``, the training loop in ``distance_training``.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import torch
import torch.nn.functional as F
import yaml
from torch import nn

from videorl import checkpoint
from videorl.config import ConfigError, apply_overrides, flag, non_negative, positive, require
from videorl.errors import UserError
from videorl.nets import RESNET_LAYOUTS, ResNet, SmallConvNet

MODELS = ("hold-r", "hold-c")
BACKBONES = ("conv", *RESNET_LAYOUTS)
CONFIG_FILE, WEIGHTS_FILE = "hold.yaml", "model.pt"
_IMAGENET_MEAN = (0.485, 0.456, 0.406)
_IMAGENET_STD = (0.229, 0.224, 0.225)


class DistanceModelError(UserError):
    """A distance-model folder or training request a user got wrong."""


@dataclass
class HoldConfig:
    """How a HOLD distance model is built and trained; written to ``MODEL_DIR/hold.yaml``."""

    model: str = flag("hold-c", "--model", choices=list(MODELS), required=True)
    """hold-r (time regression, Eq. 2) or hold-c (time-contrastive, Eq. 3)"""
    backbone: str = flag("conv", "--backbone")
    """conv (small, from scratch), resnet18 or resnet50"""
    weights: str | None = flag(None, "--weights", metavar="FILE")
    """local torchvision-format weights file for the ResNet"""
    history: int = flag(1, "--history", type=int)
    """HOLD-R: frames of the state stacked with the goal (the paper: 1 or 3)"""
    embed_dim: int = 32
    """HOLD-C: embedding size (Table II setup: 32)"""
    margin: float = 0.2
    """HOLD-C Eq. 3: triplet margin m (Table II)"""
    pos_window: int = 2
    """HOLD-C: positives lie within this many frames of the anchor"""
    neg_window: int = 4
    """HOLD-C: same-video negatives lie more than this many frames away"""
    seq_len: int = 32
    """HOLD-C: consecutive frames per video in a batch (Table II)"""
    videos_per_batch: int = 8
    """HOLD-C: videos per batch (Table II batch size)"""
    batch_size: int = 32
    """HOLD-R: (state, goal) pairs per batch (Table I)"""
    lr: float | None = None
    """Adam learning rate; null = 3e-4 HOLD-R, 1e-4 HOLD-C (Tables I-II)"""
    steps: int = flag(3000, "--steps", type=int)
    """gradient steps"""
    eval_every: int = 250
    """score the held-out videos (and keep the best) every this many steps"""
    holdout: float = 0.1
    """share of videos held out for early stopping (at least one)"""
    aug_pad: int = 4
    """random-shift augmentation padding in pixels; 0 = none"""
    seed: int = flag(0, "--seed", type=int)
    """seed of the split, the sampling and the initialisation"""
    threads: int = 0
    """torch CPU threads; 0 = all cores, at most 4"""

    def validate(self) -> HoldConfig:
        if self.model not in MODELS:
            raise ConfigError(f"model must be one of {', '.join(MODELS)}, got {self.model!r}")
        if self.backbone not in BACKBONES:
            raise ConfigError(
                f"backbone must be one of {', '.join(BACKBONES)}, got {self.backbone!r}"
            )
        if self.weights is not None and self.backbone == "conv":
            raise ConfigError("weights are for a ResNet backbone; add --backbone resnet18")
        counts = "history embed_dim seq_len videos_per_batch batch_size steps eval_every"
        require(self, counts, positive, ">= 1")
        require(self, "seed", non_negative, ">= 0")
        if self.model == "hold-c" and self.history != 1:
            raise ConfigError("history > 1 is for hold-r; HOLD-C embeds single frames")
        if not 0 <= self.pos_window < self.neg_window:
            raise ConfigError("need 0 <= pos_window < neg_window (the paper: 2 and 4 frames)")
        if self.seq_len <= self.neg_window + 1:
            raise ConfigError("seq_len must exceed neg_window + 1 so a video has negatives")
        require(self, "holdout", lambda v: 0 < v < 1, "in (0, 1)")
        require(self, "margin", positive, "positive")
        require(self, "lr", lambda v: v is None or v > 0, "positive")
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


def model_device(model: nn.Module) -> torch.device:
    """Where a model's tensors live (CPU for one that has none)."""
    for tensor in (*model.parameters(), *model.buffers()):
        return tensor.device
    return torch.device("cpu")


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
        state = checkpoint.load(weights, what="distance model", error=DistanceModelError,
                                fix="train it again with videorl reward train")  # fmt: skip
        model = build_model(cfg)
        model.load_state_dict(state)
    except (yaml.YAMLError, KeyError, TypeError, RuntimeError, OSError, ConfigError) as e:
        first = str(e).splitlines()[0] if str(e) else type(e).__name__
        raise DistanceModelError(
            f"{folder}: cannot load the distance model ({first}); retrain it"
        ) from None
    model.image_shape = tuple(saved.get("image_shape", ()))
    return model.to(device).eval()
