"""RLMU (Cao, Sharma, Rai: "Reinforcement Learning with Self-supervised Human Motion
Analysis"): RLV plus a Motion Extractor Module (MEM, Section 3.1) that trains the shared
encoder on sub-sequences of the observation videos, and the Video Data Generator's negative
jitter (Section 3.2, ``videorl.data.video_augment``). Equation numbers are the report's.

- Eq. 6: each frame of a clip s_obs[m : m + k] goes through the shared encoder f_enc; a
  3-layer LSTM reads the encoded sequence and predicts which of N equal parts of its video
  the clip starts in (an N-class cross-entropy).
- MEM pre-trains the encoder for ``mem_pretrain_steps`` before any interaction, then stays in
  the joint objective, Eq. 7: c1 L_RL + c2 L_a + c3 L_mem + c4 max_phi L_da. Eq. 7 renumbers
  RLV's Eq. 4 weights: its c1 (RL) is RLV's ``c2``, its c2 (inverse model) RLV's ``c1``, its
  c4 (domain confusion, Eq. 5) RLV's ``c3``; its c3 is ``mem_weight`` here, so that no name
  means two things. RLMU drops RLV's paired loss (Eq. 5 keeps only the discriminator).
- The shared encoder is the extractor the inverse model and the discriminator read (RLV's
  f_enc): the inverse model's own extractor (``inverse_encoder: own``), or the one extractor
  of every network (``inverse_encoder: shared``). MEM's gradient reaches it (REFERENCE.md
  defect 7: the authors' code fed the LSTM raw pixels, so the encoder never learned from it).

The report gives no k and no N. The authors' code used k = 10 frames (and N = 2 classes of
episode success, not positions); videorl keeps k = 10 and predicts positions as the report
describes, N = 4 by default (see ``RLMUConfig``).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from videorl.agents.base import CLIPS, OBSERVATIONS, ROBOT, ObservationRequest, Spaces, UpdateInputs
from videorl.agents.common import adam
from videorl.agents.rlv import RLV, RLVConfig
from videorl.config import ConfigError, SACConfig, TrainConfig, non_negative, positive, require
from videorl.data.augment import random_shift

MEM_METRICS = ["mem_loss", "mem_acc"]


@dataclass
class RLMUConfig(RLVConfig):
    """RLMU: RLV's keys (Eq. 7's c1, c2, c4 are RLV's c2, c1, c3) plus the MEM's."""

    obs_augment: str = "negative_jitter"
    """RLMU's Video Data Generator (Sec. 3.2), copies made in memory: negative_jitter, reverse or none"""  # noqa: E501
    mem_weight: float = 1.0
    """Eq. 7's c3: weight of the MEM loss L_mem (Eq. 6) in the joint objective; 0 = pre-training only"""  # noqa: E501
    mem_pretrain_steps: int = 2000
    """MEM gradient steps on the observation videos before any interaction"""
    mem_clip_length: int = 10
    """k, frames per MEM clip: the authors' code's 10 (the report gives none)"""  # noqa: E501
    mem_positions: int = 4
    """N, position classes of Eq. 6: which of N equal parts of its video a clip starts in (the report gives none); on held-out human pushing videos N=4 reached 0.40 accuracy (chance 0.25), N=2 0.63, N=8 0.23 (benchmarks/results/rlmu_pretext.md)"""  # noqa: E501
    mem_hidden: int = 128
    """units of each LSTM layer"""
    mem_layers: int = 3
    """LSTM layers (the report's 3)"""
    mem_batch_size: int = 32
    """clips per MEM step"""

    def validate(self, cfg: TrainConfig) -> None:
        if self.paired_data:
            raise ConfigError(
                "RLMU drops RLV's paired loss (report Eq. 5); remove paired_data, or use "
                "--algo rlv for it"
            )
        super().validate(cfg)
        require(self, "mem_weight mem_pretrain_steps", non_negative, ">= 0")
        require(self, "mem_clip_length mem_positions", lambda v: v >= 2, "at least 2")
        require(self, "mem_hidden mem_layers mem_batch_size", positive, "positive")


class MotionExtractor(nn.Module):
    """f_mem of Eq. 6: an LSTM over a clip's encoded frames, then N position logits read
    from its last output."""

    def __init__(self, feat_dim: int, hidden: int, layers: int, positions: int) -> None:
        super().__init__()
        self.lstm = nn.LSTM(feat_dim, hidden, num_layers=layers, batch_first=True)
        self.head = nn.Linear(hidden, positions)

    def forward(self, features: torch.Tensor) -> torch.Tensor:
        out, _ = self.lstm(features)  # (B, k, hidden)
        return self.head(out[:, -1])


