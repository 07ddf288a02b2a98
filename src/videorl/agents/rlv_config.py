"""RLV's configuration section (``rlv:`` in config.yaml): Eq. 1-4's weights and Tables 2-5,
the Fig. 8 ablations, the optional paired loss, and RLMU's video augmentation, which RLV can
use too. Kept apart from ``rlv.py`` so that the method file holds the method."""

from __future__ import annotations

from dataclasses import dataclass

from videorl.config import (
    NEEDS_GOAL,
    WIDTHS,
    ConfigError,
    TrainConfig,
    flag,
    is_learned,
    items,
    layer_widths,
    non_negative,
    positive,
    require,
)
from videorl.data.video_augment import AUGMENTS


@dataclass
class RLVConfig:
    """RLV (Schmeckpeper et al. 2020): Eq. 1-4 and Tables 2-5."""

    c1: float = 1.0
    """Eq. 4: weight of the inverse-model loss (Table 5)"""
    c2: float = 1.0
    """Eq. 4: weight of the RL (SAC) losses (Table 5)"""
    c3: float = 0.0
    """Eq. 4: weight of domain confusion; 0 disables it (Sec. 4.1-4.2), 0.001 for human videos"""
    c_large: float = 10.0
    """Eq. 2: reward of an observation video's last transition (obs_rewards=idle_tail: of each transition into its idle tail)"""  # noqa: E501
    c_small: float | None = None
    """Eq. 2: reward of every other transition; null = Table 2 (acrobot -1, else 0)"""
    obs_terminals: str = "last"
    """which observation transitions are terminal: last (Eq. 2: every video's last one, also where a time limit cut the video) or recorded (only those the dataset's groundtruth/ records as terminated; the others bootstrap)"""  # noqa: E501
    obs_cut: str = "none"
    """where observation videos end, cut in memory so that Eq. 2's last transition is the one into the goal: none (as recorded, the paper); idle_tail (where the frames stop changing, found without labels: they stay within idle_fraction of the video's largest distance from its last frame); first_reward (after the first transition the dataset's groundtruth/ rewards: a control that reads labels)"""  # noqa: E501
    idle_fraction: float = 0.1
    """obs_cut=idle_tail or obs_rewards=idle_tail: tolerance of the idle tail, a fraction of the video's largest distance from its last frame"""  # noqa: E501
    idle_min_frames: int = 10
    """obs_cut=idle_tail or obs_rewards=idle_tail: shorter still tails are no idle tail"""
    inverse_hidden: list[int] = items([64, 64, 64])
    """inverse-model MLP widths (Tables 3-4)"""
    inverse_encoder: str = "own"
    """own (the inverse model has its own extractor, revised appendix A) or shared (one extractor for every network, the CoRL version's layout; needs encoder=fast)"""  # noqa: E501
    disc_hidden: list[int] = items([64, 64, 64])
    """discriminator MLP widths (Table 5)"""
    disc_lr: float = 3e-8
    """discriminator learning rate (Table 5: 3e-8, kept in the Fig. 6/7 presets). On human-domain pushing, in 1000 updates, 3e-8 left the discriminator at chance (disc_acc 0.5) and 1e-4 reached 0.98 (benchmarks/results/domain_confusion_lr.md)"""  # noqa: E501
    obs_actions: str = "inverse"
    """observation actions from the inverse model; Fig. 8 ablations: groundtruth (the dataset's groundtruth/) or zero"""  # noqa: E501
    obs_rewards: str = flag("rlv", "--obs-reward", metavar="SPEC")
    """observation rewards: Eq. 2 (rlv); Fig. 8 ablations groundtruth or zero; idle_tail (beyond the paper, label-free: c_large on every transition into a video's idle tail, as in a task that rewards each step in the goal, c_small before it, none terminal; uses idle_fraction, idle_min_frames); or a learned reward such as hold:MODEL_DIR (uses goal, reward_scale; see --reward)"""  # noqa: E501
    paired_data: str | None = None
    """optional paired loss: a dataset of the same rollouts as obs_data rendered in the robot's domain (collect with the same --seed and policy)"""  # noqa: E501
    paired_weight: float = 1e-6
    """weight of the paired-feature loss (Table 5)"""
    obs_augment: str = "none"
    """RLMU's Video Data Generator (Sec. 3.2), copies made in memory: none, negative_jitter or reverse (the report found reversed videos did not help)"""  # noqa: E501
    augment_fraction: float = 0.5
    """augmented copies per observation video: 0.5, the report's half as many (a full set made training unstable)"""  # noqa: E501
    jitter: int = 5
    """negative jitter j: frames played forward then backward, repeatedly (the report: 2, 5, 7 or 10)"""  # noqa: E501
    jitter_start: list[int] = items([10, 25])
    """range of the frame where the jitter starts, inclusive (the report: among the first 10-25)"""  # noqa: E501

    def unread(self) -> dict[str, str]:
        """Keys this configuration does not read -> what would read them."""
        out = {}
        if not self.paired_data:
            out["paired_weight"] = "the paired loss (paired_data=DIR)"
        if self.c3 == 0:
            out |= dict.fromkeys(("disc_lr", "disc_hidden"), "domain confusion (c3 > 0)")
        if self.obs_rewards not in ("rlv", "idle_tail"):
            out |= dict.fromkeys(("c_large", "c_small"), "obs_rewards=rlv (Eq. 2) or idle_tail")
        if is_learned(self.obs_rewards) or self.obs_rewards == "idle_tail":
            out["obs_terminals"] = "obs_rewards=rlv, groundtruth or zero (the others have none)"
        if self.obs_augment != "negative_jitter":
            out |= dict.fromkeys(("jitter", "jitter_start"), "obs_augment=negative_jitter")
        if self.obs_augment == "none":
            out["augment_fraction"] = "video augmentation (obs_augment)"
        if self.obs_cut != "idle_tail" and self.obs_rewards != "idle_tail":
            idle = "obs_cut=idle_tail or obs_rewards=idle_tail"
            out |= dict.fromkeys(("idle_fraction", "idle_min_frames"), idle)
        return out

    def validate(self, cfg: TrainConfig) -> None:
        require(self, "c1 c2 c3 paired_weight", non_negative, ">= 0")
        require(self, "disc_lr", positive, "positive")
        choices = {
            "inverse_encoder": ("own", "shared"),
            "obs_actions": ("inverse", "groundtruth", "zero"),
            "obs_rewards": ("rlv", "groundtruth", "zero", "idle_tail"),
            "obs_terminals": ("last", "recorded"),
            "obs_cut": ("none", "idle_tail", "first_reward"),
            "obs_augment": AUGMENTS,
        }
        for key, allowed in choices.items():
            if getattr(self, key) not in allowed and not (
                key == "obs_rewards" and is_learned(self.obs_rewards)
            ):
                raise ConfigError(
                    f"{key} must be one of {', '.join(allowed)}, got {getattr(self, key)!r}"
                )
        require(self, "inverse_hidden disc_hidden", layer_widths, WIDTHS)
        if is_learned(self.obs_rewards) and not cfg.reward.goal:
            raise ConfigError(NEEDS_GOAL)
        require(self, "idle_fraction", lambda v: 0 < v < 1, "in (0, 1)")
        require(self, "idle_min_frames", positive, ">= 1")
        if self.obs_cut != "none" and self.obs_terminals == "recorded":
            raise ConfigError(
                f"obs_cut={self.obs_cut} makes each cut video's end terminal, obs_terminals="
                "recorded only the dataset's recorded terminals: choose one"
            )
        if self.obs_cut != "none" and self.obs_rewards == "idle_tail":
            raise ConfigError(
                f"obs_cut={self.obs_cut} cuts the videos' ends that obs_rewards=idle_tail labels "
                "as in the goal: choose one"
            )
        self._validate_augment()

    def _validate_augment(self) -> None:
        if self.obs_augment == "none":
            return
        require(self, "augment_fraction", lambda v: 0 < v <= 1, "in (0, 1]")
        require(self, "jitter", positive, ">= 1")
        if len(self.jitter_start) != 2 or not 0 <= self.jitter_start[0] <= self.jitter_start[1]:
            raise ConfigError("jitter_start must be [first, last] with 0 <= first <= last")
        readers = [s for s in self.groundtruth_readers().values() if s]
        labelled = is_learned(self.obs_rewards) or self.obs_rewards == "idle_tail"
        if readers or self.paired_data or labelled:
            what = readers[0] if readers else "paired_data" if self.paired_data else "obs_rewards"
            raise ConfigError(
                f"obs_augment={self.obs_augment} makes videos that {what} cannot read (no "
                "ground truth, no paired frames, no precomputed labels); use one or the other"
            )

    def groundtruth_readers(self) -> dict[str, str | None]:
        """groundtruth/ field -> the setting of this configuration that reads it, or None."""
        rewards = None
        if self.obs_rewards == "groundtruth":
            rewards = "obs_rewards=groundtruth"
        elif self.obs_cut == "first_reward":
            rewards = "obs_cut=first_reward"
        return {
            "actions": "obs_actions=groundtruth" if self.obs_actions == "groundtruth" else None,
            "rewards": rewards,
            "terminated": "obs_terminals=recorded" if self.obs_terminals == "recorded" else None,
        }
