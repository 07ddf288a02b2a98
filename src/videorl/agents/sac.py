"""Soft Actor-Critic (Haarnoja et al. 2018, "SAC algorithms and applications") for
continuous actions (tanh-Gaussian policy) and discrete actions (Christodoulou 2019), from
states or pixels. The shared core that RLV, RLMU and HOLD build on.

Equation numbers refer to Haarnoja et al. 2018b (arXiv 1812.05905): Eq. 5 soft Bellman
residual of the critics, Eq. 7 policy loss, Eq. 18 temperature loss.

Pixel presets (``encoder`` config key):
- ``paper``: the revised RLV appendix A layout, one conv extractor per network: the policy
  and each of the two Q functions own one; the target Q functions own target copies.
- ``fast``: one extractor shared by both Q heads and trained by the critic loss; the actor
  reads its detached features; next-state features come from the online extractor without
  gradient (as DrQ-v2), so no target extractor is needed.
"""

from __future__ import annotations

import copy
import math

import numpy as np
import torch
from torch import nn

from videorl.agents.base import Method, Spaces, UpdateInputs
from videorl.agents.common import adam
from videorl.config import SACConfig, TrainConfig
from videorl.data.augment import random_shift
from videorl.nets import CategoricalActor, ConvEncoder, GaussianActor, TwinQ

SAC_METRICS = ["critic_loss", "actor_loss", "alpha_loss", "alpha", "entropy", "q_mean"]


