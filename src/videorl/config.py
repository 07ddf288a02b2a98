"""Typed run configuration: one dataclass, YAML presets, ``--set KEY=VALUE`` overrides.

Every field carries a one-line help text in its metadata; ``videorl train --help-config``
prints them and an unknown ``--set`` key lists them, so the dataclass is the documentation.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from videorl.errors import UserError


class ConfigError(UserError):
    """A user's configuration mistake; the CLI prints it as one line and exits 2."""


def _f(default: Any, help: str) -> Any:
    if isinstance(default, list):
        return field(default_factory=lambda: list(default), metadata={"help": help})
    return field(default=default, metadata={"help": help})


@dataclass
class TrainConfig:
    """Everything that defines a training run; written resolved to ``RUN_DIR/config.yaml``."""

    env: str = _f("acrobot", "task name from `videorl envs`, or gym:ID for any gymnasium id")
    algo: str = _f("sac", "learning algorithm: sac, or rlv (SAC + action-free videos, --obs-data)")
    seed: int = _f(0, "seed for the environment, the networks, the buffer and exploration")
    steps: int = _f(100_000, "environment steps to train for")
    eval_every: int = _f(5_000, "evaluate (and checkpoint) every this many environment steps")
    eval_episodes: int = _f(10, "deterministic-policy episodes per evaluation")
    eval_at_start: bool = _f(True, "also evaluate the untrained policy at step 0")
    initial_steps: int = _f(1_000, "uniformly random actions before learning starts (Table 1)")
    batch_size: int = _f(256, "transitions per gradient step (Table 1)")
    lr: float = _f(3e-4, "Adam learning rate of actor, critics and temperature (Table 1)")
    gamma: float = _f(0.99, "discount factor")
    tau: float = _f(0.005, "Polyak rate of the target critics")
    updates_per_step: int = _f(1, "gradient steps per environment step (Table 1)")
    init_alpha: float = _f(1.0, "initial entropy temperature")
    target_entropy: float | None = _f(
        None,
        "entropy target; null = -|A| for continuous actions, "
        "discrete_entropy_scale * log(n) for discrete ones",
    )
    discrete_entropy_scale: float = _f(
        0.3, "discrete SAC: target entropy as a fraction of the maximum log(n)"
    )
    hidden: list[int] = _f([256, 256], "MLP layer widths of actor and critics on states (Table 3)")
    pixel_hidden: list[int] = _f(
        [512, 256, 256], "MLP layer widths of actor and critics on pixels (Table 4)"
    )
    encoder: str = _f(
        "paper",
        "pixel encoder layout: paper (one conv extractor per network, RLV appendix A) or "
        "fast (one extractor shared by both critics, detached features for the actor)",
    )
    conv_channels: list[int] = _f([16, 16, 32], "conv filters, 5x5 each + 2x2 max-pool (Table 4)")
    augment: bool = _f(True, "random-shift augmentation of pixel batches, one offset per sample")
    aug_pad: int = _f(4, "random-shift padding in pixels (RLV appendix D)")
    buffer_size: int | None = _f(None, "replay capacity in transitions; null = steps")
    threads: int = _f(0, "torch CPU threads; 0 = automatic (all cores, at most 4)")
    device: str = _f("auto", "compute device: auto, cpu or cuda")
    precision: str = _f(
        "fp32", "network arithmetic: fp32, or bf16 (autocast matmuls/convs; losses stay fp32)"
    )

    # -- RLV (algo: rlv); Schmeckpeper et al. 2020, Eq. 1-4 and Tables 2-5 -----------------
    obs_data: str | None = _f(None, "RLV: observation dataset folder (videorl collect/import)")
    obs_batch_size: int = _f(256, "RLV: observation transitions per gradient step (m)")
    c1: float = _f(1.0, "RLV Eq. 4: weight of the inverse-model loss (Table 5)")
    c2: float = _f(1.0, "RLV Eq. 4: weight of the RL (SAC) losses (Table 5)")
    c3: float = _f(
        0.0, "RLV Eq. 4: weight of domain confusion; 0 disables it (Sec. 4.1-4.2), 0.001 human"
    )
    c_large: float = _f(10.0, "RLV Eq. 2: reward of an observation video's last transition")
    c_small: float | None = _f(
        None, "RLV Eq. 2: reward of every other transition; null = Table 2 (acrobot -1, else 0)"
    )
    inverse_hidden: list[int] = _f([64, 64, 64], "RLV inverse-model MLP widths (Tables 3-4)")
    inverse_encoder: str = _f(
        "own",
        "RLV: own (the inverse model has its own extractor, revised appendix A) or shared "
        "(it reads the first Q function's extractor, the CoRL-version layout)",
    )
    disc_hidden: list[int] = _f([64, 64, 64], "RLV discriminator MLP widths (Table 5)")
    disc_lr: float = _f(3e-8, "RLV discriminator learning rate (Table 5)")
    obs_actions: str = _f(
        "inverse",
        "RLV Fig. 8 ablation: observation actions from the inverse model, groundtruth "
        "(the dataset's groundtruth/), or zero",
    )
    obs_rewards: str = _f(
        "rlv",
        "RLV observation rewards: Eq. 2 (rlv); Fig. 8 ablations groundtruth or zero; or a "
        "learned reward such as hold:MODEL_DIR (uses goal, reward_scale; see --reward)",
    )
    paired_data: str | None = _f(
        None,
        "RLV optional paired loss: a dataset of the same rollouts as obs_data rendered in "
        "the robot's domain (collect with the same --seed and policy)",
    )
    paired_weight: float = _f(1e-6, "RLV weight of the paired-feature loss (Table 5)")

    # -- learned rewards (HOLD, Alakuijala et al. 2023, Eq. 4 and Sec. IV-B) ------------------
    reward: str = _f(
        "env",
        "reward: env (the task's), hold:MODEL_DIR, pixel-l2, embedding:ENCODER.pt, or "
        "tcn:MODEL_DIR|ENCODER.pt (follows the demo video)",
    )
    goal: list[str] = _f([], "reward: goal image(s), PNG at the observation size; several = chain")
    reward_scale: str = _f(
        "auto", "reward: normaliser T, a number or auto (initial-state reward about -1/3)"
    )
    env_reward_weight: float = _f(
        1.0, "reward: w_env, weight of the task's sparse reward added to the learned one"
    )
    reward_form: str = _f(
        "cumulative", "reward: cumulative (d(s',g) - d(g,g), used) or instantaneous (Eq. 4)"
    )
    subgoal_threshold: float = _f(1.0, "reward: move to the next goal when d - d(g,g) < this")
    subgoal_steps: int = _f(3, "reward: ... for this many consecutive steps")
    subgoal_cost: float | None = _f(
        None, "reward: cost per remaining subgoal before dividing by T; null = largest gap"
    )
    goal_conditioned: bool = _f(False, "reward: append the current goal image to the observation")
    demo: str | None = _f(None, "reward tcn: dataset folder holding the demonstration video")
    demo_episode: int = _f(0, "reward tcn: which episode of demo to follow")

    def validate(self) -> TrainConfig:
        """Check ranges and choices; raise ConfigError naming the key and the fix."""
        positive = ("steps", "eval_every", "eval_episodes", "batch_size", "updates_per_step")
        for key in positive:
            if getattr(self, key) <= 0:
                raise ConfigError(f"{key} must be positive, got {getattr(self, key)}")
        if self.initial_steps < 0:
            raise ConfigError(f"initial_steps must be >= 0, got {self.initial_steps}")
        if not 0.0 < self.gamma <= 1.0:
            raise ConfigError(f"gamma must be in (0, 1], got {self.gamma}")
        if not 0.0 < self.tau <= 1.0:
            raise ConfigError(f"tau must be in (0, 1], got {self.tau}")
        if self.lr <= 0 or self.init_alpha <= 0:
            raise ConfigError("lr and init_alpha must be positive")
        if self.encoder not in ("paper", "fast"):
            raise ConfigError(f"encoder must be 'paper' or 'fast', got {self.encoder!r}")
        if self.algo not in ("sac", "rlv"):
            raise ConfigError(f"unknown algo {self.algo!r}; available: sac, rlv")
        self._validate_rlv()
        self._validate_reward()
        if self.device not in ("auto", "cpu", "cuda"):
            raise ConfigError(f"device must be auto, cpu or cuda, got {self.device!r}")
        if self.precision not in ("fp32", "bf16"):
            raise ConfigError(f"precision must be fp32 or bf16, got {self.precision!r}")
        if self.buffer_size is not None and self.buffer_size < self.batch_size:
            raise ConfigError("buffer_size must be at least batch_size")
        if self.aug_pad < 0 or self.threads < 0:
            raise ConfigError("aug_pad and threads must be >= 0")
        if not self.hidden or not self.pixel_hidden or not self.conv_channels:
            raise ConfigError("hidden, pixel_hidden and conv_channels must not be empty")
        return self

    def _validate_rlv(self) -> None:
        if self.algo == "rlv" and not self.obs_data:
            raise ConfigError(
                "algo rlv needs observation videos: pass --obs-data DIR (a dataset made by "
                "videorl collect or videorl import-videos)"
            )
        if self.obs_batch_size <= 0:
            raise ConfigError(f"obs_batch_size must be positive, got {self.obs_batch_size}")
        if min(self.c1, self.c2, self.c3, self.paired_weight) < 0 or self.disc_lr <= 0:
            raise ConfigError("c1, c2, c3 and paired_weight must be >= 0 and disc_lr > 0")
        choices = {
            "inverse_encoder": ("own", "shared"),
            "obs_actions": ("inverse", "groundtruth", "zero"),
            "obs_rewards": ("rlv", "groundtruth", "zero"),
        }
        for key, allowed in choices.items():
            if getattr(self, key) not in allowed and not (
                key == "obs_rewards" and is_learned(self.obs_rewards)
            ):
                raise ConfigError(
                    f"{key} must be one of {', '.join(allowed)}, got {getattr(self, key)!r}"
                )
        if not self.inverse_hidden or not self.disc_hidden:
            raise ConfigError("inverse_hidden and disc_hidden must not be empty")

    def _validate_reward(self) -> None:
        if self.reward != "env" and not is_learned(self.reward):
            raise ConfigError(
                f"unknown reward {self.reward!r}; use env, hold:MODEL_DIR, pixel-l2, "
                "embedding:ENCODER.pt or tcn:MODEL_DIR|ENCODER.pt"
            )
        tcn = self.reward.startswith("tcn:")
        needs_goal = (is_learned(self.reward) and not tcn) or is_learned(self.obs_rewards)
        if needs_goal and not self.goal:
            raise ConfigError(
                "a learned reward needs a goal image: pass --goal GOAL.png "
                "(render one with videorl goal --env ENV --out GOAL.png)"
            )
        if tcn and not self.demo:
            raise ConfigError("reward tcn needs a demonstration video: --set demo=DATASET_DIR")
        if self.reward_scale != "auto":
            try:
                scale = float(self.reward_scale)
            except ValueError:
                scale = -1.0
            if not scale > 0:
                raise ConfigError(
                    f"reward_scale must be auto or a number > 0, got {self.reward_scale!r}"
                )
        if self.reward_form not in ("cumulative", "instantaneous"):
            raise ConfigError("reward_form must be cumulative or instantaneous")
        if self.subgoal_steps < 1:
            raise ConfigError("subgoal_steps must be >= 1")
        if self.goal_conditioned and (self.reward == "env" or self.algo == "rlv"):
            raise ConfigError("goal_conditioned needs a learned --reward and algo sac")

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


