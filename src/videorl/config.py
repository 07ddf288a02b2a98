"""Typed run configuration in sections: run and loop, SAC, observation videos, reward, and the
method's own section (defined in the method's file, see ``agents/registry.py``).

Each field's docstring (the string below it) is its help text: ``videorl train --help``,
``--help-config`` and the error for an unknown ``--set`` key are generated from it, so the
dataclasses are the documentation. Keys are unique across sections, so presets and ``--set``
use the plain key (``lr=1e-3``); ``sac.lr=1e-3`` names the section as well. A run folder's
``config.yaml`` holds the sections as nested mappings.
"""

from __future__ import annotations

import dataclasses
import functools
import math
import types
import typing
from dataclasses import dataclass, field
from typing import Any

import yaml

from videorl.errors import UserError


class ConfigError(UserError):
    """A user's configuration mistake; the CLI prints it as one line and exits 2."""


def require(section: Any, keys: str, ok: typing.Callable[[Any], bool], what: str) -> None:
    """Refuse the first of ``keys`` (space-separated fields of ``section``) whose value fails
    ``ok``, in one line that names it: "<key> must be <what>, got <value>"."""
    for key in keys.split():
        value = getattr(section, key)
        if not ok(value):
            raise ConfigError(f"{key} must be {what}, got {value!r}")


def positive(value: Any) -> bool:
    return value > 0


def non_negative(value: Any) -> bool:
    return value >= 0


def layer_widths(value: Any) -> bool:
    return bool(value) and all(width > 0 for width in value)


WIDTHS = "a non-empty list of positive layer widths"


def flag(default: Any, name: str, **argparse_options: Any) -> Any:
    """A field that ``videorl train`` also offers as the flag ``name`` (help: its docstring)."""
    meta = {"flag": name, "argparse": argparse_options}
    if isinstance(default, list):
        return field(default_factory=lambda: list(default), metadata=meta)
    return field(default=default, metadata=meta)


def items(default: list) -> Any:
    """A list-valued field with its own copy of ``default`` per instance."""
    return field(default_factory=lambda: list(default))


# -- the shared sections -----------------------------------------------------------------
@dataclass
class RunConfig:
    """Run and loop: the task, the budget, evaluation, replay and the machine."""

    env: str = flag("acrobot", "--env")
    """task name from `videorl envs`, or gym:ID for any gymnasium id"""
    algo: str = flag("sac", "--algo")
    """learning method; `videorl train --help-config` lists them with their keys"""
    seed: int = flag(0, "--seed", type=int)
    """seed for the environment, the networks, the buffer and exploration"""
    steps: int = flag(100_000, "--steps", type=int)
    """environment steps to train for"""
    eval_every: int = 5_000
    """evaluate (and checkpoint) every this many environment steps"""
    eval_episodes: int = 10
    """deterministic-policy episodes per evaluation"""
    eval_at_start: bool = True
    """also evaluate the untrained policy at step 0"""
    initial_steps: int = 1_000
    """uniformly random actions before learning starts (Table 1)"""
    batch_size: int = 256
    """robot transitions per gradient step (Table 1)"""
    updates_per_step: int = 1
    """gradient steps per environment step (Table 1)"""
    buffer_size: int | None = None
    """replay capacity in transitions; null = steps"""
    threads: int = 0
    """torch CPU threads; 0 = automatic (all cores, at most 4)"""
    device: str = "auto"
    """compute device: auto, cpu or cuda"""

    def validate(self, cfg: TrainConfig) -> None:
        require(
            self, "steps eval_every eval_episodes batch_size updates_per_step", positive, "positive"
        )
        require(self, "initial_steps seed", non_negative, ">= 0")
        if self.device not in ("auto", "cpu", "cuda"):
            raise ConfigError(f"device must be auto, cpu or cuda, got {self.device!r}")
        if self.buffer_size is not None and self.buffer_size < self.batch_size:
            raise ConfigError("buffer_size must be at least batch_size")
        if self.threads < 0:
            raise ConfigError("threads must be >= 0")


