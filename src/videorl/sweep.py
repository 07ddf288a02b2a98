"""`videorl sweep PRESET --seeds N [--workers W | --backend ray [--address HOST:PORT]]`:
methods x grid points x seeds on a local process pool, or as Ray tasks on a cluster
(``sweep_ray.py``).

A sweep preset is a YAML file:

    name: acrobot-alpha          # folder name under runs/sweeps/ unless `out` is given
    out: runs/sweeps/acrobot-alpha   # optional
    base: {env: acrobot, steps: 30000, eval_every: 2000}   # config keys shared by all
    methods:                     # one entry per method: config keys on top of base
      sac: {}
      sac-alpha0.1: {init_alpha: 0.1}
      rlv:                       # a grid: one run per combination, per seed
        {algo: rlv, obs_data: data/d, grid: {c3: [0.0, 0.001], disc_lr: [3.0e-8, 1.0e-4]}}

Run folders are OUT/METHOD/seedS; a grid point's are OUT/METHOD-KEY=VALUE-.../seedS. A run
whose metrics.csv already reaches its step budget is skipped (its latest.pt may be deleted to
save space: the final policy snapshot then says it ended); one that stopped early resumes
from its checkpoint; one that never checkpointed is started again. So re-running the same
command continues a sweep that was interrupted. Every method's config is validated, and
every dataset checked, before anything starts.
"""

from __future__ import annotations

import functools
import itertools
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor, as_completed
from pathlib import Path
from typing import Any

from videorl.agents.registry import make_config
from videorl.atomic import make_folder
from videorl.config import ConfigError, TrainConfig
from videorl.config_text import load_yaml
from videorl.errors import UserError
from videorl.sweep_jobs import Job, plan, run_job, run_state, summary_table


def grid_points(grid: Any, where: str) -> list[dict[str, Any]]:
    """Every combination of a method's ``grid`` ({key: [values]}), in the order written."""
    if not isinstance(grid, dict) or not grid:
        raise UserError(f"{where}: 'grid' must map config keys to lists of values")
    for key, values in grid.items():
        if not isinstance(values, list) or not values:
            raise UserError(f"{where}: grid key {key!r} must list at least one value")
    return [dict(zip(grid, combo)) for combo in itertools.product(*grid.values())]


def grid_label(method: str, point: dict[str, Any]) -> str:
    """A grid point's run name: the method and its values, e.g. rlv-c3=0.001-disc_lr=3e-08."""
    fmt = lambda v: f"{v:g}" if isinstance(v, float) else str(v).replace(" ", "")  # noqa: E731
    return "-".join([method, *(f"{k}={fmt(v)}" for k, v in point.items())])


def check_folder_name(name: str, what: str, path: str | Path, fix: str = "rename it") -> str:
    """``name`` if it is one plain folder name (no separator, not hidden), else UserError: a
    sweep's name and its run names become folders under its output folder."""
    if not name or name.startswith(".") or "/" in name or "\\" in name:
        raise UserError(
            f"{path}: {what} {name!r} is not a plain folder name (no '/', not starting with "
            f"'.'); {fix}"
        )
    return name


def load_sweep(
    path: str | Path,
    overrides: dict[str, Any] | None = None,
    only: list[str] | None = None,
) -> tuple[str, Path, dict[str, TrainConfig]]:
    """(name, output folder, {run name: config}) from a sweep preset, validated; ``overrides``
    (``videorl sweep --set``) replace values of the preset's base for every method, and
    ``only`` (``--methods``) keeps the methods it names. A method with a ``grid`` gives one
    entry per grid point, named by its values."""
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
    name = check_folder_name(str(data.get("name") or Path(path).stem), "name", path)
    out = Path(data.get("out") or Path("runs") / "sweeps" / name)
    unknown = sorted(set(only or []) - set(map(str, methods)))
    if unknown:
        raise UserError(
            f"--methods: {path} has no method {', '.join(map(repr, unknown))}; its methods "
            f"are {', '.join(map(str, methods))}"
        )
    if only:
        methods = {m: own for m, own in methods.items() if str(m) in only}
    configs = {}
    for method, own in methods.items():
        if not isinstance(own, dict | type(None)):
            raise UserError(f"{path}: method {method!r} must map config keys to values")
        own = dict(own or {})
        grid = own.pop("grid", None)
        points = [{}] if grid is None else grid_points(grid, f"{path}: method {method!r}")
        for point in points:
            label = grid_label(str(method), point) if point else str(method)
            fix = "give each of these values a method of its own" if point else "rename it"
            check_folder_name(label, "run name", path, fix)
            unreached = sorted((overrides or {}).keys() & (own.keys() | point.keys()))
            if unreached:
                key = unreached[0]
                raise UserError(
                    f"{path}: --set {key} does not reach method {label!r}, which sets {key} "
                    f"itself ({point.get(key, own.get(key))}); change it in the preset, or "
                    "leave that method out with --methods"
                )
            values = {**base, **(overrides or {}), **own, **point}
            run_section = values.get("run") if isinstance(values.get("run"), dict) else {}
            if "seed" in values or "run.seed" in values or "seed" in run_section:
                raise UserError(
                    f"{path}: method {label!r} is given a seed, which the sweep sets: its runs "
                    "are seeds 0..N-1 of --seeds N; remove seed from the preset and --set"
                )
            try:
                cfg = make_config(values)
            except ConfigError as exc:  # add which preset and method the bad key is in
                hint = ""
                if overrides and valid_without_set(base, own, point):
                    hint = "; --set applies to every method: choose the ones it fits with --methods"
                raise ConfigError(f"{path}: method {label!r}: {exc}{hint}") from None
            configs[label] = cfg
    return name, out, configs


