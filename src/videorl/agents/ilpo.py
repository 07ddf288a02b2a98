"""ILPO: Imitating Latent Policies from Observation (Edwards, Sahni, Schroecker, Isbell, ICML
2019), the RLV paper's baseline on Acrobot and the State Pusher.

Two stages, on videorl's loop:
- Pre-training, on the observation videos alone (``latent_steps`` steps, before any
  interaction): a latent policy pi_w(z|s) over |Z| latent actions and a generator G(E(s), z)
  of the state change Delta = s' - s that latent action z causes. Both read one embedding
  E(s). ILPO's two losses, summed with equal weight:
    L_min = min_z ||Delta - G(E(s), z)||^2: only the best latent's prediction learns, so
      each latent comes to stand for one kind of transition;
    L_exp = ||Delta - sum_z pi_w(z|s) G(E(s), z)||^2 with G held fixed: the latent policy
      learns how likely each latent is in s.
- Interaction: action remapping. For each robot transition (s, a, s') the latent whose
  predicted change is closest to the real one, z* = argmin_z ||Delta - G(E(s), z)||, labels
  it; a remapping network pi_xi(a | s, z) (its own state encoder) is trained by cross-entropy
  to give a for (s, z*). The agent acts with z = argmax pi_w(z|s) and a = argmax pi_xi(a|s, z),
  and with a uniformly random action ``explore`` of the time while collecting (the authors'
  code: greedy 80%). The latent policy and generator stay fixed (as in the authors' code).
Widths, learning rates, |Z| and the LeakyReLU(0.2) activations default to the authors'
Acrobot scripts (REFERENCE.md, "Baselines in practice"). The loss comments name ILPO's terms
(L_min, L_exp) as the paper writes them; its text is not among ../shared/papers and its
equation numbers could not be checked offline. ILPO is defined for discrete actions; on a
continuous task the remapping classifies among ``action_bins`` values per dimension.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from videorl.agents.base import OBSERVATIONS, ROBOT, Method, Spaces, UpdateInputs
from videorl.agents.common import action_classes, class_action, classes_of
from videorl.config import WIDTHS, TrainConfig, items, layer_widths, positive, require


@dataclass
class ILPOConfig:
    """ILPO: the latent policy and generator (pre-training) and the action remapping."""

    latents: int = 3
    """|Z|, latent actions (the authors' Acrobot: 3)"""
    latent_steps: int = 20_000
    """pre-training steps of the latent policy and generator on the videos (the authors ran 100 epochs of batch 32)"""  # noqa: E501
    embed_hidden: list[int] = items([128, 256])
    """widths of the state embedding E(s) (shared by the latent policy and the generator) and of the remapping network's own state encoder"""  # noqa: E501
    generator_hidden: list[int] = items([256, 128])
    """widths of the generator after E(s) and the latent's embedding are joined"""
    remap_hidden: list[int] = items([64, 32])
    """widths of the remapping network's head"""
    latent_lr: float = 2e-4
    """Adam learning rate of the latent policy and generator (beta1 0.5, as the authors)"""
    remap_lr: float = 2e-3
    """Adam learning rate of the remapping network"""
    explore: float = 0.2
    """share of uniformly random actions while collecting (the authors' code: 0.2)"""
    action_bins: int = 7
    """continuous tasks only: values per action dimension (the RLV paper's State Pusher: 7 x 7 = 49)"""  # noqa: E501

    def validate(self, cfg: TrainConfig) -> None:
        require(self, "latents action_bins", lambda v: v >= 2, ">= 2")
        require(self, "latent_steps latent_lr remap_lr", positive, "positive")
        require(self, "explore", lambda v: 0.0 <= v <= 1.0, "in [0, 1]")
        require(self, "embed_hidden generator_hidden remap_hidden", layer_widths, WIDTHS)


def leaky_mlp(in_dim: int, widths: list[int], out_dim: int | None = None) -> nn.Sequential:
    """Linear layers each followed by LeakyReLU(0.2); a last plain Linear when ``out_dim``."""
    layers: list[nn.Module] = []
    for width in widths:
        layers += [nn.Linear(in_dim, width), nn.LeakyReLU(0.2)]
        in_dim = width
    if out_dim is not None:
        layers.append(nn.Linear(in_dim, out_dim))
    return nn.Sequential(*layers)


class LatentPolicyNetwork(nn.Module):
    """E(s), pi_w(z|s) and G(E(s), z) for every z at once."""

    def __init__(self, obs_dim: int, cfg: ILPOConfig) -> None:
        super().__init__()
        self.latents = cfg.latents
        self.embed = leaky_mlp(obs_dim, cfg.embed_hidden)
        width = cfg.embed_hidden[-1]
        self.policy_head = nn.Linear(width, cfg.latents)
        self.latent_embed = leaky_mlp(cfg.latents, [width])
        self.generator = leaky_mlp(2 * width, cfg.generator_hidden, obs_dim)

    def latent_logits(self, obs: torch.Tensor) -> torch.Tensor:
        """pi_w(z|s) logits alone (acting needs no predicted changes)."""
        return self.policy_head(self.embed(obs))

    def forward(self, obs: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(latent logits (B, Z), predicted changes (B, Z, D)) of states (B, D)."""
        h = self.embed(obs)
        codes = self.latent_embed(torch.eye(self.latents, device=obs.device))  # (Z, W)
        joined = torch.cat([h.unsqueeze(1).expand(-1, self.latents, -1),
                            codes.unsqueeze(0).expand(h.shape[0], -1, -1)], dim=-1)  # fmt: skip
        return self.policy_head(h), self.generator(joined)

    def best_latent(self, obs: torch.Tensor, next_obs: torch.Tensor) -> torch.Tensor:
        """z* = argmin_z ||(s' - s) - G(E(s), z)||: the latent that best explains each pair."""
        _, changes = self(obs)
        errors = (changes - (next_obs - obs).unsqueeze(1)).pow(2).sum(-1)
        return errors.argmin(-1)


def latent_losses(
    logits: torch.Tensor, changes: torch.Tensor, delta: torch.Tensor
) -> tuple[torch.Tensor, torch.Tensor]:
    """ILPO's (L_min, L_exp) of one batch; squared errors summed over state dimensions and
    averaged over the batch."""
    errors = (changes - delta.unsqueeze(1)).pow(2).sum(-1)  # (B, Z)
    l_min = errors.min(-1).values.mean()  # ILPO L_min
    expected = (logits.softmax(-1).unsqueeze(-1) * changes.detach()).sum(1)
    l_exp = (expected - delta).pow(2).sum(-1).mean()  # ILPO L_exp (G held fixed)
    return l_min, l_exp


class RemapNetwork(nn.Module):
    """pi_xi(a | s, z): its own state encoder and a code per latent, joined, to action logits."""

    def __init__(self, obs_dim: int, cfg: ILPOConfig, n_classes: int) -> None:
        super().__init__()
        self.latents = cfg.latents
        self.encode = leaky_mlp(obs_dim, cfg.embed_hidden)
        width = cfg.embed_hidden[-1]
        self.latent_embed = leaky_mlp(cfg.latents, [width])
        self.head = leaky_mlp(2 * width, cfg.remap_hidden, n_classes)

    def forward(self, obs: torch.Tensor, latent: torch.Tensor) -> torch.Tensor:
        code = self.latent_embed(F.one_hot(latent, self.latents).float())
        return self.head(torch.cat([self.encode(obs), code], dim=-1))


class ILPO(Method):
    """ILPO on state tasks: latent policy pre-training, then action remapping."""

    Config = ILPOConfig
    needs = frozenset({ROBOT, OBSERVATIONS})

    def __init__(self, spaces: Spaces, cfg: ILPOConfig, device: torch.device) -> None:
        super().__init__()
        self.cfg, self.device = cfg, device
        self.bins, self.n_classes = classes_of(
            "ilpo", spaces, cfg.action_bins, ILPOConfig.action_bins
        )
        obs_dim = spaces.obs_shape[0]
        self.latent = LatentPolicyNetwork(obs_dim, cfg)
        self.remap = RemapNetwork(obs_dim, cfg, self.n_classes)
        self.pretrain_steps = cfg.latent_steps
        self.to(device)
        self.latent_opt = torch.optim.Adam(self.latent.parameters(), cfg.latent_lr, (0.5, 0.999))
        self.remap_opt = torch.optim.Adam(self.remap.parameters(), cfg.remap_lr)

    @classmethod
    def build(cls, spaces: Spaces, cfg: TrainConfig, device: torch.device) -> ILPO:
        return cls(spaces, cfg.method, device)

    @property
    def metric_names(self) -> list[str]:
        return ["min_loss", "exp_loss", "remap_loss", "remap_acc"]

    @torch.no_grad()
    def act(self, obs: np.ndarray, deterministic: bool = False) -> np.ndarray | int:
        if not deterministic and float(torch.rand(())) < self.cfg.explore:
            return class_action(int(torch.randint(self.n_classes, ())), self.bins)
        x = torch.as_tensor(np.asarray(obs), device=self.device).float()[None]
        index = self.remap(x, self.latent.latent_logits(x).argmax(-1)).argmax(-1)
        return class_action(int(index.item()), self.bins)

    def pretrain(self, inputs: UpdateInputs) -> dict[str, torch.Tensor]:
        """One step of the latent policy and generator on observation transitions."""
        videos = inputs.observations
        obs = videos.obs.to(self.device).float()
        delta = videos.next_obs.to(self.device).float() - obs
        logits, changes = self.latent(obs)
        l_min, l_exp = latent_losses(logits, changes, delta)
        self.latent_opt.zero_grad(set_to_none=True)
        (l_min + l_exp).backward()  # ILPO: L_min + L_exp
        self.latent_opt.step()
        return {"min_loss": l_min.detach(), "exp_loss": l_exp.detach()}

    def update(self, inputs: UpdateInputs) -> dict[str, torch.Tensor]:
        """One step of the remapping network on robot transitions labelled with z*."""
        batch = inputs.robot
        obs = batch.obs.to(self.device).float()
        with torch.no_grad():
            latent = self.latent.best_latent(obs, batch.next_obs.to(self.device).float())
        target = action_classes(batch.action.to(self.device), self.bins)
        logits = self.remap(obs, latent)
        loss = F.cross_entropy(logits, target)  # ILPO: remapping, -log pi_xi(a | s, z*)
        self.remap_opt.zero_grad(set_to_none=True)
        loss.backward()
        self.remap_opt.step()
        accuracy = (logits.argmax(-1) == target).float().mean()
        return {"remap_loss": loss.detach(), "remap_acc": accuracy}

    def optimizers(self) -> dict[str, torch.optim.Optimizer]:
        return {"latent_opt": self.latent_opt, "remap_opt": self.remap_opt}