@dataclass
class SACConfig:
    """Soft Actor-Critic, the core every method trains (RLV Tables 1, 3 and 4)."""

    lr: float = 3e-4
    """Adam learning rate of actor, critics and temperature (Table 1)"""
    gamma: float = 0.99
    """discount factor"""
    tau: float = 0.005
    """Polyak rate of the target critics"""
    init_alpha: float = 1.0
    """initial entropy temperature"""
    target_entropy: float | None = None
    """entropy target; null = -|A| for continuous actions, discrete_entropy_scale * log(n) for discrete ones"""  # noqa: E501
    discrete_entropy_scale: float = 0.3
    """discrete SAC: target entropy as a fraction of the maximum log(n). 0.3 learns acrobot best of 0.3, 0.89 (CleanRL) and 0.98 (Christodoulou 2019): final return -81.8 / -87.6 / -100 over 5 seeds at 30k steps (benchmarks/results/acrobot_target_entropy.json); at 0.98 the policy stays near-uniform"""  # noqa: E501
    hidden: list[int] = items([256, 256])
    """MLP layer widths of actor and critics on states (Table 3)"""
    pixel_hidden: list[int] = items([512, 256, 256])
    """MLP layer widths of actor and critics on pixels (Table 4)"""
    encoder: str = "paper"
    """pixel encoder layout: paper (one conv extractor per network, RLV appendix A) or fast (one extractor shared by both critics, detached features for the actor)"""  # noqa: E501
    conv_channels: list[int] = items([16, 16, 32])
    """conv filters, 5x5 each + 2x2 max-pool (Table 4)"""
    augment: bool = True
    """random-shift augmentation of pixel batches: one offset per transition, the same for s and s' (RLV appendix D augments only the human-video experiments)"""  # noqa: E501
    aug_pad: int = 4
    """random-shift padding in pixels (RLV appendix D)"""
    precision: str = "fp32"
    """network arithmetic: fp32, or bf16 (autocast matmuls/convs; output layers and losses stay fp32). bf16 learned as well as fp32 on states (5 seeds, Pendulum and acrobot) and trained 1.08x (states) to 1.5x (pixels) faster on an AMX CPU; fp32 stays the default so that a command gives the same numbers on every machine, and because no pixel task has been compared in both"""  # noqa: E501

    def unread(self, pixels: bool) -> list[tuple[str, str]]:
        """(key, what reads it) of keys set away from their defaults that a task observing
        pixels (or states) does not read."""
        pixel_keys = ("pixel_hidden", "encoder", "conv_channels", "augment", "aug_pad")
        keys, reader = (("hidden",), "state tasks") if pixels else (pixel_keys, "pixel tasks")
        default = SACConfig()
        return [(k, reader) for k in keys if getattr(self, k) != getattr(default, k)]

    def validate(self, cfg: TrainConfig) -> None:
        if not 0.0 < self.gamma <= 1.0:
            raise ConfigError(f"gamma must be in (0, 1], got {self.gamma}")
        if not 0.0 < self.tau <= 1.0:
            raise ConfigError(f"tau must be in (0, 1], got {self.tau}")
        require(self, "lr init_alpha", positive, "positive")
        if self.encoder not in ("paper", "fast"):
            raise ConfigError(f"encoder must be 'paper' or 'fast', got {self.encoder!r}")
        if self.precision not in ("fp32", "bf16"):
            raise ConfigError(f"precision must be fp32 or bf16, got {self.precision!r}")
        require(self, "aug_pad", non_negative, ">= 0")
        require(self, "hidden pixel_hidden conv_channels", layer_widths, WIDTHS)