def position_classes(positions: torch.Tensor, n: int) -> torch.Tensor:
    """Eq. 6's targets: the part (0 .. n-1) of its video a clip starts in, from the start's
    place in [0, 1) among the video's clips."""
    return (positions * n).long().clamp_(0, n - 1)


def mem_loss(logits: torch.Tensor, classes: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Eq. 6: -sum_i C_i log f_mem(...)_i, the cross-entropy of the true position class
    (averaged over the clips); returns the accuracy too."""
    loss = F.cross_entropy(logits.float(), classes)  # Eq. 6
    return loss, (logits.argmax(-1) == classes).float().mean()


class RLMU(RLV):
    """RLV plus MEM pre-training and the joint Eq. 7 objective."""

    Config = RLMUConfig
    needs = frozenset({ROBOT, OBSERVATIONS, CLIPS})

    def __init__(
        self, spaces: Spaces, sac: SACConfig, cfg: RLMUConfig, device: torch.device, task: str
    ) -> None:
        if not spaces.pixels:
            raise ConfigError(
                "RLMU's motion module trains an image encoder, which state tasks do not have; "
                "use --algo rlv for state tasks"
            )
        super().__init__(spaces, sac, cfg, device, task)
        self.pretrain_steps = cfg.mem_pretrain_steps
        feat = self.inverse_encoder.out_dim if self.own_encoder else self.critic_encoder.out_dim
        self.mem = MotionExtractor(feat, cfg.mem_hidden, cfg.mem_layers, cfg.mem_positions)
        self.mem.to(device)
        self.mem_opt = adam(self.mem.parameters(), sac.lr)
        # The optimiser that steps the shared encoder (its other parameters get no gradient
        # from L_mem alone, so during pre-training Adam leaves them as they are).
        self.encoder_opt = self.inverse_opt if self.own_encoder else self.critic_opt

    @classmethod
    def observation_request(cls, cfg: TrainConfig) -> ObservationRequest:
        return dataclasses.replace(
            super().observation_request(cfg),
            clip_length=cfg.method.mem_clip_length,
            clip_batch_size=cfg.method.mem_batch_size,
        )

    @property
    def metric_names(self) -> list[str]:
        return super().metric_names + MEM_METRICS

    def motion_loss(
        self, clips: torch.Tensor, positions: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """L_mem (Eq. 6) of clips (B, k, C, H, W) uint8 through the shared encoder, each clip
        shifted by one random offset for all its frames when augmentation is on."""
        b, k, c, h, w = clips.shape
        clips = clips.to(self.device, non_blocking=True)
        if self.cfg.augment:
            clips = random_shift(clips.reshape(b, k * c, h, w), self.cfg.aug_pad)
        features = self.inverse_features(clips.reshape(b * k, c, h, w)).view(b, k, -1)
        logits = self.mem(features.float())
        classes = position_classes(positions.to(self.device), self.rlv.mem_positions)
        return mem_loss(logits, classes)  # Eq. 6

    def pretrain(self, inputs: UpdateInputs) -> dict[str, torch.Tensor]:
        """One MEM step on the observation videos alone: the LSTM and the shared encoder."""
        with self.autocast():
            loss, acc = self.motion_loss(inputs.clips, inputs.clip_positions)
        for opt in (self.mem_opt, self.encoder_opt):
            opt.zero_grad(set_to_none=True)
        loss.backward()
        for opt in (self.mem_opt, self.encoder_opt):
            opt.step()
        return {"mem_loss": loss.detach(), "mem_acc": acc}

    # -- Eq. 7 -----------------------------------------------------------------------------
    def joint_loss(self, inputs: UpdateInputs):
        total, metrics, obs, hq = super().joint_loss(inputs)  # c1 L_RL + c2 L_a + c4 L_da
        with self.autocast():
            loss, acc = self.motion_loss(inputs.clips, inputs.clip_positions)
        metrics.update(mem_loss=loss.detach(), mem_acc=acc)
        return total + self.rlv.mem_weight * loss, metrics, obs, hq  # Eq. 7, c3 L_mem

    def joint_optimizers(self) -> list[torch.optim.Optimizer]:
        return [*super().joint_optimizers(), self.mem_opt]

    # -- checkpointing -------------------------------------------------------------------
    def optimizers(self) -> dict[str, torch.optim.Optimizer]:
        return {**super().optimizers(), "mem_opt": self.mem_opt}
