"""`videorl sweep PRESET --seeds N [--workers W]`: methods x seeds on a local process pool.

A sweep preset is a YAML file:

    name: acrobot-alpha          # folder name under runs/sweeps/ unless `out` is given
    out: runs/sweeps/acrobot-alpha   # optional
    base: {env: acrobot, steps: 30000, eval_every: 2000}   # config keys shared by all
    methods:                     # one entry per method: config keys on top of base
      sac: {}
      sac-alpha0.1: {init_alpha: 0.1}

Run folders are OUT/METHOD/seedS. A run whose metrics.csv already reaches its step budget is
skipped; one that stopped early resumes from its checkpoint; one that never checkpointed is
started again. So re-running the same command continues a sweep that was interrupted.
Every method's config is validated before anything starts.
"""

from __future__ import annotations

import csv
import shutil
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import replace
from pathlib import Path
from typing import Any

from videorl.agents.registry import make_config
from videorl.config import ConfigError, TrainConfig, load_yaml
from videorl.errors import UserError
from videorl.rundir import RunDir


def load_sweep(
    path: str | Path, overrides: dict[str, Any] | None = None
) -> tuple[str, Path, dict[str, TrainConfig]]:
    """(name, output folder, {method: config}) from a sweep preset, validated; ``overrides``
    (``videorl sweep --set``) replace values of the preset's base for every method."""
    data = load_yaml(path, what="the sweep preset")
    unknown = set(data) - {"name", "out", "base", "methods"}
    if unknown:
        raise UserError(
            f"{path}: unknown sweep keys {sorted(unknown)}; use name, out, base, methods"
        )
    methods = data.get("methods")
    if not isinstance(methods, dict) or not methods:
        raise UserError(f"{path}: 'methods' must map method names to config overrides")
    base = data.get("base") or {}
    if not isinstance(base, dict):
        raise UserError(f"{path}: 'base' must be a mapping of config keys")
    name = str(data.get("name") or Path(path).stem)
    out = Path(data.get("out") or Path("runs") / "sweeps" / name)
    configs = {}
    for method, own in methods.items():
        if not isinstance(own, dict | type(None)):
            raise UserError(f"{path}: method {method!r} must map config keys to values")
        try:
            cfg = make_config({**base, **(overrides or {}), **(own or {})})
        except ConfigError as exc:  # add which preset and method the bad key is in
            raise ConfigError(f"{path}: method {method!r}: {exc}") from None
        configs[str(method)] = cfg
    return name, out, configs


def check_datasets(path: str | Path, configs: dict[str, TrainConfig]) -> None:
    """Every dataset, distance model and goal image a method reads must exist before any run
    starts."""
    for method, cfg in configs.items():
        values = cfg.flat()
        inputs = [(key, values.get(key), Path.is_dir) for key in ("obs_data", "paired_data")]
        for key in ("reward", "obs_rewards"):
            kind, _, arg = str(values.get(key, "")).partition(":")
            if arg:  # hold:DIR is a folder; an encoder file (embedding:, tcn:) is a file
                inputs.append((key, arg, Path.exists))
        inputs += [("goal", goal, Path.is_file) for goal in cfg.reward.goal]
        inputs.append(("demo", cfg.reward.demo, Path.is_dir))
        for key, value, exists in inputs:
            if value and not exists(Path(value)):
                raise UserError(
                    f"{path}: method {method!r} reads {value} ({key}), which does not exist; "
                    "make it with the command in the preset's header"
                )


def run_state(run: Path, steps: int) -> str:
    """'finished', 'resume' (has a checkpoint), or 'start'."""
    rd = RunDir(run)
    if rd.metrics.is_file():
        with rd.metrics.open() as fh:
            rows = list(csv.DictReader(fh))
        if rows and int(rows[-1]["step"]) >= steps and rd.latest.is_file():
            return "finished"
    return "resume" if rd.latest.is_file() else "start"


def _run_one(cfg: TrainConfig, run: Path, state: str) -> str:
    from videorl.train import train

    if state == "start" and run.exists():
        shutil.rmtree(run)  # a run that never reached its first checkpoint
    train(cfg, run, resume=state == "resume", progress=False)
    return str(run)


def sweep(
    preset: str | Path, seeds: int, workers: int = 1, overrides: dict[str, Any] | None = None
) -> tuple[Path, list[Path]]:
    """Run every method x seed of a preset; returns (sweep folder, run folders)."""
    if seeds < 1 or workers < 1:
        raise UserError("--seeds and --workers must be positive")
    name, out, configs = load_sweep(preset, overrides)
    check_datasets(preset, configs)
    jobs = []
    # seed-major: an interrupted sweep has the same seeds of every method, not all of one
    for seed in range(seeds):
        for method, cfg in configs.items():
            run = out / method / f"seed{seed}"
            # one torch thread per process when several run side by side
            threads = 1 if workers > 1 else cfg.run.threads
            job_cfg = replace(cfg, run=replace(cfg.run, seed=seed, threads=threads))
            jobs.append((job_cfg, run, run_state(run, job_cfg.run.steps)))
    todo = [j for j in jobs if j[2] != "finished"]
    print(f"sweep {name}: {len(configs)} method(s) x {seeds} seed(s) -> {out} "
          f"({len(jobs) - len(todo)} finished, {len(todo)} to run)")  # fmt: skip
    out.mkdir(parents=True, exist_ok=True)
    if workers == 1:
        for cfg, run, state in todo:
            print(f"  {state}: {run}", flush=True)
            _run_one(cfg, run, state)
    else:
        with ProcessPoolExecutor(workers) as pool:
            futures = [pool.submit(_run_one, *job) for job in todo]
            for fut in as_completed(futures):
                print(f"  done: {fut.result()}", flush=True)
    return out, [run for _, run, _ in jobs]