@dataclass
class VideoConfig:
    """Action-free observation videos, for methods whose updates read them."""

    obs_data: str | None = flag(None, "--obs-data", metavar="DIR")
    """observation dataset folder (videorl collect or videorl import-videos)"""
    obs_batch_size: int = 256
    """observation transitions (or clips) per gradient step (RLV's m, Table 1)"""

    def validate(self, cfg: TrainConfig) -> None:
        if not self.obs_data:
            raise ConfigError(
                f"algo {cfg.run.algo} learns from observation videos: pass --obs-data DIR (a "
                "dataset made by videorl collect or videorl import-videos)"
            )
        require(self, "obs_batch_size", positive, "positive")


@dataclass
class RewardConfig:
    """The reward the agent optimises: the task's, or a learned distance to goal images (HOLD Eq. 4, Sec. IV-B)."""  # noqa: E501

    reward: str = flag("env", "--reward")
    """env (the task's), hold:MODEL_DIR, pixel-l2, embedding:ENCODER.pt, or tcn:MODEL_DIR|ENCODER.pt (follows the demo video)"""  # noqa: E501
    goal: list[str] = flag([], "--goal", nargs="+", metavar="GOAL.png")
    """goal image(s), PNG at the observation size; several = chain"""
    reward_scale: str = "auto"
    """normaliser T, a number or auto (initial-state reward about -1/3)"""
    env_reward_weight: float = 1.0
    """w_env, weight of the task's sparse reward added to the learned one"""
    reward_form: str = "cumulative"
    """cumulative (d(s',g) - d(g,g), what the authors ran) or instantaneous (-(d(s',g) - d(s,g)), the paper's ablation)"""  # noqa: E501
    subgoal_threshold: float = 1.0
    """move to the next goal when d(s', g) < this (the authors' rule, raw distance)"""
    subgoal_steps: int = 3
    """... for this many consecutive steps"""
    subgoal_cost: float | None = None
    """cost per remaining subgoal before dividing by T; null = largest gap"""
    goal_conditioned: bool = False
    """append the current goal image to the observation"""
    demo: str | None = None
    """reward tcn: dataset folder holding the demonstration video"""
    demo_episode: int = 0
    """reward tcn: which episode of demo to follow"""

    @property
    def learned(self) -> bool:
        return is_learned(self.reward)

    def validate(self, cfg: TrainConfig) -> None:
        if self.reward != "env" and not self.learned:
            raise ConfigError(
                f"unknown reward {self.reward!r}; use env, hold:MODEL_DIR, pixel-l2, "
                "embedding:ENCODER.pt or tcn:MODEL_DIR|ENCODER.pt"
            )
        tcn = self.reward.startswith("tcn:")
        if self.learned and not tcn and not self.goal:
            raise ConfigError(NEEDS_GOAL)
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
        if self.goal_conditioned and (self.reward == "env" or cfg.videos is not None):
            raise ConfigError(
                "goal_conditioned needs a learned --reward and a method without observation "
                "videos (videos carry no goal image)"
            )


NEEDS_GOAL = (
    "a learned reward needs a goal image: pass --goal GOAL.png "
    "(render one with videorl goal --env ENV --out GOAL.png)"
)


def is_learned(spec: str) -> bool:
    """Whether a reward spec names a learned or baseline distance (hold:DIR, pixel-l2, ...)."""
    return spec == "pixel-l2" or ":" in spec


# -- the whole configuration -------------------------------------------------------------
@dataclass
class TrainConfig:
    """Everything that defines a training run; written resolved to ``RUN_DIR/config.yaml``.

    ``videos`` is present only for methods that read observation videos and ``method`` (the
    method's own section) only for methods that have one; build it with
    ``videorl.agents.registry.make_config``, which knows which.
    """

    run: RunConfig = field(default_factory=RunConfig)
    sac: SACConfig = field(default_factory=SACConfig)
    reward: RewardConfig = field(default_factory=RewardConfig)
    videos: VideoConfig | None = None
    method: Any = None

    def sections(self) -> dict[str, Any]:
        """Section name -> section, as written to config.yaml (the method's under its algo)."""
        out = {"run": self.run, "sac": self.sac, "reward": self.reward}
        if self.videos is not None:
            out["videos"] = self.videos
        if self.method is not None:
            out[self.run.algo] = self.method
        return out

    def validate(self) -> TrainConfig:
        """Check ranges and choices of every section; raise ConfigError naming key and fix."""
        for section in self.sections().values():
            if hasattr(section, "validate"):  # a section without checks needs no method
                section.validate(self)
        return self

    def to_dict(self) -> dict[str, Any]:
        return {name: dataclasses.asdict(s) for name, s in self.sections().items()}

    def flat(self) -> dict[str, Any]:
        """Every key with its value, sections merged (keys are unique across sections)."""
        return {k: v for section in self.to_dict().values() for k, v in section.items()}


