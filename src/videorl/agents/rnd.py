"""SAC with a Random Network Distillation exploration bonus (Burda, Edwards, Storkey, Klimov
2018, "Exploration by Random Network Distillation"): the RLV paper's baseline for its human-
video experiments (Figs. 6, 7). Section numbers are the RND paper's (it numbers no equations).

- A fixed, randomly initialised target network f and a predictor f^ trained to match it on
  the states the agent visits: L = ||f^(s') - f(s')||^2 (Sec. 2.2). The prediction error is
  the intrinsic reward: large on states unlike those seen before.
- Observations are whitened by running statistics and clipped to [-5, 5] (Sec. 2.4), and the
  intrinsic reward is divided by a running estimate of its standard deviation. RND divides by
  the standard deviation of discounted intrinsic returns of on-policy rollouts; off-policy,
  from replay batches, videorl uses the reward's own (as URLB's off-policy RND does).
- SAC learns from r + ``intrinsic_weight`` * r_int, with r_int computed on each replay batch
  with the predictor as it is before its own step; the predictor trains on the same batch.
  Target and predictor read states through an MLP, pixels through RLV's Table 4 extractor.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import torch
from torch import nn

from videorl.agents.base import Spaces, UpdateInputs
from videorl.agents.common import adam
from videorl.agents.sac import SAC, SAC_METRICS
from videorl.config import (
    WIDTHS,
    SACConfig,
    TrainConfig,
    items,
    layer_widths,
    non_negative,
    positive,
    require,
)
from videorl.nets import ConvEncoder, mlp


@dataclass
class RNDConfig:
    """SAC + RND (Burda et al. 2018)."""

    intrinsic_weight: float = 1.0
    """weight of the normalised intrinsic reward added to the task's reward (URLB's 1.0)"""
    rnd_hidden: list[int] = items([256, 256])
    """MLP widths of target and predictor (after the conv extractor on pixels)"""
    rnd_dim: int = 64
    """output size of target and predictor"""
    obs_clip: float = 5.0
    """whitened observations are clipped to [-obs_clip, obs_clip] (RND Sec. 2.4: 5)"""

    def validate(self, cfg: TrainConfig) -> None:
        require(self, "intrinsic_weight", non_negative, ">= 0")
        require(self, "obs_clip rnd_dim", positive, "positive")
        require(self, "rnd_hidden", layer_widths, WIDTHS)


class RunningMoments(nn.Module):
    """Running mean and variance of a stream of batches (Chan et al.'s parallel update), kept
    as buffers so that checkpoints carry them."""

    def __init__(self, shape: tuple[int, ...]) -> None:
        super().__init__()
        self.register_buffer("count", torch.zeros((), dtype=torch.float64))
        self.register_buffer("mean", torch.zeros(shape, dtype=torch.float64))
        self.register_buffer("m2", torch.zeros(shape, dtype=torch.float64))

    @torch.no_grad()
    def update(self, x: torch.Tensor) -> None:
        x = x.double()
        n, batch_mean = x.shape[0], x.mean(0)
        delta = batch_mean - self.mean
        total = self.count + n
        self.m2 += ((x - batch_mean) ** 2).sum(0) + delta**2 * self.count * n / total
        self.mean += delta * n / total
        self.count.fill_(total)

    @property
    def std(self) -> torch.Tensor:
        return (self.m2 / self.count.clamp(min=1.0)).sqrt()


class RND(SAC):
    """SAC whose reward gets RND's intrinsic bonus on every update."""

    Config = RNDConfig

    def __init__(
        self, spaces: Spaces, sac: SACConfig, cfg: RNDConfig, device: torch.device
    ) -> None:
        super().__init__(spaces, sac, device)
        self.rnd = cfg
        shape = spaces.obs_shape
        if self.pixels:
            shape = (shape[2], shape[0], shape[1])
        self.target_net = self._network(shape).requires_grad_(False)
        self.predictor = self._network(shape)
        self.obs_moments = RunningMoments(shape)
        self.reward_moments = RunningMoments(())
        self.to(device)
        self.predictor_opt = adam(self.predictor.parameters(), sac.lr)

    def _network(self, shape: tuple[int, ...]) -> nn.Module:
        if not self.pixels:
            return mlp(shape[0], self.rnd.rnd_hidden, self.rnd.rnd_dim)
        encoder = ConvEncoder(shape, self.cfg.conv_channels)
        return nn.Sequential(encoder, mlp(encoder.out_dim, self.rnd.rnd_hidden, self.rnd.rnd_dim))

    @classmethod
    def build(cls, spaces: Spaces, cfg: TrainConfig, device: torch.device) -> RND:
        return cls(spaces, cfg.sac, cfg.method, device)

    @property
    def metric_names(self) -> list[str]:
        return SAC_METRICS + ["rnd_loss", "intrinsic_reward"]

    def prediction_error(self, next_obs: torch.Tensor) -> torch.Tensor:
        """||f^(s') - f(s')||^2 per state (RND Sec. 2.2), on whitened, clipped states."""
        x = next_obs.float()
        x = (x - self.obs_moments.mean.float()) / (self.obs_moments.std.float() + 1e-8)
        x = x.clamp(-self.rnd.obs_clip, self.rnd.obs_clip)  # RND Sec. 2.4
        return (self.predictor(x) - self.target_net(x)).pow(2).sum(-1)  # RND Sec. 2.2

    def update(self, inputs: UpdateInputs) -> dict[str, torch.Tensor]:
        """Intrinsic reward of the batch, SAC's update on r + w r_int, then the predictor."""
        batch = inputs.robot
        next_obs = self.to_device(batch.next_obs)
        self.obs_moments.update(next_obs.float())
        error = self.prediction_error(next_obs)  # per state: the predictor's loss
        with torch.no_grad():
            self.reward_moments.update(error.detach())
            bonus = error.detach() / (self.reward_moments.std.float() + 1e-8)
        reward = batch.reward.to(self.device) + self.rnd.intrinsic_weight * bonus
        metrics = super().update(UpdateInputs(robot=dataclasses.replace(batch, reward=reward)))
        loss = error.mean()  # RND Sec. 2.2: the predictor regresses the target's output
        self.predictor_opt.zero_grad(set_to_none=True)
        loss.backward()
        self.predictor_opt.step()
        return {**metrics, "rnd_loss": loss.detach(), "intrinsic_reward": bonus.mean()}

    def optimizers(self) -> dict[str, torch.optim.Optimizer]:
        return {**super().optimizers(), "predictor_opt": self.predictor_opt}
