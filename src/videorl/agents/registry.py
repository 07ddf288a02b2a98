"""The table of methods: ``--algo`` name -> method class. Nothing else in videorl names a
method; adding one is its file plus its line here.

It also assembles a run's ``TrainConfig``: the shared sections, the ``videos`` section when
the method reads observation videos, and the method's own section (``Method.Config``).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any

import torch

from videorl.agents.base import CLIPS, OBSERVATIONS, Method, Spaces
from videorl.agents.bco import BCO
from videorl.agents.ilpo import ILPO
from videorl.agents.rlmu import RLMU
from videorl.agents.rlv import RLV
from videorl.agents.rnd import RND
from videorl.agents.sac import SAC
from videorl.config import (
    ConfigError,
    RewardConfig,
    RunConfig,
    SACConfig,
    TrainConfig,
    VideoConfig,
    apply_overrides,
    section_help,
)

METHODS: dict[str, type[Method]] = {
    "sac": SAC,
    "rlv": RLV,
    "rlmu": RLMU,
    "rnd": RND,
    "bco": BCO,
    "ilpo": ILPO,
}

BASELINE_ALGO = "sac"
"""The method others are compared to (``videorl plot``'s steps ratio; RLV's figures)."""

SHARED = {"run": RunConfig, "sac": SACConfig, "reward": RewardConfig, "videos": VideoConfig}


def method_class(algo: str) -> type[Method]:
    if algo not in METHODS:
        raise ConfigError(f"unknown algo {algo!r}; available: {', '.join(METHODS)}")
    return METHODS[algo]


def reads_videos(method: type[Method]) -> bool:
    return bool(method.needs & {OBSERVATIONS, CLIPS})


def sections_of(algo: str) -> dict[str, type]:
    """Section name -> dataclass of every section a run of ``algo`` has."""
    method = method_class(algo)
    out = {k: v for k, v in SHARED.items() if k != "videos" or reads_videos(method)}
    if method.Config is not None:
        out[algo] = method.Config
    return out


def _flatten(values: Mapping[str, Any], sections: dict[str, type]) -> dict[str, Any]:
    """Nested sections ({sac: {lr: ..}}), dotted keys (sac.lr) and plain keys -> plain keys."""
    flat: dict[str, Any] = {}
    for key, value in values.items():
        section, dot, name = key.partition(".")
        if not dot and key in sections and isinstance(value, Mapping):
            flat.update(value)
        elif dot:
            if section not in sections or name not in {f.name for f in dataclasses.fields(
                    sections[section])}:  # fmt: skip
                raise ConfigError(f"unknown config key {key!r}; see videorl train --help-config")
            flat[name] = value
        else:
            flat[key] = value
    return flat


def make_config(values: Mapping[str, Any] | None = None, /, **keys: Any) -> TrainConfig:
    """A validated TrainConfig from plain keys (``lr=1e-3``), dotted keys (``sac.lr``) or
    nested sections (a run's config.yaml); later sources win: ``values`` then ``keys``."""
    merged = {**(values or {}), **keys}
    algo = merged.get("algo", merged.get("run", {}).get("algo") if isinstance(
        merged.get("run"), Mapping) else None) or RunConfig.algo  # fmt: skip
    sections = sections_of(str(algo))
    flat = _flatten(merged, sections)
    owner = {f.name: name for name, cls in sections.items() for f in dataclasses.fields(cls)}
    unknown = [k for k in flat if k not in owner]
    if unknown:
        raise ConfigError(_unknown_key(unknown[0], str(algo), owner))
    built = {}
    for name, cls in sections.items():
        built[name] = apply_overrides(cls(), {k: v for k, v in flat.items() if owner[k] == name})
    cfg = TrainConfig(
        run=built["run"], sac=built["sac"], reward=built["reward"],
        videos=built.get("videos"),
        method=built[str(algo)] if method_class(str(algo)).Config is not None else None,
    )  # fmt: skip
    cfg.validate()
    _refuse_unread(cfg, method_class(str(algo)))
    return cfg


def unread_keys(cfg: TrainConfig, method: type[Method]) -> dict[str, str]:
    """Keys this run's method and reward do not read -> what would read them."""
    goal_reward = cfg.reward.learned or bool(
        reads_videos(method) and method.observation_request(cfg).reward_labels
    )
    out: dict[str, str] = {}
    learned = "a learned reward (--reward hold:DIR, pixel-l2, embedding:FILE or tcn:SRC)"
    for f in dataclasses.fields(RewardConfig):
        if f.name != "reward" and not goal_reward:
            out[f.name] = learned
    if goal_reward and not cfg.reward.reward.startswith("tcn:"):
        out.update(demo="--reward tcn:SRC", demo_episode="--reward tcn:SRC")
    if cfg.reward.reward.startswith("tcn:"):
        out["goal"] = "the goal-image rewards (hold:DIR, pixel-l2, embedding:FILE)"
    if cfg.method is not None and hasattr(cfg.method, "unread"):
        out.update(cfg.method.unread())
    return out


def _refuse_unread(cfg: TrainConfig, method: type[Method]) -> None:
    """A key set away from its default that nothing in this run reads is a mistake: the run
    would look configured by it and silently ignore it."""
    defaults = make_defaults(cfg.run.algo)
    values = cfg.flat()
    for key, reader in unread_keys(cfg, method).items():
        if values[key] != defaults[key]:
            raise ConfigError(
                f"{key}={values[key]!r} is not read by this run (algo {cfg.run.algo}, reward "
                f"{cfg.reward.reward}); it is read by {reader}: remove it or add that"
            )


def make_defaults(algo: str) -> dict[str, Any]:
    """Every key of ``algo``'s sections with its default value."""
    return {f.name: getattr(cls(), f.name) for cls in sections_of(algo).values()
            for f in dataclasses.fields(cls)}  # fmt: skip


def _unknown_key(key: str, algo: str, owner: dict[str, str]) -> str:
    readers = sorted(a for a in METHODS if key in {
        f.name for cls in sections_of(a).values() for f in dataclasses.fields(cls)})  # fmt: skip
    if readers:
        return f"config key {key!r} is read by {', '.join(readers)}, not by algo {algo}"
    return f"unknown config key {key!r}; valid keys for algo {algo}: {', '.join(sorted(owner))}"


def config_help() -> str:
    """Every section of every method, one line per key (``videorl train --help-config``)."""
    blocks = [section_help(name, cls) for name, cls in SHARED.items()]
    for algo, method in METHODS.items():
        if method.Config is not None:
            blocks.append(section_help(f"{algo} (algo {algo} only)", method.Config))
    return "\n".join(blocks)


def make_method(spaces: Spaces, cfg: TrainConfig, device: torch.device) -> Method:
    """The method ``cfg.run.algo`` names, built from the sections it reads."""
    return method_class(cfg.run.algo).build(spaces, cfg, device)