def is_learned(spec: str) -> bool:
    """Whether a reward spec names a learned or baseline distance (hold:DIR, pixel-l2, ...)."""
    return spec == "pixel-l2" or ":" in spec


RLV_KEYS = frozenset(
    f.name for f in dataclasses.fields(TrainConfig) if f.metadata.get("help", "").startswith("RLV")
)


def config_help(cls: type = TrainConfig) -> str:
    """One line per key: name, default and help; used by --help-config and --set errors."""
    lines = []
    for f in dataclasses.fields(cls):
        default = f.default_factory() if callable(f.default_factory) else f.default  # type: ignore[misc]
        lines.append(f"  {f.name} (default {default!r}): {f.metadata.get('help', '')}")
    return "\n".join(lines)


def _coerce(cls: type, key: str, raw: Any) -> Any:
    """Turn a YAML/--set value into the field's type, or raise ConfigError."""
    fields = {f.name: f for f in dataclasses.fields(cls)}
    default = getattr(cls(), key)
    value = yaml.safe_load(raw) if isinstance(raw, str) else raw
    ftype = str(fields[key].type)
    if value is None:
        if "None" in ftype:
            return None
        raise ConfigError(f"{key} cannot be null")
    if "list" in ftype:
        item, example = (str, "paths like [a.png, b.png]") if "list[str]" in ftype else (
            int, "integers like [256,256]"
        )  # fmt: skip
        if isinstance(value, item):
            value = [value]
        if not isinstance(value, list) or not all(isinstance(v, item) for v in value):
            raise ConfigError(f"{key} must be a list of {example}, got {raw!r}")
        return value
    if default is not None:
        target = type(default)
    else:
        target = float if "float" in ftype else str if "str" in ftype else int
    if target is bool:
        if not isinstance(value, bool):
            raise ConfigError(f"{key} must be true or false, got {raw!r}")
        return value
    if target is float and isinstance(value, str):
        try:  # YAML 1.1 reads "1e-3" as a string
            return float(value)
        except ValueError:
            pass
    if target is float and isinstance(value, int | float) and not isinstance(value, bool):
        return float(value)
    if target is int and isinstance(value, int) and not isinstance(value, bool):
        return value
    if target is int and isinstance(value, float) and value.is_integer():
        return int(value)
    if target is str and isinstance(value, str | int | float):
        return str(value)
    raise ConfigError(f"{key} must be of type {target.__name__}, got {raw!r}")