@functools.cache
def field_help(cls: type, name: str) -> str:
    """A field's docstring, the string literal below it (via simple-parsing's reader)."""
    from simple_parsing.docstring import get_attribute_docstring

    doc = get_attribute_docstring(cls, name)
    return " ".join((doc.docstring_below or doc.comment_inline or doc.comment_above).split())


def section_help(name: str, cls: type) -> str:
    """The help block of one section: its docstring, then one line per key."""
    lines = [f"{name}: {(cls.__doc__ or '').strip().splitlines()[0]}"]
    for f in dataclasses.fields(cls):
        default = f.default_factory() if callable(f.default_factory) else f.default  # type: ignore[misc]
        lines.append(f"  {f.name} (default {default!r}): {field_help(cls, f.name)}")
    return "\n".join(lines)


def coerce(cls: type, key: str, raw: Any) -> Any:
    """Turn a YAML/--set value into the type of field ``key`` of ``cls``, or ConfigError."""
    ftype = typing.get_type_hints(cls)[key]
    value = yaml.safe_load(raw) if isinstance(raw, str) else raw
    union = typing.get_origin(ftype) in (typing.Union, types.UnionType)
    args = typing.get_args(ftype) if union else (ftype,)
    if value is None:
        if type(None) in args:
            return None
        raise ConfigError(f"{key} cannot be null")
    target = next(a for a in args if a is not type(None))
    if typing.get_origin(target) is list:
        item = typing.get_args(target)[0]
        example = "paths like [a.png, b.png]" if item is str else "integers like [256,256]"
        if isinstance(value, item):
            value = [value]
        if not isinstance(value, list) or not all(
            isinstance(v, item) and not isinstance(v, bool) for v in value
        ):
            raise ConfigError(f"{key} must be a list of {example}, got {raw!r}")
        return value
    if target is bool:
        if not isinstance(value, bool):
            raise ConfigError(f"{key} must be true or false, got {raw!r}")
        return value
    if target is float and isinstance(value, str):
        try:  # YAML 1.1 reads "1e-3" as a string
            value = float(value)
        except ValueError:
            pass
    if target is float and isinstance(value, int | float) and not isinstance(value, bool):
        if not math.isfinite(value):  # nan, inf: no setting means them; NaN slips past `<= 0`
            raise ConfigError(f"{key} must be a finite number, got {raw!r}")
        return float(value)
    if target is int and isinstance(value, int) and not isinstance(value, bool):
        return value
    if target is int and isinstance(value, float) and value.is_integer():
        return int(value)
    if target is str and isinstance(value, str | int | float) and not isinstance(value, bool):
        return str(value)
    raise ConfigError(f"{key} must be of type {target.__name__}, got {raw!r}")


def apply_overrides(section: Any, values: dict[str, Any]) -> Any:
    """A copy of one section dataclass with ``values`` coerced and applied; an unknown key
    lists the valid ones."""
    valid = {f.name for f in dataclasses.fields(section)}
    for key in values:
        if key not in valid:
            raise ConfigError(f"unknown config key {key!r}; valid keys: {', '.join(sorted(valid))}")
    updates = {k: coerce(type(section), k, v) for k, v in values.items()}
    return dataclasses.replace(section, **updates)