def valid_without_set(base: dict, own: dict, point: dict) -> bool:
    """Whether a method's config is valid without the command line's --set values (so that
    they, not the preset, are what it refused)."""
    try:
        make_config({**base, **own, **point})
    except ConfigError:
        return False
    return True


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


def run_locally(jobs: list[Job], workers: int) -> tuple[list[dict[str, Any]], list[Exception]]:
    """Run ``jobs`` here, one by one or on a pool of ``workers`` processes, printing a line as
    each ends; returns the summary rows of the runs that ended and the errors of those that
    failed. A failed run does not stop the others (as on Ray)."""
    rows, failed = [], []

    def finish(job: Job, result: Callable[[], dict[str, Any]]) -> None:
        try:
            rows.append(result())
        except Exception as exc:  # its message now, the error itself after the other runs
            failed.append(exc)
            print(f"  failed: {job.label}/seed{job.seed}: {str(exc).splitlines()[0]}", flush=True)
            return
        print(f"  done: {rows[-1]['run']} at step {rows[-1]['step']}", flush=True)

    if workers == 1:
        for job in jobs:
            finish(job, functools.partial(run_job, job))
        return rows, failed
    with ProcessPoolExecutor(workers) as pool:
        futures = {pool.submit(run_job, job): job for job in jobs}
        for future in as_completed(futures):
            finish(futures[future], future.result)
    return rows, failed


def sweep(
    preset: str | Path,
    seeds: int,
    workers: int = 1,
    overrides: dict[str, Any] | None = None,
    backend: str = "local",
    address: str | None = None,
    only: list[str] | None = None,
) -> tuple[Path, list[Path]]:
    """Run every method (or those ``only`` names) x grid point x seed of a preset on a local
    process pool or a Ray cluster; returns (sweep folder, run folders)."""
    for name, value in (("--seeds", seeds), ("--workers", workers)):
        if value < 1:
            raise UserError(f"{name} must be positive, got {value}")
    if backend not in ("local", "ray"):
        raise UserError(f"--backend must be local or ray, not {backend!r}")
    if backend == "ray" and workers != 1:
        raise UserError("--workers sizes the local pool; Ray runs as many runs as the cluster "
                        "has CPUs for: drop --workers")  # fmt: skip
    if address and backend != "ray":
        raise UserError("--address joins a Ray cluster: add --backend ray, or drop --address")
    name, out, configs = load_sweep(preset, overrides, only)
    check_datasets(preset, configs)
    if backend == "ray":
        from videorl.sweep_ray import connect

        connect(address)  # a missing Ray or an unreachable cluster is refused before any run
    # one torch thread per process when several runs share a machine
    jobs = plan(configs, out, seeds, 1 if backend == "ray" or workers > 1 else None)
    todo = [j for j in jobs if run_state(j.run, j.cfg.run.steps) != "finished"]
    print(f"sweep {name}: {len(configs)} method(s) x {seeds} seed(s) -> {out} "
          f"({len(jobs) - len(todo)} finished, {len(todo)} to run, {backend})")  # fmt: skip
    make_folder(out, "the preset's sweep folder")
    if backend == "ray":
        from videorl.sweep_ray import run_on_ray

        rows, failed = run_on_ray(todo, out)
    else:
        rows, failed = run_locally(todo, workers)
    if rows:
        print(summary_table(rows))
    if failed:
        raise failed[0]  # after every other run has ended; the CLI prints one line
    return out, [job.run for job in jobs]