def apply_overrides(cfg: TrainConfig, items: dict[str, Any]) -> TrainConfig:
    """Return a copy of cfg with items applied; unknown keys list the valid ones."""
    valid = {f.name for f in dataclasses.fields(cfg)}
    updates = {}
    for key, raw in items.items():
        if key not in valid:
            raise ConfigError(f"unknown config key {key!r}; valid keys: {', '.join(sorted(valid))}")
        updates[key] = _coerce(type(cfg), key, raw)
    return dataclasses.replace(cfg, **updates)


def parse_set(pairs: list[str]) -> dict[str, str]:
    """Parse ``KEY=VALUE`` strings from the command line."""
    out = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key:
            raise ConfigError(f"--set expects KEY=VALUE, got {pair!r}")
        out[key.strip()] = value
    return out


def load_yaml(path: str | Path) -> dict[str, Any]:
    """Read a YAML preset into a dict, or raise ConfigError naming the file."""
    path = Path(path)
    if not path.is_file():
        raise ConfigError(f"config file {path} does not exist; pass a YAML file to --config")
    try:
        data = yaml.safe_load(path.read_text()) or {}
    except yaml.YAMLError as exc:
        first = str(exc).splitlines()[0]
        raise ConfigError(f"config file {path} is not valid YAML ({first})") from None
    if not isinstance(data, dict):
        raise ConfigError(f"config file {path} must hold a mapping of key: value")
    return data
