"""`videorl train`: its flags generated from the config sections, the config from presets,
flags and ``--set``, resuming a run from its own folder, and the summary printed at the end.
"""

from __future__ import annotations

import argparse
import dataclasses
import math
from pathlib import Path
from typing import Any

from videorl.config import ConfigError, TrainConfig, field_help
from videorl.config_text import load_yaml, parse_set
from videorl.errors import UserError


def config_flags() -> list[tuple[type, dataclasses.Field, str]]:
    """(section, field, method or '') of every config field that is also a ``videorl train``
    flag, over the shared sections and every registered method's own section."""
    from videorl.agents.registry import METHODS, SHARED

    sections = [(cls, "") for cls in SHARED.values()]
    sections += [(m.Config, algo) for algo, m in METHODS.items() if m.Config is not None]
    return [field for cls, algo in sections for field in flagged_fields(cls, algo)]


def flagged_fields(cls: type, algo: str = "") -> list[tuple[type, dataclasses.Field, str]]:
    """The fields of config section ``cls`` marked with ``config.flag``."""
    return [(cls, f, algo) for f in dataclasses.fields(cls) if "flag" in f.metadata]


def add_config_flags(parser: argparse.ArgumentParser, fields) -> None:
    """One flag per field marked with ``config.flag``; its help is the field's docstring and
    its default."""
    seen = set()
    for cls, f, algo in fields:
        if f.metadata["flag"] in seen:  # a method section inherited from another method's
            continue
        seen.add(f.metadata["flag"])
        default = f.default_factory() if callable(f.default_factory) else f.default  # type: ignore[misc]
        help_text = field_help(cls, f.name) + (f" (algo {algo})" if algo else "")
        if default not in (None, []) and not f.metadata["argparse"].get("required"):
            help_text += f" (default: {default})"
        parser.add_argument(f.metadata["flag"], dest=f.name, help=help_text,
                            **f.metadata["argparse"])  # fmt: skip


def given_values(args: argparse.Namespace) -> dict[str, Any]:
    """What the user asked for: the --config YAML, then the command line on top of it. A key
    given twice on the command line (a flag and --set) is refused, not silently resolved."""
    values: dict[str, Any] = load_yaml(args.config) if args.config else {}
    return values | command_line_values(args, [f for _, f, _ in config_flags()])


def command_line_values(args: argparse.Namespace, fields) -> dict[str, Any]:
    """The config values given on the command line: the flags of ``fields`` that were given,
    and --set KEY=VALUE; a key given both ways is refused naming both."""
    flags = {f.name: (f.metadata["flag"], getattr(args, f.name)) for f in fields
             if getattr(args, f.name, None) is not None}  # fmt: skip
    sets = parse_set(args.set or [])
    for key in flags.keys() & sets.keys():
        flag, value = flags[key]
        raise ConfigError(
            f"{key} is given twice, as {flag} {value} and --set {key}={sets[key]}; keep one"
        )
    return {key: value for key, (_, value) in flags.items()} | sets


def build_config(args: argparse.Namespace) -> TrainConfig:
    from videorl.agents.registry import make_config

    return make_config(given_values(args))


def default_out(cfg: TrainConfig) -> Path:
    safe = cfg.run.env.replace(":", "-").replace("/", "-")
    return Path("runs") / f"{safe}_{cfg.run.algo}_seed{cfg.run.seed}"


def resume_config(out: str | Path | None, values: dict[str, Any]) -> TrainConfig:
    """The run's own config.yaml with ``values`` on top; only ``steps`` may differ (it
    extends the run, or shortens one not yet there), any other disagreement is refused
    naming the key."""
    from videorl.agents.registry import make_config
    from videorl.rundir import RunDir, config_values

    if not out:
        raise UserError("--resume needs --out RUN_DIR, the run folder to continue")
    run = RunDir(out)
    if not run.config.is_file():
        raise UserError(
            f"--resume: {run.path} holds no run (no config.yaml); start it without --resume"
        )
    return run.resumed(make_config({**config_values(run.read_config_dict()), **values}))


def last_checkpoint_step(out: str | Path) -> int | None:
    from videorl.rundir import RunDir

    steps = [step for step, _ in RunDir(out).snapshots()]
    return max(steps) if steps else None


def finished(cfg: TrainConfig, out: Path) -> bool:
    """Whether the run in ``out`` has reached ``cfg``'s length (then say so); a length below
    the step it has reached cannot be honoured and is refused."""
    done = last_checkpoint_step(out)
    if done is None or done < cfg.run.steps:
        return False
    if done > cfg.run.steps:
        raise UserError(
            f"--steps {cfg.run.steps}: {out} is already at step {done}, and a run is not cut "
            f"back; pass --steps above {done} to extend it"
        )
    print(f"{out} is finished at step {done}: nothing to do (pass a larger --steps to extend it)")
    return True


def summary(run_path: Path, wall: float) -> str:
    """What a finished run reached and where its files are; ``wall``: seconds this command
    took (a resumed run's metrics.csv also spans the time it was stopped)."""
    from videorl.rundir import read_metrics

    rows = read_metrics(run_path)
    if not rows:
        return f"run folder: {run_path}"
    last = rows[-1]
    best = max(rows, key=lambda r: -math.inf if math.isnan(r["eval_return"]) else r["eval_return"])

    def success(row: dict) -> str:
        return "n/a" if math.isnan(row["eval_success"]) else f"{row['eval_success']:.2f}"

    return "\n".join([
        f"run folder: {run_path} (config.yaml, metrics.csv, tb/, checkpoints/)",
        f"step {int(last['step'])}: eval_return {last['eval_return']:.4g} "
        f"eval_success {success(last)}",
        f"best: eval_return {best['eval_return']:.4g} eval_success {success(best)} at step "
        f"{int(best['step'])} (checkpoints/best.pt)",
        f"wall time {wall / 60:.1f} min" if wall >= 120 else f"wall time {wall:.0f} s",
    ])  # fmt: skip