class SAC(Method):
    """SAC agent: ``act`` for rollouts, ``update`` for one gradient step on robot transitions.

    Methods built on SAC (RLV, ...) subclass it and use its public pieces: ``augment``,
    ``critic_features``, ``actor_features``, ``td_target``, ``critic_loss``,
    ``actor_alpha_step`` and ``update_targets``."""

    def __init__(self, spaces: Spaces, cfg: SACConfig, device: torch.device) -> None:
        super().__init__()
        self.spaces, self.cfg, self.device = spaces, cfg, device
        self.discrete = spaces.discrete
        self.pixels = spaces.pixels
        self.shared_encoder = self.pixels and cfg.encoder == "fast"
        hidden = cfg.pixel_hidden if self.pixels else cfg.hidden
        act_in = 0 if self.discrete else spaces.action_dim
        q_out = spaces.action_dim if self.discrete else 1

        if self.pixels:
            h, w, c = spaces.obs_shape
            chw = (c, h, w)
            if self.shared_encoder:
                self.critic_encoder = ConvEncoder(chw, cfg.conv_channels)
                feat = self.critic_encoder.out_dim
            else:
                self.actor_encoder = ConvEncoder(chw, cfg.conv_channels)
                self.q_encoders = nn.ModuleList(
                    [ConvEncoder(chw, cfg.conv_channels) for _ in range(2)]
                )
                self.target_q_encoders = copy.deepcopy(self.q_encoders).requires_grad_(False)
                feat = self.actor_encoder.out_dim
        else:
            feat = spaces.obs_shape[0]

        if self.discrete:
            self.actor = CategoricalActor(feat, hidden, spaces.action_dim)
        else:
            self.actor = GaussianActor(feat, hidden, spaces.action_dim)
        self.q = TwinQ(feat + act_in, hidden, q_out)
        self.target_q = copy.deepcopy(self.q).requires_grad_(False)
        self.log_alpha = nn.Parameter(torch.tensor(math.log(cfg.init_alpha)))
        if cfg.target_entropy is not None:
            self.target_entropy = float(cfg.target_entropy)
        elif self.discrete:
            self.target_entropy = cfg.discrete_entropy_scale * math.log(spaces.action_dim)
        else:
            self.target_entropy = -float(spaces.action_dim)
        self.to(device)

        critic_params = list(self.q.parameters())
        actor_params = list(self.actor.parameters())
        if self.pixels and self.shared_encoder:
            critic_params += list(self.critic_encoder.parameters())
        elif self.pixels:
            critic_params += list(self.q_encoders.parameters())
            actor_params += list(self.actor_encoder.parameters())
        self._actor_params = actor_params
        self.critic_opt = adam(critic_params, cfg.lr)
        self.actor_opt = adam(actor_params, cfg.lr)
        self.alpha_opt = adam([self.log_alpha], cfg.lr)
        self.autocast = lambda: torch.autocast(
            device.type, dtype=torch.bfloat16, enabled=cfg.precision == "bf16"
        )
        self._online = list(self.q.parameters())
        self._target = list(self.target_q.parameters())
        if self.pixels and not self.shared_encoder:
            self._online += list(self.q_encoders.parameters())
            self._target += list(self.target_q_encoders.parameters())

    @classmethod
    def build(cls, spaces: Spaces, cfg: TrainConfig, device: torch.device) -> SAC:
        return cls(spaces, cfg.sac, device)

    # -- features ------------------------------------------------------------------------
    def to_device(self, obs: torch.Tensor) -> torch.Tensor:
        obs = obs.to(self.device, non_blocking=True)
        return obs if self.pixels else obs.float()

    def critic_features(self, obs: torch.Tensor, target: bool = False) -> torch.Tensor:
        """Q-function features: (B, D) shared, or (2, B, D) when each Q has an extractor."""
        if not self.pixels:
            return obs
        if self.shared_encoder:
            return self.critic_encoder(obs)
        encoders = self.target_q_encoders if target else self.q_encoders
        return torch.stack([enc(obs) for enc in encoders])

    def actor_features(self, obs: torch.Tensor, critic_h: torch.Tensor | None = None):
        """Policy features; the fast preset reuses detached critic features when given."""
        if not self.pixels:
            return obs
        if self.shared_encoder:
            h = critic_h if critic_h is not None else self.critic_encoder(obs)
            return h.detach()
        return self.actor_encoder(obs)

    def _q_input(self, h: torch.Tensor, action: torch.Tensor) -> torch.Tensor:
        if self.discrete:
            return h
        if h.dim() == 3:
            action = action.unsqueeze(0).expand(h.shape[0], -1, -1)
        return torch.cat([h, action], dim=-1)

    @property
    def metric_names(self) -> list[str]:
        return list(SAC_METRICS)

    @property
    def alpha(self) -> torch.Tensor:
        return self.log_alpha.exp().detach()

    # -- acting --------------------------------------------------------------------------
    @torch.no_grad()
    def act(self, obs: np.ndarray, deterministic: bool = False) -> np.ndarray | int:
        """Action for one observation (HWC uint8 pixels or a state vector)."""
        x = torch.as_tensor(np.asarray(obs), device=self.device).unsqueeze(0)
        if self.pixels:
            x = x.permute(0, 3, 1, 2)
        else:
            x = x.float()
        with self.autocast():
            h = self.actor_features(x)
            return self._act_from_features(h, deterministic)

    def _act_from_features(self, h: torch.Tensor, deterministic: bool) -> np.ndarray | int:
        if self.discrete:
            probs, _ = self.actor(h)
            if deterministic:
                return int(probs.argmax(-1).item())
            return int(torch.multinomial(probs, 1).item())
        action, _ = self.actor(h, deterministic=deterministic)
        return action[0].cpu().numpy()

    # -- learning ------------------------------------------------------------------------
    def augment(
        self, obs: torch.Tensor, next_obs: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Move a batch's observations to the device; random-shift pixels.

        One offset per transition, drawn independently for each (REFERENCE.md defect 2) and
        applied to s and s' alike: the visual pusher's hand moves about 1.4 px per full
        action, while two independent shifts of pad 4 differ by 3.7 px (s.d.) per axis, so
        an inverse model (RLV Eq. 1) reading s and s' shifted apart could not see the motion.
        SAC uses the same rule, so that SAC and RLV train on identically augmented robot data.
        """
        obs, next_obs = self.to_device(obs), self.to_device(next_obs)
        if self.pixels and self.cfg.augment:
            channels = obs.shape[1]
            pairs = random_shift(torch.cat([obs, next_obs], dim=1), self.cfg.aug_pad)
            obs, next_obs = pairs[:, :channels], pairs[:, channels:]
        return obs, next_obs

    def td_target(
        self, next_obs: torch.Tensor, reward: torch.Tensor, terminated: torch.Tensor
    ) -> torch.Tensor:
        """y = r + gamma * (1 - terminated) * V(s'); truncation still bootstraps (defect 3)."""
        with torch.no_grad():
            hq_next = self.critic_features(next_obs, target=True)
            h_next = self.actor_features(next_obs, hq_next if self.shared_encoder else None)
            if self.discrete:
                probs, log_probs = self.actor(h_next)
                q_next = self.target_q(hq_next).min(0).values
                v_next = (probs * (q_next - self.alpha * log_probs)).sum(-1)
            else:
                a_next, logp_next = self.actor(h_next)
                q_next = self.target_q(self._q_input(hq_next, a_next)).min(0).values
                v_next = q_next - self.alpha * logp_next
            return reward + self.cfg.gamma * (1.0 - terminated) * v_next

    def critic_loss(
        self, obs: torch.Tensor, action: torch.Tensor, target: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Soft Bellman residual, SAC Eq. 5, summed over the twin critics.

        Returns (loss, critic features of obs, mean Q) so the actor can reuse the features.
        """
        hq = self.critic_features(obs)
        if self.discrete:
            idx = action.long().view(1, -1, 1).expand(2, -1, 1)
            q = self.q(hq).gather(-1, idx).squeeze(-1)
        else:
            q = self.q(self._q_input(hq, action))
        loss = 0.5 * (q - target.unsqueeze(0)).pow(2).mean(-1).sum()  # SAC Eq. 5
        return loss, hq, q.detach().mean()

    def actor_alpha_loss(
        self, obs: torch.Tensor, hq: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Policy loss (SAC Eq. 7) and temperature loss (SAC Eq. 18); returns entropy too.

        ``hq`` are the Q functions' features of ``obs`` from before the critic's optimiser
        step, read by the updated Q heads (as DrQ-v2 does; SB3 recomputes them). Measured on
        visual-pusher (benchmarks/results/actor_features.json, 8 points of a 1700-step run
        per layout): actor-gradient cosine to the recomputed one >= 0.9996, direction error
        3-10x below the noise between two minibatches, while recomputing cost 17-18% more
        time per update. On states the features are the states: identical by construction.
        """
        h = self.actor_features(obs, hq if self.shared_encoder else None)
        hq = hq.detach()
        if self.discrete:
            probs, log_probs = self.actor(h)
            q = self.q(hq).min(0).values
            actor_loss = (probs * (self.alpha * log_probs - q)).sum(-1).mean()  # SAC Eq. 7
            entropy = -(probs * log_probs).sum(-1).detach()
        else:
            action, log_prob = self.actor(h)
            q = self.q(self._q_input(hq, action)).min(0).values
            actor_loss = (self.alpha * log_prob - q).mean()  # SAC Eq. 7
            entropy = -log_prob.detach()
        alpha_loss = (self.log_alpha * (entropy - self.target_entropy)).mean()  # SAC Eq. 18
        return actor_loss, alpha_loss, entropy.mean()

    def update(self, inputs: UpdateInputs) -> dict[str, torch.Tensor]:
        """One gradient step of critics, actor and temperature, then the target update."""
        batch = inputs.robot
        obs, next_obs = self.augment(batch.obs, batch.next_obs)
        action = batch.action.to(self.device)
        reward = batch.reward.to(self.device)
        terminated = batch.terminated.to(self.device)

        with self.autocast():
            target = self.td_target(next_obs, reward, terminated)
            critic_loss, hq, q_mean = self.critic_loss(obs, action, target)
        self.critic_opt.zero_grad(set_to_none=True)
        critic_loss.backward()
        self.critic_opt.step()
        metrics = self.actor_alpha_step(obs, hq)
        self.update_targets()
        return {"critic_loss": critic_loss.detach(), "q_mean": q_mean, **metrics}

    def actor_alpha_step(
        self, obs: torch.Tensor, hq: torch.Tensor, scale: float = 1.0
    ) -> dict[str, torch.Tensor]:
        """Gradient steps on the policy (its loss times ``scale``) and the temperature."""
        with self.autocast():
            actor_loss, alpha_loss, entropy = self.actor_alpha_loss(obs, hq)
        self.actor_opt.zero_grad(set_to_none=True)
        (scale * actor_loss if scale != 1.0 else actor_loss).backward(inputs=self._actor_params)
        self.actor_opt.step()
        self.alpha_opt.zero_grad(set_to_none=True)
        alpha_loss.backward(inputs=[self.log_alpha])
        self.alpha_opt.step()
        return {
            "actor_loss": actor_loss.detach(),
            "alpha_loss": alpha_loss.detach(),
            "alpha": self.alpha,
            "entropy": entropy,
        }

    @torch.no_grad()
    def update_targets(self) -> None:
        torch._foreach_lerp_(self._target, self._online, self.cfg.tau)

    # -- checkpointing -------------------------------------------------------------------
    def optimizers(self) -> dict[str, torch.optim.Optimizer]:
        return {"critic_opt": self.critic_opt, "actor_opt": self.actor_opt,
                "alpha_opt": self.alpha_opt}  # fmt: skip
