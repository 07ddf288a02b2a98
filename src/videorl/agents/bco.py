"""BCO(alpha): Behavioral Cloning from Observation (Torabi, Warnell, Stone, IJCAI 2018), the
RLV paper's baseline on Acrobot and the State Pusher. Equation numbers are the BCO paper's.

Algorithm 1 on videorl's loop:
- The pre-demonstration policy is the loop's random phase: ``run.initial_steps`` uniformly
  random actions are |I_pre| (the RLV authors' Acrobot script: 50).
- At the end of the random phase, and then after every ``round_steps`` = alpha |I_pre|
  interactions with the current policy, one round of fitting: ``inverse_steps`` gradient
  steps of the inverse model M_theta on all robot transitions so far (Eq. 1: maximum
  likelihood of a given (s, s')), then ``bc_steps`` steps of behavioural cloning of the
  observation videos (Eq. 2: maximum likelihood of the inferred actions given s), their
  actions inferred by the current M_theta as its most likely action. ``round_steps = 0`` is
  BCO(0): one round, after the random phase.
- The policy acts by sampling from pi_phi(a|s) while collecting (the paper's policy is a
  distribution; the authors' script acted greedily) and by its most likely action when
  evaluated. Widths, learning rates and step counts default to the RLV authors' Acrobot
  script (REFERENCE.md, "Baselines in practice"); its batch size 32 is ``batch_size`` and
  ``obs_batch_size`` in the presets. The MLPs use ReLU (videorl's ``mlp``, shared with RLV's
  inverse model) where the script used LeakyReLU(0.2).
- Equation numbers: BCO Eq. 1 (the inverse model's maximum likelihood) and Eq. 2 (behavioural
  cloning's), as numbered in the BCO paper's Section 4 to our knowledge; its text is not
  among ../shared/papers and could not be re-checked offline.
BCO is defined for discrete actions; on a continuous task both models classify among
``action_bins`` values per action dimension (``ActionBins``); the agent acts at the bins'
values. The inverse model and its loss (RLV Eq. 1 in its discrete form) are RLV's.
BCO never reads the dataset's ``groundtruth/``; where a dataset has ground-truth actions they
are compared with the inferred labels for the ``obs_label_acc`` diagnostic only.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F

from videorl.agents.base import OBSERVATIONS, ROBOT, Method, Spaces, UpdateInputs
from videorl.agents.common import (
    InverseModel,
    action_classes,
    adam,
    class_action,
    classes_of,
    inverse_loss,
)
from videorl.config import (
    WIDTHS,
    ConfigError,
    RunConfig,
    TrainConfig,
    items,
    layer_widths,
    non_negative,
    positive,
    require,
)
from videorl.nets import mlp


@dataclass
class BCOConfig:
    """BCO(alpha): rounds of interaction, inverse-model fitting and behavioural cloning."""

    round_steps: int = 50
    """alpha |I_pre|: interactions with the current policy between two rounds of fitting (the RLV authors' Acrobot script: 50); 0 is BCO(0), one round after the random phase"""  # noqa: E501
    inverse_steps: int = 10_000
    """inverse-model gradient steps per round (Eq. 1; the authors' script: 10,000)"""
    bc_steps: int = 10_000
    """behavioural-cloning gradient steps per round (Eq. 2; the authors' script: 10,000)"""
    inverse_hidden: list[int] = items([128, 256])
    """inverse-model MLP widths (the authors' script: 128, 256)"""
    policy_hidden: list[int] = items([128, 256, 64, 32])
    """policy MLP widths (the authors' script: 128, 256, 64, 32)"""
    inverse_lr: float = 2e-4
    """Adam learning rate of the inverse model (the authors' script: 2e-4)"""
    policy_lr: float = 2e-3
    """Adam learning rate of the policy (the authors' script: 2e-3)"""
    action_bins: int = 7
    """continuous tasks only: values per action dimension (the RLV paper's State Pusher: 7, i.e. 7 x 7 = 49 classes)"""  # noqa: E501

    def validate(self, cfg: TrainConfig) -> None:
        require(self, "round_steps", non_negative, ">= 0")
        require(self, "inverse_steps bc_steps inverse_lr policy_lr", positive, "positive")
        require(self, "action_bins", lambda v: v >= 2, ">= 2")
        require(self, "inverse_hidden policy_hidden", layer_widths, WIDTHS)
        if cfg.run.initial_steps < max(cfg.run.batch_size, 1):
            raise ConfigError(
                f"bco fits its inverse model on the random phase's transitions: initial_steps "
                f"({cfg.run.initial_steps}) must be at least batch_size ({cfg.run.batch_size})"
            )


class BCO(Method):
    """BCO(alpha) with an MLP inverse model and an MLP categorical policy (state tasks)."""

    Config = BCOConfig
    needs = frozenset({ROBOT, OBSERVATIONS})

    def __init__(self, spaces: Spaces, cfg: BCOConfig, device: torch.device) -> None:
        super().__init__()
        self.cfg, self.device, self.spaces = cfg, device, spaces
        self.bins, n_classes = classes_of("bco", spaces, cfg.action_bins, BCOConfig.action_bins)
        obs_dim = spaces.obs_shape[0]
        self.inverse = InverseModel(obs_dim, cfg.inverse_hidden, n_classes)
        self.policy = mlp(obs_dim, cfg.policy_hidden, n_classes)
        self.register_buffer("fit_updates", torch.zeros((), dtype=torch.long))
        self.to(device)
        self.inverse_opt = adam(self.inverse.parameters(), cfg.inverse_lr)
        self.policy_opt = adam(self.policy.parameters(), cfg.policy_lr)

    @classmethod
    def build(cls, spaces: Spaces, cfg: TrainConfig, device: torch.device) -> BCO:
        return cls(spaces, cfg.method, device)

    @property
    def metric_names(self) -> list[str]:
        return ["inverse_loss", "inverse_acc", "bc_loss", "obs_label_acc"]

    def updates_due(self, step: int, run: RunConfig) -> int:
        """A round of fitting at the end of the random phase and every ``round_steps`` after."""
        since = step - run.initial_steps
        rounds = self.cfg.round_steps
        if since < 0 or (since > 0 and (rounds == 0 or since % rounds)):
            return 0
        return self.cfg.inverse_steps + self.cfg.bc_steps

    @torch.no_grad()
    def act(self, obs: np.ndarray, deterministic: bool = False) -> np.ndarray | int:
        logits = self.policy(torch.as_tensor(np.asarray(obs), device=self.device).float()[None])
        if deterministic:
            index = int(logits.argmax(-1).item())
        else:
            index = int(torch.multinomial(logits.softmax(-1), 1).item())
        return class_action(index, self.bins)

    def infer_actions(self, obs: torch.Tensor, next_obs: torch.Tensor) -> torch.Tensor:
        """Algorithm 1's action inference: the inverse model's most likely class per pair."""
        with torch.no_grad():
            return self.inverse.predict(obs, next_obs).argmax(-1)

    def fitting_inverse(self) -> bool:
        """Whether the next update of the round is an inverse-model step (else cloning)."""
        return int(self.fit_updates) % (self.cfg.inverse_steps + self.cfg.bc_steps) < (
            self.cfg.inverse_steps
        )

    def update_needs(self) -> frozenset[str]:
        return frozenset({ROBOT}) if self.fitting_inverse() else frozenset({OBSERVATIONS})

    def update(self, inputs: UpdateInputs) -> dict[str, torch.Tensor]:
        """One step of the current round: the inverse model first, then the policy."""
        inverse = self.fitting_inverse()
        self.fit_updates += 1
        return self.inverse_step(inputs) if inverse else self.clone_step(inputs)

    def inverse_step(self, inputs: UpdateInputs) -> dict[str, torch.Tensor]:
        batch = inputs.robot
        obs, next_obs = batch.obs.to(self.device).float(), batch.next_obs.to(self.device).float()
        target = action_classes(batch.action.to(self.device), self.bins)
        logits = self.inverse.predict(obs, next_obs)
        loss = inverse_loss(logits, target, discrete=True)  # BCO Eq. 1 (RLV Eq. 1, discrete)
        self.inverse_opt.zero_grad(set_to_none=True)
        loss.backward()
        self.inverse_opt.step()
        accuracy = (logits.argmax(-1) == target).float().mean()
        return {"inverse_loss": loss.detach(), "inverse_acc": accuracy}

    def clone_step(self, inputs: UpdateInputs) -> dict[str, torch.Tensor]:
        videos = inputs.observations
        obs = videos.obs.to(self.device).float()
        labels = self.infer_actions(obs, videos.next_obs.to(self.device).float())
        loss = F.cross_entropy(self.policy(obs), labels)  # BCO Eq. 2 (its negative log)
        self.policy_opt.zero_grad(set_to_none=True)
        loss.backward()
        self.policy_opt.step()
        metrics = {"bc_loss": loss.detach()}
        gt = videos.gt_action
        if gt is not None and not torch.isnan(gt.float()).any():
            truth = action_classes(gt.to(self.device), self.bins)
            metrics["obs_label_acc"] = (labels == truth).float().mean()
        return metrics

    def optimizers(self) -> dict[str, torch.optim.Optimizer]:
        return {"inverse_opt": self.inverse_opt, "policy_opt": self.policy_opt}
